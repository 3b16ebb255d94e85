//! The `sops:` metadata block: read every form sops has written, write the
//! current one (keys sorted at every level, empty lists omitted).

use std::collections::BTreeMap;

use crate::keys::{KeyGroup, KeyKind, KeyType, MasterKey};
use crate::rules::{Selector, SelectorError};
use crate::{Item, Map, Value};

/// The sops version hush writes into `sops.version`: the format level it follows.
pub const SOPS_FORMAT_VERSION: &str = "3.13.2";

/// The `sops` metadata of an encrypted file.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// One group: every key wraps the data key. Several: each wraps one Shamir share.
    pub key_groups: Vec<KeyGroup>,
    pub shamir_threshold: Option<usize>,
    /// RFC 3339 UTC time of the last encryption; the AAD of the MAC.
    pub lastmodified: String,
    /// The encrypted MAC (`ENC[...]`), or empty when missing.
    pub mac: String,
    pub selector: Selector,
    pub mac_only_encrypted: bool,
    pub version: String,
    /// Fields hush does not know, kept so a rewrite does not drop them.
    pub unknown: Vec<(String, Value)>,
}

/// Why a `sops` block could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    #[error("sops metadata is not a map")]
    NotAMap,
    #[error("sops metadata: {field} is missing")]
    Missing { field: String },
    #[error("sops metadata: {field} has the wrong type (expected {expected})")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error(
        "sops metadata: more than one of {0} is set; at most one encryption selector is allowed"
    )]
    SeveralSelectors(String),
    #[error("sops metadata: {0}")]
    Selector(#[from] SelectorError),
}

impl Metadata {
    /// Fresh metadata for a new file (MAC and lastmodified filled in at encryption).
    pub fn new(
        key_groups: Vec<KeyGroup>,
        shamir_threshold: Option<usize>,
        selector: Selector,
        mac_only_encrypted: bool,
    ) -> Self {
        Metadata {
            key_groups,
            shamir_threshold,
            lastmodified: String::new(),
            mac: String::new(),
            selector,
            mac_only_encrypted,
            version: SOPS_FORMAT_VERSION.to_string(),
            unknown: Vec::new(),
        }
    }

    /// Every master key of every group.
    pub fn all_keys(&self) -> impl Iterator<Item = &MasterKey> {
        self.key_groups.iter().flatten()
    }

    /// Reads the value of the `sops` key.
    pub fn from_value(value: &Value) -> Result<Self, MetadataError> {
        let map = value.as_map().ok_or(MetadataError::NotAMap)?;
        let mut top_groups: KeyGroup = Vec::new();
        let mut key_groups = Vec::new();
        let mut shamir_threshold = None;
        let mut lastmodified = None;
        let mut mac = None;
        let mut selectors = Vec::new();
        let mut mac_only_encrypted = false;
        let mut version = String::new();
        let mut unknown = Vec::new();
        for (field, v) in map.entries() {
            let field = field.as_str();
            if let Some(t) = KeyType::from_list_name(field) {
                top_groups.extend(read_key_list(t, v, field)?);
                continue;
            }
            match field {
                "key_groups" => key_groups = read_key_groups(v)?,
                "shamir_threshold" => shamir_threshold = read_int(v, field)?,
                "lastmodified" => lastmodified = Some(read_string(v, field)?),
                "mac" => mac = Some(read_string(v, field)?),
                "mac_only_encrypted" => mac_only_encrypted = read_bool(v, field)?,
                "version" => version = read_string(v, field)?,
                f if Selector::FIELDS.contains(&f) => {
                    let text = read_string(v, f)?;
                    // An empty selector field means "not set" (older files write them all).
                    if !text.is_empty() {
                        selectors.push(Selector::from_field(f, &text)?.expect("known field"));
                    }
                }
                other => unknown.push((other.to_string(), v.clone())),
            }
        }
        if selectors.len() > 1 {
            let names: Vec<_> = selectors.iter().map(|s| s.field_name()).collect();
            return Err(MetadataError::SeveralSelectors(names.join(", ")));
        }
        // sops ignores key_groups when any top-level key list is non-empty.
        let key_groups = if top_groups.is_empty() {
            key_groups
        } else {
            vec![top_groups]
        };
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            lastmodified: lastmodified.ok_or_else(|| MetadataError::Missing {
                field: "lastmodified".into(),
            })?,
            mac: mac.unwrap_or_default(),
            selector: selectors.pop().unwrap_or_default(),
            mac_only_encrypted,
            version,
            unknown,
        })
    }

    /// Writes the `sops` value in sops 3.13 form: keys sorted, empty fields omitted.
    pub fn to_value(&self) -> Value {
        let mut fields: BTreeMap<String, Value> = BTreeMap::new();
        if self.key_groups.len() == 1 {
            for (name, list) in key_lists(&self.key_groups[0]) {
                fields.insert(name.to_string(), list);
            }
        } else if self.key_groups.len() > 1 {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    Value::Map(sorted_map(
                        key_lists(g).into_iter().map(|(n, l)| (n.to_string(), l)),
                    ))
                })
                .collect();
            fields.insert("key_groups".into(), Value::List(groups));
        }
        if let Some(t) = self.shamir_threshold {
            if self.key_groups.len() > 1 {
                fields.insert("shamir_threshold".into(), Value::Int(t as i64));
            }
        }
        fields.insert("lastmodified".into(), Value::Str(self.lastmodified.clone()));
        fields.insert("mac".into(), Value::Str(self.mac.clone()));
        if self.mac_only_encrypted {
            fields.insert("mac_only_encrypted".into(), Value::Bool(true));
        }
        fields.insert(
            self.selector.field_name().to_string(),
            Value::Str(self.selector.pattern().to_string()),
        );
        fields.insert("version".into(), Value::Str(self.version.clone()));
        for (k, v) in &self.unknown {
            fields.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Map(sorted_map(fields))
    }
}

fn sorted_map(entries: impl IntoIterator<Item = (String, Value)>) -> Map {
    let sorted: BTreeMap<String, Value> = entries.into_iter().collect();
    Map {
        items: sorted.into_iter().map(|(k, v)| Item::Entry(k, v)).collect(),
    }
}

/// The non-empty key lists of one group, by metadata list name.
fn key_lists(group: &KeyGroup) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    for t in KeyType::ALL {
        let entries: Vec<Value> = group
            .iter()
            .filter(|k| k.kind.key_type() == t)
            .map(|k| Value::Map(sorted_map(key_fields(k))))
            .collect();
        if !entries.is_empty() {
            out.push((t.list_name(), Value::List(entries)));
        }
    }
    out
}

/// The fields of one key entry, named as sops names them.
fn key_fields(key: &MasterKey) -> Vec<(String, Value)> {
    let s = |v: &str| Value::Str(v.to_string());
    let mut f: Vec<(String, Value)> = vec![("enc".into(), s(&key.enc))];
    match &key.kind {
        KeyKind::Age { recipient } => f.push(("recipient".into(), s(recipient))),
        KeyKind::Pgp { fingerprint } => f.push(("fp".into(), s(fingerprint))),
        KeyKind::AwsKms {
            arn,
            role,
            context,
            aws_profile,
        } => {
            f.push(("arn".into(), s(arn)));
            if let Some(role) = role.as_deref().filter(|r| !r.is_empty()) {
                f.push(("role".into(), s(role)));
            }
            if !context.is_empty() {
                let ctx = context.iter().map(|(k, v)| (k.clone(), s(v)));
                f.push(("context".into(), Value::Map(sorted_map(ctx))));
            }
            // sops always writes aws_profile, even when empty.
            f.push(("aws_profile".into(), s(aws_profile)));
        }
        KeyKind::GcpKms { resource_id } => f.push(("resource_id".into(), s(resource_id))),
        KeyKind::AzureKv {
            vault_url,
            name,
            version,
        } => {
            f.push(("vault_url".into(), s(vault_url)));
            f.push(("name".into(), s(name)));
            f.push(("version".into(), s(version)));
        }
        KeyKind::HcVault {
            vault_address,
            engine_path,
            key_name,
        } => {
            f.push(("vault_address".into(), s(vault_address)));
            f.push(("engine_path".into(), s(engine_path)));
            f.push(("key_name".into(), s(key_name)));
        }
        KeyKind::HuaweiKms { key_id } => f.push(("key_id".into(), s(key_id))),
    }
    // sops writes no created_at for age keys.
    if let Some(created) = &key.created_at {
        if key.kind.key_type() != KeyType::Age {
            f.push(("created_at".into(), s(created)));
        }
    }
    f
}

fn read_key_groups(v: &Value) -> Result<Vec<KeyGroup>, MetadataError> {
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::List(l) => l,
        _ => return Err(wrong("key_groups", "a list")),
    };
    let mut groups = Vec::new();
    for (i, g) in list.iter().enumerate() {
        let field = format!("key_groups[{i}]");
        let map = g.as_map().ok_or_else(|| wrong(&field, "a map"))?;
        let mut group = Vec::new();
        for (name, keys) in map.entries() {
            // key groups may also carry `merge` or unknown lists: ignore those.
            if let Some(t) = KeyType::from_list_name(name) {
                group.extend(read_key_list(t, keys, &format!("{field}.{name}"))?);
            }
        }
        groups.push(group);
    }
    Ok(groups)
}

fn read_key_list(t: KeyType, v: &Value, field: &str) -> Result<Vec<MasterKey>, MetadataError> {
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::List(l) => l,
        _ => return Err(wrong(field, "a list")),
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| read_key(t, entry, &format!("{field}[{i}]")))
        .collect()
}

fn read_key(t: KeyType, v: &Value, field: &str) -> Result<MasterKey, MetadataError> {
    let map = v.as_map().ok_or_else(|| wrong(field, "a map"))?;
    let get = |name: &str| -> Result<String, MetadataError> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(v) => read_string(v, &format!("{field}.{name}")),
        }
    };
    let require = |name: &str| -> Result<String, MetadataError> {
        let value = get(name)?;
        if value.is_empty() {
            Err(MetadataError::Missing {
                field: format!("{field}.{name}"),
            })
        } else {
            Ok(value)
        }
    };
    let kind = match t {
        KeyType::Age => KeyKind::Age {
            recipient: require("recipient")?,
        },
        KeyType::Pgp => KeyKind::Pgp {
            fingerprint: require("fp")?,
        },
        KeyType::AwsKms => {
            let mut context = BTreeMap::new();
            if let Some(Value::Map(ctx)) = map.get("context") {
                for (k, v) in ctx.entries() {
                    context.insert(k.clone(), read_string(v, &format!("{field}.context.{k}"))?);
                }
            }
            let role = get("role")?;
            KeyKind::AwsKms {
                arn: require("arn")?,
                role: (!role.is_empty()).then_some(role),
                context,
                aws_profile: get("aws_profile")?,
            }
        }
        KeyType::GcpKms => KeyKind::GcpKms {
            resource_id: require("resource_id")?,
        },
        KeyType::AzureKv => KeyKind::AzureKv {
            vault_url: require("vault_url")?,
            name: require("name")?,
            version: get("version")?,
        },
        KeyType::HcVault => KeyKind::HcVault {
            vault_address: require("vault_address")?,
            engine_path: require("engine_path")?,
            key_name: require("key_name")?,
        },
        KeyType::HuaweiKms => KeyKind::HuaweiKms {
            key_id: require("key_id")?,
        },
    };
    let created_at = get("created_at")?;
    Ok(MasterKey {
        kind,
        enc: require("enc")?,
        created_at: (!created_at.is_empty()).then_some(created_at),
    })
}

fn wrong(field: &str, expected: &'static str) -> MetadataError {
    MetadataError::WrongType {
        field: field.to_string(),
        expected,
    }
}

/// Strings; timestamps and numbers that a store typed are taken as their text.
fn read_string(v: &Value, field: &str) -> Result<String, MetadataError> {
    match v {
        Value::Str(s) | Value::Time(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(crate::scalar::format_float_f(*f)),
        _ => Err(wrong(field, "a string")),
    }
}

/// Ints, also as text (dotenv and INI flatten every field to a string).
fn read_int(v: &Value, field: &str) -> Result<Option<usize>, MetadataError> {
    match v {
        Value::Null => Ok(None),
        Value::Int(i) if *i >= 0 => Ok(Some(*i as usize)),
        Value::Str(s) if s.is_empty() => Ok(None),
        Value::Str(s) => s.parse().map(Some).map_err(|_| wrong(field, "an integer")),
        _ => Err(wrong(field, "an integer")),
    }
}

fn read_bool(v: &Value, field: &str) -> Result<bool, MetadataError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => crate::scalar::parse_go_bool(s).ok_or_else(|| wrong(field, "a bool")),
        _ => Err(wrong(field, "a bool")),
    }
}
