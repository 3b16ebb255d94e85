//! Rule definitions (TOML, a superset of gitleaks' `[[rules]]`) and their
//! compiled form.

use regex::bytes::Regex;
use serde::Deserialize;

use crate::error::ScanError;

/// The built-in rule file, compiled into the binary.
pub const DEFAULT_RULES_TOML: &str = include_str!("../rules/default.toml");

/// One rule as written in a rule or config file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    pub id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub secret_group: Option<usize>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub entropy: Option<f64>,
    /// Path regex: alone it flags the file itself, with `regex` it limits the rule.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub allow_regexes: Vec<String>,
    #[serde(default)]
    pub placeholders: bool,
    #[serde(default)]
    pub identifier_check: bool,
    #[serde(default)]
    pub multiline: bool,
    #[serde(default)]
    pub case_sensitive_keywords: bool,
    #[serde(default)]
    pub generic: bool,
    #[serde(default)]
    pub validate: Option<String>,
    /// Capture group holding the unquoted form of the value: secrets from it
    /// are dropped in source-code files, where real literals are quoted.
    #[serde(default)]
    pub unquoted_group: Option<usize>,
    /// gitleaks' per-rule allowlists (`[rules.allowlist]` and `[[rules.allowlists]]`).
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
    #[serde(default)]
    pub tp: Vec<String>,
    #[serde(default)]
    pub fp: Vec<String>,
}

/// An allowlist as written in a config (hush or gitleaks syntax).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AllowlistSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// `secret` (default), `match` or `line`.
    #[serde(default)]
    pub regex_target: Option<String>,
    /// Limit a global allowlist to these rules.
    #[serde(default)]
    pub target_rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RuleFile {
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// Parse the built-in rule set.
pub fn default_specs() -> Vec<RuleSpec> {
    let file: RuleFile =
        toml::from_str(DEFAULT_RULES_TOML).expect("built-in rules/default.toml is valid TOML");
    file.rules
}

/// A structural check run after the regex matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Base64 that decodes to `user:password` with both parts non-empty.
    Base64UserPassword,
    /// First JWT segment decodes to a JSON object with an `alg` field.
    JwtHeader,
}

/// Where an allowlist regex is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    Secret,
    Match,
    Line,
}

#[derive(Debug, Clone)]
pub struct CompiledAllowlist {
    pub paths: Vec<Regex>,
    pub regexes: Vec<Regex>,
    pub stopwords: Vec<String>,
    pub target: RegexTarget,
    pub target_rules: Vec<String>,
}

impl CompiledAllowlist {
    pub fn compile(spec: &AllowlistSpec, owner: &str) -> Result<Self, ScanError> {
        let target = match spec.regex_target.as_deref() {
            None | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(other) => {
                return Err(ScanError::Rule {
                    rule_id: owner.to_string(),
                    message: format!("unknown regexTarget {other:?}"),
                })
            }
        };
        Ok(CompiledAllowlist {
            paths: compile_all(&spec.paths, owner)?,
            regexes: compile_all(&spec.regexes, owner)?,
            stopwords: spec.stopwords.iter().map(|s| s.to_lowercase()).collect(),
            target,
            target_rules: spec.target_rules.clone(),
        })
    }

    pub fn applies_to(&self, rule_id: &str) -> bool {
        self.target_rules.is_empty() || self.target_rules.iter().any(|r| r == rule_id)
    }

    /// Whether this allowlist drops a finding. `path` may be empty (stdin).
    pub fn allows(&self, path: &str, secret: &[u8], matched: &[u8], line: &[u8]) -> bool {
        if self.paths.iter().any(|re| re.is_match(path.as_bytes())) {
            return true;
        }
        let haystack = match self.target {
            RegexTarget::Secret => secret,
            RegexTarget::Match => matched,
            RegexTarget::Line => line,
        };
        if self.regexes.iter().any(|re| re.is_match(haystack)) {
            return true;
        }
        if !self.stopwords.is_empty() {
            let lower = String::from_utf8_lossy(secret).to_lowercase();
            if self.stopwords.iter().any(|w| lower.contains(w.as_str())) {
                return true;
            }
        }
        false
    }
}

fn compile_all(patterns: &[String], owner: &str) -> Result<Vec<Regex>, ScanError> {
    patterns.iter().map(|p| compile_regex(p, owner)).collect()
}

pub(crate) fn compile_regex(pattern: &str, owner: &str) -> Result<Regex, ScanError> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| ScanError::Rule {
            rule_id: owner.to_string(),
            message: format!("bad regex: {e}"),
        })
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub regex: Option<Regex>,
    pub secret_group: Option<usize>,
    pub keywords: Vec<String>,
    pub entropy: Option<f64>,
    pub path: Option<Regex>,
    pub stopwords: Vec<String>,
    pub allowlists: Vec<CompiledAllowlist>,
    pub placeholders: bool,
    pub identifier_check: bool,
    pub multiline: bool,
    pub case_sensitive_keywords: bool,
    pub generic: bool,
    pub validate: Option<Validator>,
    pub unquoted_group: Option<usize>,
}

impl Rule {
    pub fn compile(spec: &RuleSpec) -> Result<Rule, ScanError> {
        let err = |message: String| ScanError::Rule {
            rule_id: spec.id.clone(),
            message,
        };
        if spec.id.is_empty() {
            return Err(err("rule without id".into()));
        }
        if spec.regex.is_none() && spec.path.is_none() {
            return Err(err("needs a regex or a path".into()));
        }
        let regex = spec
            .regex
            .as_deref()
            .map(|r| compile_regex(r, &spec.id))
            .transpose()?;
        let path = spec
            .path
            .as_deref()
            .map(|r| compile_regex(r, &spec.id))
            .transpose()?;
        let validate = match spec.validate.as_deref() {
            None => None,
            Some("base64-user-password") => Some(Validator::Base64UserPassword),
            Some("jwt-header") => Some(Validator::JwtHeader),
            Some(other) => return Err(err(format!("unknown validator {other:?}"))),
        };
        let mut allowlists = Vec::new();
        for a in spec.allowlist.iter().chain(spec.allowlists.iter()) {
            allowlists.push(CompiledAllowlist::compile(a, &spec.id)?);
        }
        if !spec.allow_regexes.is_empty() {
            allowlists.push(CompiledAllowlist {
                paths: Vec::new(),
                regexes: compile_all(&spec.allow_regexes, &spec.id)?,
                stopwords: Vec::new(),
                target: RegexTarget::Secret,
                target_rules: Vec::new(),
            });
        }
        if let Some(g) = spec.secret_group {
            if let Some(re) = &regex {
                if g >= re.captures_len() {
                    return Err(err(format!("secretGroup {g} does not exist")));
                }
            }
        }
        Ok(Rule {
            id: spec.id.clone(),
            description: if spec.description.is_empty() {
                spec.id.clone()
            } else {
                spec.description.clone()
            },
            regex,
            secret_group: spec.secret_group,
            keywords: spec.keywords.clone(),
            entropy: spec.entropy,
            path,
            stopwords: spec.stopwords.iter().map(|s| s.to_lowercase()).collect(),
            allowlists,
            placeholders: spec.placeholders,
            identifier_check: spec.identifier_check,
            multiline: spec.multiline,
            case_sensitive_keywords: spec.case_sensitive_keywords,
            generic: spec.generic,
            validate,
            unquoted_group: spec.unquoted_group,
        })
    }
}
