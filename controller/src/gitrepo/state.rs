//! What the controller remembers per SecretRepository between reconciles: the Git
//! mirror, the revision it applied, and per file the blob it applied and the objects
//! (with data hashes, never values) it produced. Lost on restart, which only costs
//! one full decryption: writes still happen only where the live objects differ.

use std::collections::HashMap;

use hush_providers::gitops::Mirror;

/// One object a file produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// `Secret` or `SealedSecret`.
    pub kind: &'static str,
    pub name: String,
    /// For Secrets: the data hash hush recorded on it (drift check).
    pub hash: String,
}

/// A file applied at some revision.
#[derive(Clone, Debug, Default)]
pub struct FileMemo {
    /// Blob id (Secrets) or manifest hash (SealedSecrets) last applied.
    pub blob_id: String,
    pub outputs: Vec<Output>,
}

#[derive(Default)]
pub struct RepoState {
    /// The open mirror and the (url, ref) it was opened for.
    pub mirror: Option<(Mirror, String)>,
    /// The revision whose files are in `files`.
    pub applied_revision: Option<String>,
    /// The spec generation `files` were produced for. Kept here rather than read
    /// from status, which lags behind our own status writes in the watch cache.
    pub applied_generation: Option<i64>,
    pub files: HashMap<String, FileMemo>,
    /// The last ref lookup: when, and what it said. Reconciles triggered by our own
    /// writes or by drift reuse it instead of asking the remote again.
    pub last_lookup: Option<(std::time::Instant, String)>,
    /// When files were last read and failed ones retried: failed files are retried
    /// once per half interval, not on every Secret event that wakes the reconciler.
    pub last_pass: Option<std::time::Instant>,
}
