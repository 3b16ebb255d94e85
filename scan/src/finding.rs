use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One leaked secret (or GitOps problem) at a location.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub rule_id: String,
    pub description: String,
    /// Path relative to the scan root, `/`-separated; `-` for stdin.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub commit: Option<String>,
    /// 1-based line and column of the secret's first byte.
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    /// The secret itself. Reports redact it unless asked not to.
    pub secret: String,
    /// Hex SHA-256 of the secret: what baselines store instead of the secret.
    pub secret_sha256: String,
    pub entropy: f64,
    /// Extra explanation, e.g. the fix for a GitOps finding.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

impl Finding {
    /// gitleaks-compatible fingerprint: `[commit:]path:rule-id:line`.
    pub fn fingerprint(&self) -> String {
        match &self.commit {
            Some(c) => format!("{c}:{}:{}:{}", self.path, self.rule_id, self.line),
            None => format!("{}:{}:{}", self.path, self.rule_id, self.line),
        }
    }

    /// The secret with all but a short prefix hidden.
    pub fn redacted_secret(&self) -> String {
        redact(&self.secret)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keep at most 4 leading characters of long secrets; hide everything else.
pub fn redact(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let keep = if chars.len() >= 16 { 4 } else { 0 };
    let prefix: String = chars[..keep].iter().collect();
    format!("{prefix}***REDACTED***")
}

/// What kind of problem a file or object caused.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum IssueKind {
    /// Skipped on purpose (binary, too large): the scan is still complete.
    SkippedBinary,
    SkippedTooLarge,
    SkippedSymlink,
    /// Could not be read: the scan is incomplete.
    Unreadable,
    WalkError,
    GitError,
    ConfigWarning,
}

impl IssueKind {
    /// Whether the issue makes the scan incomplete (exit code 2).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            IssueKind::Unreadable | IssueKind::WalkError | IssueKind::GitError
        )
    }
}

/// A notice or error about one input; never contains secret material.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issue {
    pub kind: IssueKind,
    pub path: String,
    pub message: String,
}

/// Everything a scan produced.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub issues: Vec<Issue>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    /// Findings dropped by a baseline or `.hushignore` fingerprint.
    pub suppressed: u64,
}

impl ScanOutcome {
    pub fn complete(&self) -> bool {
        !self.issues.iter().any(|i| i.kind.is_error())
    }

    /// 0 clean, 1 findings, 2 incomplete scan (errors win: the result can't be trusted).
    pub fn exit_code(&self) -> u8 {
        if !self.complete() {
            2
        } else if !self.findings.is_empty() {
            1
        } else {
            0
        }
    }

    /// Stable order for reports: path, commit, line, rule.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.path, &a.commit, a.line, a.column, &a.rule_id)
                .cmp(&(&b.path, &b.commit, b.line, b.column, &b.rule_id))
        });
        self.issues.sort_by(|a, b| a.path.cmp(&b.path));
    }
}
