//! Errors of the GitOps pull: one type for the repository, one for a single file.
//! Neither ever carries a secret value or a credential.

/// Why the mirror could not be opened, updated or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    #[error("cannot create the mirror at {path}: {message}")]
    Mirror { path: String, message: String },
    #[error("cannot reach {url}: {message}")]
    Remote { url: String, message: String },
    #[error("{reference} not found on {url}")]
    RefNotFound { url: String, reference: String },
    #[error("commit {0} is not in the mirror (fetch first, or it does not exist)")]
    CommitNotFound(String),
    #[error("path {0:?} is outside the repository root")]
    PathEscapesRoot(String),
    #[error("path {path:?} does not exist at {commit}")]
    PathNotFound { commit: String, path: String },
    #[error("cannot read {path} at {commit}: {message}")]
    Read {
        commit: String,
        path: String,
        message: String,
    },
    #[error("ssh credentials: {0}")]
    SshSetup(String),
}

/// Why one file produced no Secrets. Callers keep that file's last good output.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct FileError {
    /// The file's path inside the repository.
    pub path: String,
    pub kind: FileErrorKind,
}

/// The reason behind a [`FileError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileErrorKind {
    #[error("cannot parse: {0}")]
    Parse(String),
    #[error("sops metadata: {0}")]
    Metadata(String),
    #[error("no key could open the data key: {0}")]
    NoKey(#[from] crate::KeyRingError),
    #[error("{0}")]
    Decrypt(#[from] hush_crypto::sopsfile::DecryptError),
    #[error("invalid Secret: {0}")]
    InvalidSecret(String),
}

impl FileError {
    pub(crate) fn new(path: &str, kind: FileErrorKind) -> Self {
        FileError {
            path: path.to_string(),
            kind,
        }
    }

    /// A short CamelCase reason for events, conditions and metrics labels.
    pub fn reason(&self) -> &'static str {
        use hush_crypto::sopsfile::DecryptError as D;
        match &self.kind {
            FileErrorKind::Parse(_) => "ParseError",
            FileErrorKind::Metadata(_) => "BadMetadata",
            FileErrorKind::NoKey(_) => "NoKey",
            FileErrorKind::Decrypt(D::MacMismatch) => "MacMismatch",
            FileErrorKind::Decrypt(D::MacMissing) => "MacMissing",
            FileErrorKind::Decrypt(_) => "DecryptionFailed",
            FileErrorKind::InvalidSecret(_) => "InvalidSecret",
        }
    }
}
