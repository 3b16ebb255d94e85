//! The target Secret: its desired shape, bookkeeping annotations and data hash.

use std::collections::BTreeMap;

use hush_providers::secrets::SecretBytes;
use k8s_openapi::{
    api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta, ByteString,
};
use sha2::{Digest, Sha256};

use crate::{
    crd::{CreationPolicy, SecretSync, SyncedKey},
    kube_util::ownership::{controller_ref, managed_by_value, MANAGED_BY},
};

/// Annotations hush writes on every target Secret.
pub const SOURCE: &str = "hush.dev/source";
pub const SOURCE_VERSION: &str = "hush.dev/source-version";
pub const LAST_ROTATED: &str = "hush.dev/last-rotated-at";
pub const DATA_HASH: &str = "hush.dev/data-hash";
/// Annotation on the SecretSync asking for an immediate refresh (any new value).
pub const REFRESH_REQUESTED: &str = "hush.dev/refresh-requested";

/// SHA-256 over the sorted keys and values (length-prefixed, so no two maps collide).
pub fn data_hash(data: &BTreeMap<String, SecretBytes>) -> String {
    let mut h = Sha256::new();
    for (k, v) in data {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.expose().len() as u64).to_be_bytes());
        h.update(v.expose());
    }
    hex::encode(h.finalize())
}

/// The hash of the keys we manage as they are in the live Secret now (drift detection).
pub fn live_hash(secret: &Secret, keys: impl Iterator<Item = String>) -> String {
    let data = secret.data.clone().unwrap_or_default();
    let live: BTreeMap<String, SecretBytes> = keys
        .filter_map(|k| data.get(&k).map(|v| (k, SecretBytes::new(v.0.clone()))))
        .collect();
    data_hash(&live)
}

/// `key=version` pairs per remote key, compact and stable.
pub fn version_annotation(synced: &[SyncedKey]) -> String {
    let mut pairs: Vec<String> = synced
        .iter()
        .map(|s| format!("{}={}", s.remote_key, s.version))
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs.join(",")
}

/// Everything needed to render the target Secret.
pub struct Render<'a> {
    pub sync: &'a SecretSync,
    pub name: &'a str,
    pub namespace: &'a str,
    pub provider: &'a str,
    pub data: &'a BTreeMap<String, SecretBytes>,
    pub synced: &'a [SyncedKey],
    pub hash: &'a str,
    pub last_rotated: &'a str,
}

/// The Secret we apply. For Merge targets only our keys and annotations are in it,
/// so server-side apply leaves the other fields to their owners.
pub fn render(r: &Render<'_>) -> Secret {
    let spec = &r.sync.spec;
    let sync_name = r.sync.metadata.name.clone().unwrap_or_default();
    let template = spec.target.template.as_ref();
    let mut annotations: BTreeMap<String, String> =
        template.map(|t| t.annotations.clone()).unwrap_or_default();
    annotations.insert(
        SOURCE.into(),
        format!(
            "{}:{:?}/{}",
            r.provider, spec.store_ref.kind, spec.store_ref.name
        ),
    );
    annotations.insert(SOURCE_VERSION.into(), version_annotation(r.synced));
    annotations.insert(LAST_ROTATED.into(), r.last_rotated.to_string());
    annotations.insert(DATA_HASH.into(), r.hash.to_string());
    let policy = spec.target.creation_policy;
    if policy != CreationPolicy::Merge {
        annotations.insert(
            MANAGED_BY.into(),
            managed_by_value("SecretSync", &sync_name),
        );
    }
    let labels = template.map(|t| t.labels.clone()).filter(|l| !l.is_empty());
    let owner_references = match (policy, r.sync.metadata.uid.as_deref()) {
        (CreationPolicy::Owner, Some(uid)) => Some(vec![controller_ref(
            "hush.dev/v1alpha1",
            "SecretSync",
            &sync_name,
            uid,
        )]),
        _ => None,
    };
    Secret {
        metadata: ObjectMeta {
            name: Some(r.name.to_string()),
            namespace: Some(r.namespace.to_string()),
            annotations: Some(annotations),
            labels,
            owner_references,
            ..Default::default()
        },
        type_: if policy == CreationPolicy::Merge {
            None
        } else {
            Some(
                template
                    .and_then(|t| t.type_.clone())
                    .unwrap_or_else(|| "Opaque".into()),
            )
        },
        data: Some(
            r.data
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.expose().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Is the live Secret already what we would write? (Avoids no-op writes.)
pub fn up_to_date(live: &Secret, want: &Secret) -> bool {
    let live_ann = live.metadata.annotations.clone().unwrap_or_default();
    let want_ann = want.metadata.annotations.clone().unwrap_or_default();
    let ann_ok = want_ann.iter().all(|(k, v)| live_ann.get(k) == Some(v));
    let live_data = live.data.clone().unwrap_or_default();
    let data_ok = want
        .data
        .iter()
        .flatten()
        .all(|(k, v)| live_data.get(k) == Some(v));
    let owner_ok = match &want.metadata.owner_references {
        Some(refs) => refs.iter().all(|r| {
            live.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|l| l.uid == r.uid)
        }),
        None => true,
    };
    ann_ok && data_ok && owner_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretBytes> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), SecretBytes::new(v.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn hash_depends_on_keys_and_values_and_is_unambiguous() {
        assert_ne!(
            data_hash(&map(&[("a", "1")])),
            data_hash(&map(&[("a", "2")]))
        );
        assert_ne!(
            data_hash(&map(&[("ab", "c")])),
            data_hash(&map(&[("a", "bc")]))
        );
        assert_eq!(
            data_hash(&map(&[("a", "1"), ("b", "2")])),
            data_hash(&map(&[("b", "2"), ("a", "1")]))
        );
    }

    #[test]
    fn version_annotation_is_sorted_and_deduplicated() {
        let s = |k: &str, r: &str, v: &str| SyncedKey {
            secret_key: k.into(),
            remote_key: r.into(),
            version: v.into(),
        };
        assert_eq!(
            version_annotation(&[
                s("u", "app/db", "3"),
                s("p", "app/db", "3"),
                s("k", "api", "7")
            ]),
            "api=7,app/db=3"
        );
    }
}
