use std::io::{self, Write};

use super::Redaction;
use crate::finding::{IssueKind, ScanOutcome};

/// One block per finding, then notices and a summary line.
pub fn write(
    out: &mut dyn Write,
    outcome: &ScanOutcome,
    redaction: Redaction,
    elapsed_secs: f64,
) -> io::Result<()> {
    for f in &outcome.findings {
        let location = match &f.commit {
            Some(c) => format!("{}:{} (commit {})", f.path, f.line, &c[..c.len().min(12)]),
            None => format!("{}:{}:{}", f.path, f.line, f.column),
        };
        writeln!(out, "{location}: {} [{}]", f.description, f.rule_id)?;
        writeln!(out, "    secret: {}", redaction.secret(f))?;
        if let Some(m) = &f.message {
            writeln!(out, "    fix: {m}")?;
        }
        writeln!(out, "    fingerprint: {}", f.fingerprint())?;
    }
    let mut skipped_binary = 0;
    for i in &outcome.issues {
        match i.kind {
            IssueKind::SkippedBinary => skipped_binary += 1,
            IssueKind::SkippedTooLarge | IssueKind::SkippedSymlink => {
                writeln!(out, "notice: {}: {}", i.path, i.message)?
            }
            IssueKind::ConfigWarning => writeln!(out, "warning: config: {}", i.message)?,
            _ => writeln!(out, "error: {}: {}", i.path, i.message)?,
        }
    }
    write_summary(out, outcome, redaction, elapsed_secs, skipped_binary)
}

/// The one-line summary (also printed to stderr when the report goes to a file).
pub fn write_summary(
    out: &mut dyn Write,
    outcome: &ScanOutcome,
    redaction: Redaction,
    elapsed_secs: f64,
    skipped_binary: usize,
) -> io::Result<()> {
    let errors = outcome.issues.iter().filter(|i| i.kind.is_error()).count();
    let mb = outcome.bytes_scanned as f64 / 1e6;
    writeln!(
        out,
        "hush scan: {} finding(s) in {} file(s), {:.1} MB in {:.2}s{}{}{}{}",
        outcome.findings.len(),
        outcome.files_scanned,
        mb,
        elapsed_secs,
        if skipped_binary > 0 {
            format!("; {skipped_binary} binary file(s) skipped")
        } else {
            String::new()
        },
        if outcome.suppressed > 0 {
            format!("; {} suppressed by baseline/ignore", outcome.suppressed)
        } else {
            String::new()
        },
        if errors > 0 {
            format!("; {errors} error(s): scan INCOMPLETE")
        } else {
            String::new()
        },
        if redaction == Redaction::Redact && !outcome.findings.is_empty() {
            "; secrets redacted (--no-redact to show)"
        } else {
            ""
        },
    )
}
