//! The CRDs under `deploy/crds/` must match the Rust types. Regenerate with
//! `cargo run -p hush-controller --bin hush-crdgen` when this fails.

use std::path::Path;

#[test]
fn checked_in_crds_match_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    let mut stale = Vec::new();
    for (file, crd) in hush_controller::crd::all_crds() {
        let want = hush_controller::crd::crd_yaml(&crd);
        let have = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if have != want {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale CRDs {stale:?}: run `cargo run -p hush-controller --bin hush-crdgen`"
    );
}

#[test]
fn crds_have_group_version_and_status_subresource() {
    for (_, crd) in hush_controller::crd::all_crds() {
        assert!(
            ["hush.dev", "bitnami.com"].contains(&crd.spec.group.as_str()),
            "{}",
            crd.spec.group
        );
        let v = &crd.spec.versions[0];
        assert_eq!(v.name, "v1alpha1");
        assert!(v
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some());
    }
}
