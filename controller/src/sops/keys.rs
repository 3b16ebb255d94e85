//! The key ring for a SopsSecret: entries of the key Secret it names (Flux's
//! conventions, see `hush_providers::flux_keys`), else of the controller's default
//! key Secret, plus the cloud KMS sources with the pod's workload identity.

use std::collections::BTreeMap;

use hush_providers::flux_keys::{keyring_from_entries, FluxKeys};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use zeroize::Zeroizing;

/// A key Secret: namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySecretRef {
    pub namespace: String,
    pub name: String,
}

/// Why the keys could not be loaded; names the Secret and entry, never content.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("key Secret {0}/{1} not found")]
    Missing(String, String),
    #[error("key Secret {0}/{1}: {2}")]
    Invalid(String, String, String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Read the key Secret (if any) and build the key ring.
pub async fn load(client: &Client, secret: Option<&KeySecretRef>) -> Result<FluxKeys, KeysError> {
    let mut entries: BTreeMap<String, Zeroizing<Vec<u8>>> = BTreeMap::new();
    if let Some(r) = secret {
        let api: Api<Secret> = Api::namespaced(client.clone(), &r.namespace);
        let found = api
            .get_opt(&r.name)
            .await?
            .ok_or_else(|| KeysError::Missing(r.namespace.clone(), r.name.clone()))?;
        for (k, v) in found.data.into_iter().flatten() {
            entries.insert(k, Zeroizing::new(v.0));
        }
        for (k, v) in found.string_data.into_iter().flatten() {
            entries.insert(k, Zeroizing::new(v.into_bytes()));
        }
    }
    keyring_from_entries(&entries, true).map_err(|e| {
        let (ns, name) = secret
            .map(|r| (r.namespace.clone(), r.name.clone()))
            .unwrap_or_default();
        KeysError::Invalid(ns, name, e.to_string())
    })
}
