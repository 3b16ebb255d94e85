//! Who owns an object: a controller owner reference, or hush's managed-by annotation.
//! hush never overwrites a Secret it does not own unless a Merge policy says so.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Annotation naming the hush object that manages a Secret: `<Kind>/<name>` (same namespace).
pub const MANAGED_BY: &str = "hush.dev/managed-by";

/// The `managed-by` value for an owner.
pub fn managed_by_value(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

/// True when `meta` has a controller owner reference to `owner_uid`.
pub fn is_controlled_by(meta: &ObjectMeta, owner_uid: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| r.uid == owner_uid && r.controller == Some(true))
}

/// True when the object is marked as managed by `kind/name`.
pub fn is_managed_by(meta: &ObjectMeta, kind: &str, name: &str) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(MANAGED_BY))
        .is_some_and(|v| *v == managed_by_value(kind, name))
}

/// May the controller write the whole object? It may when it created it (annotation)
/// or controls it (owner reference). Anything else belongs to someone else.
pub fn may_manage(meta: &ObjectMeta, kind: &str, name: &str, owner_uid: Option<&str>) -> bool {
    is_managed_by(meta, kind, name) || owner_uid.is_some_and(|uid| is_controlled_by(meta, uid))
}

/// Who an object belongs to, for messages: `<Kind>/<name>` of its controller or manager.
pub fn describe_owner(meta: &ObjectMeta) -> String {
    if let Some(r) = meta
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
    {
        return format!("{}/{}", r.kind, r.name);
    }
    match meta.annotations.as_ref().and_then(|a| a.get(MANAGED_BY)) {
        Some(v) => v.clone(),
        None => "nobody known (created outside hush)".into(),
    }
}

/// A controller owner reference, so the child is garbage-collected with its owner.
pub fn controller_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_secret_is_not_ours() {
        let mut meta = ObjectMeta::default();
        assert!(!may_manage(&meta, "SecretSync", "a", Some("u1")));
        meta.annotations = Some([(MANAGED_BY.to_string(), "SecretSync/b".to_string())].into());
        assert!(!may_manage(&meta, "SecretSync", "a", Some("u1")));
        assert_eq!(describe_owner(&meta), "SecretSync/b");
        assert!(may_manage(&meta, "SecretSync", "b", None));
        meta.owner_references = Some(vec![controller_ref(
            "hush.dev/v1alpha1",
            "SecretSync",
            "a",
            "u1",
        )]);
        assert!(may_manage(&meta, "SecretSync", "a", Some("u1")));
    }
}
