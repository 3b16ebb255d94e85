//! Azure Key Vault (`azure_kv:` entries): `wrapKey`/`unwrapKey` with
//! RSA-OAEP-256 on `{vault_url}/keys/{name}/{version}`; `enc` is the result in
//! base64url **without padding**, as sops writes it. An empty `version` means
//! the key's latest version, looked up with `GetKey`; when wrapping, that version
//! is what the metadata records (as sops ≥ 3.11 does).
//!
//! Credentials follow azure_identity's sources in the order of sops'
//! `DefaultAzureCredential`: a client secret from the environment
//! (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), workload
//! identity (`AZURE_FEDERATED_TOKEN_FILE`), managed identity, then the Azure
//! CLI. `AZURE_AUTHORITY_HOST` moves the token endpoint; the vault URL is the
//! endpoint itself. Azure only sends tokens over https; `SSL_CERT_FILE` adds
//! trust for private CAs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, RequestContent, RetryOptions};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use azure_security_keyvault_keys::models::{
    EncryptionAlgorithm, KeyClientGetKeyOptions, KeyClientWrapKeyOptions, KeyOperationParameters,
};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use base64::Engine;
use hush_crypto::{KeyKind, KeyType, MasterKey};
use zeroize::Zeroizing;

use super::net::{self, CallError, NetSettings};
use super::{unwrap_error, wrap_error};
use crate::source::{KeyError, KeySource};

/// Wraps data keys with Key Vault. Credentials and clients (one per vault) are
/// created on first use, so constructing the source needs no network.
pub struct AzureKvSource {
    settings: NetSettings,
    credential: OnceLock<Result<Arc<dyn TokenCredential>, String>>,
    clients: Mutex<HashMap<String, Arc<KeyClient>>>,
    /// Latest versions resolved for wrapping, by (vault URL, key name): one
    /// `GetKey` per key and process, however many files a command re-keys.
    latest: Mutex<HashMap<(String, String), String>>,
}

impl AzureKvSource {
    /// Logs in as this service principal (Flux's `sops.azure-kv` entry) instead of
    /// using the environment's credentials.
    pub fn with_client_secret(self, tenant_id: &str, client_id: &str, secret: &str) -> Self {
        let credential = ClientSecretCredential::new(
            tenant_id,
            client_id.to_string(),
            Secret::new(secret.to_string()),
            None,
        )
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| format!("client secret credential: {e}"));
        let _ = self.credential.set(credential);
        self
    }
}

impl Default for AzureKvSource {
    fn default() -> Self {
        Self::new(NetSettings::from_env())
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Tries its credentials in order and sticks with the first that yields a token.
#[derive(Debug)]
struct ChainCredential {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    winner: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenCredential for ChainCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let start = self.winner.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for (i, (name, cred)) in self.sources.iter().enumerate().skip(start) {
            match cred.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    self.winner.store(i, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!("no Azure credential worked ({})", failures.join("; ")),
        ))
    }
}

/// The credential sources sops' `DefaultAzureCredential` would try, as configured here.
fn default_credential() -> Result<Arc<dyn TokenCredential>, String> {
    if let (Some(tenant), Some(client), Some(secret)) = (
        env("AZURE_TENANT_ID"),
        env("AZURE_CLIENT_ID"),
        env("AZURE_CLIENT_SECRET"),
    ) {
        let cred = ClientSecretCredential::new(&tenant, client, Secret::new(secret), None)
            .map_err(|e| format!("client secret credential: {e}"))?;
        return Ok(cred);
    }
    if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        let cred = WorkloadIdentityCredential::new(None)
            .map_err(|e| format!("workload identity credential: {e}"))?;
        return Ok(cred);
    }
    let mut sources: Vec<(&'static str, Arc<dyn TokenCredential>)> = Vec::new();
    if let Ok(c) = ManagedIdentityCredential::new(None) {
        sources.push(("managed identity", c));
    }
    if let Ok(c) = AzureCliCredential::new(None) {
        sources.push(("Azure CLI", c));
    }
    if sources.is_empty() {
        return Err("no Azure credential source is available".into());
    }
    Ok(Arc::new(ChainCredential {
        sources,
        winner: AtomicUsize::new(0),
    }))
}

/// Loopback vaults (tests, local proxies) have no DNS domain for Key Vault's
/// challenge check to compare against; every real vault keeps the check.
fn is_loopback(vault_url: &str) -> bool {
    match url::Url::parse(vault_url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn classify(err: azure_core::Error) -> CallError {
    use azure_core::error::ErrorKind;
    let mut detail = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        let text = c.to_string();
        if !detail.contains(&text) {
            detail.push_str(&format!(": {text}"));
        }
        cause = c.source();
    }
    match err.kind() {
        ErrorKind::Credential => CallError::no_credentials(detail),
        ErrorKind::Connection | ErrorKind::Io => CallError::transient(detail),
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let code = u16::from(*status);
            let detail = match error_code {
                Some(name) => format!("HTTP {code} {name}: {detail}"),
                None => format!("HTTP {code}: {detail}"),
            };
            if code >= 500 || code == 429 {
                CallError::transient(detail)
            } else {
                CallError::permanent(detail)
            }
        }
        _ => CallError::permanent(detail),
    }
}

struct AzureKey<'k> {
    vault_url: &'k str,
    name: &'k str,
    version: &'k str,
}

fn parse(kind: &KeyKind) -> Result<AzureKey<'_>, KeyError> {
    match kind {
        KeyKind::AzureKv {
            vault_url,
            name,
            version,
        } => Ok(AzureKey {
            vault_url: vault_url.trim_end_matches('/'),
            name,
            version,
        }),
        other => Err(KeyError::Unsupported(other.key_type())),
    }
}

fn rsa_oaep_256(value: Vec<u8>) -> Result<RequestContent<KeyOperationParameters>, CallError> {
    KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::RsaOaep256),
        value: Some(value),
        ..Default::default()
    }
    .try_into()
    .map_err(|e: azure_core::Error| CallError::permanent(format!("request body: {e}")))
}

impl AzureKvSource {
    pub fn new(settings: NetSettings) -> Self {
        AzureKvSource {
            settings,
            credential: OnceLock::new(),
            clients: Mutex::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, vault_url: &str) -> Result<Arc<KeyClient>, CallError> {
        let cached = self.clients.lock().expect("lock").get(vault_url).cloned();
        if let Some(c) = cached {
            return Ok(c);
        }
        net::install_crypto_provider();
        let credential = self
            .credential
            .get_or_init(default_credential)
            .clone()
            .map_err(CallError::no_credentials)?;
        let options = KeyClientOptions {
            client_options: ClientOptions {
                // Retries happen in `net::with_retries`, under one time budget.
                retry: RetryOptions::none(),
                ..Default::default()
            },
            verify_challenge_resource: Some(!is_loopback(vault_url)),
            ..Default::default()
        };
        let client = Arc::new(
            KeyClient::new(vault_url, credential, Some(options))
                .map_err(|e| CallError::permanent(format!("Key Vault client: {e}")))?,
        );
        self.clients
            .lock()
            .expect("lock")
            .insert(vault_url.to_string(), client.clone());
        Ok(client)
    }

    /// The version to use: the key's own, else the latest (`GetKey`).
    async fn version(&self, client: &KeyClient, key: &AzureKey<'_>) -> Result<String, CallError> {
        if !key.version.is_empty() {
            return Ok(key.version.to_string());
        }
        let name = key.name;
        let found = net::with_retries(&self.settings, || async move {
            let options = KeyClientGetKeyOptions {
                key_version: None,
                ..Default::default()
            };
            client
                .get_key(name, Some(options))
                .await
                .map_err(classify)?
                .into_model()
                .map_err(classify)
        })
        .await?;
        found
            .key
            .and_then(|k| k.kid)
            .and_then(|kid| kid.rsplit('/').next().map(str::to_string))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| CallError::permanent("GetKey returned no key id"))
    }
}

impl KeySource for AzureKvSource {
    fn key_type(&self) -> KeyType {
        KeyType::AzureKv
    }

    fn wrap(&self, kind: &KeyKind, data_key: &[u8]) -> Result<String, KeyError> {
        let key = parse(kind)?;
        let result = self.client(key.vault_url).and_then(|client| {
            net::block_on(async {
                let version = &self.version(&client, &key).await?;
                let (client, name) = (client.as_ref(), key.name);
                net::with_retries(&self.settings, || async move {
                    let options = KeyClientWrapKeyOptions {
                        key_version: Some(version.clone()),
                        ..Default::default()
                    };
                    client
                        .wrap_key(name, rsa_oaep_256(data_key.to_vec())?, Some(options))
                        .await
                        .map_err(classify)?
                        .into_model()
                        .map_err(classify)?
                        .result
                        .ok_or_else(|| CallError::permanent("wrapKey returned no value"))
                })
                .await
            })
        });
        let wrapped = result.map_err(|e| wrap_error(kind, key.vault_url, e))?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(wrapped))
    }

    fn resolve(&self, kind: &KeyKind) -> Result<Option<KeyKind>, KeyError> {
        let key = parse(kind)?;
        if !key.version.is_empty() {
            return Ok(None);
        }
        let cache_key = (key.vault_url.to_string(), key.name.to_string());
        let cached = self.latest.lock().expect("lock").get(&cache_key).cloned();
        let version = match cached {
            Some(version) => version,
            None => {
                let version = self
                    .client(key.vault_url)
                    .and_then(|client| net::block_on(self.version(&client, &key)))
                    .map_err(|e| wrap_error(kind, key.vault_url, e))?;
                self.latest
                    .lock()
                    .expect("lock")
                    .insert(cache_key, version.clone());
                version
            }
        };
        Ok(Some(KeyKind::AzureKv {
            vault_url: key.vault_url.to_string(),
            name: key.name.to_string(),
            version,
        }))
    }

    fn unwrap(&self, master: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let kind = &master.kind;
        let key = parse(kind)?;
        // sops writes unpadded base64url; accept padded text too.
        let wrapped = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(master.enc.trim().trim_end_matches('='))
            .map_err(|e| KeyError::Unwrap {
                key: kind.describe(),
                reason: format!("enc is not base64url: {e}"),
            })?;
        let result = self.client(key.vault_url).and_then(|client| {
            net::block_on(async {
                let version = &self.version(&client, &key).await?;
                let (client, name, wrapped) = (client.as_ref(), key.name, &wrapped);
                net::with_retries(&self.settings, || async move {
                    client
                        .unwrap_key(name, version, rsa_oaep_256(wrapped.clone())?, None)
                        .await
                        .map_err(classify)?
                        .into_model()
                        .map_err(classify)?
                        .result
                        .map(Zeroizing::new)
                        .ok_or_else(|| CallError::permanent("unwrapKey returned no value"))
                })
                .await
            })
        });
        result.map_err(|e| unwrap_error(kind, key.vault_url, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_vaults_skip_the_challenge_domain_check() {
        assert!(is_loopback("https://127.0.0.1:8443"));
        assert!(is_loopback("https://localhost:8443"));
        assert!(is_loopback("https://[::1]:8443"));
        assert!(!is_loopback("https://myvault.vault.azure.net"));
        assert!(!is_loopback("https://127.0.0.1.evil.example"));
    }
}
