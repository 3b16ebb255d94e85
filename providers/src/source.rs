//! The one joint between the engine and key backends.

use hush_crypto::{KeyKind, KeyType, MasterKey};
use zeroize::Zeroizing;

/// Why a key source could not wrap or unwrap a data key.
/// Messages name the key (recipient, fingerprint, ARN, URL), never key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No identity/credential for this key is available here ("not mine").
    #[error("no identity available for {key}")]
    NoIdentity { key: String },
    /// The key exists but the wrapped data could not be opened.
    #[error("{key}: {reason}")]
    Unwrap { key: String, reason: String },
    /// The data key could not be wrapped for this recipient.
    #[error("{key}: {reason}")]
    Wrap { key: String, reason: String },
    /// A recipient or key reference could not be parsed.
    #[error("invalid {kind} key {input:?}: {reason}")]
    InvalidKey {
        kind: &'static str,
        input: String,
        reason: String,
    },
    /// This build has no backend for this key type.
    #[error("no key source for {0:?} keys in this build")]
    Unsupported(KeyType),
}

/// Wraps and unwraps data keys for one type of master key.
///
/// Implementations are synchronous; network backends bound their own timeouts.
pub trait KeySource: Send + Sync {
    /// The key type this source serves.
    fn key_type(&self) -> KeyType;

    /// Wraps `data_key` (32 bytes, or a 33-byte Shamir share) for `key`,
    /// returning the `enc` string to store in metadata.
    fn wrap(&self, key: &KeyKind, data_key: &[u8]) -> Result<String, KeyError>;

    /// The key as it is to be recorded before wrapping, when part of it is only
    /// known to the service: an Azure Key Vault key without a version becomes its
    /// latest version, as sops ≥ 3.11 records it, so that a file keeps opening after
    /// the key is rotated. `None` when the key is recorded as given.
    fn resolve(&self, _key: &KeyKind) -> Result<Option<KeyKind>, KeyError> {
        Ok(None)
    }

    /// Unwraps `key.enc`. Returns [`KeyError::NoIdentity`] when this machine
    /// holds no identity for the key, so callers can try the next one.
    fn unwrap(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}
