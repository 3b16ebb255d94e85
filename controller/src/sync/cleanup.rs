//! What happens to the target when a SecretSync is deleted.
//!
//! Owner targets go with the SecretSync through their owner reference (the garbage
//! collector), Orphan targets stay. A Merge target belongs to someone else, so no
//! garbage collector removes what hush wrote into it: a finalizer holds the SecretSync
//! until hush has taken its keys and annotations back out.

use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{Patch, PatchParams},
    Api, Resource, ResourceExt,
};

use super::{
    plan,
    target::{DATA_HASH, LAST_ROTATED, SOURCE, SOURCE_VERSION},
    Error, SYNCED_BY,
};
use crate::crd::{CreationPolicy, SecretSync};

/// Finalizer on SecretSyncs that merge into a Secret they do not own.
pub const FINALIZER: &str = "hush.dev/merge-cleanup";

fn has_finalizer(sync: &SecretSync) -> bool {
    sync.finalizers().iter().any(|f| f == FINALIZER)
}

/// Does this SecretSync need the finalizer (and not have it yet)?
pub fn needs_finalizer(sync: &SecretSync) -> bool {
    sync.spec.target.creation_policy == CreationPolicy::Merge && !has_finalizer(sync)
}

async fn set_finalizers(
    api: &Api<SecretSync>,
    sync: &SecretSync,
    list: Vec<String>,
) -> Result<(), Error> {
    // The resourceVersion makes this a compare-and-swap: no other finalizer is lost.
    let patch = serde_json::json!({
        "metadata": {
            "finalizers": list,
            "resourceVersion": sync.meta().resource_version,
        }
    });
    api.patch(
        &sync.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

pub async fn add_finalizer(api: &Api<SecretSync>, sync: &SecretSync) -> Result<(), Error> {
    let mut list = sync.finalizers().to_vec();
    list.push(FINALIZER.to_string());
    set_finalizers(api, sync, list).await
}

/// On deletion: remove our keys and annotations from a Merge target, then release
/// the SecretSync. Nothing to do without our finalizer.
pub async fn on_delete(
    syncs: &Api<SecretSync>,
    secrets: &Api<Secret>,
    sync: &SecretSync,
) -> Result<(), Error> {
    if !has_finalizer(sync) {
        return Ok(());
    }
    let name = sync.name_any();
    let target = sync
        .spec
        .target
        .name
        .clone()
        .unwrap_or_else(|| name.clone());
    if let Some(live) = secrets.get_opt(&target).await? {
        let ours = live.annotations().get(SYNCED_BY) == Some(&name);
        if ours {
            let status = sync.status.clone().unwrap_or_default();
            let data: serde_json::Map<String, serde_json::Value> =
                plan::written_keys(&sync.spec, &status)
                    .into_iter()
                    .map(|k| (k, serde_json::Value::Null))
                    .collect();
            let annotations: serde_json::Map<String, serde_json::Value> =
                [SOURCE, SOURCE_VERSION, LAST_ROTATED, DATA_HASH, SYNCED_BY]
                    .into_iter()
                    .map(|k| (k.to_string(), serde_json::Value::Null))
                    .collect();
            let patch = serde_json::json!({
                "metadata": { "annotations": annotations },
                "data": data,
            });
            secrets
                .patch(&target, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
    }
    let rest = sync
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(syncs, sync, rest).await
}
