//! Encrypting and decrypting whole documents with their metadata: values, then
//! the MAC under `lastmodified`, refusing a missing or wrong MAC by default.

use crate::engine::{self, DecryptOutcome, IvStash, Policy, Stash, ValueError};
use crate::metadata::Metadata;
use crate::{DataKey, Map};

/// Why documents could not be decrypted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    #[error("could not decrypt value at {0}")]
    Value(#[from] ValueError),
    #[error("MAC not found in sops metadata (use --ignore-mac to decrypt anyway)")]
    MacMissing,
    #[error("could not decrypt the MAC: {0}")]
    MacUndecryptable(crate::cipher::CipherError),
    #[error("MAC mismatch: the file was modified outside sops/hush or is corrupt (use --ignore-mac to decrypt anyway)")]
    MacMismatch,
}

/// Whether to check the MAC on decryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacCheck {
    Verify,
    /// `--ignore-mac`: decrypt even when the MAC is missing or wrong.
    Ignore,
}

/// The policy (selector, MAC mode) a file's metadata prescribes.
pub fn policy_of(metadata: &Metadata) -> Policy {
    Policy {
        selector: metadata.selector.clone(),
        mac_only_encrypted: metadata.mac_only_encrypted,
    }
}

/// sops reads `lastmodified` and formats it again with Go's RFC 3339 layout (no
/// fractional seconds) before using it as the MAC's AAD.
pub fn canonical_lastmodified(text: &str) -> String {
    match text.find('.') {
        Some(dot) if dot >= 19 => {
            let rest = &text[dot + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            format!("{}{}", &text[..dot], &rest[digits..])
        }
        _ => text.to_string(),
    }
}

/// Encrypts `docs` in place and fills in `lastmodified` (`now`, RFC 3339 UTC) and the MAC.
/// `stash` holds IVs of previously decrypted values, so unchanged values keep their ciphertext.
pub fn encrypt_documents(
    docs: &mut [Map],
    metadata: &mut Metadata,
    key: &DataKey,
    now: &str,
    stash: Option<&IvStash>,
) -> Result<(), ValueError> {
    let mac = engine::encrypt_branches(docs, key, &policy_of(metadata), stash)?;
    metadata.lastmodified = now.to_string();
    metadata.mac = engine::encrypt_mac(&mac, key, now);
    Ok(())
}

/// Decrypts `docs` in place and checks the MAC.
pub fn decrypt_documents(
    docs: &mut [Map],
    metadata: &Metadata,
    key: &DataKey,
    check: MacCheck,
) -> Result<DecryptOutcome, DecryptError> {
    decrypt_documents_with(docs, metadata, key, check, Stash::Keep)
}

/// [`decrypt_documents`]; with [`Stash::Skip`] the outcome's IV stash stays empty
/// (for output that is never encrypted again, such as `decrypt`).
pub fn decrypt_documents_with(
    docs: &mut [Map],
    metadata: &Metadata,
    key: &DataKey,
    check: MacCheck,
    stash: Stash,
) -> Result<DecryptOutcome, DecryptError> {
    let outcome = engine::decrypt_branches_with(docs, key, &policy_of(metadata), stash)?;
    if check == MacCheck::Ignore {
        return Ok(outcome);
    }
    if metadata.mac.is_empty() {
        return Err(DecryptError::MacMissing);
    }
    let stored = engine::decrypt_mac(
        &metadata.mac,
        key,
        &canonical_lastmodified(&metadata.lastmodified),
    )
    .map_err(DecryptError::MacUndecryptable)?;
    // Constant-time comparison: the MAC is an integrity check on secret-derived data.
    let equal = stored.len() == outcome.computed_mac.len()
        && stored
            .bytes()
            .zip(outcome.computed_mac.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !equal {
        return Err(DecryptError::MacMismatch);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lastmodified_drops_fraction() {
        assert_eq!(
            canonical_lastmodified("2024-01-02T03:04:05.123Z"),
            "2024-01-02T03:04:05Z"
        );
        assert_eq!(
            canonical_lastmodified("2024-01-02T03:04:05+02:00"),
            "2024-01-02T03:04:05+02:00"
        );
    }
}
