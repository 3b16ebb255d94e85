//! Interop with independent implementations of the Sealed Secrets scheme:
//! Python `cryptography` (scheme written in `interop/sealed_secrets.py`), the
//! PyPI package `aes-gcm-rsa-oaep`, and the openssl CLI for the RSA-OAEP part.
//!
//! Python comes from `$HUSH_PYTHON`, else `/work/venv/bin/python3`
//! (`python3 -m venv /work/venv && /work/venv/bin/pip install cryptography aes-gcm-rsa-oaep`).
//! A missing interpreter or package fails the test with that instruction.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hush_crypto::sealing::{
    generate_sealing_key, scope_label, seal, unseal, Scope, SealingKeyMaterial, DEFAULT_KEY_TTL,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

const IMPLEMENTATIONS: [&str; 2] = ["pyca", "aes_gcm_rsa_oaep"];
const SCOPES: [Scope; 3] = [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];

struct Fixture {
    material: SealingKeyMaterial,
    _dir: tempfile::TempDir,
    cert_path: PathBuf,
    key_path: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let material =
            generate_sealing_key(4096, "", SystemTime::now(), DEFAULT_KEY_TTL).expect("generate");
        let dir = tempfile::tempdir().unwrap();
        let cert_path = dir.path().join("tls.crt");
        let key_path = dir.path().join("tls.key");
        std::fs::write(&cert_path, material.tls_crt()).unwrap();
        std::fs::write(&key_path, material.tls_key().unwrap().as_bytes()).unwrap();
        Fixture {
            material,
            _dir: dir,
            cert_path,
            key_path,
        }
    })
}

fn python() -> String {
    std::env::var("HUSH_PYTHON").unwrap_or_else(|_| "/work/venv/bin/python3".to_string())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sealed_secrets.py")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

/// Runs the Python side; panics with a clear message when it cannot run.
fn run_python(args: &[&str]) -> Result<String, String> {
    let output = Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run {} ({error}): create /work/venv with cryptography and \
                 aes-gcm-rsa-oaep or set HUSH_PYTHON",
                python()
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_ne!(
        output.status.code(),
        Some(3),
        "python dependency missing: {stderr} (pip install cryptography aes-gcm-rsa-oaep)"
    );
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap().trim().to_string())
    } else {
        Err(stderr)
    }
}

fn python_unseal(implementation: &str, label: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, String> {
    let key_path = fixture().key_path.to_str().unwrap();
    run_python(&[
        implementation,
        "unseal",
        key_path,
        &hex(label),
        &STANDARD.encode(ciphertext),
    ])
    .map(|plaintext| from_hex(&plaintext))
}

fn python_seal(implementation: &str, label: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cert_path = fixture().cert_path.to_str().unwrap();
    let encoded = run_python(&[
        implementation,
        "seal",
        cert_path,
        &hex(label),
        &hex(plaintext),
    ])
    .expect("python seal");
    STANDARD.decode(encoded).unwrap()
}

#[test]
fn python_unseals_what_hush_seals_in_every_scope() {
    let public_key = fixture().material.private_key.public_key();
    for implementation in IMPLEMENTATIONS {
        for scope in SCOPES {
            let label = scope_label(scope, "prod", "db-credentials");
            let value = format!("password for {scope} ✓").into_bytes();
            let ciphertext = seal(public_key, &label, &value).unwrap();
            let plaintext = python_unseal(implementation, &label, &ciphertext)
                .unwrap_or_else(|error| panic!("{implementation} {scope}: {error}"));
            assert_eq!(plaintext, value, "{implementation} {scope}");
        }
    }
}

#[test]
fn hush_unseals_what_python_seals_in_every_scope() {
    let private_key = &fixture().material.private_key;
    for implementation in IMPLEMENTATIONS {
        for scope in SCOPES {
            let label = scope_label(scope, "prod", "db-credentials");
            let value = format!("{implementation} sealed {scope}").into_bytes();
            let ciphertext = python_seal(implementation, &label, &value);
            assert_eq!(
                &ciphertext[..2],
                &[2, 0],
                "4096-bit keys give a 512-byte RSA part"
            );
            let plaintext = unseal(private_key, &label, &ciphertext).unwrap();
            assert_eq!(plaintext.as_slice(), value.as_slice());
        }
    }
}

#[test]
fn python_sealed_strict_values_do_not_move() {
    let private_key = &fixture().material.private_key;
    let label = scope_label(Scope::Strict, "prod", "db");
    let ciphertext = python_seal("pyca", &label, b"v");
    assert!(unseal(
        private_key,
        &scope_label(Scope::Strict, "prod", "other"),
        &ciphertext
    )
    .is_err());
    assert!(unseal(
        private_key,
        &scope_label(Scope::Strict, "dev", "db"),
        &ciphertext
    )
    .is_err());
    // And the other way round: Python refuses a hush value under a wrong label.
    let sealed = seal(private_key.public_key(), &label, b"v").unwrap();
    assert!(python_unseal("pyca", b"prod/other", &sealed).is_err());
}

/// The openssl CLI decrypts the RSA-OAEP part; RustCrypto's aes-gcm (not the
/// AWS-LC code hush uses) then opens the GCM part with a zero nonce.
#[test]
fn openssl_recovers_the_session_key() {
    let fixture = fixture();
    for scope in SCOPES {
        let label = scope_label(scope, "prod", "db");
        let value = b"checked by openssl";
        let ciphertext = seal(fixture.material.private_key.public_key(), &label, value).unwrap();
        let rsa_len = usize::from(u16::from_be_bytes([ciphertext[0], ciphertext[1]]));
        let rsa_part = &ciphertext[2..2 + rsa_len];

        let mut args = vec![
            "pkeyutl".to_string(),
            "-decrypt".into(),
            "-inkey".into(),
            fixture.key_path.to_str().unwrap().into(),
            "-pkeyopt".into(),
            "rsa_padding_mode:oaep".into(),
            "-pkeyopt".into(),
            "rsa_oaep_md:sha256".into(),
            "-pkeyopt".into(),
            "rsa_mgf1_md:sha256".into(),
        ];
        if !label.is_empty() {
            args.push("-pkeyopt".into());
            args.push(format!("rsa_oaep_label:{}", hex(&label)));
        }
        let mut child = Command::new("openssl")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the openssl CLI is required (apt-get install -y openssl)");
        child.stdin.take().unwrap().write_all(rsa_part).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "openssl pkeyutl ({scope}): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let session_key = output.stdout;
        assert_eq!(session_key.len(), 32, "AES-256 session key");

        let cipher = Aes256Gcm::new_from_slice(&session_key).unwrap();
        let plaintext = cipher
            .decrypt(Nonce::from_slice(&[0u8; 12]), &ciphertext[2 + rsa_len..])
            .expect("GCM part opens with the zero nonce");
        assert_eq!(plaintext, value);
    }
}
