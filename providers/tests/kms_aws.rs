//! AWS KMS key source against a real `moto_server` on 127.0.0.1.
#![cfg(feature = "aws")]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{DataKey, KeyKind, MasterKey};
use hush_providers::kms::aws::AwsKmsSource;
use hush_providers::kms::net::NetSettings;
use hush_providers::{KeyError, KeyRing, KeyRingError, KeySource};
use hush_tests::standins::{http, Moto};

/// One moto server for this test binary; dummy credentials in the environment.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let moto = Moto::start().expect("start moto_server (scripts/setup-test-deps.sh)");
        for (k, v) in moto.env() {
            if k != "AWS_ENDPOINT_URL" {
                std::env::set_var(k, v);
            }
        }
        moto
    })
}

/// Calls the KMS JSON API directly (test setup).
fn kms_api(target: &str, body: &str) -> serde_json::Value {
    let (status, text) = http(
        moto().port(),
        "POST",
        "/",
        Some(body),
        &[
            ("X-Amz-Target", &format!("TrentService.{target}")),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"),
        ],
    );
    assert_eq!(status, 200, "{target}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn create_key() -> String {
    let out = kms_api("CreateKey", r#"{"Description":"hush test"}"#);
    out["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
}

fn source() -> AwsKmsSource {
    let settings = NetSettings {
        total_timeout: Duration::from_secs(20),
        ..NetSettings::default()
    };
    AwsKmsSource::new(settings).with_endpoint(moto().url())
}

fn kms_key(arn: &str, context: &[(&str, &str)], role: Option<&str>) -> KeyKind {
    KeyKind::AwsKms {
        arn: arn.into(),
        role: role.map(String::from),
        context: context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        aws_profile: String::new(),
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
fn wraps_and_unwraps_with_key_arn_and_context() {
    let arn = create_key();
    let src = source();
    let kind = kms_key(&arn, &[("app", "hush"), ("env", "test")], None);
    let data = DataKey::generate();
    let enc = src.wrap(&kind, data.as_bytes()).unwrap();
    // sops stores the CiphertextBlob in standard base64
    use base64::Engine;
    assert!(base64::engine::general_purpose::STANDARD
        .decode(&enc)
        .is_ok());
    let back = src.unwrap(&master(kind, enc)).unwrap();
    assert_eq!(back.as_slice(), data.as_bytes());
}

#[test]
fn alias_arns_work() {
    let arn = create_key();
    let key_id = arn.rsplit('/').next().unwrap();
    kms_api(
        "CreateAlias",
        &format!(r#"{{"AliasName":"alias/hush-sops","TargetKeyId":"{key_id}"}}"#),
    );
    let alias = arn.replace(&format!("key/{key_id}"), "alias/hush-sops");
    let src = source();
    let kind = kms_key(&alias, &[], None);
    let enc = src.wrap(&kind, &[7u8; 32]).unwrap();
    assert_eq!(
        src.unwrap(&master(kind, enc)).unwrap().as_slice(),
        &[7u8; 32]
    );
}

#[test]
fn wrong_encryption_context_is_refused_and_names_key_and_endpoint() {
    let arn = create_key();
    let src = source();
    let enc = src
        .wrap(&kms_key(&arn, &[("env", "prod")], None), &[1u8; 32])
        .unwrap();
    let err = src
        .unwrap(&master(kms_key(&arn, &[("env", "dev")], None), enc))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KeyError::Unwrap { .. }), "{text}");
    assert!(
        text.contains(&arn) && text.contains(&moto().url()),
        "{text}"
    );
    assert!(text.contains("InvalidCiphertext"), "{text}");
}

/// moto enforces neither key state nor IAM, so access loss is shown as what a
/// client sees once a key is gone: NotFoundException, with key and endpoint named.
#[test]
fn an_unknown_key_reports_not_found() {
    let src = source();
    let gone = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    let err = src
        .wrap(&kms_key(gone, &[], None), &[2u8; 32])
        .unwrap_err()
        .to_string();
    assert!(err.contains(gone) && err.contains(&moto().url()), "{err}");
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn assume_role_with_sops_session_name() {
    let arn = create_key();
    let role = "arn:aws:iam::123456789012:role/sops-decrypt";
    let src = source();
    let kind = kms_key(&arn, &[], Some(role));
    let enc = src.wrap(&kind, &[3u8; 32]).unwrap();
    assert_eq!(
        src.unwrap(&master(kind, enc)).unwrap().as_slice(),
        &[3u8; 32]
    );
    assert!(hush_providers::kms::aws::session_name("ci-runner").starts_with("sops@"));
}

#[test]
fn an_unreachable_endpoint_fails_fast_with_the_endpoint_named() {
    let dead = format!("http://127.0.0.1:{}", hush_tests::standins::free_port());
    let settings = NetSettings {
        total_timeout: Duration::from_secs(3),
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        ..NetSettings::default()
    };
    let src = AwsKmsSource::new(settings).with_endpoint(&dead);
    let kind = kms_key("arn:aws:kms:us-east-1:123456789012:key/none", &[], None);
    let start = Instant::now();
    let err = src.wrap(&kind, &[0u8; 32]).unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains(&dead), "{err}");
    assert!(err.contains("attempts"), "{err}");
}

#[test]
fn the_ring_tries_every_key_of_a_group_and_reports_all_failures() {
    let good = create_key();
    let src = Arc::new(source());
    let mut ring = KeyRing::new();
    ring.add_source(src);
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    let mut groups = vec![vec![master(kms_key(&good, &[], None), String::new())]];
    let data = DataKey::generate();
    ring.wrap(&mut groups, None, &data, "2026-11-27T00:00:00Z")
        .unwrap();
    // a key that cannot open it first, then the right one
    let mut group = vec![master(
        kms_key(missing, &[], None),
        groups[0][0].enc.clone(),
    )];
    group.push(groups[0][0].clone());
    let meta = Metadata::new(vec![group.clone()], None, Selector::default(), false);
    assert_eq!(ring.unwrap(&meta).unwrap(), data);

    // only bad keys: one error naming each
    let meta = Metadata::new(
        vec![vec![group[0].clone()]],
        None,
        Selector::default(),
        false,
    );
    let mut fresh = KeyRing::new();
    fresh.add_source(Arc::new(source()));
    match fresh.unwrap(&meta) {
        Err(KeyRingError::NoKeyWorked(errs)) => {
            let text = errs
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            assert!(text.contains(missing), "{text}");
        }
        other => panic!("{other:?}"),
    }
}
