//! Secret sources: read secret *values* from Vault KV, AWS Secrets Manager / SSM,
//! GCP Secret Manager and Azure Key Vault for `hush-controller`.
//!
//! Every backend implements [`SecretSource`]. A source is built once per store and
//! reused (it keeps its HTTP client and login token). Values are held in
//! [`Zeroizing`] buffers and never appear in `Debug` output or error messages:
//! errors name the provider, the remote key and the property, never the value.
#![cfg(feature = "secrets")]

use std::{collections::BTreeMap, fmt, time::Duration};

use zeroize::Zeroizing;

#[cfg(any(
    feature = "secrets-vault",
    feature = "secrets-gcp",
    feature = "secrets-azure"
))]
mod http;

#[cfg(feature = "secrets-aws")]
pub mod aws;
#[cfg(feature = "secrets-azure")]
pub mod azure;
#[cfg(feature = "secrets-gcp")]
pub mod gcp;
#[cfg(feature = "secrets-vault")]
pub mod vault;

/// Why a fetch failed. `Display` never contains a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The remote secret (or the pinned version) does not exist.
    #[error("{provider}: remote secret {key:?} not found")]
    NotFound { provider: &'static str, key: String },
    /// The remote secret exists but has no such property.
    #[error("{provider}: remote secret {key:?} has no property {property:?}")]
    PropertyMissing {
        provider: &'static str,
        key: String,
        property: String,
    },
    /// The provider asked us to slow down.
    #[error("{provider}: rate limited")]
    RateLimited {
        provider: &'static str,
        retry_after: Option<Duration>,
    },
    /// Login or permission failure.
    #[error("{provider}: authentication or permission failure: {detail}")]
    Auth {
        provider: &'static str,
        detail: String,
    },
    /// The store configuration cannot work (bad URL, unknown option, bad key file).
    #[error("{provider}: invalid configuration: {detail}")]
    Config {
        provider: &'static str,
        detail: String,
    },
    /// Network error, timeout or 5xx: worth retrying later; keep the last good value.
    #[error("{provider}: unavailable: {detail}")]
    Unavailable {
        provider: &'static str,
        detail: String,
    },
    /// The provider answered with something we cannot read.
    #[error("{provider}: unexpected response: {detail}")]
    Protocol {
        provider: &'static str,
        detail: String,
    },
}

impl SourceError {
    /// Transient errors: retry with backoff and keep the last good Secret.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }

    /// A short stable label for metrics and condition reasons.
    pub fn kind_label(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::PropertyMissing { .. } => "property_missing",
            Self::RateLimited { .. } => "rate_limited",
            Self::Auth { .. } => "auth",
            Self::Config { .. } => "config",
            Self::Unavailable { .. } => "unavailable",
            Self::Protocol { .. } => "protocol",
        }
    }
}

/// A secret value held in memory that is wiped on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// What one remote secret holds: named fields (Vault KV, or a JSON object) or one blob.
#[derive(Clone, Debug)]
pub enum Payload {
    Fields(BTreeMap<String, SecretBytes>),
    Blob(SecretBytes),
}

/// One fetched version of a remote secret.
#[derive(Clone, Debug)]
pub struct RemoteSecret {
    /// The remote key it was read from.
    pub key: String,
    /// The provider's version id (Vault KV version, AWS VersionId, SSM version,
    /// GCP version number, Azure version id). KV v1 has none; it gets a content hash.
    pub version: String,
    pub payload: Payload,
}

impl RemoteSecret {
    /// The whole value: the blob itself, or the fields as a JSON object.
    pub fn whole(&self) -> SecretBytes {
        match &self.payload {
            Payload::Blob(b) => b.clone(),
            Payload::Fields(fields) => {
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), field_as_json(v)))
                    .collect();
                SecretBytes::new(serde_json::to_vec(&map).unwrap_or_default())
            }
        }
    }

    /// All fields: a blob counts as fields when it is a JSON object.
    pub fn fields(
        &self,
        provider: &'static str,
    ) -> Result<BTreeMap<String, SecretBytes>, SourceError> {
        match &self.payload {
            Payload::Fields(f) => Ok(f.clone()),
            Payload::Blob(b) => json_fields(b.expose()).ok_or_else(|| SourceError::Protocol {
                provider,
                detail: format!(
                    "remote secret {:?} is not a JSON object, so it has no fields",
                    self.key
                ),
            }),
        }
    }

    /// One property (field) of the secret; `None` selects the whole value.
    pub fn property(
        &self,
        provider: &'static str,
        property: Option<&str>,
    ) -> Result<SecretBytes, SourceError> {
        let Some(name) = property else {
            return Ok(self.whole());
        };
        let missing = || SourceError::PropertyMissing {
            provider,
            key: self.key.clone(),
            property: name.to_string(),
        };
        match &self.payload {
            Payload::Fields(f) => f.get(name).cloned().ok_or_else(missing),
            Payload::Blob(b) => json_fields(b.expose())
                .and_then(|mut f| f.remove(name))
                .ok_or_else(missing),
        }
    }
}

/// A JSON object's members as bytes: strings as-is, anything else as its JSON text.
pub fn json_fields(bytes: &[u8]) -> Option<BTreeMap<String, SecretBytes>> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let serde_json::Value::Object(map) = value else {
        return None;
    };
    Some(
        map.into_iter()
            .map(|(k, v)| (k, json_value_bytes(v)))
            .collect(),
    )
}

pub(crate) fn json_value_bytes(v: serde_json::Value) -> SecretBytes {
    match v {
        serde_json::Value::String(s) => SecretBytes::new(s.into_bytes()),
        other => SecretBytes::new(other.to_string().into_bytes()),
    }
}

fn field_as_json(v: &SecretBytes) -> serde_json::Value {
    match std::str::from_utf8(v.expose()) {
        Ok(s) => serde_json::Value::String(s.to_string()),
        Err(_) => serde_json::Value::Null,
    }
}

/// A short content hash, used as the version of sources that have none (KV v1).
pub fn content_version(fields: &BTreeMap<String, SecretBytes>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, v) in fields {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.expose().len() as u64).to_be_bytes());
        h.update(v.expose());
    }
    format!("sha256:{}", &hex::encode(h.finalize())[..16])
}

/// A backend that reads secret values. One instance per store, shared between syncs.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    /// Provider label for metrics and messages: `vault`, `aws-sm`, `aws-ssm`, `gcp`, `azure`.
    fn provider(&self) -> &'static str;

    /// Read one remote secret, at `version` when pinned, else the current version.
    async fn fetch(&self, key: &str, version: Option<&str>) -> Result<RemoteSecret, SourceError>;

    /// Every remote key under a path prefix (for `dataFrom.find`).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, SourceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(s: &str) -> RemoteSecret {
        RemoteSecret {
            key: "app/db".into(),
            version: "1".into(),
            payload: Payload::Blob(SecretBytes::new(s.as_bytes().to_vec())),
        }
    }

    #[test]
    fn property_of_json_blob() {
        let s = blob(r#"{"user":"alice","port":5432}"#);
        assert_eq!(s.property("t", Some("user")).unwrap().expose(), b"alice");
        assert_eq!(s.property("t", Some("port")).unwrap().expose(), b"5432");
        assert!(matches!(
            s.property("t", Some("nope")),
            Err(SourceError::PropertyMissing { .. })
        ));
    }

    #[test]
    fn whole_value_of_blob_is_unchanged_and_not_json_has_no_fields() {
        let s = blob("plain-text");
        assert_eq!(s.property("t", None).unwrap().expose(), b"plain-text");
        assert!(s.fields("t").is_err());
    }

    #[test]
    fn debug_and_errors_do_not_show_values() {
        let v = SecretBytes::new(b"hunter2".to_vec());
        assert!(!format!("{v:?}").contains("hunter2"));
        let err = blob(r#"{"pw":"hunter2"}"#)
            .property("t", Some("x"))
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn content_version_changes_with_content() {
        let mut a = BTreeMap::new();
        a.insert("k".to_string(), SecretBytes::new(b"1".to_vec()));
        let mut b = a.clone();
        b.insert("k".to_string(), SecretBytes::new(b"2".to_vec()));
        assert_ne!(content_version(&a), content_version(&b));
        assert!(content_version(&a).starts_with("sha256:"));
    }
}
