//! OpenPGP keys held in memory: parsing key files, matching fingerprints and picking
//! the subkey that may encrypt.

use std::io::Cursor;
use std::time::{SystemTime, UNIX_EPOCH};

use ::pgp::composed::{Deserializable, SignedPublicKey, SignedSecretKey};
use ::pgp::packet::{Signature, SignatureType};
use ::pgp::types::{KeyDetails, KeyId, Timestamp};

use crate::KeyError;

/// Public and secret keys loaded from files or bytes.
#[derive(Default)]
pub(crate) struct Keyring {
    pub(crate) secret: Vec<SignedSecretKey>,
    pub(crate) public: Vec<SignedPublicKey>,
}

fn invalid(source: &str, reason: impl Into<String>) -> KeyError {
    KeyError::InvalidKey {
        kind: "pgp",
        input: source.to_string(),
        reason: reason.into(),
    }
}

/// A fingerprint as given by a user or a sops file: spaces dropped, upper-case hex.
pub(crate) fn normalize_fingerprint(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Whether a key with primary fingerprint `primary` (and these subkey fingerprints)
/// is the one `wanted` (normalized) names: the full fingerprint, or a long key id suffix.
fn names_key(wanted: &str, primary: &str, subkeys: &[String]) -> bool {
    if wanted == primary || subkeys.iter().any(|s| s == wanted) {
        return true;
    }
    wanted.len() >= 16 && primary.ends_with(wanted)
}

impl Keyring {
    /// Adds every key in `bytes`: armored (any number of blocks, secret or public) or
    /// binary. `source` names the input in errors.
    pub(crate) fn add_bytes(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        let before = self.secret.len() + self.public.len();
        if let Some(text) = armored_text(bytes) {
            for block in armor_blocks(text) {
                self.add_armored_block(source, block)?;
            }
        } else {
            self.add_binary(source, bytes)?;
        }
        let added = self.secret.len() + self.public.len() - before;
        if added == 0 {
            return Err(invalid(source, "contains no OpenPGP keys"));
        }
        Ok(added)
    }

    fn add_armored_block(&mut self, source: &str, block: &str) -> Result<(), KeyError> {
        let bad = |e: ::pgp::errors::Error| invalid(source, format!("bad key block: {e}"));
        if block.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            let (keys, _) = SignedSecretKey::from_armor_many(Cursor::new(block)).map_err(bad)?;
            for key in keys {
                let key = key.map_err(bad)?;
                key.verify_bindings().map_err(bad)?;
                self.secret.push(key);
            }
        } else if block.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            let (keys, _) = SignedPublicKey::from_armor_many(Cursor::new(block)).map_err(bad)?;
            for key in keys {
                let key = key.map_err(bad)?;
                key.verify_bindings().map_err(bad)?;
                self.public.push(key);
            }
        }
        // Other blocks (messages, signatures) are not keys; ignore them.
        Ok(())
    }

    fn add_binary(&mut self, source: &str, bytes: &[u8]) -> Result<(), KeyError> {
        let bad = |e: ::pgp::errors::Error| invalid(source, format!("bad binary key: {e}"));
        if first_packet_is_secret_key(bytes) {
            for key in SignedSecretKey::from_bytes_many(Cursor::new(bytes)).map_err(bad)? {
                let key = key.map_err(bad)?;
                key.verify_bindings().map_err(bad)?;
                self.secret.push(key);
            }
        } else {
            for key in SignedPublicKey::from_bytes_many(Cursor::new(bytes)).map_err(bad)? {
                let key = key.map_err(bad)?;
                key.verify_bindings().map_err(bad)?;
                self.public.push(key);
            }
        }
        Ok(())
    }

    /// The public key named by `fingerprint`, from public or secret keys.
    pub(crate) fn find_public(&self, fingerprint: &str) -> Option<SignedPublicKey> {
        let wanted = normalize_fingerprint(fingerprint);
        if let Some(key) = self
            .public
            .iter()
            .find(|k| names_key(&wanted, &primary_fp(*k), &public_subkey_fps(k)))
        {
            return Some(key.clone());
        }
        self.secret
            .iter()
            .find(|k| names_key(&wanted, &primary_fp(&k.primary_key), &secret_subkey_fps(k)))
            .map(SignedSecretKey::to_public_key)
    }

    /// Secret keys holding a (sub)key with one of these key ids. A wildcard id
    /// (anonymous recipient) matches every key.
    pub(crate) fn secret_keys_for(&self, ids: &[KeyId]) -> Vec<&SignedSecretKey> {
        let anonymous = ids.iter().any(KeyId::is_wildcard);
        self.secret
            .iter()
            .filter(|k| {
                anonymous
                    || ids.contains(&k.primary_key.legacy_key_id())
                    || k.secret_subkeys
                        .iter()
                        .any(|s| ids.contains(&s.key.legacy_key_id()))
            })
            .collect()
    }
}

fn primary_fp(key: &impl KeyDetails) -> String {
    hex_upper(key.fingerprint().as_bytes())
}

fn public_subkey_fps(key: &SignedPublicKey) -> Vec<String> {
    key.public_subkeys
        .iter()
        .map(|s| hex_upper(s.key.fingerprint().as_bytes()))
        .collect()
}

fn secret_subkey_fps(key: &SignedSecretKey) -> Vec<String> {
    key.secret_subkeys
        .iter()
        .map(|s| hex_upper(s.key.fingerprint().as_bytes()))
        .collect()
}

/// The text of `bytes` when they are ASCII-armored.
fn armored_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.contains("-----BEGIN PGP ").then_some(text)
}

/// Splits text into its `-----BEGIN PGP …-----` … `-----END PGP …-----` blocks, since
/// rpgp's `from_armor_many` reads only the first block (GnuPG exports may hold several).
pub(crate) fn armor_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN PGP ") {
        let from_begin = &rest[start..];
        let Some(end_marker) = from_begin.find("-----END PGP ") else {
            break;
        };
        let after_marker = &from_begin[end_marker..];
        let line_end = after_marker
            .find('\n')
            .map_or(after_marker.len(), |i| i + 1);
        let block_len = end_marker + line_end;
        blocks.push(&from_begin[..block_len]);
        rest = &from_begin[block_len..];
    }
    blocks
}

/// Whether the first OpenPGP packet is a secret key (tag 5) rather than a public one.
fn first_packet_is_secret_key(bytes: &[u8]) -> bool {
    let Some(&first) = bytes.first() else {
        return false;
    };
    let tag = if first & 0x40 != 0 {
        first & 0x3f
    } else {
        (first >> 2) & 0x0f
    };
    tag == 5
}

/// The newest binding signature of a subkey, and whether it has been revoked.
fn binding_state(signatures: &[Signature]) -> (Option<&Signature>, bool) {
    let revoked = signatures
        .iter()
        .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
    let binding = signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .max_by_key(|s| s.created().map(Timestamp::as_secs).unwrap_or(0));
    (binding, revoked)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether a key created at `created` with this self-signature is expired now.
fn expired(created: Timestamp, signature: &Signature) -> bool {
    match signature.key_expiration_time() {
        Some(lifetime) if lifetime.as_secs() != 0 => {
            u64::from(created.as_secs()) + u64::from(lifetime.as_secs()) <= now_secs()
        }
        _ => false,
    }
}

/// Where to encrypt for a public key.
pub(crate) enum EncryptionTarget<'a> {
    Subkey(&'a ::pgp::composed::SignedPublicSubKey),
    Primary(&'a SignedPublicKey),
}

/// Picks the newest subkey flagged for encryption that is neither expired nor revoked;
/// a primary key that may encrypt is the fallback.
pub(crate) fn encryption_target(key: &SignedPublicKey) -> Result<EncryptionTarget<'_>, String> {
    if !key.details.revocation_signatures.is_empty() {
        return Err("the key is revoked".into());
    }
    let usable = key.public_subkeys.iter().filter(|sub| {
        let (binding, revoked) = binding_state(&sub.signatures);
        let Some(binding) = binding else {
            return false;
        };
        let flags = binding.key_flags();
        !revoked
            && sub.key.algorithm().can_encrypt()
            && (flags.encrypt_comms() || flags.encrypt_storage())
            && !expired(sub.key.created_at(), binding)
    });
    if let Some(sub) = usable.max_by_key(|s| s.key.created_at().as_secs()) {
        return Ok(EncryptionTarget::Subkey(sub));
    }
    let primary_may_encrypt = key.primary_key.algorithm().can_encrypt()
        && key.details.users.iter().any(|user| {
            user.signatures.iter().any(|sig| {
                let flags = sig.key_flags();
                (flags.encrypt_comms() || flags.encrypt_storage())
                    && !expired(key.primary_key.created_at(), sig)
            })
        });
    if primary_may_encrypt {
        return Ok(EncryptionTarget::Primary(key));
    }
    Err("no valid encryption-capable (sub)key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_armor_blocks() {
        let text = "junk\n-----BEGIN PGP PRIVATE KEY BLOCK-----\nA\n-----END PGP PRIVATE KEY BLOCK-----\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nB\n-----END PGP PUBLIC KEY BLOCK-----";
        let blocks = armor_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].ends_with("PRIVATE KEY BLOCK-----\n"));
        assert!(blocks[1].starts_with("-----BEGIN PGP PUBLIC"));
        assert!(blocks[1].ends_with("PUBLIC KEY BLOCK-----"));
    }

    #[test]
    fn fingerprint_forms() {
        let fp = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
        assert_eq!(
            normalize_fingerprint("fbc7 b9e2 a4f9 289a c0c1  d484 3d16 cee4 a273 81b4"),
            fp
        );
        assert!(names_key(fp, fp, &[]));
        assert!(names_key("3D16CEE4A27381B4", fp, &[]));
        assert!(!names_key("A27381B4", fp, &[]));
        assert!(!names_key(
            "D7229043384BCC60326C6FB9D8720D957C3D3074",
            fp,
            &[]
        ));
    }

    #[test]
    fn packet_tags() {
        assert!(first_packet_is_secret_key(&[0x95]));
        assert!(first_packet_is_secret_key(&[0xC5]));
        assert!(!first_packet_is_secret_key(&[0x99]));
        assert!(!first_packet_is_secret_key(&[0xC6]));
    }
}
