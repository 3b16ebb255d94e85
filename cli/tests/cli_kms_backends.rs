//! The `hush` binary with cloud key sources, each against a local stand-in:
//! AWS KMS (moto_server), Vault transit (OpenBao dev server), GCP Cloud KMS and
//! Azure Key Vault (in-test fakes of their REST APIs). For every backend:
//! encrypt → decrypt, the metadata fields as sops writes them, `rotate`,
//! `updatekeys`, failures that leave files untouched; and mixed key groups.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use hush_tests::fake_azure_kv::FakeAzureKv;
use hush_tests::fake_gcp_kms::FakeGcpKms;
use hush_tests::standins::{http, Moto, OpenBao};

const PLAIN: &str = "user: admin\npassword: hunter2\nnested:\n    token: abc\n";
const GCP_KEY: &str = "projects/hush/locations/global/keyRings/sops/cryptoKeys/files";
const GCP_TOKEN: &str = "ya29.cli-test-token";

/// `hush` with no identities and the given environment.
fn hush_with(sb: &Sandbox, env: &[(String, String)]) -> Command {
    let mut cmd = hush_bare(sb);
    cmd.env("HUSH_KMS_TIMEOUT", "20");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn decrypt(sb: &Sandbox, env: &[(String, String)], path: &Path) -> String {
    let mut cmd = hush_with(sb, env);
    cmd.arg("decrypt").arg(path);
    ok_stdout(&run(cmd))
}

/// The trimmed lines of `text` contain `expected` in this order (other lines may sit between).
fn assert_lines_in_order(text: &str, expected: &[&str]) {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut at = 0;
    for want in expected {
        match lines[at..].iter().position(|l| l.starts_with(want)) {
            Some(i) => at += i + 1,
            None => panic!("missing {want:?} (in order) in:\n{text}"),
        }
    }
}

fn value_of<'t>(text: &'t str, key: &str) -> &'t str {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
}

/// Encrypts PLAIN with `flags` and writes the result as `name`.
fn encrypt_to(sb: &Sandbox, env: &[(String, String)], flags: &[&str], name: &str) -> PathBuf {
    let plain = sb.write(&format!("plain-{name}"), PLAIN);
    let mut cmd = hush_with(sb, env);
    cmd.arg("encrypt").args(flags).arg(&plain);
    let enc = ok_stdout(&run(cmd));
    sb.write(name, enc)
}

// ---------------------------------------------------------------- AWS KMS

fn moto_env(moto: &Moto) -> Vec<(String, String)> {
    moto.env()
}

fn moto_kms(moto: &Moto, target: &str, body: &str) -> serde_json::Value {
    let (status, text) = http(
        moto.port(),
        "POST",
        "/",
        Some(body),
        &[
            ("X-Amz-Target", &format!("TrentService.{target}")),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"),
        ],
    );
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn moto_key(moto: &Moto) -> String {
    moto_kms(moto, "CreateKey", "{}")["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn aws_kms_round_trip_metadata_rotate_and_failures() {
    let moto = Moto::start().expect("start moto_server (scripts/setup-test-deps.sh)");
    let env = moto_env(&moto);
    let arn = moto_key(&moto);
    let sb = Sandbox::new();
    let path = encrypt_to(
        &sb,
        &env,
        &["--kms", &arn, "--encryption-context", "app:hush,env:test"],
        "s.yaml",
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_lines_in_order(
        &text,
        &[
            "sops:",
            "kms:",
            &format!("- arn: {arn}"),
            "aws_profile: \"\"",
            "context:",
            "app: hush",
            "env: test",
            "created_at: \"",
            "enc: ",
            "lastmodified:",
        ],
    );
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // rotate: a new data key, every value re-encrypted, still opens
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["rotate", "-i"]).arg(&path);
    ok_stdout(&run(cmd));
    let rotated = std::fs::read_to_string(&path).unwrap();
    assert_ne!(value_of(&text, "password"), value_of(&rotated, "password"));
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // a tampered encryption context: KMS refuses, the file is untouched
    let tampered = sb.write("t.yaml", rotated.replace("env: test", "env: prod"));
    let before = std::fs::read(&tampered).unwrap();
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["decrypt", "-i"]).arg(&tampered);
    let out = run(cmd);
    assert_eq!(code(&out), 128, "{}", stderr(&out));
    assert!(stderr(&out).contains(&arn), "{}", stderr(&out));
    assert_eq!(std::fs::read(&tampered).unwrap(), before);

    // server down: a bounded failure naming the key and the endpoint
    drop(moto);
    let mut cmd = hush_with(&sb, &env);
    cmd.env("HUSH_KMS_TIMEOUT", "3").arg("decrypt").arg(&path);
    let start = Instant::now();
    let out = run(cmd);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(code(&out), 128);
    let err = stderr(&out);
    assert!(err.contains(&arn) && err.contains("127.0.0.1"), "{err}");
    assert!(!err.contains("hunter2"));
}

#[test]
fn aws_kms_from_sops_kms_arn_and_updatekeys_adds_and_removes() {
    let moto = Moto::start().expect("start moto_server (scripts/setup-test-deps.sh)");
    let mut env = moto_env(&moto);
    let first = moto_key(&moto);
    let second = moto_key(&moto);
    let sb = Sandbox::new();
    env.push(("SOPS_KMS_ARN".into(), first.clone()));
    let path = encrypt_to(&sb, &env, &[], "s.yaml");
    env.pop();
    sb.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    kms: {second}\n"),
    );
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("+++ kms {second}")),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("--- kms {first}")),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&second) && !text.contains(&first), "{text}");
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);
}

// ---------------------------------------------------------------- Vault transit

fn bao_transit(keys: &[&str]) -> OpenBao {
    let bao = OpenBao::start().expect("start OpenBao (scripts/setup-test-deps.sh)");
    let (s, b) = bao.api(
        "POST",
        "/v1/sys/mounts/sops/transit",
        Some(r#"{"type":"transit"}"#),
    );
    assert!(s == 204 || s == 200, "{b}");
    for k in keys {
        let (s, b) = bao.api("POST", &format!("/v1/sops/transit/keys/{k}"), Some("{}"));
        assert!(s == 204 || s == 200, "{b}");
    }
    bao
}

#[test]
fn vault_transit_round_trip_metadata_rotate_updatekeys_and_revocation() {
    let bao = bao_transit(&["first", "second"]);
    let env = vec![("VAULT_TOKEN".to_string(), bao.token().to_string())];
    let uri = |k: &str| format!("{}/v1/sops/transit/keys/{k}", bao.url());
    let sb = Sandbox::new();
    let path = encrypt_to(&sb, &env, &["--hc-vault-transit", &uri("first")], "s.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_lines_in_order(
        &text,
        &[
            "sops:",
            "hc_vault:",
            "- created_at: \"",
            "enc: vault:v1:",
            "engine_path: sops/transit",
            "key_name: first",
            &format!("vault_address: {}", bao.url()),
            "lastmodified:",
        ],
    );
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // no token anywhere: the key is unusable here, and the message says why
    let mut cmd = hush_with(&sb, &[]);
    cmd.arg("decrypt").arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    assert!(stderr(&out).contains("VAULT_TOKEN"), "{}", stderr(&out));

    // token from ~/.vault-token when VAULT_TOKEN is unset
    std::fs::write(sb.home().join(".vault-token"), bao.token()).unwrap();
    assert_eq!(decrypt(&sb, &[], &path), PLAIN);

    let mut cmd = hush_with(&sb, &env);
    cmd.args(["rotate", "-i", "--add-hc-vault-transit", &uri("second")])
        .arg(&path);
    ok_stdout(&run(cmd));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("key_name: second"), "{text}");

    sb.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    hc_vault_transit_uri: {}\n",
            uri("second")
        ),
    );
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("key_name: first"), "{text}");
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // a token that may not decrypt: refused, file untouched, token not printed
    let (s, b) = bao.api(
        "POST",
        "/v1/auth/token/create",
        Some(r#"{"policies":["default"],"no_default_policy":false}"#),
    );
    assert_eq!(s, 200, "{b}");
    let weak: serde_json::Value = serde_json::from_str(&b).unwrap();
    let weak = weak["auth"]["client_token"].as_str().unwrap().to_string();
    let before = std::fs::read(&path).unwrap();
    let mut cmd = hush_with(&sb, &[("VAULT_TOKEN".into(), weak.clone())]);
    cmd.args(["decrypt", "-i"]).arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    let err = stderr(&out);
    assert!(
        err.contains("sops/transit/keys/second") && err.contains("403"),
        "{err}"
    );
    assert!(!err.contains(&weak) && !err.contains(bao.token()), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

// ---------------------------------------------------------------- GCP Cloud KMS

fn gcp_env(fake: &FakeGcpKms) -> Vec<(String, String)> {
    vec![
        ("SOPS_GCP_KMS_ENDPOINT".into(), fake.url()),
        ("GOOGLE_OAUTH_ACCESS_TOKEN".into(), GCP_TOKEN.into()),
    ]
}

#[test]
fn gcp_kms_round_trip_metadata_rotate_and_failures() {
    let fake = FakeGcpKms::start();
    fake.create_key(GCP_KEY);
    fake.allow_token(GCP_TOKEN);
    let env = gcp_env(&fake);
    let sb = Sandbox::new();
    let path = encrypt_to(&sb, &env, &["--gcp-kms", GCP_KEY], "s.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_lines_in_order(
        &text,
        &[
            "sops:",
            "gcp_kms:",
            "- created_at: \"",
            "enc: ",
            &format!("resource_id: {GCP_KEY}"),
            "lastmodified:",
        ],
    );
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);
    // one encrypt for the file, one decrypt per process
    assert_eq!(fake.crypto_calls(), (1, 1));

    let mut cmd = hush_with(&sb, &env);
    cmd.args(["rotate", "-i"]).arg(&path);
    ok_stdout(&run(cmd));
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // updatekeys moves the file to the key .sops.yaml names
    let second = format!("{GCP_KEY}-2");
    fake.create_key(&second);
    sb.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    gcp_kms: {second}\n"),
    );
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("resource_id: {second}")), "{text}");
    assert!(
        !text.contains(&format!("resource_id: {GCP_KEY}\n")),
        "{text}"
    );
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);
    let denied = &second;

    // credentials from the metadata server (ADC) instead of a token
    let adc = vec![
        ("SOPS_GCP_KMS_ENDPOINT".into(), fake.url()),
        ("GCE_METADATA_HOST".into(), fake.metadata_host()),
    ];
    assert_eq!(decrypt(&sb, &adc, &path), PLAIN);

    fake.deny(denied, true);
    let before = std::fs::read(&path).unwrap();
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["decrypt", "-i"]).arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    let err = stderr(&out);
    assert!(
        err.contains(denied.as_str()) && err.contains(&fake.url()),
        "{err}"
    );
    assert!(!err.contains(GCP_TOKEN), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // a server that hangs: HUSH_KMS_TIMEOUT bounds the whole run
    fake.deny(denied, false);
    fake.controls().set_delay(Duration::from_secs(30));
    let mut cmd = hush_with(&sb, &env);
    cmd.env("HUSH_KMS_TIMEOUT", "2").arg("decrypt").arg(&path);
    let start = Instant::now();
    let out = run(cmd);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(code(&out), 128);
}

// ---------------------------------------------------------------- Azure Key Vault

fn azure_env(sb: &Sandbox, vault: &FakeAzureKv) -> Vec<(String, String)> {
    let ca = sb.write("azure-ca.pem", &vault.ca_pem);
    vault.env(&ca)
}

#[test]
fn azure_kv_round_trip_metadata_rotate_and_failures() {
    let vault = FakeAzureKv::start();
    let version = vault.create_key("sops");
    let sb = Sandbox::new();
    let env = azure_env(&sb, &vault);
    let url = format!("{}/keys/sops/{version}", vault.url());
    let path = encrypt_to(&sb, &env, &["--azure-kv", &url], "s.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_lines_in_order(
        &text,
        &[
            "sops:",
            "azure_kv:",
            "- created_at: \"",
            "enc: ",
            "name: sops",
            &format!("vault_url: {}", vault.url()),
            &format!("version: {version}"),
            "lastmodified:",
        ],
    );
    let enc = value_of(&text, "enc");
    assert!(
        !enc.contains('=') && !enc.contains('+') && !enc.contains('/'),
        "{enc}"
    );
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    let mut cmd = hush_with(&sb, &env);
    cmd.args(["rotate", "-i"]).arg(&path);
    ok_stdout(&run(cmd));
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // updatekeys adds the key of .sops.yaml (no version: the latest, which the
    // metadata records, as sops does) and drops the old one
    let next_version = vault.create_key("next");
    sb.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    azure_keyvault: {}/keys/next\n",
            vault.url()
        ),
    );
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("name: next") && !text.contains("name: sops"),
        "{text}"
    );
    assert_eq!(value_of(&text, "version"), next_version);
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);
    // Run again: the recorded version is the latest, so nothing changes.
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already match"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // The key is rotated in the vault: the file still opens with the version it
    // recorded, and updatekeys moves it to the new latest version (as sops does).
    let newest = vault.create_key("next");
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(value_of(&text, "version"), newest);
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // a wrong client secret: no token, a readable error, nothing secret printed
    let mut bad = env.clone();
    bad.retain(|(k, _)| k != "AZURE_CLIENT_SECRET");
    bad.push(("AZURE_CLIENT_SECRET".into(), "wrong-secret".into()));
    let mut cmd = hush_with(&sb, &bad);
    cmd.arg("decrypt").arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    let err = stderr(&out);
    assert!(
        err.contains("azure_kv") && err.contains(&vault.url()),
        "{err}"
    );
    assert!(!err.contains("wrong-secret"), "{err}");

    vault.deny("next", true);
    let before = std::fs::read(&path).unwrap();
    let mut cmd = hush_with(&sb, &env);
    cmd.args(["decrypt", "-i"]).arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

// ---------------------------------------------------------------- mixed groups

#[test]
fn mixed_backend_key_groups_with_a_shamir_threshold() {
    let moto = Moto::start().expect("start moto_server (scripts/setup-test-deps.sh)");
    let arn = moto_key(&moto);
    let bao = bao_transit(&["mixed"]);
    let gcp = FakeGcpKms::start();
    gcp.create_key(GCP_KEY);
    gcp.allow_token(GCP_TOKEN);
    let vault = FakeAzureKv::start();
    let version = vault.create_key("mixed");
    let sb = Sandbox::new();
    let mut env = moto_env(&moto);
    env.push(("VAULT_TOKEN".into(), bao.token().to_string()));
    env.extend(gcp_env(&gcp));
    env.extend(azure_env(&sb, &vault));

    // group 1: AWS or Vault; group 2: GCP or Azure; group 3: age. Any two open the file.
    sb.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - kms:\n          - arn: {arn}\n        hc_vault:\n          - {}/v1/sops/transit/keys/mixed\n      - gcp_kms:\n          - resource_id: {GCP_KEY}\n        azure_keyvault:\n          - vaultUrl: {}\n            key: mixed\n            version: {version}\n      - age:\n          - {}\n",
            bao.url(),
            vault.url(),
            age_recipient()
        ),
    );
    let plain = sb.write("s.yaml", PLAIN);
    let mut cmd = hush_with(&sb, &env);
    cmd.arg("encrypt").arg(&plain);
    let text = ok_stdout(&run(cmd));
    let path = sb.write("s.enc.yaml", &text);
    for list in [
        "key_groups:",
        "hc_vault:",
        "kms:",
        "azure_kv:",
        "gcp_kms:",
        "age:",
        "shamir_threshold: 2",
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim().trim_start_matches("- ").starts_with(list)),
            "{list} missing:\n{text}"
        );
    }

    // everything reachable, no age identity: groups 1 and 2 suffice
    assert_eq!(decrypt(&sb, &env, &path), PLAIN);

    // AWS down and GCP refusing: Vault opens group 1, Azure group 2
    drop(moto);
    gcp.deny(GCP_KEY, true);
    let mut cmd = hush_with(&sb, &env);
    cmd.env("HUSH_KMS_TIMEOUT", "3").arg("decrypt").arg(&path);
    assert_eq!(ok_stdout(&run(cmd)), PLAIN);

    // only group 1 (Vault) available, plus the age identity for group 3
    vault.deny("mixed", true);
    let mut cmd = hush_with(&sb, &env);
    cmd.env("HUSH_KMS_TIMEOUT", "3")
        .env("SOPS_AGE_KEY_FILE", age_identity_file())
        .arg("decrypt")
        .arg(&path);
    assert_eq!(ok_stdout(&run(cmd)), PLAIN);

    // only one group left: not enough shares, and every failure is listed
    let mut cmd = hush_with(&sb, &env);
    cmd.env("HUSH_KMS_TIMEOUT", "3").arg("decrypt").arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    let err = stderr(&out);
    assert!(
        err.contains("only 1 of 2") && err.contains(GCP_KEY) && err.contains("azure_kv"),
        "{err}"
    );
}
