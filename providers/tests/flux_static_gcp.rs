//! Flux's `sops.gcp-kms` key-Secret entry (a service-account key file) against the
//! in-test Cloud KMS REST stand-in (no GCP emulator can be installed here), which
//! accepts a service account's self-signed JWTs only when their RS256 signature
//! verifies with that account's key. No Google credentials are in the environment.
//! Its own test binary, because it sets the process's Google environment.
#![cfg(feature = "gcp")]

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{DataKey, KeyGroup, KeyKind, MasterKey};
use hush_providers::flux_keys::{keyring_from_entries, GCP_KMS_ENTRY};
use hush_providers::kms::gcp::GcpKmsSource;
use hush_providers::KeyRing;
use hush_tests::fake_gcp_kms::FakeGcpKms;
use zeroize::Zeroizing;

const KEY: &str = "projects/hush/locations/global/keyRings/flux/cryptoKeys/sops";

fn entry(text: &str) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
    [(
        GCP_KMS_ENTRY.to_string(),
        Zeroizing::new(text.as_bytes().to_vec()),
    )]
    .into_iter()
    .collect()
}

#[test]
fn standin_sops_gcp_kms_entry_signs_in_as_its_service_account() {
    let kms = FakeGcpKms::start();
    let home = tempfile::tempdir().unwrap();
    for var in [
        "GOOGLE_OAUTH_ACCESS_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HOME", home.path());
    std::env::set_var("CLOUDSDK_CONFIG", home.path().join("gcloud"));
    // No metadata server answers here.
    std::env::set_var("GCE_METADATA_HOST", "127.0.0.1:9");
    std::env::set_var("SOPS_GCP_KMS_ENDPOINT", kms.url());
    kms.create_key(KEY);
    let sa_key = kms.service_account_key("sops@hush-test.iam.gserviceaccount.com");

    let mut wrapper = KeyRing::new();
    wrapper.add_source(Arc::new(
        GcpKmsSource::default().with_service_account_key(Zeroizing::new(sa_key.clone())),
    ));
    let mut groups: Vec<KeyGroup> = vec![vec![MasterKey {
        kind: KeyKind::GcpKms {
            resource_id: KEY.into(),
        },
        enc: String::new(),
        created_at: None,
    }]];
    let key = DataKey::generate();
    wrapper.wrap(&mut groups, None, &key, "now").unwrap();
    let metadata = Metadata::new(groups, None, Selector::default(), false);

    let keys = keyring_from_entries(&entry(&sa_key), false).unwrap();
    assert_eq!(keys.used, vec![GCP_KMS_ENTRY.to_string()]);
    assert_eq!(
        keys.ring.unwrap(&metadata).unwrap().as_bytes(),
        key.as_bytes()
    );

    // Another account's key (unknown to the service): its JWTs are refused.
    let other = FakeGcpKms::start().service_account_key("sops@hush-test.iam.gserviceaccount.com");
    let keys = keyring_from_entries(&entry(&other), false).unwrap();
    let err = keys.ring.unwrap(&metadata).unwrap_err().to_string();
    assert!(!err.contains("PRIVATE KEY"), "{err}");

    // Not a service-account key: an error naming the entry, not its content.
    let err = keyring_from_entries(
        &entry("{\"type\": \"authorized_user\", \"x\": \"c0ntent\"}"),
        false,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains(GCP_KMS_ENTRY) && !err.contains("c0ntent"),
        "{err}"
    );
}
