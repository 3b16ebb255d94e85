use std::path::PathBuf;

/// Errors that stop a scan before it starts (bad configuration, unusable
/// repository). Problems with single files are [`crate::Issue`]s instead, so
/// the scan can go on.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("rule {rule_id}: {message}")]
    Rule { rule_id: String, message: String },
    #[error("baseline {path}: {message}")]
    Baseline { path: PathBuf, message: String },
    #[error("git: {0}")]
    Git(String),
    #[error("hook: {0}")]
    Hook(String),
}

impl ScanError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ScanError::Io {
            path: path.into(),
            source,
        }
    }
}
