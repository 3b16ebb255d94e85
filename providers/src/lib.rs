//! Key sources for hush: each backend wraps and unwraps SOPS data keys for one
//! kind of master key. The engine only sees the [`KeySource`] trait, so a new
//! backend plugs in without touching `hush-crypto`. Secret sources (`secrets`)
//! fetch values from secret managers for hush-controller.

pub mod age;
pub mod flux_keys;
#[cfg(feature = "gitops")]
pub mod gitops;
pub mod keyring;
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure", feature = "vault"))]
pub mod kms;
#[cfg(feature = "notify")]
pub mod notify;
pub mod pgp;
pub mod secrets;
pub mod source;

pub use crate::age::{AgeEnv, AgeSource, PassphrasePrompt};
pub use crate::pgp::PgpSource;
pub use keyring::{KeyRing, KeyRingError};
pub use source::{KeyError, KeySource};
