//! GCP Cloud KMS key source (official client, REST) against the in-test fake
//! of the Cloud KMS REST API; credentials come from the fake metadata server
//! through Application Default Credentials, as with workload identity.
#![cfg(feature = "gcp")]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{DataKey, KeyKind, MasterKey};
use hush_providers::kms::gcp::GcpKmsSource;
use hush_providers::kms::net::NetSettings;
use hush_providers::{KeyError, KeyRing, KeySource};
use hush_tests::fake_gcp_kms::FakeGcpKms;

const KEY_A: &str = "projects/hush/locations/global/keyRings/sops/cryptoKeys/a";
const KEY_B: &str = "projects/hush/locations/global/keyRings/sops/cryptoKeys/b";

/// The metadata server ADC talks to (one per test binary: its address is in the environment).
fn metadata_server() -> &'static FakeGcpKms {
    static MDS: OnceLock<FakeGcpKms> = OnceLock::new();
    MDS.get_or_init(|| {
        let mds = FakeGcpKms::start();
        std::env::set_var("GCE_METADATA_HOST", mds.metadata_host());
        std::env::remove_var("GOOGLE_APPLICATION_CREDENTIALS");
        std::env::remove_var("GOOGLE_OAUTH_ACCESS_TOKEN");
        let home = tempfile::tempdir().unwrap().keep();
        std::env::set_var("HOME", &home);
        std::env::set_var("CLOUDSDK_CONFIG", home.join("gcloud"));
        mds
    })
}

fn fake_with_keys() -> FakeGcpKms {
    metadata_server();
    let fake = FakeGcpKms::start();
    fake.create_key(KEY_A);
    fake.create_key(KEY_B);
    fake
}

fn settings(total: Duration) -> NetSettings {
    NetSettings {
        total_timeout: total,
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        ..NetSettings::default()
    }
}

fn source(fake: &FakeGcpKms) -> GcpKmsSource {
    GcpKmsSource::new(settings(Duration::from_secs(15))).with_endpoint(fake.url())
}

fn gcp(id: &str) -> KeyKind {
    KeyKind::GcpKms {
        resource_id: id.into(),
    }
}

fn master(kind: KeyKind, enc: String) -> MasterKey {
    MasterKey {
        kind,
        enc,
        created_at: None,
    }
}

#[test]
fn round_trip_through_the_rest_api_with_metadata_server_credentials() {
    let fake = fake_with_keys();
    let src = source(&fake);
    let enc = src.wrap(&gcp(KEY_A), &[5u8; 32]).unwrap();
    use base64::Engine;
    // std base64 of nonce + sealed key + tag
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&enc)
        .unwrap();
    assert_eq!(raw.len(), 12 + 32 + 16);
    assert_eq!(
        src.unwrap(&master(gcp(KEY_A), enc)).unwrap().as_slice(),
        &[5u8; 32]
    );
    assert_eq!(fake.crypto_calls(), (1, 1));
    assert!(metadata_server().controls().calls("metadata-token") >= 1);
}

#[test]
fn many_files_under_one_data_key_cost_one_decrypt() {
    let fake = fake_with_keys();
    let mut ring = KeyRing::new();
    ring.add_source(Arc::new(source(&fake)));
    let data = DataKey::generate();
    let mut groups = vec![vec![master(gcp(KEY_A), String::new())]];
    ring.wrap(&mut groups, None, &data, "2026-11-27T00:00:00Z")
        .unwrap();
    let meta = Metadata::new(groups, None, Selector::default(), false);
    let mut reader = KeyRing::new();
    reader.add_source(Arc::new(source(&fake)));
    for _ in 0..50 {
        assert_eq!(reader.unwrap(&meta).unwrap(), data);
    }
    assert_eq!(fake.crypto_calls(), (1, 1));
}

#[test]
fn wrong_key_and_revoked_access_name_the_key_and_endpoint() {
    let fake = fake_with_keys();
    let src = source(&fake);
    let enc = src.wrap(&gcp(KEY_A), &[6u8; 32]).unwrap();
    let err = src.unwrap(&master(gcp(KEY_B), enc.clone())).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KeyError::Unwrap { .. }), "{text}");
    assert!(text.contains(KEY_B) && text.contains(&fake.url()), "{text}");
    assert!(text.contains("ciphertext is invalid"), "{text}");

    fake.deny(KEY_A, true);
    let text = src
        .unwrap(&master(gcp(KEY_A), enc))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("PERMISSION_DENIED") || text.contains("PermissionDenied"),
        "{text}"
    );
    assert!(text.contains("403"), "{text}");
}

#[test]
fn throttling_is_retried_with_backoff() {
    let fake = fake_with_keys();
    let src = source(&fake);
    fake.controls().fail_next(2);
    let enc = src.wrap(&gcp(KEY_A), &[1u8; 32]).unwrap();
    assert_eq!(fake.controls().calls("injected-503"), 2);
    assert_eq!(
        src.unwrap(&master(gcp(KEY_A), enc)).unwrap().as_slice(),
        &[1u8; 32]
    );
}

#[test]
fn a_slow_server_is_cut_off_by_the_time_budget() {
    let fake = fake_with_keys();
    let src = GcpKmsSource::new(settings(Duration::from_millis(800))).with_endpoint(fake.url());
    fake.controls().set_delay(Duration::from_secs(5));
    let start = Instant::now();
    let err = src.wrap(&gcp(KEY_A), &[1u8; 32]).unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains(KEY_A) && err.contains(&fake.url()), "{err}");
}

#[test]
fn a_stopped_server_fails_with_its_endpoint_named() {
    let fake = fake_with_keys();
    let src = GcpKmsSource::new(settings(Duration::from_secs(3))).with_endpoint(fake.url());
    let enc = src.wrap(&gcp(KEY_A), &[1u8; 32]).unwrap();
    fake.server.stop();
    let fresh = GcpKmsSource::new(settings(Duration::from_secs(3))).with_endpoint(fake.url());
    let start = Instant::now();
    let err = fresh
        .unwrap(&master(gcp(KEY_A), enc))
        .unwrap_err()
        .to_string();
    assert!(start.elapsed() < Duration::from_secs(6));
    assert!(err.contains(&fake.url()), "{err}");
}
