//! Cloud KMS and Vault transit key sources, one module per backend, each
//! behind its cargo feature (`aws`, `gcp`, `azure`, `vault`; `cloud` = all).
//!
//! Every source is cheap to construct: clients and credentials are resolved on
//! the first wrap/unwrap, so building a key ring never touches the network.
//! Calls are bounded by [`net::NetSettings`] (`HUSH_KMS_TIMEOUT`,
//! `HUSH_KMS_RETRIES`). Errors name the key and the endpoint, never key material.

pub mod net;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "vault")]
pub mod vault;

use hush_crypto::KeyKind;

use crate::source::KeyError;
use net::{CallError, Failure};

/// The key as named in messages: its description and the endpoint asked.
fn key_at(kind: &KeyKind, endpoint: &str) -> String {
    format!("{} (endpoint {endpoint})", kind.describe())
}

/// A failed unwrap; missing credentials become [`KeyError::NoIdentity`] so the
/// ring moves on to the group's next key.
pub(crate) fn unwrap_error(kind: &KeyKind, endpoint: &str, e: CallError) -> KeyError {
    let key = key_at(kind, endpoint);
    match e.failure {
        Failure::NoCredentials => KeyError::NoIdentity {
            key: format!("{key}: {}", e.detail),
        },
        Failure::Transient | Failure::Permanent => KeyError::Unwrap {
            key,
            reason: e.detail,
        },
    }
}

pub(crate) fn wrap_error(kind: &KeyKind, endpoint: &str, e: CallError) -> KeyError {
    KeyError::Wrap {
        key: key_at(kind, endpoint),
        reason: e.detail,
    }
}
