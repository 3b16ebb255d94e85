//! OpenPGP key source against sops vectors and the real `gpg` binary.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{
    have_binary, pgp_entries_json, pgp_entries_yaml, read_vector, read_vector_text, sops_vector,
};
use hush_crypto::{KeyKind, MasterKey};
use hush_providers::pgp::PgpSource;
use hush_providers::{KeyError, KeySource};

const FLUX_FP: &str = "B59DAF469E8C948138901A649732075EA221A7EA";
const DATA_KEY: [u8; 32] = *b"0123456789abcdef0123456789ABCDEF";

fn pgp_key(fingerprint: &str, enc: String) -> MasterKey {
    MasterKey {
        kind: KeyKind::Pgp {
            fingerprint: fingerprint.to_string(),
        },
        enc,
        created_at: Some("2024-01-01T00:00:00Z".into()),
    }
}

fn sops_test_keys() -> PgpSource {
    PgpSource::from_armored_keys(&read_vector("keys/sops_functional_tests_key.asc")).unwrap()
}

fn flux_source() -> PgpSource {
    let mut source = PgpSource::without_keys();
    source
        .add_key_file(&sops_vector("keys/flux_test_private.gpg"))
        .unwrap();
    source
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn loads_all_blocks_of_the_sops_key_file() {
    // Two private blocks followed by three public ones.
    let (secret, public) = sops_test_keys().key_counts();
    assert_eq!(secret, 2);
    assert!(public >= 1);
}

#[test]
fn unwraps_sops_vectors_in_pure_rust() {
    let source = sops_test_keys();
    let cases = [
        (
            "format.enc.yaml",
            pgp_entries_yaml(&read_vector_text("format.enc.yaml")),
            "af5e68dd",
        ),
        (
            "example.yaml",
            pgp_entries_yaml(&read_vector_text("example.yaml")),
            "8c68886c",
        ),
        (
            "example.json",
            pgp_entries_json(&read_vector_text("example.json")),
            "faf6a891",
        ),
    ];
    for (file, entries, prefix) in cases {
        assert!(!entries.is_empty(), "{file}");
        for (fp, enc) in entries {
            let plain = source
                .unwrap(&pgp_key(&fp, enc))
                .unwrap_or_else(|e| panic!("{file} {fp}: {e}"));
            assert_eq!(plain.len(), 32, "{file} {fp}");
            assert!(hex(&plain).starts_with(prefix), "{file} {fp}");
        }
    }
    // example.yaml and example.json each carry both keys.
    let fps: Vec<String> = pgp_entries_yaml(&read_vector_text("example.yaml"))
        .into_iter()
        .map(|(fp, _)| fp)
        .collect();
    assert!(fps.iter().any(|f| f.starts_with("FBC7")));
    assert!(fps.iter().any(|f| f.starts_with("D722")));
}

#[test]
fn flux_round_trip_pure_rust() {
    let source = flux_source();
    let kind = KeyKind::Pgp {
        fingerprint: FLUX_FP.to_lowercase(),
    };
    let enc = source.wrap(&kind, &DATA_KEY).unwrap();
    assert!(enc.starts_with("-----BEGIN PGP MESSAGE-----"));
    let plain = source.unwrap(&pgp_key(FLUX_FP, enc)).unwrap();
    assert_eq!(&plain[..], &DATA_KEY);
}

#[test]
fn wrap_with_binary_public_key_and_spaced_fingerprint() {
    let mut public = PgpSource::without_keys();
    public
        .add_key_file(&sops_vector("keys/flux_test_public.gpg"))
        .unwrap();
    assert_eq!(public.key_counts(), (0, 1));
    let spaced = "B59D AF46 9E8C 9481 3890  1A64 9732 075E A221 A7EA";
    let enc = public
        .wrap(
            &KeyKind::Pgp {
                fingerprint: spaced.into(),
            },
            &DATA_KEY,
        )
        .unwrap();
    // The public-only source cannot open it; the secret key can.
    assert!(matches!(
        public.unwrap(&pgp_key(FLUX_FP, enc.clone())),
        Err(KeyError::NoIdentity { .. })
    ));
    assert_eq!(
        &flux_source().unwrap(&pgp_key(FLUX_FP, enc)).unwrap()[..],
        &DATA_KEY
    );
}

#[test]
fn wrong_key_is_no_identity_and_corruption_is_unwrap() {
    let enc = flux_source()
        .wrap(
            &KeyKind::Pgp {
                fingerprint: FLUX_FP.into(),
            },
            &DATA_KEY,
        )
        .unwrap();
    assert!(matches!(
        sops_test_keys().unwrap(&pgp_key(FLUX_FP, enc.clone())),
        Err(KeyError::NoIdentity { .. })
    ));

    // Damage the encrypted data near the end of the body (keeps the PKESK intact).
    let mut lines: Vec<String> = enc.lines().map(String::from).collect();
    let target = lines.len() - 4;
    lines[target] = lines[target]
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 5 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    let corrupt = lines.join("\n");
    assert!(matches!(
        flux_source().unwrap(&pgp_key(FLUX_FP, corrupt)),
        Err(KeyError::Unwrap { .. })
    ));
    assert!(matches!(
        flux_source().unwrap(&pgp_key(FLUX_FP, "garbage".into())),
        Err(KeyError::Unwrap { .. })
    ));
}

#[test]
fn missing_key_file_names_the_file() {
    let err = PgpSource::without_keys()
        .add_key_file(Path::new("/nonexistent/hush.asc"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("/nonexistent/hush.asc"), "{err}");
}

/// A temporary GNUPGHOME with the given key files imported.
fn gnupg_home(imports: &[&str]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for file in imports {
        let out = Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--quiet", "--import"])
            .arg(sops_vector(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    home
}

fn gpg(home: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn interop_with_gpg_binary() {
    assert!(
        have_binary("gpg"),
        "install gnupg (apt-get install -y gnupg)"
    );
    let home = gnupg_home(&["keys/flux_test_private.gpg"]);
    let source = flux_source().without_gpg();

    // hush (pure Rust) wraps, gpg decrypts.
    let enc = source
        .wrap(
            &KeyKind::Pgp {
                fingerprint: FLUX_FP.into(),
            },
            &DATA_KEY,
        )
        .unwrap();
    assert_eq!(
        gpg(home.path(), &["--batch", "--quiet", "-d"], enc.as_bytes()),
        DATA_KEY
    );

    // gpg encrypts, hush (pure Rust) unwraps.
    let enc = gpg(
        home.path(),
        &[
            "--batch",
            "--trust-model",
            "always",
            "-a",
            "-e",
            "-r",
            FLUX_FP,
        ],
        &DATA_KEY,
    );
    let plain = source
        .unwrap(&pgp_key(FLUX_FP, String::from_utf8(enc).unwrap()))
        .unwrap();
    assert_eq!(&plain[..], &DATA_KEY);
}

#[test]
fn gpg_keyring_path_wraps_and_unwraps() {
    assert!(
        have_binary("gpg"),
        "install gnupg (apt-get install -y gnupg)"
    );
    let home = gnupg_home(&[
        "keys/flux_test_private.gpg",
        "keys/sops_functional_tests_key.asc",
    ]);
    let source = PgpSource::gpg_only(None).with_gnupg_home(home.path());
    assert_eq!(source.key_counts(), (0, 0));
    let kind = KeyKind::Pgp {
        fingerprint: FLUX_FP.into(),
    };

    // Wrap through gpg, unwrap through gpg and through pure Rust.
    let enc = source.wrap(&kind, &DATA_KEY).unwrap();
    assert!(enc.starts_with("-----BEGIN PGP MESSAGE-----"));
    assert_eq!(
        &source.unwrap(&pgp_key(FLUX_FP, enc.clone())).unwrap()[..],
        &DATA_KEY
    );
    assert_eq!(
        &flux_source().unwrap(&pgp_key(FLUX_FP, enc)).unwrap()[..],
        &DATA_KEY
    );

    // The sops vectors decrypt through the keyring too.
    for (fp, enc) in pgp_entries_yaml(&read_vector_text("format.enc.yaml")) {
        assert_eq!(source.unwrap(&pgp_key(&fp, enc)).unwrap().len(), 32);
    }

    // A keyring without the secret key reports NoIdentity; garbage is an Unwrap error.
    let other = gnupg_home(&["keys/flux_test_public.gpg"]);
    let public_only = PgpSource::gpg_only(None).with_gnupg_home(other.path());
    let enc = public_only.wrap(&kind, &DATA_KEY).unwrap();
    assert!(matches!(
        public_only.unwrap(&pgp_key(FLUX_FP, enc)),
        Err(KeyError::NoIdentity { .. })
    ));
    assert!(matches!(
        public_only.unwrap(&pgp_key(FLUX_FP, "garbage".into())),
        Err(KeyError::Unwrap { .. })
    ));
    // Wrapping to a key gpg does not know fails with a Wrap error.
    assert!(matches!(
        public_only.wrap(
            &KeyKind::Pgp {
                fingerprint: "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4".into()
            },
            &DATA_KEY
        ),
        Err(KeyError::Wrap { .. })
    ));
}

#[test]
fn from_env_reads_key_files_list() {
    // Only this test touches HUSH_PGP_KEY_FILES, so no other test races on it.
    let list = std::env::join_paths([
        sops_vector("keys/sops_functional_tests_key.asc"),
        sops_vector("keys/flux_test_public.gpg"),
    ])
    .unwrap();
    std::env::set_var("HUSH_PGP_KEY_FILES", &list);
    let source = PgpSource::from_env().unwrap();
    std::env::remove_var("HUSH_PGP_KEY_FILES");
    let (secret, public) = source.key_counts();
    assert_eq!(secret, 2);
    assert!(public >= 2);
}

/// gpg with a throwaway passphrase-less setup in `home`.
fn gpg_quiet(home: &Path, args: &[&str]) -> Vec<u8> {
    let mut all = vec![
        "--batch",
        "--quiet",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
    ];
    all.extend_from_slice(args);
    gpg(home, &all, b"")
}

#[test]
fn picks_valid_encryption_subkey_and_refuses_expired_or_revoked() {
    assert!(
        have_binary("gpg"),
        "install gnupg (apt-get install -y gnupg)"
    );
    let home = tempfile::tempdir().unwrap();
    let past = ["--faked-system-time", "20200101T000000"];
    let mut args = past.to_vec();
    args.extend([
        "--quick-gen-key",
        "Subkeys <subkeys@example.invalid>",
        "ed25519",
        "cert",
        "0",
    ]);
    gpg_quiet(home.path(), &args);
    let listing =
        String::from_utf8(gpg(home.path(), &["--with-colons", "--list-keys"], b"")).unwrap();
    let fp = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:::::::::"))
        .and_then(|l| l.strip_suffix(':'))
        .unwrap()
        .to_string();
    // An encryption subkey that expired in 2021, then a current one.
    let mut args = past.to_vec();
    args.extend(["--quick-add-key", &fp, "cv25519", "encr", "1y"]);
    gpg_quiet(home.path(), &args);
    gpg_quiet(
        home.path(),
        &["--quick-add-key", &fp, "cv25519", "encr", "0"],
    );
    let listing =
        String::from_utf8(gpg(home.path(), &["--with-colons", "--list-keys"], b"")).unwrap();
    let current_subkey = listing
        .lines()
        .filter(|l| l.starts_with("sub:u:"))
        .map(|l| l.split(':').nth(4).unwrap().to_string())
        .next()
        .expect("a valid subkey");

    let public = gpg(home.path(), &["--export", "-a", &fp], b"");
    let source = PgpSource::from_armored_keys(&public).unwrap();
    let kind = KeyKind::Pgp {
        fingerprint: fp.clone(),
    };
    let enc = source.wrap(&kind, &DATA_KEY).unwrap();
    let packets = String::from_utf8(gpg(home.path(), &["--list-packets"], enc.as_bytes())).unwrap();
    assert!(
        packets
            .to_uppercase()
            .contains(&format!("KEYID {current_subkey}")),
        "{packets}"
    );
    assert_eq!(
        gpg(home.path(), &["--batch", "--quiet", "-d"], enc.as_bytes()),
        DATA_KEY
    );

    // Revoke the current subkey: only the expired one is left, so wrapping must fail.
    let mut child = Command::new("gpg")
        .env("GNUPGHOME", home.path())
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--command-fd",
            "0",
            "--edit-key",
            &fp,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"key 2\nrevkey\ny\n0\n\ny\nsave\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let public = gpg(home.path(), &["--export", "-a", &fp], b"");
    let source = PgpSource::from_armored_keys(&public).unwrap();
    assert!(matches!(
        source.wrap(&kind, &DATA_KEY),
        Err(KeyError::Wrap { .. })
    ));
}
