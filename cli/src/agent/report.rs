//! What one agent cycle did, for `--output json` (one JSON object per line) and the
//! one-line human summary on stderr.

use serde_json::json;

#[derive(Clone, Debug, Default)]
pub struct CycleReport {
    /// The commit the target now reflects (unchanged when the remote was unreachable).
    pub revision: Option<String>,
    pub ref_lookups: u32,
    pub fetches: u32,
    /// SOPS files decrypted this cycle.
    pub decrypted: u32,
    /// Files written because their content changed.
    pub written: u32,
    /// Files of secrets that left the repository.
    pub removed: u32,
    /// Files changed or deleted on disk and written back.
    pub restored: u32,
    pub errors: Vec<CycleError>,
    pub duration_ms: u128,
}

#[derive(Clone, Debug)]
pub struct CycleError {
    /// The repository file, or empty for repository-wide errors.
    pub path: String,
    pub reason: String,
    pub message: String,
}

impl CycleReport {
    pub fn error(&mut self, path: &str, reason: &str, message: impl Into<String>) {
        self.errors.push(CycleError {
            path: path.to_string(),
            reason: reason.to_string(),
            message: message.into(),
        });
    }

    pub fn to_json_line(&self) -> String {
        let errors: Vec<_> = self
            .errors
            .iter()
            .map(|e| json!({"path": e.path, "reason": e.reason, "message": e.message}))
            .collect();
        json!({
            "revision": self.revision,
            "ref_lookups": self.ref_lookups,
            "fetches": self.fetches,
            "decrypted": self.decrypted,
            "written": self.written,
            "removed": self.removed,
            "restored": self.restored,
            "errors": errors,
            "duration_ms": self.duration_ms,
        })
        .to_string()
    }

    pub fn summary(&self) -> String {
        let rev = self
            .revision
            .as_deref()
            .map(|r| &r[..r.len().min(12)])
            .unwrap_or("none");
        format!(
            "hush: agent: revision {rev}: {} decrypted, {} written, {} removed, {} restored, {} error(s) in {} ms",
            self.decrypted,
            self.written,
            self.removed,
            self.restored,
            self.errors.len(),
            self.duration_ms
        )
    }
}
