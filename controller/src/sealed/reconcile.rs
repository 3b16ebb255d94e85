//! One SealedSecret -> its Secret: unseal (on the bounded blocking pool of
//! [`super::pipeline::UnsealPool`], so every core decrypts), check ownership, write only when something differs, then status and events.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{Patch, PatchParams, PostParams},
    runtime::controller::Action,
    Api, Resource, ResourceExt,
};

use super::{
    pipeline::{unseal_to_secret, Unsealed},
    secret::{updated, write_mode, WriteMode},
    Context, Error,
};
use crate::crd::{SealedSecret, SealedSecretCondition, SealedSecretStatus};

const SYNCED: &str = "Synced";

/// A failure reported on the object (status + event), not retried blindly.
struct Failure {
    reason: &'static str,
    metric: &'static str,
    message: String,
}

pub async fn reconcile(ss: Arc<SealedSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.metrics.reconciles.inc();
    let namespace = ss.namespace().ok_or(Error::NoNamespace)?;
    let name = ss.name_any();
    let key = (namespace.clone(), name.clone());
    match unseal_and_write(&ss, &ctx, &namespace).await? {
        Ok(wrote) => {
            ctx.failures.reset(&key);
            set_status(&ss, &ctx, None).await?;
            if wrote {
                publish(
                    &ss,
                    &ctx,
                    false,
                    "Unsealed",
                    "SealedSecret unsealed successfully".into(),
                )
                .await;
            }
            Ok(Action::await_change())
        }
        Err(failure) => {
            ctx.metrics.error(failure.metric);
            tracing::warn!(%namespace, %name, reason = failure.reason, message = %failure.message, "cannot unseal");
            if set_status(&ss, &ctx, Some(&failure)).await? {
                publish(&ss, &ctx, true, failure.reason, failure.message.clone()).await;
            }
            Ok(Action::requeue(ctx.failures.next(&key)))
        }
    }
}

/// Ok(Ok(wrote)) on success; Ok(Err(_)) for failures that belong in status.
async fn unseal_and_write(
    ss: &SealedSecret,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<bool, Failure>, Error> {
    ctx.metrics.unseal_requests.inc();
    let keys = ctx.keys.snapshot();
    let uid = ss.uid().unwrap_or_default();
    let value = serde_json::to_value(ss).map_err(|e| Error::Task(e.to_string()))?;
    let job_keys = keys.clone();
    let job_uid = uid.clone();
    let unsealed = ctx
        .pool
        .run(move || unseal_to_secret(value, &job_keys, &job_uid))
        .await
        .map_err(Error::Task)?;
    let Unsealed {
        secret: want,
        key_index,
    } = match unsealed {
        Ok(unsealed) => unsealed,
        Err(message) => {
            return Ok(Err(Failure {
                reason: "ErrUnsealFailed",
                metric: "unseal",
                message: format!("Failed to unseal: {message}"),
            }))
        }
    };
    let key_info = &keys.info[key_index];
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret_name = ss.name_any();
    let wrote = match api.get_opt(&secret_name).await? {
        None => {
            api.create(&PostParams::default(), &want).await?;
            true
        }
        Some(live) => {
            let mode = write_mode(&live, &want, &uid);
            if mode == WriteMode::Refuse {
                return Ok(Err(Failure {
                    reason: "ErrUpdateFailed",
                    metric: "unmanaged",
                    message: format!(
                        "Resource \"{secret_name}\" already exists and is not managed by SealedSecret"
                    ),
                }));
            }
            let next = updated(&live, &want, &mode);
            if next == live {
                false
            } else if live.immutable == Some(true) {
                return Ok(Err(Failure {
                    reason: "ErrUpdateFailed",
                    metric: "immutable",
                    message: format!("Secret \"{secret_name}\" is immutable and differs; delete it to let the controller recreate it"),
                }));
            } else {
                // A merge patch of exactly the difference, conditional on the live
                // resourceVersion (a concurrent change makes it fail with 409 and retry).
                let mut patch = merge_diff(
                    &serde_json::to_value(&live).unwrap_or_default(),
                    &serde_json::to_value(&next).unwrap_or_default(),
                );
                patch["metadata"]["resourceVersion"] = live.resource_version().into();
                api.patch(&secret_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                true
            }
        }
    };
    if wrote {
        ctx.metrics.secret_writes.inc();
    }
    ctx.metrics
        .record_use(namespace, &secret_name, &key_info.fingerprint);
    Ok(Ok(wrote))
}

/// RFC 7386 merge patch turning `from` into `to`: changed members, `null` for removed ones.
fn merge_diff(from: &serde_json::Value, to: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = serde_json::Map::new();
            for (key, old) in a {
                match b.get(key) {
                    None => {
                        patch.insert(key.clone(), Value::Null);
                    }
                    Some(new) if new != old => {
                        patch.insert(key.clone(), merge_diff(old, new));
                    }
                    Some(_) => {}
                }
            }
            for (key, new) in b {
                if !a.contains_key(key) {
                    patch.insert(key.clone(), new.clone());
                }
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}

/// Write the `Synced` condition and observedGeneration when they change.
/// Returns true when the status changed (so the caller publishes an event once).
async fn set_status(
    ss: &SealedSecret,
    ctx: &Context,
    failure: Option<&Failure>,
) -> Result<bool, Error> {
    let old = ss.status.clone().unwrap_or_default();
    let (status, reason, message) = match failure {
        None => ("True", None, None),
        Some(f) => ("False", Some(f.reason.to_string()), Some(f.message.clone())),
    };
    let previous = old.conditions.iter().find(|c| c.type_ == SYNCED);
    let unchanged = previous
        .is_some_and(|c| c.status == status && c.reason == reason && c.message == message)
        && old.observed_generation == ss.meta().generation;
    if unchanged {
        return Ok(false);
    }
    let now = crate::kube_util::rfc3339(jiff::Timestamp::now());
    let transition = match previous {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => Some(now.clone()),
    };
    let mut conditions: Vec<SealedSecretCondition> = old
        .conditions
        .iter()
        .filter(|c| c.type_ != SYNCED)
        .cloned()
        .collect();
    conditions.insert(
        0,
        SealedSecretCondition {
            type_: SYNCED.into(),
            status: status.into(),
            last_update_time: Some(now),
            last_transition_time: transition,
            reason,
            message,
        },
    );
    let new = SealedSecretStatus {
        observed_generation: ss.meta().generation,
        conditions,
    };
    let api: Api<SealedSecret> =
        Api::namespaced(ctx.client.clone(), &ss.namespace().unwrap_or_default());
    api.patch_status(
        &ss.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({ "status": new })),
    )
    .await?;
    Ok(true)
}

async fn publish(ss: &SealedSecret, ctx: &Context, warning: bool, reason: &str, note: String) {
    let reference = ss.object_ref(&());
    ctx.events
        .publish(&reference, warning, reason, "Unseal", note)
        .await;
}

#[cfg(test)]
mod tests {
    use super::merge_diff;
    use serde_json::json;

    #[test]
    fn merge_diff_sets_changes_and_nulls_removals() {
        let from = json!({"data": {"a": "1", "b": "2"}, "type": "Opaque", "m": {"x": 1}});
        let to = json!({"data": {"a": "9", "c": "3"}, "type": "Opaque", "m": {"x": 1}});
        assert_eq!(
            merge_diff(&from, &to),
            json!({"data": {"a": "9", "b": null, "c": "3"}})
        );
    }
}
