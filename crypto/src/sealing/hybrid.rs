//! The per-value hybrid scheme of Bitnami Sealed Secrets
//! (`pkg/crypto/crypto.go`, `HybridEncrypt`/`HybridDecrypt`):
//!
//! ```text
//! u16 big-endian len(rsa_ct) || rsa_ct || aes_gcm_ct || tag(16)
//! rsa_ct = RSA-OAEP(SHA-256, MGF1-SHA-256, label = scope label)(session key)
//! aes_gcm_ct = AES-256-GCM(session key, nonce = 12 zero bytes, no AAD)(value)
//! ```
//!
//! The all-zero nonce is safe only because every value gets a fresh random
//! session key, which `seal` always draws.

use super::keys::{SealingPrivateKey, SealingPublicKey};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, OaepPublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
use zeroize::Zeroizing;

/// Session key length: AES-256.
pub const SESSION_KEY_LEN: usize = 32;
/// GCM authentication tag length.
pub const TAG_LEN: usize = 16;
const LENGTH_PREFIX_LEN: usize = 2;
const ZERO_NONCE: [u8; 12] = [0; 12];

/// Sealing and unsealing failures. None of them carries plaintext or key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Input shorter than its own length prefix says (Bitnami's `ErrTooShort`).
    #[error("ciphertext too short")]
    TooShort,
    /// The RSA part does not match the key's modulus size, so the key cannot be the one used.
    #[error("RSA ciphertext is {found} bytes, key needs {expected}")]
    RsaLengthMismatch { expected: usize, found: usize },
    /// OAEP or GCM rejected the input: wrong key, wrong scope label, or tampering.
    #[error("decryption failed (wrong key, wrong name/namespace for its scope, or modified data)")]
    DecryptionFailed,
    /// None of the keys tried could decrypt the value.
    #[error("no key could decrypt secret")]
    NoKeyCouldDecrypt,
    /// No keys were given to `unseal_with_any`.
    #[error("no private keys available")]
    NoKeys,
    /// The random source or the RSA/AES primitive failed while sealing.
    #[error("encryption failed")]
    EncryptionFailed,
}

/// Seals `plaintext` to `public_key`, bound to `label` (see [`super::scope_label`]).
/// Returns raw bytes; manifests carry them in standard base64.
pub fn seal(
    public_key: &SealingPublicKey,
    label: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    aws_lc_rs::rand::fill(session_key.as_mut()).map_err(|_| SealError::EncryptionFailed)?;

    let oaep = OaepPublicEncryptingKey::new(public_key.aws_key().clone())
        .map_err(|_| SealError::EncryptionFailed)?;
    let rsa_len = oaep.ciphertext_size();
    let rsa_len_prefix = u16::try_from(rsa_len).map_err(|_| SealError::EncryptionFailed)?;

    let mut out = Vec::with_capacity(LENGTH_PREFIX_LEN + rsa_len + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&rsa_len_prefix.to_be_bytes());
    out.resize(LENGTH_PREFIX_LEN + rsa_len, 0);
    let written = oaep
        .encrypt(
            &OAEP_SHA256_MGF1SHA256,
            session_key.as_ref(),
            &mut out[LENGTH_PREFIX_LEN..],
            oaep_label(label),
        )
        .map_err(|_| SealError::EncryptionFailed)?
        .len();
    if written != rsa_len {
        return Err(SealError::EncryptionFailed);
    }

    let aead = aead_key(session_key.as_ref()).ok_or(SealError::EncryptionFailed)?;
    let mut body = plaintext.to_vec();
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(ZERO_NONCE),
        Aad::empty(),
        &mut body,
    )
    .map_err(|_| SealError::EncryptionFailed)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Unseals a value sealed with `seal` (or by kubeseal) under `label`.
pub fn unseal(
    private_key: &SealingPrivateKey,
    label: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (rsa_part, aes_part) = split(ciphertext)?;
    let expected = private_key.public_key().modulus_len();
    if rsa_part.len() != expected {
        return Err(SealError::RsaLengthMismatch {
            expected,
            found: rsa_part.len(),
        });
    }
    if aes_part.len() < TAG_LEN {
        return Err(SealError::TooShort);
    }

    let oaep = OaepPrivateDecryptingKey::new(private_key.aws_key().clone())
        .map_err(|_| SealError::DecryptionFailed)?;
    let mut session_key = Zeroizing::new(vec![0u8; oaep.min_output_size()]);
    let session_key_len = oaep
        .decrypt(
            &OAEP_SHA256_MGF1SHA256,
            rsa_part,
            session_key.as_mut_slice(),
            oaep_label(label),
        )
        .map_err(|_| SealError::DecryptionFailed)?
        .len();

    let aead = aead_key(&session_key[..session_key_len]).ok_or(SealError::DecryptionFailed)?;
    let mut buffer = Zeroizing::new(aes_part.to_vec());
    let plaintext_len = aead
        .open_in_place(
            Nonce::assume_unique_for_key(ZERO_NONCE),
            Aad::empty(),
            buffer.as_mut_slice(),
        )
        .map_err(|_| SealError::DecryptionFailed)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

/// Tries each key in order, as the controller must (ciphertexts carry no key
/// id). Returns the index of the key that worked and the plaintext.
pub fn unseal_with_any(
    keys: &[SealingPrivateKey],
    label: &[u8],
    ciphertext: &[u8],
) -> Result<(usize, Zeroizing<Vec<u8>>), SealError> {
    if keys.is_empty() {
        return Err(SealError::NoKeys);
    }
    // Malformed input fails the same way for every key: report it as such.
    split(ciphertext)?;
    for (index, key) in keys.iter().enumerate() {
        if let Ok(plaintext) = unseal(key, label, ciphertext) {
            return Ok((index, plaintext));
        }
    }
    Err(SealError::NoKeyCouldDecrypt)
}

/// Splits off the RSA part using the 2-byte big-endian length prefix.
fn split(ciphertext: &[u8]) -> Result<(&[u8], &[u8]), SealError> {
    if ciphertext.len() < LENGTH_PREFIX_LEN {
        return Err(SealError::TooShort);
    }
    let rsa_len = usize::from(u16::from_be_bytes([ciphertext[0], ciphertext[1]]));
    let rest = &ciphertext[LENGTH_PREFIX_LEN..];
    if rest.len() < rsa_len {
        return Err(SealError::TooShort);
    }
    Ok(rest.split_at(rsa_len))
}

/// Go passes the label slice as is; an empty label and no label are the same
/// in OAEP (both hash the empty string), so send none for empty.
fn oaep_label(label: &[u8]) -> Option<&[u8]> {
    (!label.is_empty()).then_some(label)
}

/// Go's `aes.NewCipher` takes whatever key length OAEP returned; kubeseal always
/// makes 32 bytes. We accept the AES-128 and AES-256 sizes.
fn aead_key(session_key: &[u8]) -> Option<LessSafeKey> {
    let algorithm = match session_key.len() {
        16 => &AES_128_GCM,
        32 => &AES_256_GCM,
        _ => return None,
    };
    UnboundKey::new(algorithm, session_key)
        .ok()
        .map(LessSafeKey::new)
}
