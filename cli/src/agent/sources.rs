//! Decrypting the repository's SOPS files in parallel, and hashing what gets written.

use hush_providers::gitops::{decrypt_secret, DesiredSecret, FileError, RepoFile};
use hush_providers::KeyRing;
use sha2::{Digest, Sha256};

/// Decrypts every file on a few workers per core, in input order.
pub fn decrypt_all(
    files: &[&RepoFile],
    ring: &KeyRing,
) -> Vec<Result<Vec<DesiredSecret>, FileError>> {
    crate::tree_walk::parallel_map(files, None, |f| decrypt_secret(f, ring))
}

/// SHA-256, hex: what the state file remembers instead of contents.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
