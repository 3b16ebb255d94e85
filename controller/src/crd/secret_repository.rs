//! `SecretRepository`: the controller pulls a Git repository itself, decrypts the
//! SOPS-encrypted Secret manifests under some paths, applies them and the
//! SealedSecrets it finds, prunes what left Git, and reverts drift.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which this lint mistakes
// for a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, Decryption, LocalObjectName};

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "hush.dev",
    version = "v1alpha1",
    kind = "SecretRepository",
    namespaced,
    status = "SecretRepositoryStatus",
    shortname = "srepo",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Revision",
        type_ = "string",
        json_path = ".status.lastAppliedRevision"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Suspended", type_ = "boolean", json_path = ".spec.suspend")
)]
#[serde(rename_all = "camelCase")]
pub struct SecretRepositorySpec {
    /// `https://…` (token in `secretRef`), `ssh://…` or `git@host:path` (key and
    /// known_hosts in `secretRef`), `git://…`, or `file://…` for local use.
    pub url: String,
    /// Branch, tag or commit to follow. Default: branch `main`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitReference>,
    /// Git credentials (same namespace): `token` (and optional `username`) for https;
    /// `identity` (OpenSSH private key) and `known_hosts` for ssh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectName>,
    /// Directories (or files) to read, relative to the repository root. Default: all.
    /// A path missing at a commit is reported in `status.fileErrors` (`PathNotFound`)
    /// and what was applied from it is kept, not pruned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// How often to look for a new commit, e.g. `1m`, `5m`. Default `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Stop pulling, applying, pruning and reverting drift until set back to false.
    #[serde(default)]
    pub suspend: bool,
    /// Decryption keys (Flux conventions); default: the controller's key Secret and its
    /// workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// Prune Secrets and SealedSecrets that left Git (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
}

/// One of `branch`, `tag`, `commit` (the first set wins in that order: commit, tag, branch).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct GitReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRepositoryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The commit whose files were last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Objects this SecretRepository created (the only ones it ever prunes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<InventoryEntry>,
    /// Files that failed at the last applied revision; their last good objects are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_errors: Vec<FileErrorStatus>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
pub struct InventoryEntry {
    /// `Secret` or `SealedSecret`.
    pub kind: String,
    pub name: String,
    /// The repository file it came from.
    pub file: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct FileErrorStatus {
    pub path: String,
    pub reason: String,
    pub message: String,
}
