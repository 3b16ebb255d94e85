//! PGP through the CLI: pure-Rust key files and the user's gpg keyring, checked
//! against the real gpg binary and against the vectors written by sops.

mod common;
use common::*;

const FLUX_FP: &str = "B59DAF469E8C948138901A649732075EA221A7EA";

#[test]
fn vectors_decrypt_through_the_cli_with_key_files_and_with_gpg() {
    let sb = Sandbox::new();
    for file in [
        "format.enc.yaml",
        "format.enc.json",
        "format.enc.env",
        "format.enc.ini",
        "example.yaml",
        "example.json",
    ] {
        // Pure Rust: keys from a file, no gpg involved (empty GNUPGHOME).
        let mut cmd = hush_bare(&sb);
        cmd.env(
            "HUSH_PGP_KEY_FILES",
            vector("keys/sops_functional_tests_key.asc"),
        )
        .arg("decrypt")
        .arg(vector(file));
        let pure = run(cmd);
        assert!(pure.status.success(), "{file}: {}", stderr(&pure));
        assert!(!pure.stdout.is_empty());
    }
    // Through gpg: the keys live only in the keyring.
    sb.gpg_import(&[&vector("keys/sops_functional_tests_key.asc")]);
    let mut cmd = hush_bare(&sb);
    cmd.arg("decrypt").arg(vector("format.enc.yaml"));
    assert_eq!(ok_stdout(&run(cmd)), "foo: bar\n");
}

#[test]
fn encrypt_to_pgp_then_gpg_opens_the_data_key() {
    let sb = Sandbox::new();
    let plain = sb.write("s.yaml", "k: v\n");
    let mut cmd = hush_bare(&sb);
    cmd.env("HUSH_PGP_KEY_FILES", vector("keys/flux_test_public.gpg"))
        .args(["encrypt", "--pgp", FLUX_FP])
        .arg(&plain);
    let enc = ok_stdout(&run(cmd));
    // Layout: pgp entry with created_at, enc (armored message) and fp, keys sorted.
    assert!(enc.contains("    pgp:\n        - created_at: \""), "{enc}");
    assert!(
        enc.contains("          enc: |\n            -----BEGIN PGP MESSAGE-----")
            || enc.contains("          enc: |-\n            -----BEGIN PGP MESSAGE-----"),
        "{enc}"
    );
    assert!(enc.contains(&format!("          fp: {FLUX_FP}\n")), "{enc}");
    // gpg with the private key decrypts the file through hush's gpg path...
    let enc_path = sb.write("s.enc.yaml", &enc);
    sb.gpg_import(&[&vector("keys/flux_test_private.gpg")]);
    let mut cmd = hush_bare(&sb);
    cmd.arg("decrypt").arg(&enc_path);
    assert_eq!(ok_stdout(&run(cmd)), "k: v\n");
    // ...and gpg itself opens the wrapped data key to 32 bytes.
    let start = enc.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = enc.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let armored: String = enc[start..end]
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    let msg = sb.write("dk.asc", armored);
    let out = sb
        .command("gpg")
        .args(["--batch", "--quiet", "-d"])
        .arg(&msg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), 32);
}

#[test]
fn encrypt_through_gpg_keyring_without_key_files() {
    let sb = Sandbox::new();
    sb.gpg_import(&[&vector("keys/flux_test_private.gpg")]);
    let plain = sb.write("s.json", "{\"k\": \"v\"}");
    let mut cmd = hush_bare(&sb);
    cmd.args(["encrypt", "--pgp", FLUX_FP]).arg(&plain);
    let enc = sb.write("s.enc.json", ok_stdout(&run(cmd)));
    let mut cmd = hush_bare(&sb);
    cmd.arg("decrypt").arg(&enc);
    assert_eq!(ok_stdout(&run(cmd)), "{\n\t\"k\": \"v\"\n}\n");
}
