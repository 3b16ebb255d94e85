//! The Secret a decrypted SOPS manifest becomes, and whether the live one matches it.
//! Shared by SopsSecret and SecretRepository.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
    ByteString,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::kube_util::ownership::MANAGED_BY;

/// Annotation: SHA-256 of the Secret's data as hush wrote it (keys and values), so
/// an edit outside hush shows as drift without comparing values in logs.
pub const DATA_HASH: &str = "hush.dev/data-hash";

/// What to write.
pub struct Shape<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub type_: Option<&'a str>,
    pub immutable: Option<bool>,
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub annotations: Option<&'a BTreeMap<String, String>>,
    /// `Kind/name` for the managed-by annotation.
    pub managed_by: String,
    /// Extra hush annotations (source revision, file...).
    pub hush_annotations: Vec<(&'static str, String)>,
    pub owner: Option<OwnerReference>,
}

/// SHA-256 over sorted `key=len:value` records: a fingerprint, not the values.
pub fn data_hash(data: &BTreeMap<String, Zeroizing<Vec<u8>>>) -> String {
    let mut h = Sha256::new();
    for (k, v) in data {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.len().to_le_bytes());
        h.update(v.as_slice());
    }
    hex::encode(h.finalize())
}

/// The Secret as hush writes it.
pub fn desired(shape: &Shape<'_>, data: &BTreeMap<String, Zeroizing<Vec<u8>>>) -> Secret {
    let mut annotations = shape.annotations.cloned().unwrap_or_default();
    annotations.insert(MANAGED_BY.into(), shape.managed_by.clone());
    annotations.insert(DATA_HASH.into(), data_hash(data));
    for (k, v) in &shape.hush_annotations {
        annotations.insert((*k).into(), v.clone());
    }
    Secret {
        metadata: ObjectMeta {
            name: Some(shape.name.into()),
            namespace: Some(shape.namespace.into()),
            labels: shape.labels.filter(|l| !l.is_empty()).cloned(),
            annotations: Some(annotations),
            owner_references: shape.owner.clone().map(|o| vec![o]),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.to_vec())))
                .collect(),
        ),
        type_: Some(shape.type_.unwrap_or("Opaque").into()),
        immutable: shape.immutable,
        ..Default::default()
    }
}

/// Does the live Secret already say what `want` says? Labels and annotations only
/// need to be present (others may add their own); data must match exactly.
pub fn up_to_date(live: &Secret, want: &Secret) -> bool {
    let contains = |have: &Option<BTreeMap<String, String>>,
                    need: &Option<BTreeMap<String, String>>| {
        need.iter()
            .flatten()
            .all(|(k, v)| have.as_ref().and_then(|h| h.get(k)) == Some(v))
    };
    live.data.clone().unwrap_or_default() == want.data.clone().unwrap_or_default()
        && live.type_.as_deref().unwrap_or("Opaque") == want.type_.as_deref().unwrap_or("Opaque")
        && contains(&live.metadata.labels, &want.metadata.labels)
        && contains(&live.metadata.annotations, &want.metadata.annotations)
        && want.metadata.owner_references.iter().flatten().all(|o| {
            live.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|l| l.uid == o.uid)
        })
}

/// Was the live Secret's data changed since hush wrote it (its data no longer
/// matches the hash hush recorded)?
pub fn edited_outside_hush(live: &Secret) -> bool {
    let Some(recorded) = live
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DATA_HASH))
    else {
        return false;
    };
    let data: BTreeMap<String, Zeroizing<Vec<u8>>> = live
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), Zeroizing::new(v.0.clone())))
        .collect();
    data_hash(&data) != *recorded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Zeroizing::new(v.as_bytes().to_vec())))
            .collect()
    }

    fn shape() -> Shape<'static> {
        Shape {
            name: "db",
            namespace: "apps",
            type_: None,
            immutable: None,
            labels: None,
            annotations: None,
            managed_by: "SopsSecret/db".into(),
            hush_annotations: vec![("hush.dev/source-file", "a.yaml".into())],
            owner: None,
        }
    }

    #[test]
    fn extra_labels_are_fine_changed_data_is_not() {
        let want = desired(&shape(), &data(&[("password", "p1")]));
        let mut live = want.clone();
        live.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("team".into(), "x".into());
        assert!(up_to_date(&live, &want));
        assert!(!edited_outside_hush(&live));
        live.data
            .as_mut()
            .unwrap()
            .insert("password".into(), ByteString(b"p2".to_vec()));
        assert!(!up_to_date(&live, &want));
        assert!(edited_outside_hush(&live));
    }

    #[test]
    fn hash_is_not_the_value() {
        let h = data_hash(&data(&[("a", "secret-value")]));
        assert_eq!(h.len(), 64);
        assert_ne!(h, data_hash(&data(&[("a", "secret-valuE")])));
        assert_ne!(
            data_hash(&data(&[("ab", "c")])),
            data_hash(&data(&[("a", "bc")]))
        );
    }
}
