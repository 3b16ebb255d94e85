//! One reconcile of a SecretSync: decide whether to read the source, fetch, write the
//! target Secret when it differs, restart dependents on a value change, and report.
//!
//! Guarantees:
//! - A failed read never deletes or blanks the target Secret (except a source that is
//!   gone under `deletionPolicy: Delete`); the failure is in status and an Event.
//! - A Secret that hush did not create is never overwritten unless `creationPolicy: Merge`.
//! - No value reaches status, events or logs: only keys, versions and hashes.

use std::{sync::Arc, time::Duration};

use hush_providers::secrets::SourceError;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{DeleteParams, Patch, PatchParams},
    runtime::controller::Action,
    Api, Resource, ResourceExt,
};

use super::{
    cleanup, desired,
    plan::{self, Observed, Trigger},
    slot_start,
    target::{self, Render, DATA_HASH, LAST_ROTATED, REFRESH_REQUESTED},
    Context, Error, SYNCED_BY,
};
use crate::{
    crd::{CreationPolicy, DeletionPolicy, SecretSync, SecretSyncStatus},
    duration,
    kube_util::{
        self,
        conditions::{self, Desired, READY, ROTATION_OVERDUE},
        ownership, rfc3339, rollout,
    },
    metrics::{ObjectLabels, ProviderLabels, SyncErrorLabels},
};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// A failed sync, as reported in the Ready condition.
struct Failure {
    reason: &'static str,
    message: String,
    /// Retry no sooner than this (provider's Retry-After).
    at_least: Option<Duration>,
    /// Only a spec change can fix it: wait for one instead of retrying.
    needs_spec_change: bool,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            at_least: None,
            needs_spec_change: false,
        }
    }

    fn invalid_spec(message: String) -> Self {
        Self {
            needs_spec_change: true,
            ..Self::new("InvalidSpec", message)
        }
    }
}

fn source_failure(err: &SourceError, deleted_target: bool) -> Failure {
    let keep = "; the last synced Secret is kept";
    match err {
        SourceError::NotFound { .. } if deleted_target => Failure::new(
            "SourceDeleted",
            format!("{err}; the Secret was deleted (deletionPolicy Delete)"),
        ),
        SourceError::NotFound { .. } => Failure::new("SourceDeleted", format!("{err}{keep}")),
        SourceError::PropertyMissing { .. } => {
            Failure::new("PropertyMissing", format!("{err}{keep}"))
        }
        SourceError::RateLimited { retry_after, .. } => Failure {
            reason: "ProviderRateLimited",
            message: format!("{err}{keep}"),
            at_least: *retry_after,
            needs_spec_change: false,
        },
        SourceError::Unavailable { .. } => {
            Failure::new("ProviderUnavailable", format!("{err}{keep}"))
        }
        SourceError::Auth { .. } => Failure::new("AuthFailed", format!("{err}{keep}")),
        SourceError::Config { .. } | SourceError::Protocol { .. } => {
            Failure::new("ProviderError", format!("{err}{keep}"))
        }
    }
}

pub async fn reconcile(sync: Arc<SecretSync>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.metrics.reconciles.inc();
    let namespace = sync.namespace().ok_or(Error::NoNamespace)?;
    let name = sync.name_any();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let syncs: Api<SecretSync> = Api::namespaced(ctx.client.clone(), &namespace);
    if sync.meta().deletion_timestamp.is_some() {
        cleanup::on_delete(&syncs, &secrets, &sync).await?;
        return Ok(Action::await_change());
    }
    if cleanup::needs_finalizer(&sync) {
        cleanup::add_finalizer(&syncs, &sync).await?;
    }
    let key = (namespace.clone(), name.clone());
    let now = Timestamp::now();
    let now_s = rfc3339(now);
    let old_status = sync.status.clone().unwrap_or_default();
    let mut status = old_status.clone();
    let generation = sync.meta().generation;
    let target_name = sync
        .spec
        .target
        .name
        .clone()
        .unwrap_or_else(|| name.clone());

    let interval = match sync.spec.refresh_interval.as_deref().map(duration::parse) {
        None => DEFAULT_INTERVAL,
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            let f = Failure::invalid_spec(format!("refreshInterval: {e}"));
            return finish_failure(&sync, &ctx, &key, old_status, status, f, "none", now).await;
        }
    };
    let max_age = match sync
        .spec
        .rotation_policy
        .as_ref()
        .map(|p| duration::parse(&p.max_age))
    {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            let f = Failure::invalid_spec(format!("rotationPolicy.maxAge: {e}"));
            return finish_failure(&sync, &ctx, &key, old_status, status, f, "none", now).await;
        }
    };

    let live = secrets.get_opt(&target_name).await?;
    let refresh_annotation = sync.annotations().get(REFRESH_REQUESTED).cloned();
    // The refresh request handled last, from memory when the cached status lags.
    let mut planning_status = old_status.clone();
    if let Some(handled) = ctx.handled_refresh(&key) {
        planning_status.refresh_requested = Some(handled);
    }
    let trigger = plan::needs_sync(&Observed {
        spec: &sync.spec,
        status: &planning_status,
        generation,
        refresh_annotation: refresh_annotation.as_deref(),
        live: live.as_ref(),
        now,
        interval,
    });
    let Some(trigger) = trigger else {
        // Nothing to read; only the rotation clock may have moved.
        track_rotation_age(&sync, &ctx, &key, &mut status, max_age, now).await;
        patch_status_if_changed(&sync, &ctx, &old_status, &status).await?;
        return Ok(Action::requeue(wait_until_next(&status, max_age, now)));
    };
    tracing::debug!(%namespace, %name, ?trigger, "syncing");
    status.refresh_requested = refresh_annotation.clone();
    if let Some(r) = &refresh_annotation {
        ctx.remember_refresh(&key, r);
    }

    let store = match ctx
        .stores
        .get(&ctx.client, &ctx.metrics, &namespace, &sync.spec.store_ref)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            let f = Failure::new("StoreNotReady", e.to_string());
            return finish_failure(&sync, &ctx, &key, old_status, status, f, "none", now).await;
        }
    };
    let provider = store.provider;
    // A read made in this refresh slot counts as current, so each distinct remote
    // secret costs at most one provider call per interval.
    let not_before = if trigger.bypasses_cache() || interval.is_zero() {
        now
    } else {
        slot_start(now, interval)
    };
    let fetched = match desired::fetch(&store, &sync.spec, not_before).await {
        Ok(d) => d,
        Err(err) => {
            if matches!(err, SourceError::Auth { .. }) {
                ctx.stores.forget(&namespace, &sync.spec.store_ref).await;
            }
            let mut deleted = false;
            let may_delete = matches!(err, SourceError::NotFound { .. })
                && sync.spec.target.deletion_policy == DeletionPolicy::Delete
                && sync.spec.target.creation_policy != CreationPolicy::Merge;
            if let (true, Some(l)) = (may_delete, live.as_ref()) {
                if ownership::may_manage(
                    &l.metadata,
                    "SecretSync",
                    &name,
                    sync.meta().uid.as_deref(),
                ) {
                    secrets
                        .delete(&target_name, &DeleteParams::default())
                        .await?;
                    deleted = true;
                    status.data_hash = None;
                    status.synced.clear();
                }
            }
            let f = source_failure(&err, deleted);
            return finish_failure(&sync, &ctx, &key, old_status, status, f, provider, now).await;
        }
    };
    let data = match desired::apply_template(sync.spec.target.template.as_ref(), fetched.data) {
        Ok(d) => d,
        Err(e) => {
            let f = Failure::new("TemplateError", e.to_string());
            return finish_failure(&sync, &ctx, &key, old_status, status, f, provider, now).await;
        }
    };

    // Ownership: never take over a Secret someone else created.
    let policy = sync.spec.target.creation_policy;
    match (&live, policy) {
        (None, CreationPolicy::Merge) => {
            let f = Failure::new(
                "TargetMissing",
                format!("creationPolicy Merge needs an existing Secret {target_name:?}"),
            );
            return finish_failure(&sync, &ctx, &key, old_status, status, f, provider, now).await;
        }
        (Some(l), CreationPolicy::Owner | CreationPolicy::Orphan)
            if !ownership::may_manage(
                &l.metadata,
                "SecretSync",
                &name,
                sync.meta().uid.as_deref(),
            ) =>
        {
            let f = Failure::new(
                "SecretNotOwned",
                format!(
                    "Secret {target_name:?} belongs to {}; hush does not overwrite it (use creationPolicy Merge to add keys to it)",
                    ownership::describe_owner(&l.metadata)
                ),
            );
            return finish_failure(&sync, &ctx, &key, old_status, status, f, provider, now).await;
        }
        _ => {}
    }

    let hash = target::data_hash(&data);
    let live_ann = |k: &str| {
        live.as_ref()
            .and_then(|l| l.metadata.annotations.as_ref())
            .and_then(|a| a.get(k))
            .cloned()
    };
    // The live Secret (read fresh) is the authority on what was written last; the
    // status in the watch cache can lag one write behind.
    let previous_hash = live_ann(DATA_HASH).or_else(|| old_status.data_hash.clone());
    let changed = previous_hash.as_deref() != Some(hash.as_str());
    let rotated = changed && previous_hash.is_some();
    let last_rotated = if changed {
        now_s.clone()
    } else {
        live_ann(LAST_ROTATED)
            .or_else(|| old_status.last_rotated_at.clone())
            .unwrap_or_else(|| now_s.clone())
    };

    let mut want = target::render(&Render {
        sync: &sync,
        name: &target_name,
        namespace: &namespace,
        provider,
        data: &data,
        synced: &fetched.synced,
        hash: &hash,
        last_rotated: &last_rotated,
    });
    want.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(SYNCED_BY.into(), name.clone());
    let needs_write = live.as_ref().is_none_or(|l| !target::up_to_date(l, &want));
    ctx.remember_write(
        &namespace,
        &target_name,
        &hash,
        data.keys().cloned().collect(),
    );
    if needs_write {
        kube_util::apply(&secrets, &target_name, &want).await?;
        let reason = match (&live, trigger, rotated) {
            (None, _, _) => "Created",
            (_, _, true) => "Rotated",
            (_, Trigger::Drifted, _) => "DriftCorrected",
            _ => "Updated",
        };
        let note = match reason {
            "Rotated" => format!(
                "Secret {target_name} updated to source version {}",
                target::version_annotation(&fetched.synced)
            ),
            "DriftCorrected" => {
                format!("Secret {target_name} was edited outside hush; restored from the source")
            }
            _ => format!("Secret {target_name} written ({} keys)", data.len()),
        };
        ctx.events
            .publish(&sync.object_ref(&()), false, reason, "Sync", note)
            .await;
    }
    if rotated {
        match rollout::restart_dependents(&ctx.client, &namespace, &target_name, &now_s).await {
            Ok(restarted) if !restarted.is_empty() => {
                ctx.metrics.workload_restarts.inc_by(restarted.len() as u64);
                ctx.events
                    .publish(
                        &sync.object_ref(&()),
                        false,
                        "WorkloadsRestarted",
                        "Restart",
                        format!(
                            "Secret {target_name} changed; restarted {}",
                            restarted.join(", ")
                        ),
                    )
                    .await;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(%namespace, %name, %err, "could not restart dependent workloads")
            }
        }
    }

    ctx.metrics
        .sync_calls
        .get_or_create(&ProviderLabels {
            provider: provider.to_string(),
        })
        .inc();
    ctx.failures.reset(&key);
    status.synced = fetched.synced;
    status.last_synced_at = Some(now_s.clone());
    status.last_rotated_at = Some(last_rotated);
    status.data_hash = Some(hash);
    status.observed_generation = generation;
    status.next_refresh_at = (!interval.is_zero()).then(|| {
        rfc3339(
            slot_start(now, interval)
                + jiff::SignedDuration::try_from(interval).unwrap_or_default(),
        )
    });
    conditions::set(
        &mut status.conditions,
        Desired {
            type_: READY,
            status: true,
            reason: "Synced",
            message: format!("{} keys synced from {provider}", data.len()),
            observed_generation: generation,
        },
        &now_s,
    );
    track_rotation_age(&sync, &ctx, &key, &mut status, max_age, now).await;
    patch_status_if_changed(&sync, &ctx, &old_status, &status).await?;
    Ok(Action::requeue(wait_until_next(&status, max_age, now)))
}

/// Report a failure: Ready=False with a reason, one Warning event per new reason,
/// metrics, and a jittered exponential retry. The target Secret is left alone.
#[allow(clippy::too_many_arguments)]
async fn finish_failure(
    sync: &SecretSync,
    ctx: &Context,
    key: &(String, String),
    old_status: SecretSyncStatus,
    mut status: SecretSyncStatus,
    failure: Failure,
    provider: &str,
    now: Timestamp,
) -> Result<Action, Error> {
    let now_s = rfc3339(now);
    let delay = ctx.backoff(key, failure.at_least);
    let needs_spec_change = failure.needs_spec_change;
    let previous_reason = conditions::get(&old_status.conditions, READY).map(|c| c.reason.clone());
    if previous_reason.as_deref() != Some(failure.reason) {
        ctx.events
            .publish(
                &sync.object_ref(&()),
                true,
                failure.reason,
                "Sync",
                failure.message.clone(),
            )
            .await;
    }
    tracing::warn!(namespace = %key.0, name = %key.1, reason = failure.reason, message = %failure.message, retry_in = ?delay, "sync failed");
    ctx.metrics
        .sync_errors
        .get_or_create(&SyncErrorLabels {
            provider: provider.to_string(),
            reason: failure.reason.to_string(),
        })
        .inc();
    conditions::set(
        &mut status.conditions,
        Desired {
            type_: READY,
            status: false,
            reason: failure.reason,
            message: failure.message,
            observed_generation: sync.meta().generation,
        },
        &now_s,
    );
    status.observed_generation = sync.meta().generation;
    if needs_spec_change {
        // The status write must not re-trigger this reconcile: nothing changes until the spec does.
        patch_status_if_changed(sync, ctx, &old_status, &status).await?;
        return Ok(Action::await_change());
    }
    // Persisting the retry time also stops the status write's own watch event from
    // triggering an immediate retry.
    status.next_refresh_at = Some(rfc3339(now + delay));
    patch_status_if_changed(sync, ctx, &old_status, &status).await?;
    Ok(Action::requeue(delay))
}

/// Update the age gauge and the RotationOverdue condition (with an Event when it turns on).
async fn track_rotation_age(
    sync: &SecretSync,
    ctx: &Context,
    key: &(String, String),
    status: &mut SecretSyncStatus,
    max_age: Option<Duration>,
    now: Timestamp,
) {
    let Some(last) = status
        .last_rotated_at
        .as_deref()
        .and_then(kube_util::parse_time)
    else {
        return;
    };
    let age = Duration::try_from(now.duration_since(last)).unwrap_or_default();
    ctx.metrics
        .secret_age
        .get_or_create(&ObjectLabels {
            namespace: key.0.clone(),
            name: key.1.clone(),
        })
        .set(age.as_secs_f64());
    let Some(max_age) = max_age else {
        conditions::remove(&mut status.conditions, ROTATION_OVERDUE);
        ctx.mark_overdue(key, false);
        return;
    };
    let overdue = age >= max_age;
    let message = if overdue {
        format!(
            "source value unchanged since {} (maxAge {}s)",
            rfc3339(last),
            max_age.as_secs()
        )
    } else {
        format!("source value changed at {}", rfc3339(last))
    };
    conditions::set(
        &mut status.conditions,
        Desired {
            type_: ROTATION_OVERDUE,
            status: overdue,
            reason: if overdue {
                "MaxAgeExceeded"
            } else {
                "WithinMaxAge"
            },
            message: message.clone(),
            observed_generation: sync.meta().generation,
        },
        &rfc3339(now),
    );
    if ctx.mark_overdue(key, overdue) {
        ctx.events
            .publish(
                &sync.object_ref(&()),
                true,
                "RotationOverdue",
                "CheckRotation",
                message,
            )
            .await;
    }
}

/// Sleep until the next refresh, or the moment the rotation becomes overdue.
fn wait_until_next(
    status: &SecretSyncStatus,
    max_age: Option<Duration>,
    now: Timestamp,
) -> Duration {
    let until = |ts: Timestamp| Duration::try_from(ts.duration_since(now)).unwrap_or_default();
    let mut wait = status
        .next_refresh_at
        .as_deref()
        .and_then(kube_util::parse_time)
        .map(until)
        .unwrap_or(DEFAULT_INTERVAL);
    if let (Some(max_age), Some(last)) = (
        max_age,
        status
            .last_rotated_at
            .as_deref()
            .and_then(kube_util::parse_time),
    ) {
        let deadline =
            last + jiff::SignedDuration::try_from(max_age).unwrap_or(jiff::SignedDuration::MAX);
        if deadline > now {
            wait = wait.min(until(deadline));
        }
    }
    wait.max(Duration::from_secs(1))
}

async fn patch_status_if_changed(
    sync: &SecretSync,
    ctx: &Context,
    old: &SecretSyncStatus,
    new: &SecretSyncStatus,
) -> Result<(), Error> {
    if old == new {
        return Ok(());
    }
    let api: Api<SecretSync> =
        Api::namespaced(ctx.client.clone(), &sync.namespace().unwrap_or_default());
    let patch = kube_util::status_merge_patch(Some(old), new);
    api.patch_status(
        &sync.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}
