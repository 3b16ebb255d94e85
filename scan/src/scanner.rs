//! Turns streams into findings: runs the engine and the GitOps checks on one
//! input, then applies fingerprints from `.hushignore` and a baseline.

use std::io::Read;

use crate::baseline::Baseline;
use crate::config::ScanConfig;
use crate::engine::{Engine, RawMatch};
use crate::error::ScanError;
use crate::filter;
use crate::finding::{sha256_hex, Finding, Issue, IssueKind, ScanOutcome};
use crate::gitops;
use crate::ignore_file::IgnoreFile;
use crate::rules::Rule;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub threads: usize,
    /// Larger files are skipped with a notice (`None`: no limit; memory stays bounded anyway).
    pub max_file_size: Option<u64>,
    pub follow_symlinks: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_file_size: Some(50 << 20),
            follow_symlinks: false,
        }
    }
}

pub struct Scanner {
    engine: Engine,
    ignore: IgnoreFile,
    pub options: ScanOptions,
    config_warnings: Vec<String>,
    disabled: Vec<String>,
}

/// Result of scanning one stream.
#[derive(Debug, Default)]
pub struct StreamFindings {
    pub findings: Vec<Finding>,
    pub bytes: u64,
    pub binary: bool,
}

impl Scanner {
    pub fn new(
        config: ScanConfig,
        ignore: IgnoreFile,
        options: ScanOptions,
    ) -> Result<Self, ScanError> {
        Ok(Scanner {
            engine: Engine::new(config.rules, config.global_allowlists)?,
            ignore,
            options,
            config_warnings: config.warnings,
            disabled: config.disabled,
        })
    }

    /// Built-in rules, no ignore file, default options.
    pub fn with_defaults() -> Self {
        Scanner::new(
            ScanConfig::builtin(),
            IgnoreFile::default(),
            ScanOptions::default(),
        )
        .expect("built-in rules compile")
    }

    pub fn rules(&self) -> &[Rule] {
        self.engine.rules()
    }

    pub fn ignore_file(&self) -> &IgnoreFile {
        &self.ignore
    }

    /// Issues to report before scanning (config warnings).
    pub fn config_issues(&self) -> Vec<Issue> {
        self.config_warnings
            .iter()
            .map(|w| Issue {
                kind: IssueKind::ConfigWarning,
                path: String::new(),
                message: w.clone(),
            })
            .collect()
    }

    /// Scan one input. `path` is the display path (relative, `/`-separated).
    pub fn scan_stream<R: Read>(
        &self,
        path: &str,
        commit: Option<&str>,
        reader: R,
    ) -> std::io::Result<StreamFindings> {
        let scan = self.engine.scan_reader(path, reader)?;
        if scan.binary {
            return Ok(StreamFindings {
                bytes: scan.bytes,
                binary: true,
                ..Default::default()
            });
        }
        let mut findings = Vec::new();
        let gitops = scan
            .whole
            .as_deref()
            .filter(|content| looks_gitops(path, content))
            .map(|content| (content, gitops::check(path, content)));
        let lines: Vec<&[u8]> = match &gitops {
            Some((content, _)) => content.split(|&b| b == b'\n').collect(),
            None => Vec::new(),
        };
        for m in scan.matches {
            if let Some((_, g)) = &gitops {
                if g.is_sops
                    && lines
                        .get(m.line - 1)
                        .is_some_and(|l| memchr::memmem::find(l, b"ENC[").is_some())
                {
                    continue;
                }
                let text = String::from_utf8_lossy(&m.secret);
                if g.safe_values.iter().any(|v| v.contains(text.as_ref())) {
                    continue;
                }
            }
            findings.push(self.finding_from_match(path, commit, m));
        }
        if let Some((_, g)) = gitops {
            for gf in g.findings {
                let line: &[u8] = lines
                    .get(gf.line.saturating_sub(1))
                    .copied()
                    .unwrap_or_default();
                let allowed = filter::line_has_allow_marker(line)
                    || self.disabled.iter().any(|d| d == gf.rule_id)
                    || self
                        .engine
                        .global_allowlists()
                        .iter()
                        .filter(|a| a.applies_to(gf.rule_id))
                        .any(|a| a.allows(path, gf.secret.as_bytes(), gf.secret.as_bytes(), line));
                if !allowed {
                    findings.push(gitops_finding(path, commit, gf));
                }
            }
        }
        Ok(StreamFindings {
            findings,
            bytes: scan.bytes,
            binary: false,
        })
    }

    fn finding_from_match(&self, path: &str, commit: Option<&str>, m: RawMatch) -> Finding {
        let rule = &self.engine.rules()[m.rule];
        Finding {
            rule_id: rule.id.clone(),
            description: rule.description.clone(),
            path: path.to_string(),
            commit: commit.map(str::to_string),
            line: m.line,
            column: m.column,
            end_line: m.end_line,
            secret_sha256: sha256_hex(&m.secret),
            secret: String::from_utf8_lossy(&m.secret).into_owned(),
            entropy: (m.entropy * 1000.0).round() / 1000.0,
            message: None,
        }
    }

    /// Drop findings listed in `.hushignore`/`.gitleaksignore` or in the baseline; sort.
    pub fn finish(&self, outcome: &mut ScanOutcome, baseline: Option<&Baseline>) {
        let before = outcome.findings.len();
        outcome.findings.retain(|f| {
            !self.ignore.ignores_fingerprint(&f.fingerprint())
                && !baseline.is_some_and(|b| b.contains(f))
        });
        outcome.suppressed += (before - outcome.findings.len()) as u64;
        outcome.sort();
    }
}

/// Only files that could be SOPS, Kubernetes or dotenv files get parsed.
fn looks_gitops(path: &str, content: &[u8]) -> bool {
    content.len() <= (4 << 20)
        && (path.contains(".dec.")
            || path.contains(".decrypted.")
            || memchr::memmem::find(content, b"sops").is_some()
            || memchr::memmem::find(content, b"kind").is_some()
            || memchr::memmem::find(content, b"Secret").is_some())
}

fn gitops_finding(path: &str, commit: Option<&str>, g: gitops::GitopsFinding) -> Finding {
    let description = gitops::GITOPS_RULES
        .iter()
        .find(|(id, _)| *id == g.rule_id)
        .map_or("", |(_, d)| *d);
    Finding {
        rule_id: g.rule_id.to_string(),
        description: description.to_string(),
        path: path.to_string(),
        commit: commit.map(str::to_string),
        line: g.line,
        column: 1,
        end_line: g.line,
        secret_sha256: sha256_hex(g.secret.as_bytes()),
        entropy: 0.0,
        secret: g.secret,
        message: Some(g.message),
    }
}
