//! SARIF 2.1.0 (OASIS), as consumed by code-scanning dashboards.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::Redaction;
use crate::finding::ScanOutcome;
use crate::gitops::GITOPS_RULES;
use crate::rules::Rule;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn write(
    out: &mut dyn Write,
    outcome: &ScanOutcome,
    rules: &[Rule],
    redaction: Redaction,
) -> io::Result<()> {
    let mut descriptors: Vec<(String, String)> = rules
        .iter()
        .map(|r| (r.id.clone(), r.description.clone()))
        .collect();
    descriptors.extend(
        GITOPS_RULES
            .iter()
            .map(|(id, d)| (id.to_string(), d.to_string())),
    );
    let sarif_rules: Vec<Value> = descriptors
        .iter()
        .map(|(id, d)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": d},
                "defaultConfiguration": {"level": "error"},
            })
        })
        .collect();
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let mut text = format!("{} ({})", f.description, redaction.secret(f));
            if let Some(m) = &f.message {
                text.push_str(": ");
                text.push_str(m);
            }
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": "error",
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_reference(&f.path)},
                        "region": {
                            "startLine": f.line.max(1),
                            "startColumn": f.column.max(1),
                            "endLine": f.end_line.max(f.line).max(1),
                        }
                    }
                }],
                "partialFingerprints": {"hushFingerprint/v1": f.fingerprint(), "secretSha256/v1": f.secret_sha256},
            });
            if let Some(i) = descriptors.iter().position(|(id, _)| *id == f.rule_id) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(c) = &f.commit {
                result["properties"] = json!({"commit": c});
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = outcome
        .issues
        .iter()
        .map(|i| {
            json!({
                "level": if i.kind.is_error() { "error" } else { "note" },
                "message": {"text": format!("{}: {}", i.path, i.message)},
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hush",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/hush",
                "rules": sarif_rules,
            }},
            "invocations": [{
                "executionSuccessful": outcome.complete(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// Percent-encode what a relative URI reference may not contain.
fn uri_reference(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'@'
            | b'+'
            | b'='
            | b',' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}
