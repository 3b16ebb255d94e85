//! What the agent wrote, persisted beside the target (mode 0600) so that a restart
//! neither decrypts again nor loses track of its own files. It holds SHA-256 hashes
//! of written files, never plaintext; it sits next to the files it describes and is
//! protected like them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Value};

/// One SOPS file of the repository and what it produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceState {
    /// Blob id of the last version that decrypted.
    pub blob_id: String,
    /// Target-relative paths written from it.
    pub outputs: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentState {
    /// The commit last processed.
    pub revision: Option<String>,
    /// Target-relative path → SHA-256 (hex) of the bytes written there.
    pub files: BTreeMap<String, String>,
    /// Repository path → the source's last good state.
    pub sources: BTreeMap<String, SourceState>,
    /// Sources that failed at `revision`: retried next cycle even if nothing changed.
    pub failed: BTreeSet<String>,
}

const VERSION: u64 = 1;

impl AgentState {
    /// Reads the state; a missing or unreadable file is an empty state (the agent then
    /// owns nothing and removes nothing it did not write itself).
    pub fn load(path: &Path) -> AgentState {
        let Ok(bytes) = std::fs::read(path) else {
            return AgentState::default();
        };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            eprintln!(
                "hush: agent: warning: {} is not valid JSON; starting afresh",
                path.display()
            );
            return AgentState::default();
        };
        if v["version"].as_u64() != Some(VERSION) {
            return AgentState::default();
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        AgentState {
            revision: v["revision"].as_str().map(str::to_string),
            files: v["files"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, h)| Some((k.clone(), h.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            sources: v["sources"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, s)| {
                            let source = SourceState {
                                blob_id: s["blob"].as_str().unwrap_or_default().to_string(),
                                outputs: strings(&s["outputs"]),
                            };
                            (k.clone(), source)
                        })
                        .collect()
                })
                .unwrap_or_default(),
            failed: strings(&v["failed"]).into_iter().collect(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let sources: serde_json::Map<String, Value> = self
            .sources
            .iter()
            .map(|(k, s)| (k.clone(), json!({"blob": s.blob_id, "outputs": s.outputs})))
            .collect();
        let v = json!({
            "version": VERSION,
            "revision": self.revision,
            "files": self.files,
            "sources": sources,
            "failed": self.failed,
        });
        let mut out = serde_json::to_vec_pretty(&v).expect("state serializes");
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut s = AgentState {
            revision: Some("abc".into()),
            ..Default::default()
        };
        s.files.insert("ns/a/k".into(), "00ff".into());
        s.sources.insert(
            "apps/a.yaml".into(),
            SourceState {
                blob_id: "b1".into(),
                outputs: vec!["ns/a/k".into()],
            },
        );
        s.failed.insert("apps/bad.yaml".into());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        std::fs::write(&p, s.to_json()).unwrap();
        assert_eq!(AgentState::load(&p), s);
        assert_eq!(
            AgentState::load(&dir.path().join("missing")),
            AgentState::default()
        );
    }
}
