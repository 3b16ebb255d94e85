//! `--target env-file:<file>`: every Secret key as one `KEY=value` line of a single
//! dotenv file (0600), for docker-compose `env_file:` and systemd `EnvironmentFile=`.
//!
//! The file is one unit: whenever a source changes, or the file was changed on disk,
//! every source is decrypted again and the file rewritten atomically. A source that
//! fails keeps its previous lines, read back from the file when it is still the one
//! the agent wrote. Each source's lines follow a `# source: <path>` header.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hush_providers::gitops::{DesiredSecret, RepoFile};
use zeroize::Zeroizing;

use super::atomic;
use super::sources::{decrypt_all, sha256_hex};
use super::state::{AgentState, SourceState};
use super::Ctx;

const SOURCE_HEADER: &str = "# source: ";

#[derive(Clone, Debug)]
pub struct EnvTarget {
    pub file: PathBuf,
}

impl EnvTarget {
    /// `.<file name>.hush-agent-state.json` beside the file.
    pub fn state_path(&self) -> PathBuf {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.file
            .with_file_name(format!(".{name}.hush-agent-state.json"))
    }

    fn rel(&self) -> String {
        self.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn disk(&self) -> Option<Zeroizing<Vec<u8>>> {
        atomic::read_no_follow(&self.file).ok().map(Zeroizing::new)
    }

    pub fn intact(&self, state: &AgentState) -> bool {
        match state.files.get(&self.rel()) {
            Some(hash) => self.disk().is_some_and(|b| sha256_hex(&b) == *hash),
            None => true,
        }
    }

    pub fn sync(
        &self,
        ctx: &mut Ctx<'_>,
        state: &mut AgentState,
        commit: &str,
        sources: &[RepoFile],
    ) {
        let rel = self.rel();
        let current: BTreeMap<&str, &str> = sources
            .iter()
            .map(|f| (f.path.as_str(), f.blob_id.as_str()))
            .collect();
        let previous: BTreeMap<&str, &str> = state
            .sources
            .iter()
            .map(|(p, s)| (p.as_str(), s.blob_id.as_str()))
            .collect();
        if current == previous
            && state.failed.is_empty()
            && self.intact(state)
            && state.files.contains_key(&rel)
        {
            state.revision = Some(commit.to_string());
            return;
        }
        // Lines of the file as last written, if nobody changed it: the fallback for failures.
        let old_sections = self
            .disk()
            .filter(|b| state.files.get(&rel).is_some_and(|h| sha256_hex(b) == *h))
            .map(|b| sections(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();

        let all: Vec<&RepoFile> = sources.iter().collect();
        ctx.report.decrypted += all.len() as u32;
        let mut text = Zeroizing::new(String::from(
            "# Written by hush agent; changes are overwritten. One section per SOPS file.\n",
        ));
        let mut seen_keys: BTreeMap<String, String> = BTreeMap::new();
        let mut new_sources = BTreeMap::new();
        let mut failed = BTreeSet::new();
        for (file, result) in all.iter().zip(decrypt_all(&all, ctx.ring)) {
            let section = result
                .map_err(|e| (e.reason(), e.to_string()))
                .and_then(|secrets| {
                    render_section(&file.path, &secrets, &seen_keys)
                        .map_err(|m| ("InvalidForEnv", m))
                });
            let section = match section {
                Ok(s) => {
                    new_sources.insert(
                        file.path.clone(),
                        SourceState {
                            blob_id: file.blob_id.clone(),
                            outputs: vec![rel.clone()],
                        },
                    );
                    s
                }
                Err((reason, message)) => {
                    ctx.report.error(&file.path, reason, message);
                    failed.insert(file.path.clone());
                    match (old_sections.get(&file.path), state.sources.get(&file.path)) {
                        (Some(old), Some(prev)) => {
                            new_sources.insert(file.path.clone(), prev.clone());
                            old.clone()
                        }
                        _ => continue,
                    }
                }
            };
            for key in section_keys(&section) {
                seen_keys.insert(key, file.path.clone());
            }
            text.push_str(&section);
        }
        if ctx.stopping() {
            return;
        }
        let hash = sha256_hex(text.as_bytes());
        let on_disk = self.disk().map(|b| sha256_hex(&b));
        if on_disk.as_deref() != Some(hash.as_str()) {
            let result = self
                .file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or(Ok(()), |p| atomic::create_private_dir(p, ctx.owner))
                .and_then(|_| atomic::write_private(&self.file, text.as_bytes(), ctx.owner));
            match result {
                Ok(()) if state.files.get(&rel) == Some(&hash) => ctx.report.restored += 1,
                Ok(()) => ctx.report.written += 1,
                Err(e) => {
                    ctx.report
                        .error("", "WriteFailed", format!("{}: {e}", self.file.display()))
                }
            }
        }
        state.files = BTreeMap::from([(rel, hash)]);
        state.sources = new_sources;
        state.failed = failed;
        state.revision = Some(commit.to_string());
    }
}

/// The lines for one SOPS file. Keys must be environment variable names and unique
/// across the whole file; values must be UTF-8.
fn render_section(
    path: &str,
    secrets: &[DesiredSecret],
    seen: &BTreeMap<String, String>,
) -> Result<Zeroizing<String>, String> {
    let mut out = Zeroizing::new(format!("{SOURCE_HEADER}{path}\n"));
    let mut own = BTreeSet::new();
    for secret in secrets {
        for (key, value) in &secret.data {
            if !is_env_name(key) {
                return Err(format!(
                    "{path}: key {key:?} of {} is not an environment variable name",
                    secret.name
                ));
            }
            if let Some(other) = seen.get(key) {
                return Err(format!("{path}: key {key:?} is already set by {other}"));
            }
            if !own.insert(key.clone()) {
                return Err(format!(
                    "{path}: key {key:?} appears in two Secrets of this file"
                ));
            }
            let text = std::str::from_utf8(value)
                .map_err(|_| format!("{path}: value of {key:?} is not UTF-8"))?;
            out.push_str(key);
            out.push('=');
            out.push_str(&quote(text));
            out.push('\n');
        }
    }
    Ok(out)
}

fn is_env_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Bare when safe, single quotes when that suffices (no interpolation by compose),
/// else double quotes with `\\ \" \n \r \$` escaped.
fn quote(value: &str) -> Zeroizing<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:@%+,=-".contains(c);
    if value.chars().all(safe) {
        return Zeroizing::new(value.to_string());
    }
    if !value.contains(['\'', '\n', '\r']) {
        return Zeroizing::new(format!("'{value}'"));
    }
    let mut out = Zeroizing::new(String::from("\""));
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits a file the agent wrote into its sections by source path.
fn sections(text: &str) -> BTreeMap<String, Zeroizing<String>> {
    let mut out: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.strip_prefix(SOURCE_HEADER) {
            let path = path.trim_end().to_string();
            out.insert(path.clone(), Zeroizing::new(line.to_string()));
            current = Some(path);
        } else if let Some(section) = current.as_ref().and_then(|p| out.get_mut(p)) {
            section.push_str(line);
        }
    }
    out
}

fn section_keys(section: &str) -> Vec<String> {
    section
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(*quote("abc-1.2"), "abc-1.2");
        assert_eq!(*quote("a b$c"), "'a b$c'");
        assert_eq!(*quote("it's\n$x"), "\"it's\\n\\$x\"");
    }

    #[test]
    fn sections_split_by_header() {
        let text = "# Written\n# source: a.yaml\nA=1\n# source: b.yaml\nB=2\nC=3\n";
        let s = sections(text);
        assert_eq!(*s["b.yaml"], "# source: b.yaml\nB=2\nC=3\n");
        assert_eq!(section_keys(&s["b.yaml"]), ["B", "C"]);
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("DB_PASSWORD") && is_env_name("_x1"));
        assert!(!is_env_name("1x") && !is_env_name("a.b") && !is_env_name(""));
    }
}
