//! Report writers: human (terminal), JSON and SARIF 2.1.0.

pub mod human;
pub mod json;
pub mod sarif;

use crate::finding::Finding;

/// How secrets appear in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redaction {
    Redact,
    Show,
}

impl Redaction {
    pub fn secret(self, f: &Finding) -> String {
        match self {
            Redaction::Redact => f.redacted_secret(),
            Redaction::Show => f.secret.clone(),
        }
    }
}
