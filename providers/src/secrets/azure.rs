//! Azure Key Vault secrets over the REST API (`api-version=7.4`).
//!
//! Auth: a service principal with a client secret, workload identity (a federated
//! token file used as client assertion), or managed identity (the IMDS endpoint).

use std::path::PathBuf;

use serde::Deserialize;

use super::{
    http::{self, AccessToken, TokenCache, TokenResponse},
    Payload, RemoteSecret, SecretBytes, SecretSource, SourceError,
};

const PROVIDER: &str = "azure";
const API_VERSION: &str = "7.4";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const VAULT_RESOURCE: &str = "https://vault.azure.net";

#[derive(Clone, Debug)]
pub enum AzureAuth {
    ClientSecret {
        tenant_id: String,
        client_id: String,
        client_secret: SecretBytes,
    },
    /// `client_id` selects a user-assigned identity.
    ManagedIdentity { client_id: Option<String> },
    WorkloadIdentity {
        tenant_id: String,
        client_id: String,
        token_file: PathBuf,
    },
}

#[derive(Clone, Debug)]
pub struct AzureConfig {
    /// e.g. `https://my-vault.vault.azure.net`.
    pub vault_url: String,
    pub auth: AzureAuth,
    /// Default `https://login.microsoftonline.com`.
    pub authority_host: Option<String>,
    /// Default `http://169.254.169.254`.
    pub imds_endpoint: Option<String>,
}

/// One Key Vault client per store.
pub struct AzureSource {
    config: AzureConfig,
    http: reqwest::Client,
    token: TokenCache,
}

impl AzureSource {
    pub fn new(config: AzureConfig) -> Result<Self, SourceError> {
        if !config.vault_url.starts_with("https://") && !config.vault_url.starts_with("http://") {
            return Err(SourceError::Config {
                provider: PROVIDER,
                detail: format!("vaultUrl {:?} must be an https URL", config.vault_url),
            });
        }
        Ok(Self {
            http: http::client(PROVIDER)?,
            token: TokenCache::default(),
            config,
        })
    }

    fn vault(&self) -> &str {
        self.config.vault_url.trim_end_matches('/')
    }

    async fn bearer(&self) -> Result<String, SourceError> {
        self.token.bearer(|| self.login()).await
    }

    async fn login(&self) -> Result<AccessToken, SourceError> {
        let authority = self
            .config
            .authority_host
            .as_deref()
            .unwrap_or("https://login.microsoftonline.com")
            .trim_end_matches('/');
        let resp = match &self.config.auth {
            AzureAuth::ClientSecret {
                tenant_id,
                client_id,
                client_secret,
            } => {
                let secret = String::from_utf8_lossy(client_secret.expose()).into_owned();
                self.http
                    .post(format!(
                        "{authority}/{}/oauth2/v2.0/token",
                        http::segment(tenant_id)
                    ))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.as_str()),
                        ("scope", VAULT_SCOPE),
                    ])
                    .send()
                    .await
            }
            AzureAuth::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => {
                let assertion =
                    tokio::fs::read_to_string(token_file)
                        .await
                        .map_err(|e| SourceError::Auth {
                            provider: PROVIDER,
                            detail: format!(
                                "cannot read federated token {}: {e}",
                                token_file.display()
                            ),
                        })?;
                self.http
                    .post(format!(
                        "{authority}/{}/oauth2/v2.0/token",
                        http::segment(tenant_id)
                    ))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", assertion.trim()),
                        ("scope", VAULT_SCOPE),
                    ])
                    .send()
                    .await
            }
            AzureAuth::ManagedIdentity { client_id } => {
                let imds = self
                    .config
                    .imds_endpoint
                    .as_deref()
                    .unwrap_or("http://169.254.169.254")
                    .trim_end_matches('/');
                let mut query = vec![("api-version", "2018-02-01"), ("resource", VAULT_RESOURCE)];
                if let Some(id) = client_id {
                    query.push(("client_id", id.as_str()));
                }
                self.http
                    .get(format!("{imds}/metadata/identity/oauth2/token"))
                    .header("Metadata", "true")
                    .query(&query)
                    .send()
                    .await
            }
        }
        .map_err(|e| http::transport(PROVIDER, e))?;
        if !resp.status().is_success() {
            return Err(http::token_error(PROVIDER, "Azure AD token", &resp));
        }
        let t: TokenResponse = http::json(PROVIDER, "Azure AD token", resp).await?;
        Ok(AccessToken::new(t.access_token, t.expires_in))
    }
}

#[async_trait::async_trait]
impl SecretSource for AzureSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn fetch(&self, key: &str, version: Option<&str>) -> Result<RemoteSecret, SourceError> {
        // `secret/` prefixes are accepted for compatibility with ESO-style keys.
        let name = key.strip_prefix("secret/").unwrap_or(key);
        let mut url = format!("{}/secrets/{}", self.vault(), http::segment(name));
        if let Some(v) = version {
            url = format!("{url}/{}", http::segment(v));
        }
        #[derive(Deserialize)]
        struct Bundle {
            #[serde(default)]
            value: Option<String>,
            id: String,
        }
        let req = self
            .http
            .get(url)
            .query(&[("api-version", API_VERSION)])
            .header("Authorization", self.bearer().await?);
        let bundle: Bundle = http::send_json(PROVIDER, key, req).await?;
        let value = bundle.value.ok_or_else(|| SourceError::NotFound {
            provider: PROVIDER,
            key: key.to_string(),
        })?;
        let version = bundle.id.rsplit('/').next().unwrap_or_default().to_string();
        Ok(RemoteSecret {
            key: key.to_string(),
            version,
            payload: Payload::Blob(SecretBytes::new(value.into_bytes())),
        })
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, SourceError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<Item>,
            #[serde(default, rename = "nextLink")]
            next_link: Option<String>,
        }
        #[derive(Deserialize)]
        struct Item {
            id: String,
        }
        let mut out = Vec::new();
        let mut url = format!("{}/secrets?api-version={API_VERSION}", self.vault());
        loop {
            let req = self
                .http
                .get(&url)
                .header("Authorization", self.bearer().await?);
            let page: Page = http::send_json(PROVIDER, prefix, req).await?;
            out.extend(
                page.value
                    .into_iter()
                    .filter_map(|s| s.id.rsplit('/').next().map(str::to_string))
                    .filter(|n| n.starts_with(prefix)),
            );
            match page.next_link.filter(|l| !l.is_empty()) {
                // Only follow links on the same vault: never send the token elsewhere.
                Some(link) if link.starts_with(self.vault()) => url = link,
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }
}
