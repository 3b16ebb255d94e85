//! Decrypting a SopsSecret's spec: the spec as the API server returns it becomes a
//! SOPS tree, the data key comes from the key ring, the MAC is always verified.
//! Blocking (KMS calls, AES); run it on the blocking pool.

use std::collections::BTreeMap;

use base64::Engine;
use hush_crypto::{
    nested,
    sopsfile::{DecryptError, MacCheck},
    stores::json,
    Map, Value,
};
use hush_providers::KeyRing;
use zeroize::Zeroizing;

use crate::crd::SopsSecretSpec;

/// The decrypted values and the spec's `lastmodified`.
pub struct Decrypted {
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
    pub lastmodified: String,
}

/// Why a spec could not be decrypted. Messages name paths and keys, never values.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("spec is not a SOPS document: {0}")]
    NotEncrypted(String),
    #[error("no key could open the data key: {0}")]
    NoKey(String),
    #[error("MAC mismatch: the spec was changed after it was encrypted")]
    MacMismatch,
    #[error("spec: {0}")]
    Decrypt(String),
    #[error("spec.data[{0:?}] is not valid base64")]
    BadBase64(String),
    #[error("spec.{0}[{1:?}] is not a string")]
    NotAString(&'static str, String),
}

impl SpecError {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            SpecError::NotEncrypted(_) | SpecError::BadBase64(_) | SpecError::NotAString(..) => {
                "InvalidSpec"
            }
            SpecError::NoKey(_) => "DecryptionKeyMissing",
            SpecError::MacMismatch => "MacMismatch",
            SpecError::Decrypt(_) => "DecryptionFailed",
        }
    }
}

/// The spec as a SOPS tree, as `hush encrypt` sealed it.
fn spec_tree(spec: &SopsSecretSpec) -> Result<Map, SpecError> {
    let text = serde_json::to_string(&serde_json::json!({ "spec": spec }))
        .map_err(|e| SpecError::NotEncrypted(e.to_string()))?;
    json::parse(&text).map_err(|e| SpecError::NotEncrypted(e.to_string()))
}

/// Decrypt and verify the spec, then merge `data` (base64) and `stringData`.
pub fn decrypt_spec(spec: &SopsSecretSpec, ring: &KeyRing) -> Result<Decrypted, SpecError> {
    let doc = spec_tree(spec)?;
    let (mut tree, metadata) = nested::open(&doc, nested::SOPS_SECRET_SUBTREE)
        .map_err(|e| SpecError::NotEncrypted(e.to_string()))?;
    let key = ring
        .unwrap(&metadata)
        .map_err(|e| SpecError::NoKey(e.to_string()))?;
    nested::decrypt(&mut tree, &metadata, &key, MacCheck::Verify).map_err(|e| match e {
        DecryptError::MacMismatch => SpecError::MacMismatch,
        other => SpecError::Decrypt(other.to_string()),
    })?;
    let mut data = BTreeMap::new();
    if let Some(Value::Map(entries)) = tree.get("data") {
        for (k, v) in entries.entries() {
            let text = v
                .as_str()
                .ok_or_else(|| SpecError::NotAString("data", k.clone()))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| SpecError::BadBase64(k.clone()))?;
            data.insert(k.clone(), Zeroizing::new(bytes));
        }
    }
    if let Some(Value::Map(entries)) = tree.get("stringData") {
        for (k, v) in entries.entries() {
            let text = v
                .as_str()
                .ok_or_else(|| SpecError::NotAString("stringData", k.clone()))?;
            data.insert(k.clone(), Zeroizing::new(text.as_bytes().to_vec()));
        }
    }
    Ok(Decrypted {
        data,
        lastmodified: metadata.lastmodified.clone(),
    })
}
