//! Decrypting one SOPS file into the Kubernetes Secrets it declares. The MAC is
//! always verified; errors name the file and what went wrong, never a value.

use std::collections::BTreeMap;

use base64::Engine as _;
use hush_crypto::document::{self, Format, LoadError};
use hush_crypto::sopsfile::{self, MacCheck};
use hush_crypto::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::discover::is_secret;
use super::error::{FileError, FileErrorKind};
use super::mirror::RepoFile;
use crate::KeyRing;

/// A Secret as the repository wants it, decrypted. `Debug` never shows `data`.
#[derive(Clone, PartialEq, Eq)]
pub struct DesiredSecret {
    /// `metadata.namespace`, if the manifest sets one.
    pub namespace: Option<String>,
    pub name: String,
    /// `type` (default `Opaque`).
    pub type_: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `data` (base64-decoded) with `stringData` folded in; `stringData` wins, as in
    /// the API server.
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
    /// The repository path of the file it came from.
    pub source_path: String,
}

impl std::fmt::Debug for DesiredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesiredSecret")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("type_", &self.type_)
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .field("data_keys", &self.data.keys().collect::<Vec<_>>())
            .field("source_path", &self.source_path)
            .finish()
    }
}

impl DesiredSecret {
    /// SHA-256 (hex) over everything that would be applied: compare hashes instead of
    /// keeping plaintext around to notice a change.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(self.namespace.as_deref().unwrap_or("").as_bytes());
        field(self.name.as_bytes());
        field(self.type_.as_bytes());
        for map in [&self.labels, &self.annotations] {
            field(&(map.len() as u64).to_le_bytes());
            for (k, v) in map {
                field(k.as_bytes());
                field(v.as_bytes());
            }
        }
        for (k, v) in &self.data {
            field(k.as_bytes());
            field(v);
        }
        hex::encode(h.finalize())
    }
}

/// Decrypts a SOPS file (YAML or JSON) with the MAC verified, returning its
/// documents without the `sops` metadata.
pub fn decrypt_documents(file: &RepoFile, keyring: &KeyRing) -> Result<Vec<Map>, FileError> {
    let fail = |kind| FileError::new(&file.path, kind);
    let format = match Format::from_path(&file.path) {
        Format::Json => Format::Json,
        _ => Format::Yaml,
    };
    let (mut docs, metadata) = document::load_encrypted(format, &file.bytes).map_err(|e| {
        fail(match e {
            LoadError::Store(s) => FileErrorKind::Parse(s.to_string()),
            other => FileErrorKind::Metadata(other.to_string()),
        })
    })?;
    let key = keyring.unwrap(&metadata).map_err(|e| fail(e.into()))?;
    sopsfile::decrypt_documents(&mut docs, &metadata, &key, MacCheck::Verify)
        .map_err(|e| fail(e.into()))?;
    Ok(docs)
}

/// Decrypts a SOPS file and returns its `kind: Secret` documents (other documents
/// in the file are ignored). All or nothing: one bad Secret fails the file.
pub fn decrypt_secret(file: &RepoFile, keyring: &KeyRing) -> Result<Vec<DesiredSecret>, FileError> {
    let docs = decrypt_documents(file, keyring)?;
    docs.iter()
        .filter(|d| is_secret(d))
        .map(|d| {
            secret_of(d, &file.path)
                .map_err(|m| FileError::new(&file.path, FileErrorKind::InvalidSecret(m)))
        })
        .collect()
}

/// Builds a Secret from a decrypted manifest; the error text names fields and keys only.
fn secret_of(doc: &Map, source_path: &str) -> Result<DesiredSecret, String> {
    let metadata = doc.get("metadata").and_then(Value::as_map);
    let meta_str = |k: &str| {
        metadata
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let name = meta_str("name").ok_or("metadata.name is missing")?;
    check_name(&name, 253, true).map_err(|why| format!("metadata.name {name:?} {why}"))?;
    let namespace = meta_str("namespace");
    if let Some(ns) = &namespace {
        check_name(ns, 63, false).map_err(|why| format!("metadata.namespace {ns:?} {why}"))?;
    }
    let mut data = BTreeMap::new();
    if let Some(map) = section(doc, "data")? {
        for (key, value) in map.entries() {
            check_key(key)?;
            let text = match value {
                Value::Str(s) => s.as_str(),
                Value::Null => "",
                _ => return Err(format!("data.{key} is not a base64 string")),
            };
            let compact: Zeroizing<Vec<u8>> =
                Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&*compact)
                .map_err(|_| format!("data.{key} is not valid base64"))?;
            data.insert(key.clone(), Zeroizing::new(bytes));
        }
    }
    if let Some(map) = section(doc, "stringData")? {
        for (key, value) in map.entries() {
            check_key(key)?;
            let bytes = match value {
                Value::Bytes(b) => b.clone(),
                other => hush_crypto::stores::scalar_text(other)
                    .ok_or_else(|| format!("stringData.{key} is not a scalar"))?
                    .into_bytes(),
            };
            data.insert(key.clone(), Zeroizing::new(bytes));
        }
    }
    Ok(DesiredSecret {
        namespace,
        name,
        type_: doc
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Opaque")
            .to_string(),
        labels: string_map(metadata, "labels"),
        annotations: string_map(metadata, "annotations"),
        data,
        source_path: source_path.to_string(),
    })
}

fn section<'d>(doc: &'d Map, key: &str) -> Result<Option<&'d Map>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Map(m)) => Ok(Some(m)),
        Some(_) => Err(format!("{key} is not a map")),
    }
}

fn string_map(metadata: Option<&Map>, key: &str) -> BTreeMap<String, String> {
    metadata
        .and_then(|m| m.get(key))
        .and_then(Value::as_map)
        .map(|m| {
            m.entries()
                .filter_map(|(k, v)| Some((k.clone(), hush_crypto::stores::scalar_text(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Kubernetes Secret keys: `[-._a-zA-Z0-9]+`, not `.` or `..` (which also keeps them
/// safe as file names).
fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("key {key:?} is not a valid Secret key"))
    }
}

/// DNS-1123 subdomain (names, dots allowed) or label (namespaces).
fn check_name(name: &str, max: usize, dots: bool) -> Result<(), &'static str> {
    let valid_char =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (dots && b == b'.');
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > max {
        return Err("has an invalid length");
    }
    if !bytes.iter().all(|&b| valid_char(b))
        || !bytes[0].is_ascii_alphanumeric()
        || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
    {
        return Err("is not a valid DNS name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Map {
        hush_crypto::stores::yaml::parse_documents(yaml)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn string_data_folds_into_data_and_wins() {
        let d = doc("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n  labels:\n    app: x\ntype: kubernetes.io/basic-auth\ndata:\n  user: YWRtaW4=\n  password: b2xk\nstringData:\n  password: new\n");
        let s = secret_of(&d, "a.yaml").unwrap();
        assert_eq!(s.namespace.as_deref(), Some("prod"));
        assert_eq!(s.type_, "kubernetes.io/basic-auth");
        assert_eq!(s.data["user"].as_slice(), b"admin");
        assert_eq!(s.data["password"].as_slice(), b"new");
        assert_eq!(s.labels["app"], "x");
        assert!(!format!("{s:?}").contains("admin"));
    }

    #[test]
    fn bad_keys_names_and_base64_are_refused_without_values() {
        let bad_key =
            doc("kind: Secret\napiVersion: v1\nmetadata: {name: a}\nstringData:\n  ../x: v\n");
        assert!(secret_of(&bad_key, "f").unwrap_err().contains("../x"));
        let bad_name = doc("kind: Secret\napiVersion: v1\nmetadata: {name: A/b}\n");
        assert!(secret_of(&bad_name, "f").is_err());
        let bad_b64 =
            doc("kind: Secret\napiVersion: v1\nmetadata: {name: a}\ndata:\n  k: 'hunter2!!'\n");
        let err = secret_of(&bad_b64, "f").unwrap_err();
        assert!(err.contains("data.k") && !err.contains("hunter2"), "{err}");
        let no_name = doc("kind: Secret\napiVersion: v1\nmetadata: {}\n");
        assert!(secret_of(&no_name, "f")
            .unwrap_err()
            .contains("metadata.name"));
    }

    #[test]
    fn content_hash_changes_with_data() {
        let a = secret_of(
            &doc("kind: Secret\napiVersion: v1\nmetadata: {name: a}\nstringData: {k: one}\n"),
            "f",
        )
        .unwrap();
        let b = secret_of(
            &doc("kind: Secret\napiVersion: v1\nmetadata: {name: a}\nstringData: {k: two}\n"),
            "f",
        )
        .unwrap();
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash(), a.clone().content_hash());
    }
}
