//! `.hushignore`: gitignore-style path patterns plus finding fingerprints
//! (`[commit:]path:rule-id:line`, as printed by reports and as in `.gitleaksignore`).

use std::collections::HashSet;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::ScanError;

pub const IGNORE_FILE_NAME: &str = ".hushignore";
/// gitleaks' fingerprint file, honoured too for migration.
pub const GITLEAKS_IGNORE_FILE_NAME: &str = ".gitleaksignore";

#[derive(Debug)]
pub struct IgnoreFile {
    paths: Gitignore,
    fingerprints: HashSet<String>,
}

impl Default for IgnoreFile {
    fn default() -> Self {
        IgnoreFile {
            paths: Gitignore::empty(),
            fingerprints: HashSet::new(),
        }
    }
}

impl IgnoreFile {
    /// Load `.hushignore` and `.gitleaksignore` from `root` (both optional).
    pub fn load(root: &Path) -> Result<Self, ScanError> {
        let mut builder = GitignoreBuilder::new(root);
        let mut fingerprints = HashSet::new();
        for name in [IGNORE_FILE_NAME, GITLEAKS_IGNORE_FILE_NAME] {
            let file = root.join(name);
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ScanError::io(&file, e)),
            };
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if is_fingerprint(line) || name == GITLEAKS_IGNORE_FILE_NAME {
                    fingerprints.insert(line.to_string());
                } else {
                    builder
                        .add_line(Some(file.clone()), line)
                        .map_err(|e| ScanError::Config {
                            path: file.clone(),
                            message: e.to_string(),
                        })?;
                }
            }
        }
        let paths = builder.build().map_err(|e| ScanError::Config {
            path: root.join(IGNORE_FILE_NAME),
            message: e.to_string(),
        })?;
        Ok(IgnoreFile {
            paths,
            fingerprints,
        })
    }

    /// Whether a path (relative to the root, `/`-separated) is ignored.
    pub fn ignores_path(&self, rel: &str, is_dir: bool) -> bool {
        !self.paths.is_empty()
            && self
                .paths
                .matched_path_or_any_parents(rel, is_dir)
                .is_ignore()
    }

    pub fn ignores_fingerprint(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }
}

/// `path:rule-id:line` or `commit:path:rule-id:line`: ends in `:<digits>`
/// preceded by a rule-id-looking segment.
fn is_fingerprint(line: &str) -> bool {
    let mut parts = line.rsplitn(3, ':');
    let (Some(num), Some(rule), Some(_path)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !num.is_empty()
        && num.bytes().all(|b| b.is_ascii_digit())
        && !rule.is_empty()
        && rule
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_fingerprints_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(IGNORE_FILE_NAME),
            "# comment\nvendor/\n*.min.js\nconfig/app.env:generic-secret-assignment:3\n",
        )
        .unwrap();
        let ig = IgnoreFile::load(dir.path()).unwrap();
        assert!(ig.ignores_path("vendor/lib/a.rs", false));
        assert!(ig.ignores_path("web/app.min.js", false));
        assert!(!ig.ignores_path("src/main.rs", false));
        assert!(ig.ignores_fingerprint("config/app.env:generic-secret-assignment:3"));
        assert!(!ig.ignores_fingerprint("config/app.env:generic-secret-assignment:4"));
    }
}
