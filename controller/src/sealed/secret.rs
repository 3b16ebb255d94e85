//! The Secret a SealedSecret becomes, and Bitnami's rules for touching an existing one.

use std::collections::BTreeMap;

use hush_crypto::sealing::UnsealedSecret;
use k8s_openapi::{api::core::v1::Secret, ByteString};
use kube::api::ObjectMeta;

use crate::kube_util::ownership::{controller_ref, is_controlled_by};

pub const API_VERSION: &str = "bitnami.com/v1alpha1";
pub const KIND: &str = "SealedSecret";
/// On an existing Secret: the controller may take it over.
pub const MANAGED: &str = "sealedsecrets.bitnami.com/managed";
/// On an existing Secret: merge our keys, labels and annotations into it.
pub const PATCH: &str = "sealedsecrets.bitnami.com/patch";
/// In the template: do not set an owner reference.
pub const SKIP_OWNER_REFERENCES: &str = "sealedsecrets.bitnami.com/skip-set-owner-references";
/// Rotation tracking: fingerprint of the key that unsealed the Secret.
pub const KEY_FINGERPRINT: &str = "hush.dev/sealing-key-fingerprint";
/// Rotation tracking: creation time (certificate notBefore) of that key.
pub const KEY_CREATED: &str = "hush.dev/sealing-key-created";

/// The owner the Secret points back to.
pub struct Owner<'a> {
    pub name: &'a str,
    pub uid: &'a str,
}

/// The key that unsealed the values, for the tracking annotations.
pub struct UsedKey<'a> {
    pub fingerprint: &'a str,
    pub created: &'a str,
}

/// The Secret as the SealedSecret describes it (no server fields).
pub fn desired(unsealed: &UnsealedSecret, owner: &Owner<'_>, key: &UsedKey<'_>) -> Secret {
    let metadata_json = serde_json::to_value(&unsealed.metadata).unwrap_or_default();
    let mut metadata: ObjectMeta = serde_json::from_value(metadata_json).unwrap_or_default();
    for_server_fields(&mut metadata);
    metadata.name = Some(unsealed.name.clone());
    metadata.namespace = Some(unsealed.namespace.clone());
    let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
    let skip_owner = annotations
        .get(SKIP_OWNER_REFERENCES)
        .is_some_and(|v| v == "true");
    annotations.insert(KEY_FINGERPRINT.into(), key.fingerprint.into());
    annotations.insert(KEY_CREATED.into(), key.created.into());
    if metadata.labels.as_ref().is_some_and(BTreeMap::is_empty) {
        metadata.labels = None;
    }
    metadata.owner_references =
        (!skip_owner).then(|| vec![controller_ref(API_VERSION, KIND, owner.name, owner.uid)]);
    let data = unsealed
        .data
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.to_vec())))
        .collect();
    Secret {
        metadata,
        data: Some(data),
        type_: Some(
            unsealed
                .secret_type
                .clone()
                .unwrap_or_else(|| "Opaque".into()),
        ),
        immutable: unsealed.immutable,
        ..Default::default()
    }
}

/// Fields the API server owns; a template copied from a live object may carry them.
fn for_server_fields(meta: &mut ObjectMeta) {
    meta.uid = None;
    meta.resource_version = None;
    meta.generation = None;
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.managed_fields = None;
    meta.self_link = None;
}

/// What the controller may do with an existing Secret.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Ours (controller reference) or annotated `managed`: replace it.
    Replace,
    /// Annotated `patch`: merge into it.
    Patch,
    /// Someone else's: leave it alone.
    Refuse,
}

fn annotated(secret: &Secret, key: &str) -> bool {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .is_some_and(|v| v == "true")
}

/// Bitnami's rule: controlled by this SealedSecret, or annotated managed/patch.
/// The `patch` annotation may also come from the template.
pub fn write_mode(live: &Secret, want: &Secret, owner_uid: &str) -> WriteMode {
    if annotated(live, PATCH) || annotated(want, PATCH) {
        WriteMode::Patch
    } else if is_controlled_by(&live.metadata, owner_uid) || annotated(live, MANAGED) {
        WriteMode::Replace
    } else {
        WriteMode::Refuse
    }
}

/// The object to write over `live`, keeping its server fields (resourceVersion makes
/// the replace conditional). Equal to `live` when nothing needs to change.
pub fn updated(live: &Secret, want: &Secret, mode: &WriteMode) -> Secret {
    let mut next = live.clone();
    match mode {
        WriteMode::Replace | WriteMode::Refuse => {
            next.metadata.labels = want.metadata.labels.clone();
            next.metadata.annotations = want.metadata.annotations.clone();
            next.metadata.owner_references = want.metadata.owner_references.clone();
            next.data = want.data.clone();
            next.string_data = None;
            next.type_ = want.type_.clone();
            next.immutable = want.immutable;
        }
        WriteMode::Patch => {
            extend(&mut next.metadata.labels, &want.metadata.labels);
            extend(&mut next.metadata.annotations, &want.metadata.annotations);
            extend(&mut next.data, &want.data);
            if let Some(ours) = want.metadata.owner_references.as_ref() {
                let refs = next.metadata.owner_references.get_or_insert_with(Vec::new);
                for r in ours {
                    if !refs.iter().any(|have| have.uid == r.uid) {
                        refs.push(r.clone());
                    }
                }
            }
        }
    }
    next
}

fn extend<V: Clone>(into: &mut Option<BTreeMap<String, V>>, from: &Option<BTreeMap<String, V>>) {
    if let Some(from) = from {
        let map = into.get_or_insert_with(BTreeMap::new);
        map.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(annotations: &[(&str, &str)], data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            type_: Some("Opaque".into()),
            ..Default::default()
        }
    }

    #[test]
    fn foreign_secrets_are_refused_unless_annotated() {
        let want = secret(&[], &[("a", "1")]);
        assert_eq!(write_mode(&secret(&[], &[]), &want, "u"), WriteMode::Refuse);
        assert_eq!(
            write_mode(&secret(&[(MANAGED, "true")], &[]), &want, "u"),
            WriteMode::Replace
        );
        assert_eq!(
            write_mode(&secret(&[(PATCH, "true")], &[]), &want, "u"),
            WriteMode::Patch
        );
        let mut ours = secret(&[], &[]);
        ours.metadata.owner_references = Some(vec![controller_ref(API_VERSION, KIND, "s", "u")]);
        assert_eq!(write_mode(&ours, &want, "u"), WriteMode::Replace);
    }

    #[test]
    fn patch_keeps_foreign_keys_and_replace_drops_them() {
        let live = secret(&[(PATCH, "true")], &[("theirs", "x"), ("a", "old")]);
        let want = secret(&[], &[("a", "new")]);
        let patched = updated(&live, &want, &WriteMode::Patch);
        let data = patched.data.unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data["a"].0, b"new");
        let replaced = updated(&live, &want, &WriteMode::Replace);
        assert_eq!(replaced.data.unwrap().len(), 1);
    }

    #[test]
    fn an_up_to_date_secret_is_left_equal() {
        let want = secret(&[(KEY_FINGERPRINT, "f")], &[("a", "1")]);
        let mut live = want.clone();
        live.metadata.resource_version = Some("7".into());
        assert_eq!(updated(&live, &want, &WriteMode::Replace), live);
    }
}
