//! Turning identity material (text, files, SSH keys, command output) into age identities.
//!
//! Passphrase-protected material is kept "locked" and only opened when a data key
//! actually needs it, so encrypting or decrypting with other keys never prompts.

use std::io::{BufReader, Read};

use ::age::armor::ArmoredReader;
use ::age::secrecy::SecretString;
use ::age::ssh;
use ::age::x25519;
use ::age::{DecryptError, Decryptor};
use zeroize::Zeroizing;

use crate::KeyError;

/// A ready-to-use identity.
pub(crate) type BoxedIdentity = Box<dyn ::age::Identity + Send + Sync>;

/// Asks for the passphrase of the named identity file; `None` means "no passphrase".
pub type PassphrasePrompt = Box<dyn Fn(&str) -> Option<Zeroizing<String>> + Send + Sync>;

/// Upper bound for identity material read from one place (age uses the same 16 MiB).
const IDENTITY_SIZE_LIMIT: u64 = 1 << 24;

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const BINARY_MAGIC: &[u8] = b"age-encryption.org/";

/// Identity material that needs a passphrase before it can be used.
pub(crate) enum Locked {
    /// An identity file that is itself an age file encrypted to a passphrase (scrypt).
    AgeFile { name: String, ciphertext: Vec<u8> },
    /// An OpenSSH private key protected by a passphrase.
    Ssh {
        name: String,
        key: ssh::EncryptedKey,
    },
}

impl Locked {
    pub(crate) fn name(&self) -> &str {
        match self {
            Locked::AgeFile { name, .. } | Locked::Ssh { name, .. } => name,
        }
    }

    /// Whether this material can hold an identity for `recipient`.
    pub(crate) fn may_serve(&self, recipient: &str) -> bool {
        match self {
            Locked::AgeFile { .. } => recipient.starts_with("age1"),
            Locked::Ssh { .. } => recipient.starts_with("ssh-"),
        }
    }
}

/// Everything gathered from the configured places.
#[derive(Default)]
pub(crate) struct Gathered {
    pub(crate) ready: Vec<BoxedIdentity>,
    pub(crate) locked: Vec<Locked>,
    /// `AGE-PLUGIN-…` identities: their plugin program only runs for a key wrapped
    /// to a recipient of the same plugin.
    pub(crate) plugins: Vec<::age::plugin::Identity>,
    /// Entries we recognised but cannot use in this build (named, never their content).
    pub(crate) warnings: Vec<String>,
}

fn invalid(source: &str, reason: impl Into<String>) -> KeyError {
    KeyError::InvalidKey {
        kind: "age",
        input: source.to_string(),
        reason: reason.into(),
    }
}

/// Reads at most [`IDENTITY_SIZE_LIMIT`] bytes of a named file into zeroizing memory.
pub(crate) fn read_identity_file(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let name = path.display().to_string();
    let file =
        std::fs::File::open(path).map_err(|e| invalid(&name, format!("cannot open: {e}")))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(IDENTITY_SIZE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(&name, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > IDENTITY_SIZE_LIMIT {
        return Err(invalid(&name, "file too large for an identity file"));
    }
    Ok(bytes)
}

/// Whether `bytes` hold an age file (armored or binary) rather than identity lines.
fn is_age_file(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = &bytes[start..];
    rest.starts_with(ARMOR_BEGIN.as_bytes()) || rest.starts_with(BINARY_MAGIC)
}

/// Parses identity material from `source` (a file name or variable name used in messages):
/// either `AGE-SECRET-KEY-1…` lines (with `#` comments, several per line allowed) or an
/// age file encrypted to a passphrase, which is kept locked.
pub(crate) fn gather_identity_bytes(
    source: &str,
    bytes: &[u8],
    into: &mut Gathered,
) -> Result<(), KeyError> {
    if is_age_file(bytes) {
        let mut ciphertext = Vec::new();
        ArmoredReader::new(bytes)
            .take(IDENTITY_SIZE_LIMIT)
            .read_to_end(&mut ciphertext)
            .map_err(|e| invalid(source, format!("not a valid age file: {e}")))?;
        let decryptor = Decryptor::new_buffered(&ciphertext[..])
            .map_err(|e| invalid(source, format!("not a valid age file: {e}")))?;
        if !decryptor.is_scrypt() {
            return Err(invalid(
                source,
                "age-encrypted identity file is not encrypted to a passphrase",
            ));
        }
        into.locked.push(Locked::AgeFile {
            name: source.to_string(),
            ciphertext,
        });
        return Ok(());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid(source, "not UTF-8 text"))?;
    parse_identity_lines(source, text, into)
}

fn parse_identity_lines(source: &str, text: &str, into: &mut Gathered) -> Result<(), KeyError> {
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for token in line.split_whitespace() {
            if token.starts_with("AGE-SECRET-KEY-PQ-") {
                into.warnings.push(format!(
                    "{source} line {}: post-quantum age identities are not supported by this build; skipped",
                    index + 1
                ));
            } else if token.starts_with("AGE-PLUGIN-") {
                let identity: ::age::plugin::Identity = token.parse().map_err(|_| {
                    invalid(
                        source,
                        format!("line {} is not an age plugin identity", index + 1),
                    )
                })?;
                into.plugins.push(identity);
            } else {
                // Line numbers only: the token itself may be a secret.
                let identity: x25519::Identity = token.parse().map_err(|_| {
                    invalid(source, format!("line {} is not an age identity", index + 1))
                })?;
                into.ready.push(Box::new(identity));
            }
        }
    }
    Ok(())
}

/// Parses an OpenSSH (or PEM RSA) private key file for the agessh recipients.
pub(crate) fn gather_ssh_key(
    source: &str,
    bytes: &[u8],
    into: &mut Gathered,
) -> Result<(), KeyError> {
    let identity = ssh::Identity::from_buffer(BufReader::new(bytes), Some(source.to_string()))
        .map_err(|e| invalid(source, format!("not a usable SSH private key: {e}")))?;
    match identity {
        ssh::Identity::Unencrypted(_) => into.ready.push(Box::new(identity)),
        ssh::Identity::Encrypted(key) => into.locked.push(Locked::Ssh {
            name: source.to_string(),
            key,
        }),
        ssh::Identity::Unsupported(_) => {
            return Err(invalid(source, "unsupported SSH key type or cipher"))
        }
    }
    Ok(())
}

/// Opens locked material with a passphrase from `prompt`.
///
/// `Ok(None)`: no passphrase was given. `Err`: the passphrase was wrong or the
/// content is unusable.
pub(crate) fn unlock(
    locked: &Locked,
    prompt: &PassphrasePrompt,
) -> Result<Option<Gathered>, String> {
    let Some(passphrase) = prompt(locked.name()) else {
        return Ok(None);
    };
    let secret = SecretString::from(passphrase.as_str().to_owned());
    match locked {
        Locked::AgeFile { name, ciphertext } => {
            let scrypt = ::age::scrypt::Identity::new(secret);
            let decryptor = Decryptor::new_buffered(&ciphertext[..])
                .map_err(|e| format!("identity file {name}: {e}"))?;
            let mut reader = decryptor
                .decrypt(std::iter::once(&scrypt as &dyn ::age::Identity))
                .map_err(|e| match e {
                    DecryptError::DecryptionFailed | DecryptError::NoMatchingKeys => {
                        format!("incorrect passphrase for identity file {name}")
                    }
                    other => format!("identity file {name}: {other}"),
                })?;
            let mut plain = Zeroizing::new(Vec::new());
            reader
                .read_to_end(&mut plain)
                .map_err(|e| format!("identity file {name}: {e}"))?;
            let mut inner = Gathered::default();
            let text = std::str::from_utf8(&plain)
                .map_err(|_| format!("identity file {name}: decrypted content is not text"))?;
            parse_identity_lines(name, text, &mut inner).map_err(|e| e.to_string())?;
            Ok(Some(inner))
        }
        Locked::Ssh { name, key } => {
            let key = key
                .decrypt(secret)
                .map_err(|_| format!("incorrect passphrase for SSH key {name}"))?;
            Ok(Some(Gathered {
                ready: vec![Box::new(ssh::Identity::from(key))],
                ..Gathered::default()
            }))
        }
    }
}
