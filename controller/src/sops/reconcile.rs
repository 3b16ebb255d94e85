//! One SopsSecret -> its Secret: load keys, decrypt and verify on the blocking pool,
//! check ownership, apply only when something differs, then status, events and
//! notifications. A failure never touches the existing Secret.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{Patch, PatchParams},
    runtime::controller::Action,
    Api, Resource, ResourceExt,
};

use super::{
    decrypt::{decrypt_spec, Decrypted, SpecError},
    keys::{self, KeySecretRef},
    secret::{self, Shape},
    Context, Error,
};
use crate::{
    crd::SopsSecret,
    kube_util::{
        self,
        conditions::{self, Desired, READY},
        ownership, rfc3339,
    },
    notifier::NotificationKind,
};

const KIND: &str = "SopsSecret";
const API_VERSION: &str = "hush.dev/v1alpha1";
/// Annotation on the Secret: `sops.lastmodified` of the spec it came from.
pub const SOPS_LASTMODIFIED: &str = "hush.dev/sops-lastmodified";

/// A failure reported on the object.
struct Failure {
    reason: &'static str,
    message: String,
}

pub async fn reconcile(obj: Arc<SopsSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let name = obj.name_any();
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let key = (namespace.clone(), name.clone());
    match decrypt_and_apply(&obj, &ctx, &namespace, &name).await? {
        Ok(outcome) => {
            ctx.failures.reset(&key);
            if let Some((reason, note)) = outcome {
                publish(&obj, &ctx, false, reason, note.clone()).await;
                let kind = if reason == "DriftReverted" {
                    NotificationKind::DriftReverted
                } else {
                    NotificationKind::Rotated
                };
                ctx.notifier
                    .send(kind, format!("{KIND}/{namespace}/{name}"), reason, note);
            }
            Ok(Action::await_change())
        }
        Err(failure) => {
            tracing::warn!(%namespace, %name, reason = failure.reason, message = %failure.message, "cannot apply SopsSecret");
            if set_status(&obj, &ctx, Some(&failure), None).await? {
                publish(&obj, &ctx, true, failure.reason, failure.message.clone()).await;
                ctx.notifier.send(
                    NotificationKind::Failure,
                    format!("{KIND}/{namespace}/{name}"),
                    failure.reason,
                    failure.message.clone(),
                );
            }
            // Only a spec or key change can fix a bad MAC; a missing key Secret may appear.
            if failure.reason == "MacMismatch" || failure.reason == "InvalidSpec" {
                Ok(Action::await_change())
            } else {
                Ok(Action::requeue(ctx.failures.next(&key)))
            }
        }
    }
}

/// Ok(Ok(Some((reason, note)))) when the Secret was written; Ok(Err) for status failures.
async fn decrypt_and_apply(
    obj: &SopsSecret,
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<Option<(&'static str, String)>, Failure>, Error> {
    let key_secret = obj
        .spec
        .decryption
        .as_ref()
        .and_then(|d| d.secret_ref.as_ref())
        .map(|r| KeySecretRef {
            namespace: namespace.to_string(),
            name: r.name.clone(),
        })
        .or_else(|| ctx.settings.default_key_secret.clone());
    let flux = match keys::load(&ctx.client, key_secret.as_ref()).await {
        Ok(k) => k,
        Err(keys::KeysError::Kube(e)) => return Err(e.into()),
        Err(e) => {
            return Ok(Err(Failure {
                reason: "DecryptionKeyMissing",
                message: e.to_string(),
            }))
        }
    };
    for note in &flux.notes {
        tracing::info!(%namespace, %name, note = %note, "key Secret");
    }
    let spec = obj.spec.clone();
    let decrypted: Result<Decrypted, SpecError> =
        tokio::task::spawn_blocking(move || decrypt_spec(&spec, &flux.ring))
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
    let decrypted = match decrypted {
        Ok(d) => d,
        Err(e) => {
            return Ok(Err(Failure {
                reason: e.reason(),
                message: e.to_string(),
            }))
        }
    };
    let template = obj.spec.template.clone().unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let uid = obj.uid().unwrap_or_default();
    let want = secret::desired(
        &Shape {
            name,
            namespace,
            type_: template.type_.as_deref(),
            immutable: template.immutable,
            labels: meta.labels.as_ref(),
            annotations: meta.annotations.as_ref(),
            managed_by: ownership::managed_by_value(KIND, name),
            hush_annotations: vec![(SOPS_LASTMODIFIED, decrypted.lastmodified.clone())],
            owner: Some(ownership::controller_ref(API_VERSION, KIND, name, &uid)),
        },
        &decrypted.data,
    );
    let keys_count = decrypted.data.len();
    drop(decrypted);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let live = api.get_opt(name).await?;
    if let Some(l) = &live {
        if !ownership::may_manage(&l.metadata, KIND, name, Some(&uid)) {
            return Ok(Err(Failure {
                reason: "SecretNotOwned",
                message: format!(
                    "Secret {name:?} belongs to {}; hush does not overwrite it",
                    ownership::describe_owner(&l.metadata)
                ),
            }));
        }
    }
    let outcome = match &live {
        Some(l) if secret::up_to_date(l, &want) => None,
        Some(l) if l.immutable == Some(true) => {
            return Ok(Err(Failure {
                reason: "SecretImmutable",
                message: format!(
                    "Secret {name:?} is immutable and differs; delete it to let hush recreate it"
                ),
            }))
        }
        _ => {
            kube_util::apply(&api, name, &want).await?;
            ctx.writes.inc();
            let applied_before = obj
                .status
                .as_ref()
                .is_some_and(|s| s.observed_generation == obj.meta().generation);
            Some(match &live {
                None if applied_before => (
                    "DriftReverted",
                    format!("Secret {name} was deleted outside hush; recreated"),
                ),
                None => (
                    "Created",
                    format!("Secret {name} created ({keys_count} keys)"),
                ),
                Some(l) if applied_before && secret::edited_outside_hush(l) => (
                    "DriftReverted",
                    format!("Secret {name} was edited outside hush; restored"),
                ),
                Some(_) => (
                    "Updated",
                    format!("Secret {name} updated ({keys_count} keys)"),
                ),
            })
        }
    };
    let lastmodified = want
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SOPS_LASTMODIFIED))
        .cloned();
    set_status(obj, ctx, None, lastmodified).await?;
    Ok(Ok(outcome))
}

/// Write Ready and observedGeneration when they change. True when the status changed.
async fn set_status(
    obj: &SopsSecret,
    ctx: &Context,
    failure: Option<&Failure>,
    lastmodified: Option<String>,
) -> Result<bool, Error> {
    let old = obj.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let generation = obj.meta().generation;
    let now = rfc3339(jiff::Timestamp::now());
    let (ok, reason, message) = match failure {
        None => (
            true,
            "Applied",
            format!("Secret {} is up to date", obj.name_any()),
        ),
        Some(f) => (false, f.reason, f.message.clone()),
    };
    conditions::set(
        &mut status.conditions,
        Desired {
            type_: READY,
            status: ok,
            reason,
            message,
            observed_generation: generation,
        },
        &now,
    );
    if ok {
        status.observed_generation = generation;
        status.last_applied_lastmodified = lastmodified;
    }
    if status == old {
        return Ok(false);
    }
    let previous_reason = conditions::get(&old.conditions, READY).map(|c| c.reason.clone());
    let api: Api<SopsSecret> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&kube_util::status_merge_patch(Some(&old), &status)),
    )
    .await?;
    Ok(previous_reason.as_deref() != Some(reason))
}

async fn publish(obj: &SopsSecret, ctx: &Context, warning: bool, reason: &str, note: String) {
    ctx.events
        .publish(&obj.object_ref(&()), warning, reason, "Decrypt", note)
        .await;
}
