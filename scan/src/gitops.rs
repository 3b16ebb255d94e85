//! GitOps-aware checks on whole (small) YAML/JSON/dotenv files:
//! SOPS files with plaintext values, a missing MAC or no encrypted value at
//! all (a decrypted copy left behind), Kubernetes `Secret` manifests with
//! plaintext data, and known-safe encrypted values (SealedSecrets, `ENC[…]`).
//! A light parser of our own; it does not depend on the SOPS engine.

use regex::Regex;
use serde_yaml_ng::{Mapping, Value};

use crate::filter::{base64_decode, is_placeholder};

pub const SOPS_PLAINTEXT: &str = "sops-plaintext-value";
pub const SOPS_MISSING_MAC: &str = "sops-missing-mac";
pub const SOPS_DECRYPTED: &str = "sops-decrypted-file";
pub const K8S_PLAINTEXT: &str = "k8s-secret-plaintext";

/// Ids and descriptions of the GitOps checks (for reports and `--list-rules`).
pub const GITOPS_RULES: &[(&str, &str)] = &[
    (
        SOPS_PLAINTEXT,
        "SOPS file with a value that should be encrypted but is plaintext",
    ),
    (
        SOPS_MISSING_MAC,
        "SOPS file without a MAC (hand-edited or partially decrypted)",
    ),
    (
        SOPS_DECRYPTED,
        "Decrypted copy of a SOPS file left in the tree",
    ),
    (
        K8S_PLAINTEXT,
        "Kubernetes Secret manifest with plaintext data/stringData",
    ),
];

/// A GitOps finding before it becomes a [`crate::Finding`].
#[derive(Debug, Clone, PartialEq)]
pub struct GitopsFinding {
    pub rule_id: &'static str,
    pub line: usize,
    pub secret: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct GitopsResult {
    pub findings: Vec<GitopsFinding>,
    /// Encrypted values (SealedSecret `encryptedData`) that content rules must not report.
    pub safe_values: Vec<String>,
    /// The file is SOPS-encrypted: lines holding `ENC[…]` are safe.
    pub is_sops: bool,
}

/// Run the GitOps checks on a whole file. Unparseable files yield nothing:
/// templates (Helm) are common and not an error.
pub fn check(path: &str, content: &[u8]) -> GitopsResult {
    let mut result = GitopsResult::default();
    let lower = path.to_ascii_lowercase();
    let is_yaml = lower.ends_with(".yaml") || lower.ends_with(".yml");
    let is_json = lower.ends_with(".json");
    let is_env = lower.ends_with(".env")
        || lower
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with(".env"));
    let Ok(text) = std::str::from_utf8(content) else {
        return result;
    };
    if is_env || (!is_yaml && !is_json && text.contains("\nsops_mac=")) {
        check_dotenv(text, &mut result);
        return result;
    }
    if !(is_yaml || is_json) {
        return result;
    }
    let docs = parse_documents(text, is_json);
    let starts = document_starts(text);
    for (i, doc) in docs.iter().enumerate() {
        let Value::Mapping(map) = doc else { continue };
        if let Some(Value::Mapping(meta)) = map.get("sops") {
            result.is_sops = true;
            check_sops(text, map, meta, &mut result);
            continue;
        }
        let doc_start = starts.get(i).copied().unwrap_or(0);
        match map.get("kind").and_then(Value::as_str) {
            Some("Secret") => check_k8s_secret(text, doc_start, map, &mut result),
            Some("SealedSecret") => collect_sealed(map, &mut result),
            _ => {}
        }
    }
    let name = lower.rsplit('/').next().unwrap_or("");
    if !result.is_sops
        && (name.contains(".dec.") || name.contains(".decrypted."))
        && docs
            .iter()
            .any(|d| matches!(d, Value::Mapping(m) if !m.is_empty()))
    {
        result.findings.push(GitopsFinding {
            rule_id: SOPS_DECRYPTED,
            line: 1,
            secret: name.to_string(),
            message: "the file name marks a decrypted copy of a SOPS file: delete it, add the pattern to .gitignore, and keep only the encrypted file (`hush encrypt`)".into(),
        });
    }
    result
}

/// First line (0-based) of each YAML document: documents are separated by `---` lines.
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut content_seen = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && line[3..].trim().is_empty() {
            if content_seen {
                starts.push(i + 1);
            } else {
                starts[0] = i + 1;
            }
            content_seen = false;
        } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            content_seen = true;
        }
    }
    starts
}

fn parse_documents(text: &str, json: bool) -> Vec<Value> {
    if json {
        return serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_yaml_ng::to_value(v).ok())
            .into_iter()
            .collect();
    }
    let mut docs = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        match serde::Deserialize::deserialize(doc) {
            Ok(v) => docs.push(v),
            Err(_) => break,
        }
    }
    docs
}

/// How a SOPS file decides which values are encrypted (`sops:` metadata).
enum Selector {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    /// Comment-based or unparseable rule: we cannot tell per value.
    Unknown,
}

impl Selector {
    fn from_metadata(meta: &Mapping) -> Selector {
        let get = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(s) = get("unencrypted_suffix") {
            Selector::UnencryptedSuffix(s)
        } else if let Some(s) = get("encrypted_suffix") {
            Selector::EncryptedSuffix(s)
        } else if let Some(r) = get("unencrypted_regex") {
            Regex::new(&r).map_or(Selector::Unknown, Selector::UnencryptedRegex)
        } else if let Some(r) = get("encrypted_regex") {
            Regex::new(&r).map_or(Selector::Unknown, Selector::EncryptedRegex)
        } else if get("unencrypted_comment_regex").is_some()
            || get("encrypted_comment_regex").is_some()
        {
            Selector::Unknown
        } else {
            Selector::UnencryptedSuffix("_unencrypted".into())
        }
    }

    /// sops checks every component of the key path, not only the leaf.
    fn should_encrypt(&self, path: &[String]) -> Option<bool> {
        Some(match self {
            Selector::UnencryptedSuffix(s) => !path.iter().any(|c| c.ends_with(s.as_str())),
            Selector::EncryptedSuffix(s) => path.iter().any(|c| c.ends_with(s.as_str())),
            Selector::UnencryptedRegex(r) => !path.iter().any(|c| r.is_match(c)),
            Selector::EncryptedRegex(r) => path.iter().any(|c| r.is_match(c)),
            Selector::Unknown => return None,
        })
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Visit every leaf with its key path (list indices are not part of a sops path).
fn walk_leaves(value: &Value, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String], &Value)) {
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                path.push(key_text(k));
                walk_leaves(v, path, visit);
                path.pop();
            }
        }
        Value::Sequence(items) => {
            for item in items {
                walk_leaves(item, path, visit);
            }
        }
        Value::Tagged(t) => walk_leaves(&t.value, path, visit),
        leaf => visit(path, leaf),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn check_sops(text: &str, doc: &Mapping, meta: &Mapping, out: &mut GitopsResult) {
    let sops_line = locate(text, &["sops".to_string()]);
    let mac_ok = meta
        .get("mac")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("ENC["));
    if !mac_ok {
        out.findings.push(GitopsFinding {
            rule_id: SOPS_MISSING_MAC,
            line: sops_line,
            secret: "sops.mac".into(),
            message: "SOPS metadata has no MAC: the file was edited by hand or partially decrypted; decrypt and re-encrypt it with `hush encrypt`".into(),
        });
    }
    let selector = Selector::from_metadata(meta);
    let mut encrypted = 0usize;
    let mut plaintext: Vec<(Vec<String>, String)> = Vec::new();
    let mut path = Vec::new();
    for (k, v) in doc {
        if k.as_str() == Some("sops") {
            continue;
        }
        path.push(key_text(k));
        walk_leaves(v, &mut path, &mut |p, leaf| {
            let Some(value) = scalar_text(leaf) else {
                return;
            };
            if value.starts_with("ENC[") {
                encrypted += 1;
            } else if !value.is_empty() && selector.should_encrypt(p) == Some(true) {
                plaintext.push((p.to_vec(), value));
            }
        });
        path.pop();
    }
    if plaintext.is_empty() {
        return;
    }
    if encrypted == 0 {
        let (first_path, first_value) = &plaintext[0];
        out.findings.push(GitopsFinding {
            rule_id: SOPS_DECRYPTED,
            line: locate(text, first_path),
            secret: first_value.clone(),
            message: format!(
                "file has SOPS metadata but none of its {} values is encrypted: a decrypted copy was left behind; delete it or re-encrypt with `hush encrypt`",
                plaintext.len()
            ),
        });
        return;
    }
    for (p, value) in plaintext {
        out.findings.push(GitopsFinding {
            rule_id: SOPS_PLAINTEXT,
            line: locate(text, &p),
            message: format!(
                "value at `{}` should be encrypted but is plaintext (partially decrypted or hand-edited SOPS file); fix with `hush encrypt`",
                p.join(".")
            ),
            secret: value,
        });
    }
}

fn check_k8s_secret(text: &str, doc_start: usize, doc: &Mapping, out: &mut GitopsResult) {
    let meta = doc.get("metadata").and_then(Value::as_mapping);
    let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
    let name = match (field("namespace"), field("name")) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.to_string(),
        _ => "(unnamed)".to_string(),
    };
    for section in ["data", "stringData"] {
        let Some(Value::Mapping(entries)) = doc.get(section) else {
            continue;
        };
        for (k, v) in entries {
            let Some(value) = scalar_text(v) else {
                continue;
            };
            if value.is_empty() || value.starts_with("ENC[") {
                continue;
            }
            let clear = if section == "data" {
                base64_decode(value.trim().as_bytes(), false)
                    .map(|d| String::from_utf8_lossy(&d).into_owned())
                    .unwrap_or_else(|| value.clone())
            } else {
                value.clone()
            };
            if clear.is_empty() || is_placeholder(&clear) {
                continue;
            }
            let key = key_text(k);
            out.findings.push(GitopsFinding {
                rule_id: K8S_PLAINTEXT,
                line: locate_from(text, doc_start, &[section.to_string(), key.clone()]),
                message: format!(
                    "Kubernetes Secret {name} has a plaintext value in {section}.{key}; encrypt the file with `hush encrypt` or turn it into a SealedSecret with `hush seal`"
                ),
                secret: value,
            });
        }
    }
}

fn collect_sealed(doc: &Mapping, out: &mut GitopsResult) {
    let encrypted = doc
        .get("spec")
        .and_then(Value::as_mapping)
        .and_then(|s| s.get("encryptedData"))
        .and_then(Value::as_mapping);
    if let Some(entries) = encrypted {
        out.safe_values.extend(
            entries
                .values()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
}

/// SOPS-encrypted dotenv: `KEY=ENC[…]` lines plus `sops_*` metadata lines.
fn check_dotenv(text: &str, out: &mut GitopsResult) {
    let is_sops = text.lines().any(|l| {
        l.starts_with("sops_version=")
            || l.starts_with("sops_mac=")
            || l.starts_with("sops_lastmodified=")
    });
    if !is_sops {
        return;
    }
    out.is_sops = true;
    let suffix = text
        .lines()
        .find_map(|l| l.strip_prefix("sops_unencrypted_suffix="))
        .unwrap_or("_unencrypted")
        .to_string();
    let mut has_mac = false;
    let mut encrypted = 0;
    let mut plaintext = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.starts_with("sops_") {
            has_mac |= key == "sops_mac" && value.starts_with("ENC[");
            continue;
        }
        if value.starts_with("ENC[") {
            encrypted += 1;
        } else if !value.is_empty() && !key.ends_with(suffix.as_str()) {
            plaintext.push((i + 1, key.to_string(), value.to_string()));
        }
    }
    if !has_mac {
        out.findings.push(GitopsFinding {
            rule_id: SOPS_MISSING_MAC,
            line: 1,
            secret: "sops_mac".into(),
            message: "SOPS dotenv file has no MAC: re-encrypt it with `hush encrypt`".into(),
        });
    }
    let all_plain = encrypted == 0;
    for (line, key, value) in plaintext {
        out.findings.push(GitopsFinding {
            rule_id: if all_plain {
                SOPS_DECRYPTED
            } else {
                SOPS_PLAINTEXT
            },
            line,
            message: format!("`{key}` is plaintext in a SOPS dotenv file; fix with `hush encrypt`"),
            secret: value,
        });
        if all_plain {
            break;
        }
    }
}

/// Best-effort line of a key path: find each component's `key:` line in order.
fn locate(text: &str, path: &[String]) -> usize {
    locate_from(text, 0, path)
}

fn locate_from(text: &str, start_line: usize, path: &[String]) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut cursor = start_line.min(lines.len());
    let mut found = cursor;
    for component in path {
        if let Some(offset) = lines[cursor..]
            .iter()
            .position(|l| is_key_line(l, component))
        {
            cursor += offset;
            found = cursor;
        }
    }
    found + 1
}

fn is_key_line(line: &str, key: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    let rest = if let Some(r) = t.strip_prefix('"') {
        r.strip_prefix(key).and_then(|r| r.strip_prefix('"'))
    } else if let Some(r) = t.strip_prefix('\'') {
        r.strip_prefix(key).and_then(|r| r.strip_prefix('\''))
    } else {
        t.strip_prefix(key)
    };
    rest.is_some_and(|r| r.trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENC: &str = "ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]";

    fn ids(r: &GitopsResult) -> Vec<&str> {
        r.findings.iter().map(|f| f.rule_id).collect()
    }

    fn sops_meta(mac: bool) -> String {
        let mac = if mac {
            format!("    mac: {ENC}\n")
        } else {
            String::new()
        };
        format!("sops:\n    lastmodified: \"2026-01-01T00:00:00Z\"\n{mac}    unencrypted_suffix: _unencrypted\n    version: 3.13.1\n")
    }

    #[test]
    fn fully_encrypted_sops_file_is_clean() {
        let y = format!(
            "db:\n    password: {ENC}\n    port_unencrypted: 5432\n{}",
            sops_meta(true)
        );
        let r = check("secrets.enc.yaml", y.as_bytes());
        assert!(r.is_sops);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }

    #[test]
    fn plaintext_value_in_sops_file_is_found_with_its_line() {
        let y = format!(
            "db:\n    user: {ENC}\n    password: hunter2-but-longer\n{}",
            sops_meta(true)
        );
        let r = check("secrets.yaml", y.as_bytes());
        assert_eq!(ids(&r), [SOPS_PLAINTEXT]);
        assert_eq!(r.findings[0].line, 3);
        assert!(r.findings[0].message.contains("db.password"));
        assert!(r.findings[0].message.contains("hush encrypt"));
    }

    #[test]
    fn missing_mac_and_decrypted_copy() {
        let y = format!("api_key: abc123def456\n{}", sops_meta(false));
        let r = check("secrets.yaml", y.as_bytes());
        assert_eq!(ids(&r), [SOPS_MISSING_MAC, SOPS_DECRYPTED]);
    }

    #[test]
    fn encrypted_regex_limits_what_must_be_encrypted() {
        let y = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: {ENC}\nsops:\n    encrypted_regex: ^(data|stringData)$\n    mac: {ENC}\n    lastmodified: \"2026-01-01T00:00:00Z\"\n"
        );
        let r = check("secret.yaml", y.as_bytes());
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let leaked = y.replace(&format!("password: {ENC}"), "password: s3cr3t-Pa55");
        assert_eq!(
            ids(&check("secret.yaml", leaked.as_bytes())),
            [SOPS_DECRYPTED]
        );
    }

    #[test]
    fn kubernetes_secret_with_plaintext_data() {
        let y = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ntype: Opaque\ndata:\n  password: cTh2VDJtWnI1TGtY\nstringData:\n  token: ${TOKEN}\n";
        let r = check("k8s/db.yaml", y.as_bytes());
        assert_eq!(ids(&r), [K8S_PLAINTEXT]);
        assert_eq!(r.findings[0].line, 16);
        assert!(r.findings[0].message.contains("prod/db"));
        assert!(r.findings[0].message.contains("hush seal"));
        // The same key in an earlier document must not be picked.
        let two = "kind: Secret\nmetadata: {name: a}\ndata:\n  password: \"\"\n---\nkind: Secret\nmetadata: {name: b}\ndata:\n  password: cTh2VDJtWnI1TGtY\n";
        assert_eq!(check("s.yaml", two.as_bytes()).findings[0].line, 9);
    }

    #[test]
    fn sealed_secret_values_are_safe() {
        let y = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n";
        let r = check("sealed.yaml", y.as_bytes());
        assert!(r.findings.is_empty());
        assert_eq!(r.safe_values, ["AgBy3i4OJSWK+PiTySYZZA=="]);
    }

    #[test]
    fn sops_dotenv() {
        let env = format!(
            "DB_PASSWORD={ENC}\nAPI_TOKEN=plain-token-value\nsops_mac={ENC}\nsops_version=3.13.1\n"
        );
        assert_eq!(ids(&check(".env", env.as_bytes())), [SOPS_PLAINTEXT]);
        let clean = format!("DB_PASSWORD={ENC}\nsops_mac={ENC}\nsops_version=3.13.1\n");
        assert!(check("prod.env", clean.as_bytes()).findings.is_empty());
    }

    #[test]
    fn helm_templates_and_plain_yaml_are_ignored() {
        assert!(
            check("t.yaml", b"kind: Secret\ndata:\n  {{- range .Values }}\n")
                .findings
                .is_empty()
        );
        assert!(check("values.yaml", b"replicas: 3\n").findings.is_empty());
    }

    #[test]
    fn sops_json_file() {
        let j = format!(
            "{{\"db\": {{\"password\": \"{ENC}\", \"token\": \"plain-value-123\"}}, \"sops\": {{\"mac\": \"{ENC}\", \"lastmodified\": \"2026-01-01T00:00:00Z\", \"version\": \"3.13.1\"}}}}"
        );
        let r = check("secrets.json", j.as_bytes());
        assert!(r.is_sops);
        assert_eq!(ids(&r), [SOPS_PLAINTEXT]);
        assert!(r.findings[0].message.contains("db.token"));
    }

    #[test]
    fn decrypted_file_name() {
        let r = check("secrets.dec.yaml", b"password: hunter2\n");
        assert_eq!(ids(&r), [SOPS_DECRYPTED]);
    }
}
