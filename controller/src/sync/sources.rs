//! From a store reference to a ready [`SecretSource`]: resolve the SecretStore or
//! ClusterSecretStore, check that the namespace may use it, read its credentials
//! from Secrets, and keep one client per store (rebuilt when the store changes).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jiff::Timestamp;

use hush_providers::secrets::{RemoteSecret, SecretBytes, SecretSource, SourceError};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{core::SelectorExt, Api, Client, ResourceExt};
use tokio::sync::Mutex;

use crate::{
    crd::{ClusterSecretStore, ProviderSpec, SecretKeySelector, SecretStore, StoreKind, StoreRef},
    metrics::Metrics,
};

/// Why a store cannot be used. Messages never contain credential values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind:?} {name:?} not found")]
    NotFound { kind: StoreKind, name: String },
    #[error("ClusterSecretStore {store:?} does not allow namespace {namespace:?}")]
    NamespaceNotAllowed { store: String, namespace: String },
    #[error("store {store:?}: {detail}")]
    Invalid { store: String, detail: String },
    #[error("store {store:?}: credential {secret}/{key}: {detail}")]
    Credential {
        store: String,
        secret: String,
        key: String,
        detail: String,
    },
    #[error("store {store:?}: {source}")]
    Source {
        store: String,
        #[source]
        source: SourceError,
    },
    #[error("reading store: {0}")]
    Kube(#[from] kube::Error),
}

/// The last read of one remote secret (key, pinned version), shared by every sync using it.
type ReadSlot = Arc<Mutex<Option<(Timestamp, RemoteSecret)>>>;

/// A store's client plus a short-lived read cache, shared by every SecretSync using it.
pub struct StoreClient {
    pub provider: &'static str,
    source: Box<dyn SecretSource>,
    cache: Mutex<HashMap<(String, Option<String>), ReadSlot>>,
    metrics: Metrics,
}

impl StoreClient {
    fn new(source: Box<dyn SecretSource>, metrics: Metrics) -> Self {
        Self {
            provider: source.provider(),
            source,
            cache: Mutex::default(),
            metrics,
        }
    }

    /// Read a remote secret, reusing a read made at or after `not_before`. Concurrent
    /// reads of the same key wait for one provider call, so N SecretSyncs sharing a
    /// remote secret cost one call per refresh slot.
    pub async fn fetch(
        &self,
        key: &str,
        version: Option<&str>,
        not_before: Timestamp,
    ) -> Result<RemoteSecret, SourceError> {
        let slot = {
            let mut cache = self.cache.lock().await;
            cache
                .entry((key.to_string(), version.map(str::to_string)))
                .or_default()
                .clone()
        };
        let mut slot = slot.lock().await;
        if let Some((at, value)) = slot.as_ref() {
            if *at >= not_before {
                return Ok(value.clone());
            }
        }
        let started = Instant::now();
        let result = self.source.fetch(key, version).await;
        self.metrics
            .provider_call(self.provider, "fetch", result.is_ok(), started.elapsed());
        match result {
            Ok(value) => {
                *slot = Some((Timestamp::now(), value.clone()));
                Ok(value)
            }
            Err(e) => {
                // A failed read must not leave an old value looking fresh.
                *slot = None;
                Err(e)
            }
        }
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, SourceError> {
        let started = Instant::now();
        let result = self.source.list(prefix).await;
        self.metrics
            .provider_call(self.provider, "list", result.is_ok(), started.elapsed());
        result
    }
}

/// Identity of a store object, and the version of it a client was built from.
type StoreKey = (StoreKind, String, String);

/// How long a store lookup (and a ClusterSecretStore's namespace check) is reused.
/// SecretSyncs that refresh in the same slot then cost one API read per store, not
/// one each; a changed store takes effect within this time.
const RESOLVE_TTL: Duration = Duration::from_secs(5);

/// A store lookup: when it was made, the store's version and provider spec.
type Resolved = (Instant, StoreKey, String, ProviderSpec);

/// One client per store, reused until the store object changes or auth fails.
#[derive(Default)]
pub struct StoreClients {
    clients: Mutex<HashMap<StoreKey, (String, Arc<StoreClient>)>>,
    /// Recent lookups by (SecretSync namespace, store reference).
    resolved: Mutex<HashMap<(String, StoreKey), Resolved>>,
}

impl StoreClients {
    /// The client for the store a SecretSync in `namespace` refers to.
    pub async fn get(
        &self,
        client: &Client,
        metrics: &Metrics,
        namespace: &str,
        store_ref: &StoreRef,
    ) -> Result<Arc<StoreClient>, StoreError> {
        let (key, version, provider) = self.resolve_cached(client, namespace, store_ref).await?;
        let mut clients = self.clients.lock().await;
        if let Some((built_from, existing)) = clients.get(&key) {
            if *built_from == version {
                return Ok(existing.clone());
            }
        }
        // Credentials of a namespaced store live in its namespace; of a cluster store, in
        // the namespace the selector names (or the SecretSync's).
        let source = build_source(client, namespace, &store_ref.name, &provider).await?;
        let built = Arc::new(StoreClient::new(source, metrics.clone()));
        clients.insert(key, (version, built.clone()));
        Ok(built)
    }

    async fn resolve_cached(
        &self,
        client: &Client,
        namespace: &str,
        store_ref: &StoreRef,
    ) -> Result<(StoreKey, String, ProviderSpec), StoreError> {
        let cache_key = (namespace.to_string(), store_key(namespace, store_ref));
        if let Some((at, key, version, provider)) = self.resolved.lock().await.get(&cache_key) {
            if at.elapsed() < RESOLVE_TTL {
                return Ok((key.clone(), version.clone(), provider.clone()));
            }
        }
        // Failures are not cached: a store that appears is used on the next retry.
        let (key, version, provider) = resolve(client, namespace, store_ref).await?;
        self.resolved.lock().await.insert(
            cache_key,
            (
                Instant::now(),
                key.clone(),
                version.clone(),
                provider.clone(),
            ),
        );
        Ok((key, version, provider))
    }

    /// Drop a cached client (after an auth failure) so the next use logs in afresh.
    pub async fn forget(&self, namespace: &str, store_ref: &StoreRef) {
        let key = store_key(namespace, store_ref);
        self.clients.lock().await.remove(&key);
        self.resolved
            .lock()
            .await
            .remove(&(namespace.to_string(), key));
    }
}

fn store_key(namespace: &str, store_ref: &StoreRef) -> StoreKey {
    match store_ref.kind {
        StoreKind::SecretStore => (
            store_ref.kind,
            namespace.to_string(),
            store_ref.name.clone(),
        ),
        StoreKind::ClusterSecretStore => (store_ref.kind, String::new(), store_ref.name.clone()),
    }
}

/// Find the store, check access, and return its key, version and provider spec.
async fn resolve(
    client: &Client,
    namespace: &str,
    store_ref: &StoreRef,
) -> Result<(StoreKey, String, ProviderSpec), StoreError> {
    let not_found = || StoreError::NotFound {
        kind: store_ref.kind,
        name: store_ref.name.clone(),
    };
    let key = store_key(namespace, store_ref);
    match store_ref.kind {
        StoreKind::SecretStore => {
            let api: Api<SecretStore> = Api::namespaced(client.clone(), namespace);
            let store = api.get_opt(&store_ref.name).await?.ok_or_else(not_found)?;
            Ok((key, version_of(&store), store.spec.provider))
        }
        StoreKind::ClusterSecretStore => {
            let api: Api<ClusterSecretStore> = Api::all(client.clone());
            let store = api.get_opt(&store_ref.name).await?.ok_or_else(not_found)?;
            if !namespace_allowed(client, &store, namespace).await? {
                return Err(StoreError::NamespaceNotAllowed {
                    store: store_ref.name.clone(),
                    namespace: namespace.to_string(),
                });
            }
            Ok((key, version_of(&store), store.spec.provider))
        }
    }
}

fn version_of<K: kube::Resource>(obj: &K) -> String {
    format!(
        "{}/{}",
        obj.meta().uid.as_deref().unwrap_or_default(),
        obj.meta().resource_version.as_deref().unwrap_or_default()
    )
}

async fn namespace_allowed(
    client: &Client,
    store: &ClusterSecretStore,
    namespace: &str,
) -> Result<bool, StoreError> {
    if store.spec.namespaces.iter().any(|n| n == namespace) {
        return Ok(true);
    }
    let Some(selector) = store.spec.namespace_selector.clone() else {
        return Ok(false);
    };
    let selector: kube::core::Selector = selector.try_into().map_err(|e| StoreError::Invalid {
        store: store.name_any(),
        detail: format!("namespaceSelector: {e}"),
    })?;
    let ns: Api<Namespace> = Api::all(client.clone());
    let labels = ns
        .get_opt(namespace)
        .await?
        .map(|n| n.labels().clone())
        .unwrap_or_default();
    Ok(selector.matches(&labels))
}

/// Read one credential value from a Secret key.
async fn credential(
    client: &Client,
    default_namespace: &str,
    store: &str,
    sel: &SecretKeySelector,
) -> Result<SecretBytes, StoreError> {
    let ns = sel.namespace.as_deref().unwrap_or(default_namespace);
    let err = |detail: &str| StoreError::Credential {
        store: store.to_string(),
        secret: format!("{ns}/{}", sel.name),
        key: sel.key.clone(),
        detail: detail.to_string(),
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = api
        .get_opt(&sel.name)
        .await?
        .ok_or_else(|| err("Secret not found"))?;
    let bytes = secret
        .data
        .and_then(|mut d| d.remove(&sel.key))
        .map(|b| b.0)
        .ok_or_else(|| err("key not found"))?;
    Ok(SecretBytes::new(bytes))
}

#[cfg(feature = "aws")]
fn text(b: &SecretBytes) -> String {
    String::from_utf8_lossy(b.expose()).trim().to_string()
}

/// Build a provider client from a store spec; exactly one provider must be set.
async fn build_source(
    client: &Client,
    namespace: &str,
    store: &str,
    provider: &ProviderSpec,
) -> Result<Box<dyn SecretSource>, StoreError> {
    let count = [
        provider.vault.is_some(),
        provider.aws.is_some(),
        provider.gcp.is_some(),
        provider.azure.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if count != 1 {
        return Err(StoreError::Invalid {
            store: store.to_string(),
            detail: format!("exactly one provider must be set, found {count}"),
        });
    }
    let wrap = |source: SourceError| StoreError::Source {
        store: store.to_string(),
        source,
    };
    let _ = (&wrap, client, namespace);
    #[cfg(feature = "vault")]
    if let Some(v) = &provider.vault {
        use hush_providers::secrets::vault::{KvVersion, VaultAuth, VaultConfig, VaultSource};
        let auth = match (
            &v.auth.token_secret_ref,
            &v.auth.app_role,
            &v.auth.kubernetes,
        ) {
            (Some(sel), None, None) => {
                VaultAuth::Token(credential(client, namespace, store, sel).await?)
            }
            (None, Some(ar), None) => VaultAuth::AppRole {
                mount: ar.path.clone(),
                role_id: ar.role_id.clone(),
                secret_id: credential(client, namespace, store, &ar.secret_ref).await?,
            },
            (None, None, Some(k)) => VaultAuth::Kubernetes {
                mount: k.mount_path.clone(),
                role: k.role.clone(),
                jwt_path: k
                    .token_path
                    .clone()
                    .unwrap_or_else(|| "/var/run/secrets/kubernetes.io/serviceaccount/token".into())
                    .into(),
            },
            _ => {
                return Err(StoreError::Invalid {
                    store: store.to_string(),
                    detail: "vault.auth needs exactly one of tokenSecretRef, appRole, kubernetes"
                        .into(),
                })
            }
        };
        let source = VaultSource::new(VaultConfig {
            address: v.server.clone(),
            namespace: v.namespace.clone(),
            mount: v.path.clone(),
            kv_version: match v.version {
                crate::crd::KvVersion::V1 => KvVersion::V1,
                crate::crd::KvVersion::V2 => KvVersion::V2,
            },
            auth,
        })
        .map_err(wrap)?;
        return Ok(Box::new(source));
    }
    #[cfg(feature = "aws")]
    if let Some(a) = &provider.aws {
        use hush_providers::secrets::aws::{AwsConfig, AwsService, AwsSource, StaticCredentials};
        let credentials = match &a.auth {
            Some(auth) => {
                let r = &auth.secret_ref;
                Some(StaticCredentials {
                    access_key_id: text(
                        &credential(client, namespace, store, &r.access_key_id).await?,
                    ),
                    secret_access_key: credential(
                        client,
                        namespace,
                        store,
                        &r.secret_access_key_secret_ref,
                    )
                    .await?,
                    session_token: match &r.session_token_secret_ref {
                        Some(sel) => Some(credential(client, namespace, store, sel).await?),
                        None => None,
                    },
                })
            }
            None => None,
        };
        let source = AwsSource::new(AwsConfig {
            service: match a.service {
                crate::crd::AwsService::SecretsManager => AwsService::SecretsManager,
                crate::crd::AwsService::ParameterStore => AwsService::ParameterStore,
            },
            region: a.region.clone(),
            credentials,
            role_arn: a.role.clone(),
            endpoint_url: a.endpoint.clone(),
        })
        .await
        .map_err(wrap)?;
        return Ok(Box::new(source));
    }
    #[cfg(feature = "gcp")]
    if let Some(g) = &provider.gcp {
        use hush_providers::secrets::gcp::{GcpAuth, GcpConfig, GcpSource};
        let auth = match &g.auth {
            Some(a) => GcpAuth::ServiceAccountKey(
                credential(client, namespace, store, &a.secret_ref).await?,
            ),
            None => GcpAuth::WorkloadIdentity,
        };
        let source = GcpSource::new(GcpConfig {
            project: g.project_id.clone(),
            auth,
            endpoint: g.endpoint.clone(),
            metadata_endpoint: None,
        })
        .map_err(wrap)?;
        return Ok(Box::new(source));
    }
    #[cfg(feature = "azure")]
    if let Some(az) = &provider.azure {
        use hush_providers::secrets::azure::{AzureAuth, AzureConfig, AzureSource};
        let need = |field: &str, v: &Option<String>| {
            v.clone().ok_or_else(|| StoreError::Invalid {
                store: store.to_string(),
                detail: format!("azure.{field} is required for authType {:?}", az.auth_type),
            })
        };
        let auth = match az.auth_type {
            crate::crd::AzureAuthType::ServicePrincipal => {
                let sel = az
                    .client_secret_ref
                    .as_ref()
                    .ok_or_else(|| StoreError::Invalid {
                        store: store.to_string(),
                        detail: "azure.clientSecretRef is required for ServicePrincipal".into(),
                    })?;
                AzureAuth::ClientSecret {
                    tenant_id: need("tenantId", &az.tenant_id)?,
                    client_id: need("clientId", &az.client_id)?,
                    client_secret: credential(client, namespace, store, sel).await?,
                }
            }
            crate::crd::AzureAuthType::ManagedIdentity => AzureAuth::ManagedIdentity {
                client_id: az.client_id.clone(),
            },
            crate::crd::AzureAuthType::WorkloadIdentity => AzureAuth::WorkloadIdentity {
                tenant_id: need("tenantId", &az.tenant_id)?,
                client_id: need("clientId", &az.client_id)?,
                token_file: std::env::var("AZURE_FEDERATED_TOKEN_FILE")
                    .unwrap_or_else(|_| "/var/run/secrets/azure/tokens/azure-identity-token".into())
                    .into(),
            },
        };
        let source = AzureSource::new(AzureConfig {
            vault_url: az.vault_url.clone(),
            auth,
            authority_host: az.authority_host.clone(),
            imds_endpoint: None,
        })
        .map_err(wrap)?;
        return Ok(Box::new(source));
    }
    Err(StoreError::Invalid {
        store: store.to_string(),
        detail: "this build of hush-controller does not include that provider".into(),
    })
}
