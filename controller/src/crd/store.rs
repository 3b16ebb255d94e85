//! `SecretStore` (namespaced) and `ClusterSecretStore`: where values come from and how to log in.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, SecretKeySelector};

/// A namespaced store: usable by SecretSyncs in its own namespace.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "hush.dev",
    version = "v1alpha1",
    kind = "SecretStore",
    namespaced,
    status = "StoreStatus",
    shortname = "hss",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    pub provider: ProviderSpec,
}

/// A cluster-wide store: usable from the namespaces its selector allows.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "hush.dev",
    version = "v1alpha1",
    kind = "ClusterSecretStore",
    status = "StoreStatus",
    shortname = "hcss"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreSpec {
    pub provider: ProviderSpec,
    /// Namespaces whose SecretSyncs may use this store; empty or absent allows none
    /// unless `namespaces` lists them. An empty selector (`{}`) allows all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces allowed by name, in addition to the selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// Exactly one provider must be set.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureProvider>,
}

// ---------- Vault ----------

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultProvider {
    /// Vault address, e.g. `https://vault.example:8200`.
    pub server: String,
    /// Vault Enterprise / OpenBao namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// KV mount path, e.g. `secret`.
    pub path: String,
    /// KV engine version.
    #[serde(default)]
    pub version: KvVersion,
    pub auth: VaultAuthSpec,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum KvVersion {
    #[serde(rename = "v1")]
    V1,
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// Exactly one auth method must be set.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAuthSpec {
    /// A static token read from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<VaultKubernetesAuth>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAppRole {
    /// Auth mount path (default `approle`).
    #[serde(default = "default_approle")]
    pub path: String,
    pub role_id: String,
    pub secret_ref: SecretKeySelector,
}

fn default_approle() -> String {
    "approle".into()
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesAuth {
    /// Auth mount path (default `kubernetes`).
    #[serde(default = "default_kubernetes")]
    pub mount_path: String,
    pub role: String,
    /// The projected service-account token file of the controller (default: the mounted token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
}

fn default_kubernetes() -> String {
    "kubernetes".into()
}

// ---------- AWS ----------

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsProvider {
    pub service: AwsService,
    pub region: String,
    /// Role ARN to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Absent: the SDK default chain (environment, IRSA web identity, instance role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AwsAuth>,
    /// Endpoint override (VPC endpoints, tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AwsService {
    SecretsManager,
    ParameterStore,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsAuth {
    pub secret_ref: AwsSecretRef,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsSecretRef {
    #[serde(rename = "accessKeyIDSecretRef")]
    pub access_key_id: SecretKeySelector,
    pub secret_access_key_secret_ref: SecretKeySelector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_secret_ref: Option<SecretKeySelector>,
}

// ---------- GCP ----------

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcpProvider {
    #[serde(rename = "projectID")]
    pub project_id: String,
    /// Absent: workload identity (the metadata server of the node / GKE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<GcpAuth>,
    /// Endpoint override (tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcpAuth {
    /// A service-account key JSON in a Secret.
    pub secret_ref: SecretKeySelector,
}

// ---------- Azure ----------

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureProvider {
    /// e.g. `https://my-vault.vault.azure.net`.
    pub vault_url: String,
    #[serde(default)]
    pub auth_type: AzureAuthType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Client id for ServicePrincipal and WorkloadIdentity; user-assigned identity for ManagedIdentity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// ServicePrincipal: the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<SecretKeySelector>,
    /// Token endpoint override (sovereign clouds, tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AzureAuthType {
    #[default]
    ServicePrincipal,
    ManagedIdentity,
    WorkloadIdentity,
}
