//! `hush encrypt` / `hush decrypt` against the real cloud key services, for a
//! developer with credentials (the same flows run on local stand-ins in
//! `cli_kms_backends.rs`). Each test skips, and says why, unless its variable is set;
//! credentials come from each service's usual chain in the caller's environment:
//!
//! - AWS KMS: `HUSH_TEST_AWS_KMS_ARN=<key ARN>`; `AWS_PROFILE`, `AWS_REGION`, ….
//! - GCP Cloud KMS: `HUSH_TEST_GCP_KMS_KEY=projects/P/locations/L/keyRings/R/cryptoKeys/K`;
//!   `GOOGLE_APPLICATION_CREDENTIALS`, else the metadata server.
//! - Azure Key Vault: `HUSH_TEST_AZURE_KV_KEY=https://VAULT.vault.azure.net/keys/NAME/VERSION`;
//!   `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`, else managed identity.
//! - Vault transit: `HUSH_TEST_VAULT_TRANSIT_URI=https://HOST:8200/v1/transit/keys/NAME`;
//!   `VAULT_TOKEN`.
//!
//! Plaintext and keys are never printed: failures show the exit status and stderr.

use std::path::Path;
use std::process::{Command, Output};

const HUSH: &str = env!("CARGO_BIN_EXE_hush");
const PLAINTEXT: &str = "password: real-cloud-check\nnested:\n    token: 12345\n";

/// The variable's value, or `None` after printing why the test is skipped.
fn required(test: &str, name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
    if value.is_none() {
        eprintln!("skipping {test}: set {name} to run it against the real service");
    }
    value
}

/// `hush` with the caller's environment (its cloud credentials), minus the sops
/// variables that would add keys of their own.
fn hush(dir: &Path) -> Command {
    let mut cmd = Command::new(HUSH);
    for name in [
        "SOPS_AGE_RECIPIENTS",
        "SOPS_PGP_FP",
        "SOPS_KMS_ARN",
        "SOPS_GCP_KMS_IDS",
        "SOPS_AZURE_KEYVAULT_URLS",
        "SOPS_VAULT_URIS",
        "SOPS_HUAWEICLOUD_KMS_IDS",
    ] {
        cmd.env_remove(name);
    }
    cmd.current_dir(dir);
    cmd
}

fn expect_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Encrypts to the one key given by `flag`, checks the metadata block names it,
/// decrypts, and compares; then rotates the data key and decrypts again.
fn round_trip(flag: &str, key: &str, metadata_block: &str, key_field: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("secret.yaml");
    std::fs::write(&plain, PLAINTEXT).unwrap();

    let out = hush(dir.path())
        .args(["encrypt", flag, key])
        .arg(&plain)
        .output()
        .expect("run hush");
    expect_success("hush encrypt", &out);
    let encrypted = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert!(
        !encrypted.contains("real-cloud-check"),
        "a value left in clear"
    );
    assert!(
        encrypted.contains(&format!("    {metadata_block}:\n")),
        "no `{metadata_block}` block in the metadata"
    );
    assert!(
        encrypted.contains(key_field),
        "the metadata does not name the key ({key_field})"
    );
    let sealed = dir.path().join("secret.enc.yaml");
    std::fs::write(&sealed, &encrypted).unwrap();

    let decrypt = || {
        let out = hush(dir.path())
            .args(["decrypt"])
            .arg(&sealed)
            .output()
            .expect("run hush");
        expect_success("hush decrypt", &out);
        assert!(out.stdout == PLAINTEXT.as_bytes(), "decrypted text differs");
    };
    decrypt();

    let out = hush(dir.path())
        .args(["rotate", "-i"])
        .arg(&sealed)
        .output()
        .expect("run hush");
    expect_success("hush rotate -i", &out);
    assert_ne!(
        std::fs::read_to_string(&sealed).unwrap(),
        encrypted,
        "rotate did not re-encrypt"
    );
    decrypt();
}

#[test]
fn real_aws_kms_round_trip() {
    let Some(arn) = required("real_aws_kms_round_trip", "HUSH_TEST_AWS_KMS_ARN") else {
        return;
    };
    round_trip("--kms", &arn, "kms", &format!("arn: {arn}"));
}

#[test]
fn real_gcp_kms_round_trip() {
    let Some(id) = required("real_gcp_kms_round_trip", "HUSH_TEST_GCP_KMS_KEY") else {
        return;
    };
    round_trip("--gcp-kms", &id, "gcp_kms", &format!("resource_id: {id}"));
}

#[test]
fn real_azure_key_vault_round_trip() {
    let Some(url) = required("real_azure_key_vault_round_trip", "HUSH_TEST_AZURE_KV_KEY") else {
        return;
    };
    let vault = url.split("/keys/").next().unwrap_or(&url).to_string();
    round_trip(
        "--azure-kv",
        &url,
        "azure_kv",
        &format!("vault_url: {vault}"),
    );
}

#[test]
fn real_vault_transit_round_trip() {
    let Some(uri) = required(
        "real_vault_transit_round_trip",
        "HUSH_TEST_VAULT_TRANSIT_URI",
    ) else {
        return;
    };
    let address = uri.split("/v1/").next().unwrap_or(&uri).to_string();
    round_trip(
        "--hc-vault-transit",
        &uri,
        "hc_vault",
        &format!("vault_address: {address}"),
    );
}
