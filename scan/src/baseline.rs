//! Baselines: a JSON list of known findings (without the secrets) so only
//! new findings fail. A finding matches the baseline when rule, path and the
//! SHA-256 of the secret agree, so moving a line does not make it "new".

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ScanError;
use crate::finding::Finding;

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineFile {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq, Hash)]
pub struct BaselineEntry {
    pub rule_id: String,
    pub path: String,
    pub secret_sha256: String,
    /// Informational only (not used for matching).
    #[serde(default)]
    pub fingerprint: String,
}

#[derive(Debug, Default)]
pub struct Baseline {
    keys: HashSet<(String, String, String)>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Self, ScanError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScanError::io(path, e))?;
        let file: BaselineFile = serde_json::from_str(&text).map_err(|e| ScanError::Baseline {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Baseline {
            keys: file
                .findings
                .into_iter()
                .map(|e| (e.rule_id, e.path, e.secret_sha256))
                .collect(),
        })
    }

    pub fn contains(&self, f: &Finding) -> bool {
        self.keys
            .contains(&(f.rule_id.clone(), f.path.clone(), f.secret_sha256.clone()))
    }

    pub fn write(path: &Path, findings: &[Finding]) -> Result<(), ScanError> {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                rule_id: f.rule_id.clone(),
                path: f.path.clone(),
                secret_sha256: f.secret_sha256.clone(),
                fingerprint: f.fingerprint(),
            })
            .collect();
        entries.dedup();
        let file = BaselineFile {
            version: 1,
            findings: entries,
        };
        let text = serde_json::to_string_pretty(&file).expect("baseline serialises");
        std::fs::write(path, text + "\n").map_err(|e| ScanError::io(path, e))
    }
}
