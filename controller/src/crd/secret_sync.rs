//! `SecretSync`: which remote values go into which Kubernetes Secret, how often,
//! and what the controller learnt about their versions and rotation.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which this lint mistakes
// for a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "hush.dev",
    version = "v1alpha1",
    kind = "SecretSync",
    namespaced,
    status = "SecretSyncStatus",
    shortname = "hsync",
    printcolumn(name = "Store", type_ = "string", json_path = ".spec.storeRef.name"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Last Rotated",
        type_ = "string",
        json_path = ".status.lastRotatedAt"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SecretSyncSpec {
    pub store_ref: StoreRef,
    /// How often to re-read the source, as a duration such as `1h`, `15m`, `30s`.
    /// `0` reads once. Default `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    #[serde(default)]
    pub target: Target,
    /// Individual values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<DataEntry>,
    /// Whole remote secrets: every field of one, or every secret under a path prefix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_from: Vec<DataFrom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_policy: Option<RotationPolicy>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreRef {
    pub name: String,
    #[serde(default)]
    pub kind: StoreKind,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum StoreKind {
    #[default]
    SecretStore,
    ClusterSecretStore,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Secret name; defaults to the SecretSync's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub creation_policy: CreationPolicy,
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

/// Who owns the target Secret.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CreationPolicy {
    /// Create the Secret with an owner reference: it is garbage-collected with the SecretSync.
    #[default]
    Owner,
    /// Write only our keys into an existing Secret that someone else owns.
    Merge,
    /// Create and manage the Secret, but leave it behind when the SecretSync goes.
    Orphan,
}

/// What to do with the target Secret when the remote secret is deleted.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the last good Secret and report `SourceDeleted`.
    #[default]
    Retain,
    /// Delete the Secret (only one we created, never a Merge target).
    Delete,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Secret type, e.g. `kubernetes.io/dockerconfigjson`. Default `Opaque`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Values built from fetched keys: `{{ .secretKey }}` is replaced by that key's value.
    /// When set, only these keys are written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataEntry {
    /// Key in the target Secret.
    pub secret_key: String,
    pub remote_ref: RemoteRef,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRef {
    /// Remote secret path or name.
    pub key: String,
    /// A field of the remote secret (Vault field, or a JSON member); absent = whole value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Pin a version (Vault KV version, AWS `uuid/<VersionId>` or stage, SSM version,
    /// GCP version number, Azure version id). Absent = latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataFrom {
    /// Every field of one remote secret becomes a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<RemoteRef>,
    /// Every remote secret under a path prefix becomes a key (named by its path, `/` as `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<FindByPath>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindByPath {
    pub path: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationPolicy {
    /// When the source value has not changed for this long, the rotation is overdue (e.g. `720h`).
    pub max_age: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretSyncStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Per target key: where it came from and which source version is live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synced: Vec<SyncedKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    /// When a synced value last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_refresh_at: Option<String>,
    /// The value of the refresh annotation that was last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_requested: Option<String>,
    /// SHA-256 of the target Secret data written last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_hash: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncedKey {
    pub secret_key: String,
    pub remote_key: String,
    pub version: String,
}
