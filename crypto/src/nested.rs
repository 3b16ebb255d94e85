//! A SOPS document nested inside a larger one: one subtree (a `SopsSecret`'s `spec`)
//! is encrypted on its own, with its metadata block at `<subtree>.sops`.
//!
//! Why a subtree: Kubernetes and GitOps tools add fields to an object's root
//! (`metadata.managedFields`, `kubectl.kubernetes.io/last-applied-configuration`,
//! Argo tracking labels), which would break a MAC over the whole object. The
//! subtree is the part only its author writes.
//!
//! Canonical form: the API server hands objects back with map keys sorted and no
//! comments, and sops feeds the MAC in tree order. So a nested document is sealed
//! and opened in canonical form (keys sorted at every level, comments dropped):
//! the MAC then survives any round trip through the API server. Key paths (the
//! values' AAD) are relative to the subtree, e.g. `data:password:`.

use crate::document::SOPS_KEY;
use crate::engine::{DecryptOutcome, ValueError};
use crate::metadata::{Metadata, MetadataError};
use crate::sopsfile::{self, DecryptError, MacCheck};
use crate::tree::{Item, Map, Value};
use crate::DataKey;

/// `apiVersion` group of hush's own resources.
pub const HUSH_GROUP: &str = "hush.dev";
/// Kind whose `spec` is a nested SOPS document.
pub const SOPS_SECRET_KIND: &str = "SopsSecret";
/// The subtree of a `SopsSecret` that is the SOPS document.
pub const SOPS_SECRET_SUBTREE: &str = "spec";

/// Why a nested document could not be read or sealed. Names paths, never values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NestedError {
    #[error("no {0:?} mapping to hold the SOPS document")]
    NoSubtree(String),
    #[error("{0}.sops: metadata not found (the document is not encrypted)")]
    NoMetadata(String),
    #[error("{0}.sops: {1}")]
    Metadata(String, MetadataError),
    #[error("{0}: could not encrypt value at {1}")]
    Encrypt(String, ValueError),
    #[error("{0}: already encrypted")]
    AlreadyEncrypted(String),
}

/// True for a `hush.dev/*` `SopsSecret` object.
pub fn is_sops_secret(doc: &Map) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some(SOPS_SECRET_KIND)
        && doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.split('/').next() == Some(HUSH_GROUP))
}

/// True when `doc.<at>` carries a nested SOPS metadata block.
pub fn is_encrypted(doc: &Map, at: &str) -> bool {
    doc.get(at)
        .and_then(Value::as_map)
        .and_then(|m| m.get(SOPS_KEY))
        .and_then(Value::as_map)
        .is_some_and(|m| m.get("mac").is_some())
}

/// Sort map keys at every level and drop comments: the order and shape the API
/// server returns.
pub fn canonicalize(map: &mut Map) {
    map.items.retain(|item| matches!(item, Item::Entry(..)));
    for item in &mut map.items {
        if let Item::Entry(_, value) = item {
            canonicalize_value(value);
        }
    }
    map.items.sort_by(|a, b| match (a, b) {
        (Item::Entry(ka, _), Item::Entry(kb, _)) => ka.cmp(kb),
        _ => std::cmp::Ordering::Equal,
    });
}

fn canonicalize_value(value: &mut Value) {
    match value {
        Value::Map(m) => canonicalize(m),
        Value::List(items) => {
            items.retain(|v| !matches!(v, Value::Comment(_)));
            items.iter_mut().for_each(canonicalize_value);
        }
        _ => {}
    }
}

/// Encrypts `doc.<at>` in place as its own SOPS document: values per the metadata's
/// selector, then `lastmodified` and the MAC, with the metadata stored at `<at>.sops`.
pub fn seal(
    doc: &mut Map,
    at: &str,
    metadata: &mut Metadata,
    key: &DataKey,
    now: &str,
) -> Result<(), NestedError> {
    if is_encrypted(doc, at) {
        return Err(NestedError::AlreadyEncrypted(at.into()));
    }
    let Some(Value::Map(sub)) = doc.get_mut(at) else {
        return Err(NestedError::NoSubtree(at.into()));
    };
    canonicalize(sub);
    let mut docs = [std::mem::take(sub)];
    sopsfile::encrypt_documents(&mut docs, metadata, key, now, None)
        .map_err(|e| NestedError::Encrypt(at.into(), e))?;
    let [mut sealed] = docs;
    sealed.insert(SOPS_KEY, metadata.to_value());
    *sub = sealed;
    Ok(())
}

/// The encrypted subtree `doc.<at>` (canonical, without its metadata) and its metadata.
pub fn open(doc: &Map, at: &str) -> Result<(Map, Metadata), NestedError> {
    let Some(Value::Map(sub)) = doc.get(at) else {
        return Err(NestedError::NoSubtree(at.into()));
    };
    let mut sub = sub.clone();
    let meta_value = sub
        .remove(SOPS_KEY)
        .ok_or_else(|| NestedError::NoMetadata(at.into()))?;
    let metadata =
        Metadata::from_value(&meta_value).map_err(|e| NestedError::Metadata(at.into(), e))?;
    canonicalize(&mut sub);
    Ok((sub, metadata))
}

/// Decrypts a subtree returned by [`open`] in place, checking the MAC unless told not to.
pub fn decrypt(
    sub: &mut Map,
    metadata: &Metadata,
    key: &DataKey,
    check: MacCheck,
) -> Result<DecryptOutcome, DecryptError> {
    sopsfile::decrypt_documents(std::slice::from_mut(sub), metadata, key, check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Selector;
    use crate::stores::{json, yaml};

    const DOC: &str = "apiVersion: hush.dev/v1alpha1\nkind: SopsSecret\nmetadata:\n  name: db\nspec:\n  # a comment\n  template:\n    type: Opaque\n    metadata:\n      labels:\n        app: db\n  stringData:\n    password: hunter2\n  data:\n    token: dG9rZW4=\n";

    fn metadata() -> Metadata {
        let selector = Selector::from_field("encrypted_regex", "^(data|stringData)$")
            .unwrap()
            .unwrap();
        Metadata::new(Vec::new(), None, selector, false)
    }

    fn sealed() -> (Map, DataKey) {
        let mut doc = yaml::parse_documents(DOC).unwrap().remove(0);
        assert!(is_sops_secret(&doc));
        let key = DataKey::generate();
        seal(
            &mut doc,
            SOPS_SECRET_SUBTREE,
            &mut metadata(),
            &key,
            "2026-01-02T03:04:05Z",
        )
        .unwrap();
        (doc, key)
    }

    /// Through JSON with the root changed and the spec's keys reversed, as a GitOps
    /// tool and the API server would hand it back.
    fn round_trip(doc: &Map) -> Map {
        let mut back = json::parse(&json::emit(doc, json::JsonIndent::Spaces(2))).unwrap();
        let Some(Value::Map(md)) = back.get_mut("metadata") else {
            panic!("metadata")
        };
        md.insert("resourceVersion", Value::Str("42".into()));
        md.insert("labels", Value::Str("argocd.argoproj.io/instance".into()));
        let Some(Value::Map(spec)) = back.get_mut("spec") else {
            panic!("spec")
        };
        spec.items.reverse();
        back
    }

    #[test]
    fn sealed_spec_survives_root_changes_and_reordering() {
        let (doc, key) = sealed();
        let text = yaml::emit_documents(std::slice::from_ref(&doc), &Default::default());
        assert!(!text.contains("hunter2"));
        assert!(text.contains("type: Opaque"), "template stays clear");
        let (mut spec, meta) = open(&round_trip(&doc), SOPS_SECRET_SUBTREE).unwrap();
        decrypt(&mut spec, &meta, &key, MacCheck::Verify).unwrap();
        let string_data = spec.get("stringData").and_then(Value::as_map).unwrap();
        assert_eq!(
            string_data.get("password"),
            Some(&Value::Str("hunter2".into()))
        );
    }

    #[test]
    fn tampered_spec_is_refused() {
        let (mut doc, key) = sealed();
        let Some(Value::Map(spec)) = doc.get_mut("spec") else {
            panic!("spec")
        };
        let Some(Value::Map(template)) = spec.get_mut("template") else {
            panic!("template")
        };
        template.insert("type", Value::Str("kubernetes.io/tls".into()));
        let (mut spec, meta) = open(&doc, SOPS_SECRET_SUBTREE).unwrap();
        let err = decrypt(&mut spec, &meta, &key, MacCheck::Verify).unwrap_err();
        assert!(matches!(err, DecryptError::MacMismatch), "{err}");
    }

    #[test]
    fn moved_ciphertext_is_refused() {
        let (mut doc, key) = sealed();
        let Some(Value::Map(spec)) = doc.get_mut("spec") else {
            panic!("spec")
        };
        let Some(Value::Map(data)) = spec.get_mut("data") else {
            panic!("data")
        };
        let token = data.remove("token").unwrap();
        data.insert("other", token);
        let (mut spec, meta) = open(&doc, SOPS_SECRET_SUBTREE).unwrap();
        assert!(decrypt(&mut spec, &meta, &key, MacCheck::Verify).is_err());
    }

    #[test]
    fn sealing_twice_and_missing_parts_are_errors() {
        let (mut doc, key) = sealed();
        let err = seal(&mut doc, "spec", &mut metadata(), &key, "t").unwrap_err();
        assert!(matches!(err, NestedError::AlreadyEncrypted(_)));
        assert!(matches!(
            open(&doc, "nothing").unwrap_err(),
            NestedError::NoSubtree(_)
        ));
        let plain = yaml::parse_documents(DOC).unwrap().remove(0);
        assert!(matches!(
            open(&plain, "spec").unwrap_err(),
            NestedError::NoMetadata(_)
        ));
    }
}
