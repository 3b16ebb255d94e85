//! User configuration: add and disable rules, allowlists. Reads hush's own
//! `.hush-scan.toml` and, as a migration path, an existing `.gitleaks.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ScanError;
use crate::rules::{default_specs, AllowlistSpec, CompiledAllowlist, Rule, RuleSpec};

/// Config file names looked up in the scan root, in order.
pub const CONFIG_NAMES: &[&str] = &[".hush-scan.toml", ".gitleaks.toml"];

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    extend: Option<Extend>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    allowlists: Vec<AllowlistSpec>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Extend {
    #[serde(default)]
    use_default: Option<bool>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

/// Rules and allowlists ready for the engine.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub rules: Vec<Rule>,
    pub global_allowlists: Vec<CompiledAllowlist>,
    /// Problems that did not stop loading (e.g. a gitleaks regex Rust cannot compile).
    pub warnings: Vec<String>,
    /// Disabled rule ids (also applies to the GitOps checks).
    pub disabled: Vec<String>,
    pub source: Option<PathBuf>,
}

impl ScanConfig {
    /// The built-in rules only.
    pub fn builtin() -> Self {
        let rules = default_specs()
            .iter()
            .map(|s| Rule::compile(s).expect("built-in rules compile"))
            .collect();
        ScanConfig {
            rules,
            global_allowlists: Vec::new(),
            warnings: Vec::new(),
            disabled: Vec::new(),
            source: None,
        }
    }

    /// Find a config in `root` (see [`CONFIG_NAMES`]); built-in rules if none.
    pub fn discover(root: &Path) -> Result<Self, ScanError> {
        for name in CONFIG_NAMES {
            let candidate = root.join(name);
            if candidate.is_file() {
                return Self::load(&candidate);
            }
        }
        Ok(Self::builtin())
    }

    pub fn load(path: &Path) -> Result<Self, ScanError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScanError::io(path, e))?;
        let gitleaks = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("gitleaks"));
        let mut cfg = Self::parse(&text, gitleaks).map_err(|message| ScanError::Config {
            path: path.to_path_buf(),
            message,
        })?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parse config text. In gitleaks files the default rules are only used with
    /// `[extend] useDefault = true` (gitleaks' meaning); in hush files they are on
    /// unless `useDefault = false`. Rules that do not compile are skipped with a
    /// warning in gitleaks files and are an error in hush files.
    pub fn parse(text: &str, gitleaks: bool) -> Result<Self, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let extend = file.extend.unwrap_or_default();
        let use_default = extend.use_default.unwrap_or(!gitleaks);
        let mut disabled = extend.disabled_rules;
        disabled.extend(file.disabled_rules);

        let mut specs: Vec<RuleSpec> = if use_default {
            default_specs()
        } else {
            Vec::new()
        };
        for user in file.rules {
            match specs.iter_mut().find(|s| s.id == user.id) {
                Some(existing) => *existing = user,
                None => specs.push(user),
            }
        }
        specs.retain(|s| !disabled.contains(&s.id));

        let mut warnings = Vec::new();
        let mut rules = Vec::new();
        for spec in &specs {
            match Rule::compile(spec) {
                Ok(rule) => rules.push(rule),
                Err(e) if gitleaks => warnings.push(format!("skipped: {e}")),
                Err(e) => return Err(e.to_string()),
            }
        }
        let mut global_allowlists = Vec::new();
        for spec in file.allowlist.iter().chain(file.allowlists.iter()) {
            match CompiledAllowlist::compile(spec, "allowlist") {
                Ok(a) => global_allowlists.push(a),
                Err(e) if gitleaks => warnings.push(format!("skipped: {e}")),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(ScanConfig {
            rules,
            global_allowlists,
            warnings,
            disabled,
            source: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hush_config_adds_disables_and_allowlists() {
        let cfg = ScanConfig::parse(
            r#"
[extend]
disabledRules = ["jwt"]

[[rules]]
id = "acme-token"
description = "ACME internal token"
regex = '''acme_[a-z0-9]{16}'''
keywords = ["acme_"]

[allowlist]
paths = ['''^testdata/''']
stopwords = ["sandbox"]
"#,
            false,
        )
        .unwrap();
        assert!(cfg.rules.iter().any(|r| r.id == "acme-token"));
        assert!(cfg.rules.iter().any(|r| r.id == "github-token"));
        assert!(!cfg.rules.iter().any(|r| r.id == "jwt"));
        assert_eq!(cfg.global_allowlists.len(), 1);
    }

    #[test]
    fn gitleaks_config_without_extend_replaces_defaults() {
        let cfg = ScanConfig::parse(
            r#"
title = "legacy"
[[rules]]
id = "custom"
regex = '''(?i)custom_[a-z]{8}'''
keywords = ["custom_"]
[[rules]]
id = "uses-lookahead"
regex = '''foo(?=bar)'''
[[allowlists]]
regexes = ['''^dev-''']
targetRules = ["custom"]
"#,
            true,
        )
        .unwrap();
        let ids: Vec<_> = cfg.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["custom"]);
        assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
        assert!(cfg.global_allowlists[0].applies_to("custom"));
        assert!(!cfg.global_allowlists[0].applies_to("other"));
    }

    #[test]
    fn gitleaks_extend_use_default_keeps_builtin_rules() {
        let cfg = ScanConfig::parse("[extend]\nuseDefault = true\n", true).unwrap();
        assert!(cfg.rules.iter().any(|r| r.id == "aws-access-key-id"));
    }

    #[test]
    fn bad_regex_in_hush_config_is_an_error() {
        let err =
            ScanConfig::parse("[[rules]]\nid = \"x\"\nregex = '''(''' \n", false).unwrap_err();
        assert!(err.contains("x"), "{err}");
    }
}
