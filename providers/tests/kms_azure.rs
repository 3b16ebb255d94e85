//! Azure Key Vault key source (official azure_security_keyvault_keys client)
//! against the in-test HTTPS fake of the Key Vault and Entra ID REST APIs,
//! logging in with a client secret through `AZURE_AUTHORITY_HOST`.
#![cfg(feature = "azure")]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use hush_crypto::{DataKey, KeyKind, MasterKey};
use hush_providers::kms::azure::AzureKvSource;
use hush_providers::kms::net::NetSettings;
use hush_providers::{KeyError, KeyRing, KeySource};
use hush_tests::fake_azure_kv::FakeAzureKv;

/// The vault every test uses (its authority and certificate are process-wide settings).
fn vault() -> &'static FakeAzureKv {
    static VAULT: OnceLock<FakeAzureKv> = OnceLock::new();
    VAULT.get_or_init(|| {
        let vault = FakeAzureKv::start();
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), &vault.ca_pem).unwrap();
        let (_, ca_path) = ca.keep().unwrap();
        for (k, v) in vault.env(&ca_path) {
            std::env::set_var(k, v);
        }
        vault
    })
}

fn source(total: Duration) -> AzureKvSource {
    AzureKvSource::new(NetSettings {
        total_timeout: total,
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        ..NetSettings::default()
    })
}

fn azure(url: &str, name: &str, version: &str) -> KeyKind {
    KeyKind::AzureKv {
        vault_url: url.into(),
        name: name.into(),
        version: version.into(),
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
fn wrap_is_rsa_oaep_256_in_unpadded_base64url() {
    let v = vault();
    let version = v.create_key("roundtrip");
    let src = source(Duration::from_secs(15));
    let kind = azure(&v.url(), "roundtrip", &version);
    let enc = src.wrap(&kind, &[3u8; 32]).unwrap();
    assert!(
        !enc.contains('=') && !enc.contains('+') && !enc.contains('/'),
        "{enc}"
    );
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&enc)
        .unwrap();
    assert_eq!(raw.len(), 256, "RSA-2048 output");
    assert_eq!(
        src.unwrap(&master(kind, enc)).unwrap().as_slice(),
        &[3u8; 32]
    );
}

#[test]
fn an_empty_version_means_the_latest() {
    let v = vault();
    v.create_key("latest");
    let src = source(Duration::from_secs(15));
    let kind = azure(&v.url(), "latest", "");
    let enc = src.wrap(&kind, &[4u8; 32]).unwrap();
    assert_eq!(
        src.unwrap(&master(kind, enc)).unwrap().as_slice(),
        &[4u8; 32]
    );
    assert!(v.controls().calls("getkey") >= 2);
}

#[test]
fn a_key_without_version_is_recorded_with_the_latest_and_outlives_rotation() {
    let v = vault();
    let first = v.create_key("rotating");
    let mut ring = KeyRing::new();
    ring.add_source(Arc::new(source(Duration::from_secs(15))));
    let mut groups = vec![vec![master(azure(&v.url(), "rotating", ""), String::new())]];
    let data_key = DataKey::generate();
    ring.wrap(&mut groups, None, &data_key, "2026-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(
        groups[0][0].kind,
        azure(&v.url(), "rotating", &first),
        "the metadata records the version that wrapped the key"
    );

    // The key is rotated: the file still opens, with the version it recorded.
    let second = v.create_key("rotating");
    assert_ne!(first, second);
    let src = source(Duration::from_secs(15));
    assert_eq!(
        src.unwrap(&groups[0][0]).unwrap().as_slice(),
        data_key.as_bytes()
    );
    // Without the recorded version, "latest" is now the wrong key.
    let versionless = master(azure(&v.url(), "rotating", ""), groups[0][0].enc.clone());
    assert!(src.unwrap(&versionless).is_err());

    // A key given with its version is recorded as given.
    let mut groups = vec![vec![master(
        azure(&v.url(), "rotating", &first),
        String::new(),
    )]];
    ring.wrap(&mut groups, None, &data_key, "2026-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(groups[0][0].kind, azure(&v.url(), "rotating", &first));
}

#[test]
fn wrong_key_missing_key_and_revoked_access_name_key_and_vault() {
    let v = vault();
    let va = v.create_key("wa");
    let vb = v.create_key("wb");
    let src = source(Duration::from_secs(15));
    let enc = src.wrap(&azure(&v.url(), "wa", &va), &[1u8; 32]).unwrap();

    let err = src
        .unwrap(&master(azure(&v.url(), "wb", &vb), enc.clone()))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KeyError::Unwrap { .. }), "{text}");
    assert!(text.contains("wb") && text.contains(&v.url()), "{text}");
    assert!(text.contains("400"), "{text}");

    let text = src
        .unwrap(&master(azure(&v.url(), "nope", "0123"), enc.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("KeyNotFound") || text.contains("404"),
        "{text}"
    );

    v.deny("wa", true);
    let text = src
        .unwrap(&master(azure(&v.url(), "wa", &va), enc))
        .unwrap_err()
        .to_string();
    assert!(text.contains("403"), "{text}");
    assert!(
        !text.contains(hush_tests::fake_azure_kv::CLIENT_SECRET),
        "{text}"
    );
}

#[test]
fn unreachable_and_slow_vaults_fail_within_the_budget() {
    let v = vault();
    let dead = format!("https://127.0.0.1:{}", hush_tests::standins::free_port());
    let src = source(Duration::from_secs(2));
    let start = Instant::now();
    let err = src
        .wrap(&azure(&dead, "k", "1"), &[1u8; 32])
        .unwrap_err()
        .to_string();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(err.contains(&dead), "{err}");

    // a second vault behind the same authority, answering slowly
    let slow = FakeAzureKv::start();
    let version = slow.create_key("slow");
    let _ = v;
    let src = source(Duration::from_millis(1500));
    let kind = azure(&slow.url(), "slow", &version);
    // first call learns the challenge and token; it must still be bounded
    slow.controls().set_delay(Duration::from_secs(10));
    let start = Instant::now();
    let err = src.wrap(&kind, &[1u8; 32]).unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains(&slow.url()), "{err}");
}
