//! Flux's `sops.aws-kms` key-Secret entry on a real AWS KMS API (moto_server on
//! 127.0.0.1): with no credentials anywhere in the environment, a SOPS data key
//! wrapped by KMS opens only when the Secret carries static credentials. Its own test
//! binary, because it empties the process's AWS environment.
#![cfg(feature = "aws")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{DataKey, KeyGroup, KeyKind, MasterKey};
use hush_providers::flux_keys::{keyring_from_entries, AWS_KMS_ENTRY};
use hush_providers::kms::aws::{AwsKmsSource, StaticCredentials};
use hush_providers::kms::net::NetSettings;
use hush_providers::KeyRing;
use hush_tests::standins::{http, Moto};
use zeroize::Zeroizing;

#[test]
fn sops_aws_kms_entry_supplies_the_credentials() {
    let moto = Moto::start().expect("start moto_server (scripts/setup-test-deps.sh)");
    let home = tempfile::tempdir().unwrap();
    // No ambient credentials: no keys in the environment, no ~/.aws, no instance metadata.
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HOME", home.path());
    std::env::set_var("AWS_CONFIG_FILE", home.path().join("none"));
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"));
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT_URL", moto.url());

    let (status, text) = http(
        moto.port(),
        "POST",
        "/",
        Some(r#"{"Description":"flux static"}"#),
        &[
            ("X-Amz-Target", "TrentService.CreateKey"),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"),
        ],
    );
    assert_eq!(status, 200, "{text}");
    let arn = serde_json::from_str::<serde_json::Value>(&text).unwrap()["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();

    // Wrap a data key with explicit credentials (what `hush encrypt --kms` did on a laptop).
    let mut wrapper = KeyRing::new();
    wrapper.add_source(Arc::new(
        AwsKmsSource::new(NetSettings {
            total_timeout: Duration::from_secs(20),
            ..NetSettings::default()
        })
        .with_static_credentials(StaticCredentials {
            access_key_id: "AKIAFLUXSTATIC".into(),
            secret_access_key: Zeroizing::new("static-secret".into()),
            session_token: None,
        }),
    ));
    let mut groups: Vec<KeyGroup> = vec![vec![MasterKey {
        kind: KeyKind::AwsKms {
            arn: arn.clone(),
            role: None,
            context: BTreeMap::new(),
            aws_profile: String::new(),
        },
        enc: String::new(),
        created_at: None,
    }]];
    let key = DataKey::generate();
    wrapper.wrap(&mut groups, None, &key, "now").unwrap();
    let metadata = Metadata::new(groups, None, Selector::default(), false);

    // Ambient credentials only: there are none, so the key does not open.
    let ambient = keyring_from_entries(&BTreeMap::new(), true).unwrap();
    assert!(ambient.ring.unwrap(&metadata).is_err());

    // The Flux entry supplies them.
    let entries: BTreeMap<String, Zeroizing<Vec<u8>>> = [(
        AWS_KMS_ENTRY.to_string(),
        Zeroizing::new(
            b"aws_access_key_id: AKIAFLUXSTATIC\naws_secret_access_key: static-secret\n".to_vec(),
        ),
    )]
    .into_iter()
    .collect();
    let keys = keyring_from_entries(&entries, true).unwrap();
    assert_eq!(keys.used, vec![AWS_KMS_ENTRY.to_string()]);
    assert!(keys.notes.is_empty(), "{:?}", keys.notes);
    assert_eq!(
        keys.ring.unwrap(&metadata).unwrap().as_bytes(),
        key.as_bytes()
    );

    // An entry without the secret key is an error naming the entry, not its content.
    let bad: BTreeMap<String, Zeroizing<Vec<u8>>> = [(
        AWS_KMS_ENTRY.to_string(),
        Zeroizing::new(b"aws_access_key_id: AKIAONLYID\n".to_vec()),
    )]
    .into_iter()
    .collect();
    let err = keyring_from_entries(&bad, true).err().unwrap().to_string();
    assert!(
        err.contains(AWS_KMS_ENTRY) && !err.contains("AKIAONLYID"),
        "{err}"
    );
}
