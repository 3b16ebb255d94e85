//! Interop with `@linode/kubeseal-encrypt` (npm, WebCrypto): it seals
//! namespace-wide values (label = namespace), hush unseals them.
//!
//! Needs node and the package: `mkdir -p /work/node-interop && cd /work/node-interop
//! && npm init -y && npm install @linode/kubeseal-encrypt@1.0.1`, or set
//! `HUSH_NODE_INTEROP` to a directory holding that `node_modules`. Missing
//! pieces fail the test with that instruction.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hush_crypto::sealing::{scope_label, unseal, Scope, SealingPrivateKey};
use std::path::Path;
use std::process::Command;

#[test]
fn hush_unseals_kubeseal_encrypt_values() {
    let module_dir =
        std::env::var("HUSH_NODE_INTEROP").unwrap_or_else(|_| "/work/node-interop".to_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/kubeseal_encrypt.mjs");
    let key = SealingPrivateKey::generate(4096).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem_file = dir.path().join("public.pem");
    std::fs::write(&pem_file, key.public_key().to_pem()).unwrap();

    for value in ["s3cr3t", "ünïcødé and spaces", ""] {
        let output = Command::new("node")
            .arg(&script)
            .arg(&module_dir)
            .arg(&pem_file)
            .arg("prod")
            .arg(value)
            .output()
            .expect("node is required for this test (apt-get install -y nodejs)");
        assert_ne!(
            output.status.code(),
            Some(3),
            "{} (npm install @linode/kubeseal-encrypt@1.0.1 in {module_dir} or set HUSH_NODE_INTEROP)",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "node failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ciphertext = STANDARD.decode(&output.stdout).unwrap();
        let label = scope_label(Scope::NamespaceWide, "prod", "any-name");
        let plaintext = unseal(&key, &label, &ciphertext).unwrap();
        assert_eq!(plaintext.as_slice(), value.as_bytes());
        // Bound to the namespace: another namespace's label fails.
        assert!(unseal(&key, b"dev", &ciphertext).is_err());
    }
}
