//! Inputs: the working tree, the Git index, Git history, stdin.

pub mod fs;
pub mod git;

use std::io::Read;
use std::sync::Mutex;

use crate::finding::{Issue, IssueKind, ScanOutcome};
use crate::scanner::Scanner;

/// Thread-safe accumulator for a scan's results.
#[derive(Default)]
pub(crate) struct Collector {
    outcome: Mutex<ScanOutcome>,
}

impl Collector {
    pub fn issue(&self, kind: IssueKind, path: &str, message: impl Into<String>) {
        self.lock().issues.push(Issue {
            kind,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Scan one stream and record its findings or the problem it caused.
    pub fn scan<R: Read>(&self, scanner: &Scanner, path: &str, commit: Option<&str>, reader: R) {
        match scanner.scan_stream(path, commit, reader) {
            Ok(r) if r.binary => self.issue(IssueKind::SkippedBinary, path, "binary file skipped"),
            Ok(r) => {
                let mut o = self.lock();
                o.files_scanned += 1;
                o.bytes_scanned += r.bytes;
                o.findings.extend(r.findings);
            }
            Err(e) => self.issue(IssueKind::Unreadable, path, format!("read error: {e}")),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScanOutcome> {
        self.outcome.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn into_outcome(self) -> ScanOutcome {
        self.outcome.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Scan standard input (or any reader) as one stream named `name`.
pub fn scan_reader<R: Read>(scanner: &Scanner, name: &str, reader: R) -> ScanOutcome {
    let collector = Collector::default();
    collector.scan(scanner, name, None, reader);
    collector.into_outcome()
}
