//! Flux's `sops.azure-kv` key-Secret entry against the in-test HTTPS fake of the Key
//! Vault and Entra ID REST APIs (a stand-in: no Azure emulator can be installed here).
//! The environment holds no Azure credentials; the entry's service principal logs in,
//! and a wrong secret is refused by the fake's token endpoint. Its own test binary,
//! because it sets the process's Azure environment.
#![cfg(feature = "azure")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{DataKey, KeyGroup, KeyKind, MasterKey};
use hush_providers::flux_keys::{keyring_from_entries, AZURE_KV_ENTRY};
use hush_providers::kms::azure::AzureKvSource;
use hush_providers::kms::net::NetSettings;
use hush_providers::KeyRing;
use hush_tests::fake_azure_kv::{FakeAzureKv, CLIENT_ID, CLIENT_SECRET, TENANT};
use zeroize::Zeroizing;

fn entry(text: &str) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
    [(
        AZURE_KV_ENTRY.to_string(),
        Zeroizing::new(text.as_bytes().to_vec()),
    )]
    .into_iter()
    .collect()
}

#[test]
fn standin_sops_azure_kv_entry_logs_in_as_its_service_principal() {
    let vault = FakeAzureKv::start();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &vault.ca_pem).unwrap();
    for var in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("AZURE_AUTHORITY_HOST", vault.url());
    std::env::set_var("SSL_CERT_FILE", ca.path());
    std::env::set_var("HUSH_KMS_TIMEOUT", "10s");

    let version = vault.create_key("flux");
    let mut wrapper = KeyRing::new();
    wrapper.add_source(Arc::new(
        AzureKvSource::new(NetSettings {
            total_timeout: Duration::from_secs(15),
            ..NetSettings::default()
        })
        .with_client_secret(TENANT, CLIENT_ID, CLIENT_SECRET),
    ));
    let mut groups: Vec<KeyGroup> = vec![vec![MasterKey {
        kind: KeyKind::AzureKv {
            vault_url: vault.url(),
            name: "flux".into(),
            version,
        },
        enc: String::new(),
        created_at: None,
    }]];
    let key = DataKey::generate();
    wrapper.wrap(&mut groups, None, &key, "now").unwrap();
    let metadata = Metadata::new(groups, None, Selector::default(), false);

    // Flux's YAML form.
    let keys = keyring_from_entries(
        &entry(&format!(
            "tenantId: {TENANT}\nclientId: {CLIENT_ID}\nclientSecret: {CLIENT_SECRET}\n"
        )),
        false,
    )
    .unwrap();
    assert_eq!(keys.used, vec![AZURE_KV_ENTRY.to_string()]);
    assert_eq!(
        keys.ring.unwrap(&metadata).unwrap().as_bytes(),
        key.as_bytes()
    );

    // The JSON that `az ad sp create-for-rbac` prints.
    let keys = keyring_from_entries(
        &entry(&format!(
            "{{\"appId\": \"{CLIENT_ID}\", \"displayName\": \"sops\", \"password\": \"{CLIENT_SECRET}\", \"tenant\": \"{TENANT}\"}}"
        )),
        false,
    )
    .unwrap();
    assert_eq!(
        keys.ring.unwrap(&metadata).unwrap().as_bytes(),
        key.as_bytes()
    );

    // A wrong secret: the login is refused and the key does not open.
    let keys = keyring_from_entries(
        &entry(&format!(
            "tenantId: {TENANT}\nclientId: {CLIENT_ID}\nclientSecret: not-the-secret\n"
        )),
        false,
    )
    .unwrap();
    let err = keys.ring.unwrap(&metadata).unwrap_err().to_string();
    assert!(!err.contains("not-the-secret"), "{err}");

    // Incomplete: an error naming the entry, not its content.
    let err = keyring_from_entries(&entry("tenantId: t-only-9c1\n"), false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(AZURE_KV_ENTRY) && !err.contains("t-only-9c1"),
        "{err}"
    );
}
