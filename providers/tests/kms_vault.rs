//! Vault transit key source against a real OpenBao dev server on 127.0.0.1.
#![cfg(feature = "vault")]

use std::time::{Duration, Instant};

use hush_crypto::{KeyKind, MasterKey};
use hush_providers::kms::net::NetSettings;
use hush_providers::kms::vault::VaultTransitSource;
use hush_providers::{KeyError, KeySource};
use hush_tests::standins::OpenBao;

/// A dev server with transit mounted at `sops/transit` (a nested path, as sops' docs use).
fn bao_with_transit(keys: &[&str]) -> OpenBao {
    let bao = OpenBao::start().expect("start OpenBao (scripts/setup-test-deps.sh)");
    let (status, body) = bao.api(
        "POST",
        "/v1/sys/mounts/sops/transit",
        Some(r#"{"type":"transit"}"#),
    );
    assert!(status == 204 || status == 200, "{status} {body}");
    for k in keys {
        let (status, body) = bao.api("POST", &format!("/v1/sops/transit/keys/{k}"), Some("{}"));
        assert!(status == 204 || status == 200, "{status} {body}");
    }
    bao
}

fn key(bao_url: &str, name: &str) -> KeyKind {
    KeyKind::HcVault {
        vault_address: bao_url.into(),
        engine_path: "sops/transit".into(),
        key_name: name.into(),
    }
}

fn source(token: &str) -> VaultTransitSource {
    VaultTransitSource::new(NetSettings {
        total_timeout: Duration::from_secs(10),
        ..NetSettings::default()
    })
    .with_token(token)
}

fn master(kind: KeyKind, enc: String) -> MasterKey {
    MasterKey {
        kind,
        enc,
        created_at: None,
    }
}

#[test]
fn round_trip_stores_vault_ciphertext_and_survives_key_rotation() {
    let bao = bao_with_transit(&["first"]);
    let src = source(bao.token());
    let kind = key(&bao.url(), "first");
    let enc = src.wrap(&kind, &[9u8; 32]).unwrap();
    assert!(enc.starts_with("vault:v1:"), "{enc}");
    assert_eq!(
        src.unwrap(&master(kind.clone(), enc.clone()))
            .unwrap()
            .as_slice(),
        &[9u8; 32]
    );
    let (status, _) = bao.api("POST", "/v1/sops/transit/keys/first/rotate", Some("{}"));
    assert!(status == 200 || status == 204);
    let enc2 = src.wrap(&kind, &[8u8; 32]).unwrap();
    assert!(enc2.starts_with("vault:v2:"), "{enc2}");
    // the old ciphertext still opens
    assert_eq!(
        src.unwrap(&master(kind, enc)).unwrap().as_slice(),
        &[9u8; 32]
    );
}

#[test]
fn wrong_key_revoked_token_and_missing_token_are_distinct_errors() {
    let bao = bao_with_transit(&["a", "b"]);
    let src = source(bao.token());
    let enc = src.wrap(&key(&bao.url(), "a"), &[1u8; 32]).unwrap();

    // wrong key: the ciphertext of "a" presented to "b"
    let err = src
        .unwrap(&master(key(&bao.url(), "b"), enc.clone()))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KeyError::Unwrap { .. }), "{text}");
    assert!(
        text.contains(&bao.url()) && text.contains("sops/transit/keys/b"),
        "{text}"
    );
    assert!(!text.contains(bao.token()), "{text}");

    // a token without decrypt permission (access revoked)
    let (status, body) = bao.api(
        "POST",
        "/v1/sys/policies/acl/enc-only",
        Some(r#"{"policy":"path \"sops/transit/encrypt/*\" { capabilities = [\"update\"] }"}"#),
    );
    assert!(status == 204 || status == 200, "{body}");
    let (status, body) = bao.api(
        "POST",
        "/v1/auth/token/create",
        Some(r#"{"policies":["enc-only"],"no_default_policy":true}"#),
    );
    assert_eq!(status, 200, "{body}");
    let limited: serde_json::Value = serde_json::from_str(&body).unwrap();
    let limited = limited["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let err = source(&limited)
        .unwrap(&master(key(&bao.url(), "a"), enc.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("403") && err.contains("permission denied"),
        "{err}"
    );
    assert!(!err.contains(&limited), "{err}");

    // a token that is not valid at all
    let err = source("not-a-token")
        .unwrap(&master(key(&bao.url(), "a"), enc))
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");
}

#[test]
fn a_stopped_server_fails_within_the_time_budget() {
    let mut bao = bao_with_transit(&["k"]);
    let src = VaultTransitSource::new(NetSettings {
        total_timeout: Duration::from_secs(3),
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        ..NetSettings::default()
    })
    .with_token(bao.token());
    let kind = key(&bao.url(), "k");
    let enc = src.wrap(&kind, &[4u8; 32]).unwrap();
    bao.process.stop();
    let start = Instant::now();
    let err = src.unwrap(&master(kind, enc)).unwrap_err().to_string();
    assert!(start.elapsed() < Duration::from_secs(6));
    assert!(
        err.contains(&bao.url()) && err.contains("after 3 attempts"),
        "{err}"
    );
}
