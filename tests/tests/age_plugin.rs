//! age plugin recipients and identities (`age1NAME1…`, `AGE-PLUGIN-NAME-1…`)
//! through a real plugin program: the `age-plugin-hushtest` stand-in of this crate,
//! which Debian's `age` also speaks to, so both directions are checked against it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hush_crypto::{DataKey, KeyKind, MasterKey};
use hush_providers::{AgeSource, KeyError, KeyRing, KeySource};

const PLUGIN: &str = env!("CARGO_BIN_EXE_age-plugin-hushtest");

/// PATH with the plugin's directory first.
fn plugin_path() -> String {
    let dir = Path::new(PLUGIN).parent().unwrap();
    static BASE: OnceLock<String> = OnceLock::new();
    let base = BASE.get_or_init(|| std::env::var("PATH").unwrap_or_default());
    format!("{}:{base}", dir.display())
}

/// The identity file text and recipient of one test key.
fn setup() -> &'static (String, String) {
    static SETUP: OnceLock<(String, String)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let out = Command::new(PLUGIN).arg("--generate").output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let recipient = text
            .lines()
            .find_map(|l| l.strip_prefix("# recipient: "))
            .expect("recipient line")
            .to_string();
        (text, recipient)
    })
}

/// `key` wrapped by `source` for `recipient`.
fn wrap(source: &AgeSource, recipient: &str, key: &DataKey) -> Result<String, KeyError> {
    source.wrap(&age_key(recipient, String::new()).kind, key.as_bytes())
}

fn age_key(recipient: &str, enc: String) -> MasterKey {
    MasterKey {
        kind: KeyKind::Age {
            recipient: recipient.to_string(),
        },
        enc,
        created_at: None,
    }
}

#[test]
fn plugin_recipient_wraps_and_plugin_identity_unwraps() {
    let _path = PathGuard::set(&plugin_path());
    let (identity, recipient) = setup();
    let source = AgeSource::from_identities_text(identity).unwrap();
    let key = DataKey::generate();
    let enc = wrap(&source, recipient, &key).unwrap();
    assert!(
        enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
        "{enc}"
    );
    let back = source.unwrap(&age_key(recipient, enc)).unwrap();
    assert_eq!(back.as_slice(), key.as_bytes());

    // Through the key ring, as `hush encrypt` / `decrypt` use it.
    let mut ring = KeyRing::new();
    ring.add_source(std::sync::Arc::new(
        AgeSource::from_identities_text(identity).unwrap(),
    ));
    let mut groups = vec![vec![age_key(recipient, String::new())]];
    ring.wrap(&mut groups, None, &key, "2026-01-01T00:00:00Z")
        .unwrap();
    let metadata = hush_crypto::metadata::Metadata::new(groups, None, Default::default(), false);
    assert_eq!(ring.unwrap(&metadata).unwrap().as_bytes(), key.as_bytes());
}

/// `age` (Go) with the plugin on PATH, reading stdin, writing stdout.
fn age(args: &[&str], input: &[u8]) -> Vec<u8> {
    hush_tests::piped("age", args, input)
}

#[test]
fn debian_age_reads_what_hush_wraps_and_the_reverse() {
    let _path = PathGuard::set(&plugin_path());
    let (identity, recipient) = setup();
    let dir = tempfile::tempdir().unwrap();
    let id_file = dir.path().join("identity.txt");
    std::fs::write(&id_file, identity).unwrap();
    let id_arg = id_file.to_str().unwrap();
    let source = AgeSource::from_identities_text(identity).unwrap();
    let key = DataKey::generate();

    let enc = wrap(&source, recipient, &key).unwrap();
    assert_eq!(age(&["-d", "-i", id_arg], enc.as_bytes()), key.as_bytes());

    let enc = String::from_utf8(age(&["-a", "-r", recipient], key.as_bytes())).unwrap();
    let back = source.unwrap(&age_key(recipient, enc)).unwrap();
    assert_eq!(back.as_slice(), key.as_bytes());
}

/// A PATH holding only a fake `age-plugin-hushtest` that records each run.
fn recording_plugin(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let marker = dir.join("plugin-ran");
    let script = dir.join("age-plugin-hushtest");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho ran >> {}\nexit 1\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    marker
}

#[test]
fn a_plugin_runs_only_for_its_own_recipients() {
    let (identity, _) = setup();
    let dir = tempfile::tempdir().unwrap();
    let marker = recording_plugin(dir.path());
    // The recording plugin is the one found, if anything looks for one.
    let _path = PathGuard::set(&format!("{}:{}", dir.path().display(), plugin_path()));
    let (x25519_identity, x25519_recipient) = hush_providers::age::generate_identity();
    let both = format!("{identity}{}", x25519_identity.as_str());
    let source = AgeSource::from_identities_text(&both).unwrap();
    let key = DataKey::generate();
    let enc = wrap(&source, &x25519_recipient, &key).unwrap();
    let back = source.unwrap(&age_key(&x25519_recipient, enc)).unwrap();
    assert_eq!(back.as_slice(), key.as_bytes());
    // A key for someone else's X25519 recipient: no identity here opens it, and
    // the plugin is still not asked.
    let (_, stranger) = hush_providers::age::generate_identity();
    let enc = wrap(&source, &stranger, &key).unwrap();
    let err = source.unwrap(&age_key(&stranger, enc)).unwrap_err();
    assert!(matches!(err, KeyError::NoIdentity { .. }), "{err}");
    assert!(!marker.exists(), "the plugin ran for an X25519 key");
}

#[test]
fn a_missing_plugin_program_is_named() {
    let path = PathGuard::set(&plugin_path());
    let (identity, recipient) = setup();
    let source = AgeSource::from_identities_text(identity).unwrap();
    let key = DataKey::generate();
    let enc = wrap(&source, recipient, &key).unwrap();
    let empty = tempfile::tempdir().unwrap();
    path.change(empty.path().to_str().unwrap());
    let err = wrap(&source, recipient, &key).unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("age-plugin-hushtest was not found on PATH"),
        "{err}"
    );
    let err = source.unwrap(&age_key(recipient, enc)).unwrap_err();
    assert!(
        err.to_string()
            .contains("age-plugin-hushtest was not found on PATH"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("AGE-PLUGIN-"),
        "identity text in an error: {err}"
    );
}

/// Sets PATH for one test and puts it back; the tests take turns (PATH is
/// process-wide).
struct PathGuard {
    old: String,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl PathGuard {
    fn set(path: &str) -> PathGuard {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
        let old = std::env::var("PATH").unwrap_or_default();
        std::env::set_var("PATH", path);
        PathGuard { old, _turn: turn }
    }

    /// Sets PATH again while this test holds its turn.
    fn change(&self, path: &str) {
        std::env::set_var("PATH", path);
    }
}

impl Drop for PathGuard {
    fn drop(&mut self) {
        std::env::set_var("PATH", &self.old);
    }
}
