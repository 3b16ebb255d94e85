//! OpenPGP master keys: the raw data key is encrypted to a key fingerprint and stored
//! as an armored `-----BEGIN PGP MESSAGE-----` in `enc` (sops `pgp/keysource.go`).
//!
//! Keys loaded in memory are used first (pure Rust, rpgp); otherwise the `gpg` binary
//! is asked, like sops does.

mod gpg;
mod keyring;

use std::path::{Path, PathBuf};

use ::pgp::composed::{ArmorOptions, Esk, Message, MessageBuilder};
use ::pgp::crypto::sym::SymmetricKeyAlgorithm;
use ::pgp::types::{KeyId, Password};
use hush_crypto::{KeyKind, KeyType, MasterKey};
use zeroize::Zeroizing;

use crate::{KeyError, KeySource};
use gpg::{Gpg, GpgError};
use keyring::{encryption_target, normalize_fingerprint, EncryptionTarget, Keyring};

/// Wraps and unwraps data keys with OpenPGP.
pub struct PgpSource {
    keyring: Keyring,
    gpg: Option<Gpg>,
}

impl PgpSource {
    /// Keys from the files in `HUSH_PGP_KEY_FILES` (a path list, armored or binary,
    /// secret or public), plus the gpg binary (`SOPS_GPG_EXEC`, default `gpg`;
    /// `GNUPGHOME` is passed through).
    pub fn from_env() -> Result<Self, KeyError> {
        let mut source = Self::gpg_only(std::env::var_os("SOPS_GPG_EXEC").map(PathBuf::from));
        if let Some(list) = std::env::var_os("HUSH_PGP_KEY_FILES") {
            for path in std::env::split_paths(&list) {
                if !path.as_os_str().is_empty() {
                    source.add_key_file(&path)?;
                }
            }
        }
        Ok(source)
    }

    /// Keys given as bytes (armored blocks or binary), e.g. a Flux `*.asc` Secret
    /// entry. gpg is not used.
    pub fn from_armored_keys(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut source = Self::without_keys();
        source.add_keys("keys", bytes)?;
        Ok(source)
    }

    /// No keys in memory; everything goes through gpg (`exec`, default `gpg`).
    pub fn gpg_only(exec: Option<PathBuf>) -> Self {
        PgpSource {
            keyring: Keyring::default(),
            gpg: Some(Gpg {
                exec: exec.unwrap_or_else(|| PathBuf::from("gpg")),
                home: None,
            }),
        }
    }

    /// No keys and no gpg.
    pub fn without_keys() -> Self {
        PgpSource {
            keyring: Keyring::default(),
            gpg: None,
        }
    }

    /// Runs gpg with this `GNUPGHOME` instead of inheriting it. Enables gpg if it was off.
    pub fn with_gnupg_home(mut self, home: impl Into<PathBuf>) -> Self {
        let gpg = self.gpg.get_or_insert_with(|| Gpg {
            exec: PathBuf::from("gpg"),
            home: None,
        });
        gpg.home = Some(home.into());
        self
    }

    /// Never calls gpg.
    pub fn without_gpg(mut self) -> Self {
        self.gpg = None;
        self
    }

    /// Adds the keys in a file; the error names the file, never its content.
    pub fn add_key_file(&mut self, path: &Path) -> Result<usize, KeyError> {
        let name = path.display().to_string();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| KeyError::InvalidKey {
            kind: "pgp",
            input: name.clone(),
            reason: format!("cannot read: {e}"),
        })?);
        self.add_keys(&name, &bytes)
    }

    /// Adds keys from bytes; `source` names them in errors. Returns how many were added.
    pub fn add_keys(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        self.keyring.add_bytes(source, bytes)
    }

    /// Number of (secret, public) keys loaded in memory.
    pub fn key_counts(&self) -> (usize, usize) {
        (self.keyring.secret.len(), self.keyring.public.len())
    }

    fn unwrap_in_memory(
        &self,
        describe: &str,
        enc: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
        let corrupt = |reason: String| KeyError::Unwrap {
            key: describe.to_string(),
            reason,
        };
        let (message, _) = Message::from_string(enc)
            .map_err(|e| corrupt(format!("enc is not an OpenPGP message: {e}")))?;
        let Message::Encrypted { esk, .. } = &message else {
            return Err(corrupt("enc is not an encrypted OpenPGP message".into()));
        };
        let ids: Vec<KeyId> = esk
            .iter()
            .filter_map(|e| match e {
                Esk::PublicKeyEncryptedSessionKey(p) => p.id().ok().cloned(),
                Esk::SymKeyEncryptedSessionKey(_) => None,
            })
            .collect();
        let keys = self.keyring.secret_keys_for(&ids);
        if keys.is_empty() {
            return Ok(None);
        }
        let password = Password::empty();
        let passwords = keys.iter().map(|_| &password).collect();
        let mut message = message
            .decrypt_with_keys(passwords, keys)
            .map_err(|e| corrupt(format!("OpenPGP decryption failed: {e}")))?;
        if message.is_compressed() {
            message = message
                .decompress()
                .map_err(|e| corrupt(format!("OpenPGP decompression failed: {e}")))?;
        }
        let data = message
            .as_data_vec()
            .map_err(|e| corrupt(format!("OpenPGP decryption failed: {e}")))?;
        Ok(Some(Zeroizing::new(data)))
    }

    fn wrap_in_memory(
        &self,
        describe: &str,
        fingerprint: &str,
        data_key: &[u8],
    ) -> Option<Result<String, KeyError>> {
        let public = self.keyring.find_public(fingerprint)?;
        let failed = |reason: String| KeyError::Wrap {
            key: describe.to_string(),
            reason,
        };
        let target = match encryption_target(&public) {
            Ok(target) => target,
            Err(reason) => return Some(Err(failed(reason))),
        };
        let mut rng = rand::thread_rng();
        let mut builder = MessageBuilder::from_bytes("", data_key.to_vec())
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        let added = match target {
            EncryptionTarget::Subkey(sub) => builder.encrypt_to_key(&mut rng, sub).map(|_| ()),
            EncryptionTarget::Primary(key) => builder.encrypt_to_key(&mut rng, key).map(|_| ()),
        };
        Some(
            added
                .and_then(|_| builder.to_armored_string(&mut rng, ArmorOptions::default()))
                .map_err(|e| failed(e.to_string())),
        )
    }
}

impl KeySource for PgpSource {
    fn key_type(&self) -> KeyType {
        KeyType::Pgp
    }

    fn wrap(&self, key: &KeyKind, data_key: &[u8]) -> Result<String, KeyError> {
        let KeyKind::Pgp { fingerprint } = key else {
            return Err(KeyError::Unsupported(key.key_type()));
        };
        let describe = key.describe();
        if let Some(result) = self.wrap_in_memory(&describe, fingerprint, data_key) {
            return result;
        }
        let failed = |reason: String| KeyError::Wrap {
            key: describe.clone(),
            reason,
        };
        let Some(gpg) = &self.gpg else {
            return Err(failed("public key not loaded and gpg is disabled".into()));
        };
        gpg.encrypt(&normalize_fingerprint(fingerprint), data_key)
            .map_err(|e| match e {
                GpgError::Missing(m) => {
                    failed(format!("public key not loaded and gpg unavailable ({m})"))
                }
                GpgError::NoSecretKey => failed("gpg has no key".into()),
                GpgError::Failed(m) => failed(m),
            })
    }

    fn unwrap(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let KeyKind::Pgp { .. } = &key.kind else {
            return Err(KeyError::Unsupported(key.kind.key_type()));
        };
        let describe = key.kind.describe();
        let in_memory = self.unwrap_in_memory(&describe, &key.enc);
        let fallback_reason = match in_memory {
            Ok(Some(plain)) => return Ok(plain),
            Ok(None) => None,
            Err(e) => Some(e),
        };
        let Some(gpg) = &self.gpg else {
            return Err(fallback_reason.unwrap_or(KeyError::NoIdentity { key: describe }));
        };
        match gpg.decrypt(&key.enc) {
            Ok(plain) => Ok(plain),
            Err(GpgError::Missing(_)) => {
                Err(fallback_reason.unwrap_or(KeyError::NoIdentity { key: describe }))
            }
            Err(GpgError::NoSecretKey) => {
                Err(fallback_reason.unwrap_or(KeyError::NoIdentity { key: describe }))
            }
            Err(GpgError::Failed(reason)) => Err(KeyError::Unwrap {
                key: describe,
                reason,
            }),
        }
    }
}
