//! The hybrid scheme's properties: scopes bind values to names, any change is
//! detected, and malformed input is an error, never a panic.

use hush_crypto::sealing::{
    scope_label, seal, unseal, unseal_with_any, Scope, SealError, SealingPrivateKey,
};
use proptest::prelude::*;
use std::sync::OnceLock;

fn key_2048() -> &'static SealingPrivateKey {
    static KEY: OnceLock<SealingPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| SealingPrivateKey::generate(2048).expect("generate key"))
}

fn other_key_2048() -> &'static SealingPrivateKey {
    static KEY: OnceLock<SealingPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| SealingPrivateKey::generate(2048).expect("generate key"))
}

fn key_4096() -> &'static SealingPrivateKey {
    static KEY: OnceLock<SealingPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| SealingPrivateKey::generate(4096).expect("generate key"))
}

fn seal_as(scope: Scope, namespace: &str, name: &str, value: &[u8]) -> Vec<u8> {
    let label = scope_label(scope, namespace, name);
    seal(key_2048().public_key(), &label, value).expect("seal")
}

fn unseals_as(scope: Scope, namespace: &str, name: &str, ciphertext: &[u8]) -> bool {
    let label = scope_label(scope, namespace, name);
    unseal(key_2048(), &label, ciphertext).is_ok()
}

#[test]
fn layout_is_length_prefix_rsa_then_gcm() {
    let value = b"hunter2";
    let ciphertext = seal(key_4096().public_key(), b"ns/name", value).unwrap();
    assert_eq!(&ciphertext[..2], &512u16.to_be_bytes());
    assert_eq!(ciphertext.len(), 2 + 512 + value.len() + 16);
    let ciphertext_2048 = seal(key_2048().public_key(), b"", value).unwrap();
    assert_eq!(&ciphertext_2048[..2], &256u16.to_be_bytes());
    let plaintext = unseal(key_4096(), b"ns/name", &ciphertext).unwrap();
    assert_eq!(plaintext.as_slice(), value);
}

#[test]
fn every_seal_uses_a_fresh_session_key() {
    let first = seal_as(Scope::Strict, "ns", "a", b"same");
    let second = seal_as(Scope::Strict, "ns", "a", b"same");
    assert_ne!(first, second);
    // Same plaintext, zero nonce: the GCM parts differ only because the keys do.
    assert_ne!(first[2 + 256..], second[2 + 256..]);
}

#[test]
fn empty_values_round_trip() {
    let ciphertext = seal_as(Scope::Strict, "ns", "a", b"");
    let plaintext = unseal(key_2048(), b"ns/a", &ciphertext).unwrap();
    assert!(plaintext.is_empty());
}

#[test]
fn strict_scope_binds_name_and_namespace() {
    let ciphertext = seal_as(Scope::Strict, "prod", "db", b"v");
    assert!(unseals_as(Scope::Strict, "prod", "db", &ciphertext));
    assert!(!unseals_as(Scope::Strict, "prod", "other", &ciphertext));
    assert!(!unseals_as(Scope::Strict, "dev", "db", &ciphertext));
    assert!(!unseals_as(Scope::NamespaceWide, "prod", "db", &ciphertext));
    assert!(!unseals_as(Scope::ClusterWide, "prod", "db", &ciphertext));
}

#[test]
fn namespace_wide_allows_rename_only() {
    let ciphertext = seal_as(Scope::NamespaceWide, "prod", "db", b"v");
    assert!(unseals_as(Scope::NamespaceWide, "prod", "db", &ciphertext));
    assert!(unseals_as(
        Scope::NamespaceWide,
        "prod",
        "renamed",
        &ciphertext
    ));
    assert!(!unseals_as(Scope::NamespaceWide, "dev", "db", &ciphertext));
    assert!(!unseals_as(Scope::Strict, "prod", "db", &ciphertext));
}

#[test]
fn cluster_wide_allows_rename_and_move() {
    let ciphertext = seal_as(Scope::ClusterWide, "prod", "db", b"v");
    assert!(unseals_as(
        Scope::ClusterWide,
        "dev",
        "renamed",
        &ciphertext
    ));
    assert!(unseals_as(Scope::ClusterWide, "prod", "db", &ciphertext));
    assert!(!unseals_as(Scope::NamespaceWide, "prod", "db", &ciphertext));
}

#[test]
fn any_flipped_byte_is_rejected() {
    let ciphertext = seal_as(Scope::Strict, "ns", "n", b"tamper-me");
    for index in 0..ciphertext.len() {
        let mut tampered = ciphertext.clone();
        tampered[index] ^= 0x01;
        assert!(
            unseal(key_2048(), b"ns/n", &tampered).is_err(),
            "flip at byte {index} went unnoticed"
        );
    }
}

#[test]
fn truncation_and_extension_are_rejected() {
    let ciphertext = seal_as(Scope::Strict, "ns", "n", b"value");
    for length in 0..ciphertext.len() {
        assert!(unseal(key_2048(), b"ns/n", &ciphertext[..length]).is_err());
    }
    let mut extended = ciphertext.clone();
    extended.push(0);
    assert!(unseal(key_2048(), b"ns/n", &extended).is_err());
}

#[test]
fn wrong_key_is_rejected() {
    let ciphertext = seal_as(Scope::Strict, "ns", "n", b"value");
    assert_eq!(
        unseal(other_key_2048(), b"ns/n", &ciphertext).unwrap_err(),
        SealError::DecryptionFailed
    );
    // A key of another size is refused from the length prefix alone.
    assert!(matches!(
        unseal(key_4096(), b"ns/n", &ciphertext),
        Err(SealError::RsaLengthMismatch {
            expected: 512,
            found: 256
        })
    ));
}

#[test]
fn unseal_with_any_reports_which_key_worked() {
    let ciphertext = seal_as(Scope::Strict, "ns", "n", b"value");
    let keys = [
        key_4096().clone(),
        other_key_2048().clone(),
        key_2048().clone(),
    ];
    let (index, plaintext) = unseal_with_any(&keys, b"ns/n", &ciphertext).unwrap();
    assert_eq!(index, 2);
    assert_eq!(plaintext.as_slice(), b"value");
    assert_eq!(
        unseal_with_any(&keys[..2], b"ns/n", &ciphertext).unwrap_err(),
        SealError::NoKeyCouldDecrypt
    );
    assert_eq!(
        unseal_with_any(&[], b"ns/n", &ciphertext).unwrap_err(),
        SealError::NoKeys
    );
    assert_eq!(
        unseal_with_any(&keys, b"ns/n", &[0]).unwrap_err(),
        SealError::TooShort
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(unseal(key_2048(), b"ns/n", &bytes).is_err());
    }

    #[test]
    fn random_bytes_with_a_plausible_prefix_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400)
    ) {
        let mut bytes = 256u16.to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        prop_assert!(unseal(key_2048(), b"ns/n", &bytes).is_err());
    }

    #[test]
    fn values_round_trip(value in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let ciphertext = seal(key_2048().public_key(), b"ns", &value).unwrap();
        let plaintext = unseal(key_2048(), b"ns", &ciphertext).unwrap();
        prop_assert_eq!(plaintext.as_slice(), value.as_slice());
    }
}
