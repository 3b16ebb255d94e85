//! Secret -> SealedSecret documents as kubeseal builds them
//! (`pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go`, `NewSealedSecret`),
//! `--merge-into`, `--raw`, and the whole-object unseal the controller runs.

use super::documents::{parse_documents, print_document, DocumentError, DocumentFormat};
use super::hybrid::{seal, unseal_with_any, SealError};
use super::keys::{SealingPrivateKey, SealingPublicKey};
use super::scope::{scope_label, Scope};
use super::template::{render, TemplateError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use zeroize::Zeroizing;

pub const SEALED_SECRET_API_VERSION: &str = "bitnami.com/v1alpha1";
pub const SEALED_SECRET_KIND: &str = "SealedSecret";
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Server-populated ObjectMeta fields kubeseal clears from the template.
const SERVER_SIDE_FIELDS: [&str; 9] = [
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "managedFields",
];

/// Manifest problems. Names documents, objects and data keys, never values.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("document {index}: expected kind {expected}, found {found:?}")]
    WrongKind {
        index: usize,
        expected: &'static str,
        found: String,
    },
    #[error("{0}: malformed object: {1}")]
    Malformed(String, String),
    #[error("{object}: data key {key:?} is not valid base64")]
    InvalidBase64 { object: String, key: String },
    #[error("object has no metadata.name")]
    MissingName,
    #[error("{0}: namespace is required for strict and namespace-wide scopes")]
    MissingNamespace(String),
    #[error("{0}: secret has no data (allow empty data to seal it anyway)")]
    EmptyData(String),
    #[error("{object}: cannot seal key {key:?}: {source}")]
    Seal {
        object: String,
        key: String,
        source: SealError,
    },
    #[error("{object}: cannot unseal key {key:?}: {source}")]
    Unseal {
        object: String,
        key: String,
        source: SealError,
    },
    #[error("{0}: legacy spec.data (v1 format) is not supported; re-seal with encryptedData")]
    LegacyData(String),
    #[error("{object}: {source}")]
    Template {
        object: String,
        source: TemplateError,
    },
    #[error("--raw needs --name for strict scope")]
    RawNeedsName,
    #[error("--raw needs a namespace for strict and namespace-wide scopes")]
    RawNeedsNamespace,
}

/// The parts of `metadata` we read; everything else is kept verbatim in `other`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// `spec.template`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SecretTemplateSpec {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Go `text/template` bodies rendered with the decrypted values.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub data: BTreeMap<String, String>,
}

/// `spec` of a SealedSecret.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    #[serde(default)]
    pub template: SecretTemplateSpec,
    /// Legacy v1 format: one ciphertext of a whole Secret. Read but not unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Key -> standard base64 of the hybrid ciphertext.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub encrypted_data: BTreeMap<String, String>,
}

/// A `bitnami.com/v1alpha1` SealedSecret. Field order matches kubeseal's JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretManifest {
    pub kind: String,
    pub api_version: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: SealedSecretSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

impl SealedSecretManifest {
    /// From a JSON value (e.g. a kube object serialised by the controller).
    pub fn from_value(value: Value) -> Result<Self, ManifestError> {
        from_object(0, value, SEALED_SECRET_KIND)
    }

    /// Every SealedSecret in a YAML/JSON text (multi-document and `List` aware).
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ManifestError> {
        parse_documents(text)?
            .into_iter()
            .enumerate()
            .map(|(index, value)| from_object(index, value, SEALED_SECRET_KIND))
            .collect()
    }

    /// `namespace/name` for messages.
    pub fn display_name(&self) -> String {
        display_name(&self.metadata)
    }

    /// The scope its own metadata annotations give (the label source on unseal).
    pub fn scope(&self) -> Scope {
        Scope::from_annotations(&self.metadata.annotations)
    }

    /// Printed as kubeseal prints it.
    pub fn to_document(&self, format: DocumentFormat) -> String {
        let value = serde_json::to_value(self).expect("manifest types always serialise");
        print_document(&value, format)
    }
}

/// A Kubernetes `v1` Secret read from YAML/JSON, with `data` decoded and
/// `stringData` merged over it (as the API server does).
#[derive(Debug, Clone)]
pub struct SecretManifest {
    pub metadata: ObjectMeta,
    pub secret_type: Option<String>,
    pub immutable: Option<bool>,
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretWire {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(rename = "type", default)]
    secret_type: Option<String>,
    #[serde(default)]
    immutable: Option<bool>,
    #[serde(default)]
    data: Option<BTreeMap<String, String>>,
    #[serde(default)]
    string_data: Option<BTreeMap<String, String>>,
}

impl SecretManifest {
    /// Every Secret in a YAML/JSON text.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ManifestError> {
        parse_documents(text)?
            .into_iter()
            .enumerate()
            .map(|(index, value)| Self::from_value(index, value))
            .collect()
    }

    /// From one parsed document; `index` only labels errors.
    pub fn from_value(index: usize, value: Value) -> Result<Self, ManifestError> {
        // serde's messages can quote the offending value, which here may be a
        // secret: report the shape problem only.
        let wire: SecretWire = serde_json::from_value(value).map_err(|_| {
            ManifestError::Malformed(
                format!("document {index}"),
                "not a valid Secret (metadata, data and stringData must be maps of strings)".into(),
            )
        })?;
        if wire.kind != "Secret" {
            return Err(ManifestError::WrongKind {
                index,
                expected: "Secret",
                found: wire.kind,
            });
        }
        let object = display_name(&wire.metadata);
        let mut data = BTreeMap::new();
        for (key, encoded) in wire.data.unwrap_or_default() {
            let decoded =
                STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|_| ManifestError::InvalidBase64 {
                        object: object.clone(),
                        key: key.clone(),
                    })?;
            data.insert(key, Zeroizing::new(decoded));
        }
        for (key, plain) in wire.string_data.unwrap_or_default() {
            data.insert(key, Zeroizing::new(plain.into_bytes()));
        }
        Ok(SecretManifest {
            metadata: wire.metadata,
            secret_type: wire.secret_type,
            immutable: wire.immutable,
            data,
        })
    }
}

/// Options for [`seal_secret`], mirroring kubeseal's flags.
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    /// `--scope`; `None` means "from the Secret's annotations, else strict".
    pub scope: Option<Scope>,
    /// Namespace for a Secret that has none (kubeseal: `-n` / kubeconfig / `default`).
    pub default_namespace: Option<String>,
    /// `--allow-empty-data`.
    pub allow_empty_data: bool,
}

/// Builds the SealedSecret for `secret`, as kubeseal's `NewSealedSecret`:
/// the template carries the Secret's metadata (minus server-side fields,
/// ownerReferences and the last-applied annotation), type and immutable; the
/// scope annotations go on both the template and the outer object.
pub fn seal_secret(
    secret: &SecretManifest,
    public_key: &SealingPublicKey,
    options: &SealOptions,
) -> Result<SealedSecretManifest, ManifestError> {
    let mut metadata = secret.metadata.clone();
    let name = metadata.name.clone().ok_or(ManifestError::MissingName)?;
    if metadata.namespace.is_none() {
        metadata.namespace = options.default_namespace.clone();
    }
    let scope = options
        .scope
        .unwrap_or_else(|| Scope::from_annotations(&metadata.annotations));
    let namespace = metadata.namespace.clone().unwrap_or_default();
    if namespace.is_empty() && scope != Scope::ClusterWide {
        return Err(ManifestError::MissingNamespace(name));
    }
    let object = display_name(&metadata);
    if secret.data.is_empty() && !options.allow_empty_data {
        return Err(ManifestError::EmptyData(object));
    }

    for field in SERVER_SIDE_FIELDS {
        metadata.other.remove(field);
    }
    metadata
        .other
        .insert("creationTimestamp".to_string(), Value::Null);
    metadata.annotations.remove(LAST_APPLIED_ANNOTATION);
    scope.apply_to_annotations(&mut metadata.annotations);

    let label = scope_label(scope, &namespace, &name);
    let encrypted_data = seal_values(&object, public_key, &label, &secret.data)?;

    let mut outer = ObjectMeta {
        name: Some(name),
        namespace: metadata.namespace.clone(),
        ..ObjectMeta::default()
    };
    outer
        .other
        .insert("creationTimestamp".to_string(), Value::Null);
    scope.apply_to_annotations(&mut outer.annotations);

    Ok(SealedSecretManifest {
        kind: SEALED_SECRET_KIND.to_string(),
        api_version: SEALED_SECRET_API_VERSION.to_string(),
        metadata: outer,
        spec: SealedSecretSpec {
            template: SecretTemplateSpec {
                metadata,
                secret_type: secret.secret_type.clone(),
                immutable: secret.immutable,
                data: BTreeMap::new(),
            },
            data: None,
            encrypted_data,
        },
        status: None,
    })
}

/// `--merge-into`: seals `secret`'s items for `target`'s own name, namespace
/// and scope, and adds or replaces them in `target.spec.encryptedData`.
pub fn merge_into(
    target: &mut SealedSecretManifest,
    secret: &SecretManifest,
    public_key: &SealingPublicKey,
) -> Result<(), ManifestError> {
    let name = target
        .metadata
        .name
        .clone()
        .ok_or(ManifestError::MissingName)?;
    let namespace = target.metadata.namespace.clone().unwrap_or_default();
    let scope = target.scope();
    if namespace.is_empty() && scope != Scope::ClusterWide {
        return Err(ManifestError::MissingNamespace(name));
    }
    let label = scope_label(scope, &namespace, &name);
    let sealed = seal_values(&target.display_name(), public_key, &label, &secret.data)?;
    target.spec.encrypted_data.extend(sealed);
    Ok(())
}

/// `--raw`: one value, printed as bare base64. Checks the inputs kubeseal checks.
pub fn seal_raw(
    public_key: &SealingPublicKey,
    scope: Scope,
    namespace: &str,
    name: &str,
    value: &[u8],
) -> Result<String, ManifestError> {
    if scope == Scope::Strict && name.is_empty() {
        return Err(ManifestError::RawNeedsName);
    }
    if scope != Scope::ClusterWide && namespace.is_empty() {
        return Err(ManifestError::RawNeedsNamespace);
    }
    let label = scope_label(scope, namespace, name);
    let ciphertext = seal(public_key, &label, value).map_err(|source| ManifestError::Seal {
        object: format!("{namespace}/{name}"),
        key: String::new(),
        source,
    })?;
    Ok(STANDARD.encode(ciphertext))
}

fn seal_values(
    object: &str,
    public_key: &SealingPublicKey,
    label: &[u8],
    values: &BTreeMap<String, Zeroizing<Vec<u8>>>,
) -> Result<BTreeMap<String, String>, ManifestError> {
    values
        .iter()
        .map(|(key, value)| {
            let ciphertext =
                seal(public_key, label, value).map_err(|source| ManifestError::Seal {
                    object: object.to_string(),
                    key: key.clone(),
                    source,
                })?;
            Ok((key.clone(), STANDARD.encode(ciphertext)))
        })
        .collect()
}

/// The Secret a SealedSecret stands for.
#[derive(Debug, Clone)]
pub struct UnsealedSecret {
    pub name: String,
    pub namespace: String,
    /// Template metadata with name and namespace forced to the SealedSecret's.
    /// No ownerReferences: the controller adds its own (it knows the uid).
    pub metadata: ObjectMeta,
    pub secret_type: Option<String>,
    pub immutable: Option<bool>,
    /// Decrypted values, then rendered `spec.template.data` entries over them.
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
    /// Indices (into the `keys` slice) of the keys that decrypted some value.
    pub used_keys: BTreeSet<usize>,
}

impl UnsealedSecret {
    /// A `v1` Secret document holding the plaintext (base64 `data`), in
    /// Kubernetes' field order. Only for `--recovery-unseal` output.
    pub fn to_document(&self, format: DocumentFormat) -> Zeroizing<String> {
        let mut object = Map::new();
        object.insert("kind".into(), Value::from("Secret"));
        object.insert("apiVersion".into(), Value::from("v1"));
        let metadata = serde_json::to_value(&self.metadata).expect("metadata always serialises");
        object.insert("metadata".into(), metadata);
        if let Some(immutable) = self.immutable {
            object.insert("immutable".into(), Value::from(immutable));
        }
        let data: Map<String, Value> = self
            .data
            .iter()
            .map(|(key, value)| (key.clone(), Value::from(STANDARD.encode(value.as_slice()))))
            .collect();
        object.insert("data".into(), Value::Object(data));
        if let Some(secret_type) = &self.secret_type {
            object.insert("type".into(), Value::from(secret_type.as_str()));
        }
        Zeroizing::new(print_document(&Value::Object(object), format))
    }
}

/// Unseals every `encryptedData` entry with any of `keys` (label from the
/// SealedSecret's own metadata, as Bitnami's `Unseal`), then renders
/// `spec.template.data`. Errors name the object and data key.
pub fn unseal_sealed_secret(
    keys: &[SealingPrivateKey],
    sealed: &SealedSecretManifest,
) -> Result<UnsealedSecret, ManifestError> {
    let object = sealed.display_name();
    let name = sealed
        .metadata
        .name
        .clone()
        .ok_or(ManifestError::MissingName)?;
    let namespace = sealed.metadata.namespace.clone().unwrap_or_default();
    let scope = sealed.scope();
    if namespace.is_empty() && scope != Scope::ClusterWide {
        return Err(ManifestError::MissingNamespace(name));
    }
    if sealed.spec.data.is_some() {
        return Err(ManifestError::LegacyData(object));
    }
    let label = scope_label(scope, &namespace, &name);

    let mut data = BTreeMap::new();
    let mut used_keys = BTreeSet::new();
    for (key, encoded) in &sealed.spec.encrypted_data {
        let ciphertext =
            STANDARD
                .decode(encoded.as_bytes())
                .map_err(|_| ManifestError::InvalidBase64 {
                    object: object.clone(),
                    key: key.clone(),
                })?;
        let (index, plaintext) =
            unseal_with_any(keys, &label, &ciphertext).map_err(|source| ManifestError::Unseal {
                object: object.clone(),
                key: key.clone(),
                source,
            })?;
        used_keys.insert(index);
        data.insert(key.clone(), plaintext);
    }
    let template = &sealed.spec.template;
    let mut rendered = BTreeMap::new();
    for (key, body) in &template.data {
        let value = render(key, body, &data).map_err(|source| ManifestError::Template {
            object: object.clone(),
            source,
        })?;
        rendered.insert(key.clone(), value);
    }
    data.extend(rendered);

    let mut metadata = template.metadata.clone();
    metadata.name = Some(name.clone());
    metadata.namespace = Some(namespace.clone());
    metadata.other.remove("ownerReferences");
    Ok(UnsealedSecret {
        name,
        namespace,
        metadata,
        secret_type: template.secret_type.clone(),
        immutable: template.immutable,
        data,
        used_keys,
    })
}

/// Private keys from `--recovery-private-key` files: PEM keys, or the key
/// Secrets backed up as YAML/JSON (`tls.key`), including a `v1.List`.
pub fn parse_recovery_keys(text: &str) -> Result<Vec<SealingPrivateKey>, ManifestError> {
    use super::keys::{pem_blocks, PKCS1_PRIVATE_KEY_LABEL, PKCS8_PRIVATE_KEY_LABEL};
    if text.trim_start().starts_with("-----BEGIN") {
        let blocks = pem_blocks(text)
            .map_err(|error| ManifestError::Malformed("PEM".into(), error.to_string()))?;
        return blocks
            .iter()
            .filter(|block| {
                block.label == PKCS1_PRIVATE_KEY_LABEL || block.label == PKCS8_PRIVATE_KEY_LABEL
            })
            .map(|block| {
                let key = if block.label == PKCS1_PRIVATE_KEY_LABEL {
                    SealingPrivateKey::from_pkcs1_der(&block.der)
                } else {
                    SealingPrivateKey::from_pkcs8_der(&block.der)
                };
                key.map_err(|error| ManifestError::Malformed("PEM".into(), error.to_string()))
            })
            .collect();
    }
    let mut keys = Vec::new();
    for secret in SecretManifest::parse_all(text)? {
        let object = display_name(&secret.metadata);
        let pem = secret.data.get("tls.key").ok_or_else(|| {
            ManifestError::Malformed(object.clone(), "no tls.key in key Secret".into())
        })?;
        let pem = std::str::from_utf8(pem)
            .map_err(|_| ManifestError::Malformed(object.clone(), "tls.key is not PEM".into()))?;
        let key = SealingPrivateKey::from_pem(pem)
            .map_err(|error| ManifestError::Malformed(object.clone(), error.to_string()))?;
        keys.push(key);
    }
    Ok(keys)
}

fn from_object<T: serde::de::DeserializeOwned>(
    index: usize,
    value: Value,
    expected: &'static str,
) -> Result<T, ManifestError> {
    let found = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if found != expected {
        return Err(ManifestError::WrongKind {
            index,
            expected,
            found,
        });
    }
    serde_json::from_value(value)
        .map_err(|error| ManifestError::Malformed(format!("document {index}"), error.to_string()))
}

/// Kubernetes tools write `labels: null` and the like; read that as empty.
fn null_as_empty<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<BTreeMap<String, String>>::deserialize(deserializer)?.unwrap_or_default())
}

fn display_name(metadata: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        metadata.namespace.as_deref().unwrap_or(""),
        metadata.name.as_deref().unwrap_or("")
    )
}
