//! `AgeSource::from_env` reads the real process environment. The environment is
//! process-global, so this file holds exactly one test and it runs the scenarios in turn.

mod common;

use common::{read_vector, read_vector_text, sops_vector};
use hush_crypto::{KeyKind, MasterKey};
use hush_providers::age::AgeSource;
use hush_providers::{KeyError, KeySource};
use zeroize::Zeroizing;

const VARS: [&str; 8] = [
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "XDG_CONFIG_HOME",
    "HOME",
    "SOPS_AGE_RECIPIENT",
];

fn clear_env(home: &std::path::Path) {
    for var in VARS {
        std::env::remove_var(var);
    }
    std::env::set_var("HOME", home);
}

fn key(recipient: &str, enc_vector: &str) -> MasterKey {
    MasterKey {
        kind: KeyKind::Age {
            recipient: recipient.to_string(),
        },
        enc: read_vector_text(enc_vector),
        created_at: None,
    }
}

#[test]
fn from_env_merges_sops_locations() {
    let home = tempfile::tempdir().unwrap();
    let recipient = read_vector_text("age/recipient.txt").trim().to_string();
    let ssh_recipient = read_vector_text("age/ssh_recipient.pub").trim().to_string();
    let x25519_key = key(&recipient, "age/encrypted_key.age.asc");
    let ssh_key = key(&ssh_recipient, "age/encrypted_key_to_ssh.age.asc");
    let plain = read_vector("age/encrypted_key.plain");

    // Nothing configured, empty home: loads fine, finds nothing.
    clear_env(home.path());
    let source = AgeSource::from_env().unwrap();
    assert!(matches!(
        source.unwrap(&x25519_key),
        Err(KeyError::NoIdentity { .. })
    ));

    // SOPS_AGE_KEY with several keys, comments and spaces.
    std::env::set_var(
        "SOPS_AGE_KEY",
        format!(
            "# mine\n{} {}",
            read_vector_text("age/other_identity.txt").trim(),
            read_vector_text("age/identity.txt").trim()
        ),
    );
    let source = AgeSource::from_env().unwrap();
    assert_eq!(source.identity_count(), 2);
    assert_eq!(&source.unwrap(&x25519_key).unwrap()[..], &plain[..]);

    // SOPS_AGE_KEY_FILE plus SOPS_AGE_SSH_PRIVATE_KEY_FILE merge with it.
    std::env::set_var("SOPS_AGE_KEY", read_vector_text("age/other_identity.txt"));
    std::env::set_var("SOPS_AGE_KEY_FILE", sops_vector("age/identity.txt"));
    std::env::set_var(
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
        sops_vector("age/ssh_identity"),
    );
    let source = AgeSource::from_env().unwrap();
    assert_eq!(source.identity_count(), 3);
    assert_eq!(&source.unwrap(&x25519_key).unwrap()[..], &plain[..]);
    assert_eq!(&source.unwrap(&ssh_key).unwrap()[..], &plain[..]);

    // A named file that is missing is an error naming it.
    std::env::set_var("SOPS_AGE_KEY_FILE", home.path().join("missing.txt"));
    let err = AgeSource::from_env().err().unwrap();
    assert!(err.to_string().contains("missing.txt"), "{err}");

    // XDG_CONFIG_HOME keys.txt and ~/.ssh/id_ed25519 defaults.
    clear_env(home.path());
    let xdg = home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("sops/age")).unwrap();
    std::fs::write(
        xdg.join("sops/age/keys.txt"),
        read_vector("age/identity.txt"),
    )
    .unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/id_ed25519"),
        read_vector("age/ssh_identity"),
    )
    .unwrap();
    std::env::set_var("XDG_CONFIG_HOME", &xdg);
    let source = AgeSource::from_env().unwrap();
    assert_eq!(source.identity_count(), 2);
    assert_eq!(&source.unwrap(&x25519_key).unwrap()[..], &plain[..]);
    assert_eq!(&source.unwrap(&ssh_key).unwrap()[..], &plain[..]);

    // SOPS_AGE_KEY_CMD runs through the shell with SOPS_AGE_RECIPIENT.
    clear_env(home.path());
    std::env::set_var(
        "SOPS_AGE_KEY_CMD",
        format!(
            "test \"$SOPS_AGE_RECIPIENT\" = '{recipient}' && cat '{}'",
            sops_vector("age/identity.txt").display()
        ),
    );
    let source = AgeSource::from_env().unwrap();
    assert_eq!(&source.unwrap(&x25519_key).unwrap()[..], &plain[..]);

    // A passphrase-protected SOPS_AGE_KEY_FILE opens through the callback.
    clear_env(home.path());
    std::env::set_var(
        "SOPS_AGE_KEY_FILE",
        sops_vector("age/passphrase_protected_identity.age.asc"),
    );
    let passphrase = read_vector_text("age/passphrase.txt").trim().to_string();
    let source = AgeSource::from_env_with_passphrase(Box::new(move |_| {
        Some(Zeroizing::new(passphrase.clone()))
    }))
    .unwrap();
    assert_eq!(&source.unwrap(&x25519_key).unwrap()[..], &plain[..]);
}
