//! `.sops.yaml`: found by walking up from the file (or `--config` / `SOPS_CONFIG`),
//! its first `creation_rules` entry whose `path_regex` matches the file wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hush_crypto::keyspec;
use hush_crypto::rules::Selector;
use hush_crypto::stores::yaml;
use hush_crypto::{KeyKind, Map, Value};
use regex::Regex;

use crate::exit::{fail, CliResult, Code};

/// sops stops looking after this many parent directories.
const MAX_WALK_UP: usize = 100;

/// A parsed `.sops.yaml`.
#[derive(Debug, Default)]
pub struct Config {
    pub dir: PathBuf,
    pub creation_rules: Vec<CreationRule>,
    pub yaml_indent: Option<usize>,
    pub json_indent: Option<usize>,
}

/// One creation rule: which files it covers and how they are encrypted.
#[derive(Debug, Default)]
pub struct CreationRule {
    pub path_regex: Option<Regex>,
    pub key_groups: Vec<Vec<KeyKind>>,
    pub shamir_threshold: Option<usize>,
    pub selector: Option<Selector>,
    pub mac_only_encrypted: bool,
}

/// Finds `.sops.yaml` from `start` upwards.
pub fn find(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    for _ in 0..MAX_WALK_UP {
        let d = dir?;
        let candidate = d.join(".sops.yaml");
        if candidate.is_file() {
            return Some(candidate);
        }
        if d.join(".sops.yml").is_file() {
            eprintln!(
                "hush: warning: ignoring {} (the config file must be named .sops.yaml)",
                d.join(".sops.yml").display()
            );
        }
        dir = d.parent();
    }
    None
}

/// Loads the config that applies to `file`: `explicit` if given, else the nearest one.
pub fn load_for(file: &Path, explicit: Option<&Path>) -> CliResult<Option<Config>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let abs = absolute(file);
            match abs.parent().and_then(find) {
                Some(p) => p,
                None => return Ok(None),
            }
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if explicit.is_some() => {
            return fail(Code::ConfigFileNotFound, format!("{}: {e}", path.display()))
        }
        Err(e) => return fail(Code::ErrorReadingConfig, format!("{}: {e}", path.display())),
    };
    let mut config = parse(&text).map_err(|msg| {
        crate::exit::CliError::new(
            Code::ErrorReadingConfig,
            format!("{}: {msg}", path.display()),
        )
    })?;
    config.dir = absolute(&path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(Some(config))
}

pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

impl Config {
    /// The first rule whose `path_regex` matches `file` relative to the config's directory.
    pub fn rule_for(&self, file: &Path) -> Option<&CreationRule> {
        let abs = absolute(file);
        let rel = abs.strip_prefix(&self.dir).unwrap_or(&abs);
        let rel = rel.to_string_lossy();
        self.creation_rules
            .iter()
            .find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&rel)))
    }
}

/// Parses the text of a `.sops.yaml`.
pub fn parse(text: &str) -> Result<Config, String> {
    let docs = yaml::parse_documents(text).map_err(|e| e.to_string())?;
    let mut config = Config::default();
    let Some(root) = docs.first() else {
        return Ok(config);
    };
    if let Some(stores) = root.get("stores").and_then(Value::as_map) {
        config.yaml_indent = indent_of(stores, "yaml")?;
        config.json_indent = indent_of(stores, "json")?;
    }
    match root.get("creation_rules") {
        None | Some(Value::Null) => {}
        Some(Value::List(rules)) => {
            for (i, rule) in rules
                .iter()
                .filter(|r| !matches!(r, Value::Comment(_)))
                .enumerate()
            {
                let map = rule
                    .as_map()
                    .ok_or(format!("creation_rules[{i}] is not a map"))?;
                config
                    .creation_rules
                    .push(parse_rule(map).map_err(|e| format!("creation_rules[{i}]: {e}"))?);
            }
        }
        Some(_) => return Err("creation_rules must be a list".into()),
    }
    Ok(config)
}

fn indent_of(stores: &Map, name: &str) -> Result<Option<usize>, String> {
    match stores
        .get(name)
        .and_then(Value::as_map)
        .and_then(|m| m.get("indent"))
    {
        None => Ok(None),
        Some(Value::Int(i)) if *i >= 0 => Ok(Some(*i as usize)),
        Some(_) => Err(format!(
            "stores.{name}.indent must be a non-negative integer"
        )),
    }
}

/// A comma-separated string, or (sops 3.11+) a list of strings.
fn string_list(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Str(s)) => Ok(keyspec::split_list(s)),
        Some(Value::List(items)) => items
            .iter()
            .filter(|i| !matches!(i, Value::Comment(_)))
            .map(|i| match i {
                Value::Str(s) => Ok(s.trim().to_string()),
                _ => Err(format!("{field} entries must be strings")),
            })
            .collect(),
        Some(_) => Err(format!("{field} must be a string or a list of strings")),
    }
}

fn str_field(map: &Map, field: &str) -> Result<Option<String>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(Value::Int(i)) => Ok(Some(i.to_string())),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

fn parse_rule(map: &Map) -> Result<CreationRule, String> {
    let mut rule = CreationRule {
        path_regex: str_field(map, "path_regex")?
            .map(|r| Regex::new(&r).map_err(|e| format!("path_regex: {e}")))
            .transpose()?,
        ..CreationRule::default()
    };
    let profile = str_field(map, "aws_profile")?.unwrap_or_default();
    let mut selectors = Vec::new();
    for field in Selector::FIELDS {
        if let Some(text) = str_field(map, field)? {
            selectors.push(
                Selector::from_field(field, &text)
                    .map_err(|e| e.to_string())?
                    .expect("known"),
            );
        }
    }
    if selectors.len() > 1 {
        return Err(
            "at most one of the encrypted/unencrypted suffix/regex options may be set".into(),
        );
    }
    rule.selector = selectors.pop();
    rule.mac_only_encrypted = matches!(map.get("mac_only_encrypted"), Some(Value::Bool(true)));
    rule.shamir_threshold = match map.get("shamir_threshold") {
        None | Some(Value::Null) => None,
        Some(Value::Int(i)) if *i > 0 => Some(*i as usize),
        Some(_) => return Err("shamir_threshold must be a positive integer".into()),
    };
    match map.get("key_groups") {
        None | Some(Value::Null) => {
            let mut group = Vec::new();
            let spec = |e: keyspec::KeySpecError| e.to_string();
            for r in string_list(map.get("age"), "age")? {
                group.push(keyspec::age(&r));
            }
            for fp in string_list(map.get("pgp"), "pgp")? {
                group.push(keyspec::pgp(&fp).map_err(spec)?);
            }
            for arn in string_list(map.get("kms"), "kms")? {
                group.push(keyspec::kms(&arn, &BTreeMap::new(), &profile).map_err(spec)?);
            }
            for id in string_list(map.get("gcp_kms"), "gcp_kms")? {
                group.push(keyspec::gcp_kms(&id).map_err(spec)?);
            }
            for url in string_list(map.get("azure_keyvault"), "azure_keyvault")? {
                group.push(keyspec::azure_kv(&url).map_err(spec)?);
            }
            for uri in string_list(map.get("hc_vault_transit_uri"), "hc_vault_transit_uri")? {
                group.push(keyspec::hc_vault(&uri).map_err(spec)?);
            }
            for id in string_list(map.get("hckms"), "hckms")? {
                group.push(keyspec::hckms(&id).map_err(spec)?);
            }
            if !group.is_empty() {
                rule.key_groups.push(group);
            }
        }
        Some(Value::List(groups)) => {
            for (i, g) in groups
                .iter()
                .filter(|g| !matches!(g, Value::Comment(_)))
                .enumerate()
            {
                let gm = g.as_map().ok_or(format!("key_groups[{i}] is not a map"))?;
                let mut group =
                    parse_group(gm, &profile).map_err(|e| format!("key_groups[{i}]: {e}"))?;
                dedup(&mut group);
                rule.key_groups.push(group);
            }
        }
        Some(_) => return Err("key_groups must be a list".into()),
    }
    Ok(rule)
}

fn dedup(group: &mut Vec<KeyKind>) {
    let mut seen = std::collections::HashSet::new();
    group.retain(|k| seen.insert(k.clone()));
}

fn entries(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::List(l)) => l
            .iter()
            .filter(|e| !matches!(e, Value::Comment(_)))
            .collect(),
        _ => Vec::new(),
    }
}

/// One entry of `key_groups` (with nested `merge` groups flattened in).
fn parse_group(map: &Map, default_profile: &str) -> Result<Vec<KeyKind>, String> {
    let spec = |e: keyspec::KeySpecError| e.to_string();
    let mut group = Vec::new();
    for r in string_list(map.get("age"), "age")? {
        group.push(keyspec::age(&r));
    }
    for fp in string_list(map.get("pgp"), "pgp")? {
        group.push(keyspec::pgp(&fp).map_err(spec)?);
    }
    for uri in string_list(map.get("hc_vault"), "hc_vault")? {
        group.push(keyspec::hc_vault(&uri).map_err(spec)?);
    }
    for e in entries(map.get("kms")) {
        let m = e.as_map().ok_or("kms entries are maps with arn")?;
        let arn = str_field(m, "arn")?.ok_or("kms entry without arn")?;
        let mut context = BTreeMap::new();
        if let Some(Value::Map(ctx)) = m.get("context") {
            for (k, v) in ctx.entries() {
                let text = match v {
                    Value::Str(s) => s.clone(),
                    other => hush_crypto::stores::scalar_text(other).unwrap_or_default(),
                };
                context.insert(k.clone(), text);
            }
        }
        let profile = str_field(m, "aws_profile")?.unwrap_or_else(|| default_profile.to_string());
        let mut kind = keyspec::kms(&arn, &context, &profile).map_err(spec)?;
        if let (KeyKind::AwsKms { role, .. }, Some(r)) = (&mut kind, str_field(m, "role")?) {
            *role = Some(r);
        }
        group.push(kind);
    }
    for e in entries(map.get("gcp_kms")) {
        let m = e
            .as_map()
            .ok_or("gcp_kms entries are maps with resource_id")?;
        let id = str_field(m, "resource_id")?.ok_or("gcp_kms entry without resource_id")?;
        group.push(keyspec::gcp_kms(&id).map_err(spec)?);
    }
    for e in entries(map.get("azure_keyvault")) {
        let m = e.as_map().ok_or("azure_keyvault entries are maps")?;
        let url = str_field(m, "vaultUrl")?.ok_or("azure_keyvault entry without vaultUrl")?;
        let name = str_field(m, "key")?.ok_or("azure_keyvault entry without key")?;
        let version = str_field(m, "version")?.unwrap_or_default();
        group.push(KeyKind::AzureKv {
            vault_url: url.trim_end_matches('/').to_string(),
            name,
            version,
        });
    }
    for e in entries(map.get("hckms")) {
        let m = e.as_map().ok_or("hckms entries are maps with key_id")?;
        let id = str_field(m, "key_id")?.ok_or("hckms entry without key_id")?;
        group.push(keyspec::hckms(&id).map_err(spec)?);
    }
    for (i, m) in entries(map.get("merge")).into_iter().enumerate() {
        let m = m.as_map().ok_or(format!("merge[{i}] is not a map"))?;
        group.extend(parse_group(m, default_profile)?);
    }
    Ok(group)
}
