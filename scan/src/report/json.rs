use std::io::{self, Write};

use serde_json::json;

use super::Redaction;
use crate::finding::ScanOutcome;

/// A JSON document: findings (secret redacted unless asked), issues, stats.
pub fn write(out: &mut dyn Write, outcome: &ScanOutcome, redaction: Redaction) -> io::Result<()> {
    let findings: Vec<_> = outcome
        .findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).expect("finding serialises");
            v["secret"] = json!(redaction.secret(f));
            v["fingerprint"] = json!(f.fingerprint());
            v
        })
        .collect();
    let doc = json!({
        "version": 1,
        "complete": outcome.complete(),
        "findings": findings,
        "issues": outcome.issues,
        "stats": {
            "files_scanned": outcome.files_scanned,
            "bytes_scanned": outcome.bytes_scanned,
            "suppressed": outcome.suppressed,
        },
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
