//! Whole files: picking the store for a format, and placing the `sops` metadata
//! where each format keeps it (a `sops` key in every YAML document, a `sops` key
//! in JSON, `sops_*` lines in dotenv, a `[sops]` section in INI).

use crate::metadata::{Metadata, MetadataError};
use crate::stores::json::JsonIndent;
use crate::stores::{dotenv, flatten, ini, json, yaml, StoreError};
use crate::{Item, Map, Value};

/// The metadata key of tree formats.
pub const SOPS_KEY: &str = "sops";
const DOTENV_PREFIX: &str = "sops_";

/// A file format, chosen by extension as sops does (anything unknown is binary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// `.yaml`/`.yml` → YAML, `.json` → JSON, `.env` → dotenv, `.ini` → INI, else binary.
    pub fn from_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".env") {
            Format::Dotenv
        } else if lower.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// The names of `--input-type` / `--output-type`.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" | "env" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// Output layout (`stores.yaml.indent`, `stores.json.indent`, `--indent`).
#[derive(Clone, Copy, Debug)]
pub struct EmitOptions {
    pub yaml: yaml::YamlOptions,
    pub json_indent: JsonIndent,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            yaml: yaml::YamlOptions { indent: 4 },
            json_indent: JsonIndent::Tab,
        }
    }
}

/// Why an encrypted file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sops metadata not found: the file is not encrypted")]
    NoMetadata,
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

fn text(bytes: &[u8]) -> Result<&str, StoreError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes)
        .map_err(|e| StoreError::Invalid(format!("not valid UTF-8 (at byte {})", e.valid_up_to())))
}

/// Reads a plaintext file into documents.
pub fn load_plain(format: Format, bytes: &[u8]) -> Result<Vec<Map>, StoreError> {
    Ok(match format {
        Format::Yaml => yaml::parse_documents(text(bytes)?)?,
        Format::Json => vec![json::parse(text(bytes)?)?],
        Format::Dotenv => vec![dotenv::parse(text(bytes)?)?],
        Format::Ini => vec![ini::parse(text(bytes)?)?],
        Format::Binary => {
            let value = match std::str::from_utf8(bytes) {
                Ok(s) => Value::Str(s.to_string()),
                Err(_) => Value::Bytes(bytes.to_vec()),
            };
            let mut map = Map::new();
            map.push("data", value);
            vec![map]
        }
    })
}

/// True when the bytes load as an encrypted file of `format` (metadata parses).
pub fn is_encrypted(format: Format, bytes: &[u8]) -> bool {
    load_encrypted(format, bytes).is_ok()
}

/// [`is_encrypted`] for a file already read with [`load_plain`]: YAML and JSON
/// answer from the loaded documents instead of parsing the bytes again.
pub fn is_encrypted_loaded(format: Format, bytes: &[u8], docs: &[Map]) -> bool {
    match format {
        Format::Yaml | Format::Json => docs
            .first()
            .and_then(|d| d.get(SOPS_KEY))
            .is_some_and(|v| Metadata::from_value(v).is_ok()),
        _ => is_encrypted(format, bytes),
    }
}

/// Reads an encrypted file: its documents (without metadata) and its metadata.
pub fn load_encrypted(format: Format, bytes: &[u8]) -> Result<(Vec<Map>, Metadata), LoadError> {
    match format {
        Format::Yaml => {
            let mut docs = yaml::parse_documents(text(bytes)?)?;
            let value = docs
                .first_mut()
                .and_then(|d| d.remove(SOPS_KEY))
                .ok_or(LoadError::NoMetadata)?;
            for doc in docs.iter_mut().skip(1) {
                doc.remove(SOPS_KEY);
            }
            Ok((docs, Metadata::from_value(&value)?))
        }
        // Binary files are stored encrypted in the JSON layout.
        Format::Json | Format::Binary => {
            let mut doc = json::parse(text(bytes)?)?;
            let value = doc.remove(SOPS_KEY).ok_or(LoadError::NoMetadata)?;
            Ok((vec![doc], Metadata::from_value(&value)?))
        }
        Format::Dotenv => {
            let mut doc = dotenv::parse(text(bytes)?)?;
            let mut pairs = Vec::new();
            doc.items.retain(|item| match item {
                Item::Entry(k, v) if k.starts_with(DOTENV_PREFIX) => {
                    let text = v.as_str().unwrap_or_default().to_string();
                    pairs.push((k[DOTENV_PREFIX.len()..].to_string(), text));
                    false
                }
                _ => true,
            });
            if pairs.is_empty() {
                return Err(LoadError::NoMetadata);
            }
            Ok((
                vec![doc],
                Metadata::from_value(&flatten::unflatten(&pairs)?)?,
            ))
        }
        Format::Ini => {
            let mut doc = ini::parse(text(bytes)?)?;
            let section = doc.remove(SOPS_KEY).ok_or(LoadError::NoMetadata)?;
            let section = section.as_map().ok_or(LoadError::NoMetadata)?;
            // sops 3.13.2 escapes newlines in metadata as `\n`; 3.13.0/1 wrote them raw.
            let pairs: Vec<(String, String)> = section
                .entries()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().unwrap_or_default().replace("\\n", "\n"),
                    )
                })
                .collect();
            Ok((
                vec![doc],
                Metadata::from_value(&flatten::unflatten(&pairs)?)?,
            ))
        }
    }
}

/// Writes plaintext documents.
pub fn emit_plain(format: Format, docs: &[Map], opts: &EmitOptions) -> Result<Vec<u8>, StoreError> {
    Ok(match format {
        Format::Yaml => yaml::emit_documents(docs, &opts.yaml).into_bytes(),
        Format::Json => json::emit(single(docs, format)?, opts.json_indent).into_bytes(),
        Format::Dotenv => dotenv::emit(single(docs, format)?)?.into_bytes(),
        Format::Ini => ini::emit(single(docs, format)?)?.into_bytes(),
        Format::Binary => match single(docs, format)?.get("data") {
            Some(Value::Str(s)) => s.clone().into_bytes(),
            Some(Value::Bytes(b)) => b.clone(),
            _ => {
                return Err(StoreError::Shape {
                    path: "[\"data\"]".into(),
                    message: "binary output needs a single string value under \"data\"".into(),
                })
            }
        },
    })
}

/// Writes encrypted documents with their metadata.
pub fn emit_encrypted(
    format: Format,
    docs: &[Map],
    metadata: &Metadata,
    opts: &EmitOptions,
) -> Result<Vec<u8>, StoreError> {
    let meta = metadata.to_value();
    match format {
        // Appended while emitting, so the documents need no copy (`insert` would
        // append too when there is no `sops` key yet).
        Format::Yaml if docs.iter().all(|d| d.get(SOPS_KEY).is_none()) => {
            let extra = Item::Entry(SOPS_KEY.to_string(), meta);
            Ok(yaml::emit_documents_with(docs, &extra, &opts.yaml).into_bytes())
        }
        Format::Yaml => {
            let with_meta: Vec<Map> = docs
                .iter()
                .map(|d| {
                    let mut d = d.clone();
                    d.insert(SOPS_KEY, meta.clone());
                    d
                })
                .collect();
            Ok(yaml::emit_documents(&with_meta, &opts.yaml).into_bytes())
        }
        Format::Json | Format::Binary => {
            let mut doc = single(docs, format)?.clone();
            doc.insert(SOPS_KEY, meta);
            Ok(json::emit(&doc, opts.json_indent).into_bytes())
        }
        Format::Dotenv => {
            let mut doc = single(docs, format)?.clone();
            let meta_map = meta.as_map().expect("metadata is a map");
            for (k, v) in flatten::flatten_top(DOTENV_PREFIX, meta_map) {
                doc.push(k, Value::Str(v));
            }
            Ok(dotenv::emit(&doc)?.into_bytes())
        }
        Format::Ini => {
            let mut doc = single(docs, format)?.clone();
            let meta_map = meta.as_map().expect("metadata is a map");
            let mut section = Map::new();
            for (k, v) in flatten::flatten_top("", meta_map) {
                section.push(k, Value::Str(v.replace('\n', "\\n")));
            }
            doc.insert(SOPS_KEY, Value::Map(section));
            Ok(ini::emit(&doc)?.into_bytes())
        }
    }
}

fn single(docs: &[Map], format: Format) -> Result<&Map, StoreError> {
    match docs {
        [one] => Ok(one),
        _ => Err(StoreError::Invalid(format!(
            "{} output holds exactly one document, not {}",
            format.name(),
            docs.len()
        ))),
    }
}
