//! `SopsSecret`: a Secret whose values are SOPS-encrypted in Git, safe to apply with
//! any GitOps tool. `spec` is itself a SOPS document (metadata at `spec.sops`, MAC over
//! the spec in canonical key order), so what Kubernetes and GitOps tools add to the
//! object's root (managedFields, last-applied annotations, tracking labels) does not
//! break the MAC. `hush encrypt` writes this layout for `kind: SopsSecret` files.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which this lint mistakes
// for a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

fn preserve_unknown_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "hush.dev",
    version = "v1alpha1",
    kind = "SopsSecret",
    namespaced,
    status = "SopsSecretStatus",
    shortname = "sopss",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecretSpec {
    /// Shape of the Secret (in clear, covered by the MAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SopsSecretTemplate>,
    /// Where the decryption keys are (in clear, covered by the MAC). Without it the
    /// controller's default key Secret and its workload identity are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// base64 values, SOPS-encrypted (`ENC[…]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Plain-text values, SOPS-encrypted (`ENC[…]`); they win over `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_data: Option<BTreeMap<String, String>>,
    /// The SOPS metadata block of the spec document.
    #[schemars(schema_with = "preserve_unknown_object")]
    #[serde(default)]
    pub sops: serde_json::Value,
}

/// `spec.template`: the Secret's type, labels and annotations.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecretTemplate {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct TemplateMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Flux's `spec.decryption`: a Secret (same namespace) with `*.agekey`, `*.asc`,
/// `sops.vault-token`… entries.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectName>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectName {
    pub name: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecretStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `sops.lastmodified` of the spec that was last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_lastmodified: Option<String>,
}
