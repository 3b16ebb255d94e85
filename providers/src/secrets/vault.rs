//! Vault / OpenBao KV v1 and v2, with token, AppRole or Kubernetes auth.
//!
//! The login token is cached and reused until its lease is near its end; a 403
//! triggers one re-login and retry (the token may have been revoked).

use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::{
    content_version, http, json_value_bytes, Payload, RemoteSecret, SecretBytes, SecretSource,
    SourceError,
};

const PROVIDER: &str = "vault";

/// Which KV secrets engine version the mount runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvVersion {
    V1,
    V2,
}

/// How to obtain a Vault token.
#[derive(Clone, Debug)]
pub enum VaultAuth {
    /// A static token.
    Token(SecretBytes),
    /// AppRole login at `auth/<mount>/login`.
    AppRole {
        mount: String,
        role_id: String,
        secret_id: SecretBytes,
    },
    /// Kubernetes login with the service-account JWT read from `jwt_path` on each login.
    Kubernetes {
        mount: String,
        role: String,
        jwt_path: PathBuf,
    },
}

/// Everything needed to read from one KV mount.
#[derive(Clone, Debug)]
pub struct VaultConfig {
    /// Base address, e.g. `https://vault.example:8200`.
    pub address: String,
    /// Vault Enterprise / OpenBao namespace.
    pub namespace: Option<String>,
    /// KV mount path, e.g. `secret`.
    pub mount: String,
    pub kv_version: KvVersion,
    pub auth: VaultAuth,
}

struct CachedToken {
    token: SecretBytes,
    /// `None` for tokens that do not expire (or static tokens).
    renew_after: Option<Instant>,
}

/// A Vault KV source; create once per store and share.
pub struct VaultSource {
    config: VaultConfig,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

impl VaultSource {
    pub fn new(config: VaultConfig) -> Result<Self, SourceError> {
        if !config.address.starts_with("http://") && !config.address.starts_with("https://") {
            return Err(SourceError::Config {
                provider: PROVIDER,
                detail: format!(
                    "address {:?} must start with http:// or https://",
                    config.address
                ),
            });
        }
        Ok(Self {
            http: http::client(PROVIDER)?,
            token: Mutex::new(None),
            config,
        })
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/v1/{}",
            self.config.address.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, self.url(path));
        if let Some(ns) = &self.config.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        req
    }

    /// The cached token, logging in first when there is none or it is about to expire.
    async fn token(&self, force_login: bool) -> Result<SecretBytes, SourceError> {
        let mut guard = self.token.lock().await;
        if let Some(cached) = guard.as_ref() {
            let fresh = cached.renew_after.is_none_or(|t| Instant::now() < t);
            if fresh && !force_login {
                return Ok(cached.token.clone());
            }
        }
        let cached = self.login().await?;
        let token = cached.token.clone();
        *guard = Some(cached);
        Ok(token)
    }

    async fn login(&self) -> Result<CachedToken, SourceError> {
        let (mount, body) = match &self.config.auth {
            VaultAuth::Token(t) => {
                return Ok(CachedToken {
                    token: t.clone(),
                    renew_after: None,
                })
            }
            VaultAuth::AppRole {
                mount,
                role_id,
                secret_id,
            } => {
                let secret_id = String::from_utf8_lossy(secret_id.expose()).into_owned();
                (
                    mount,
                    serde_json::json!({ "role_id": role_id, "secret_id": secret_id }),
                )
            }
            VaultAuth::Kubernetes {
                mount,
                role,
                jwt_path,
            } => {
                let jwt =
                    tokio::fs::read_to_string(jwt_path)
                        .await
                        .map_err(|e| SourceError::Auth {
                            provider: PROVIDER,
                            detail: format!(
                                "cannot read service-account token {}: {e}",
                                jwt_path.display()
                            ),
                        })?;
                (
                    mount,
                    serde_json::json!({ "role": role, "jwt": jwt.trim() }),
                )
            }
        };
        let path = format!("auth/{}/login", mount.trim_matches('/'));
        let resp = self
            .request(reqwest::Method::POST, &path)
            .json(&body)
            .send()
            .await
            .map_err(|e| http::transport(PROVIDER, e))?;
        if !resp.status().is_success() {
            let status = resp.status();
            return Err(match status.as_u16() {
                429 | 500..=599 => http::status_error(PROVIDER, &path, &resp),
                _ => SourceError::Auth {
                    provider: PROVIDER,
                    detail: format!("login at {path} failed with HTTP {status}"),
                },
            });
        }
        #[derive(Deserialize)]
        struct Login {
            auth: LoginAuth,
        }
        #[derive(Deserialize)]
        struct LoginAuth {
            client_token: String,
            #[serde(default)]
            lease_duration: u64,
        }
        let login: Login = http::json(PROVIDER, &path, resp).await?;
        // Renew when two thirds of the lease have passed.
        let renew_after = (login.auth.lease_duration > 0)
            .then(|| Instant::now() + Duration::from_secs(login.auth.lease_duration * 2 / 3));
        Ok(CachedToken {
            token: SecretBytes::new(login.auth.client_token.into_bytes()),
            renew_after,
        })
    }

    /// GET with the token; on 403 log in again once (the token may be revoked or expired).
    async fn get(
        &self,
        path: &str,
        key: &str,
        list: bool,
    ) -> Result<reqwest::Response, SourceError> {
        let mut force_login = false;
        loop {
            let token = self.token(force_login).await?;
            let mut req = self.request(reqwest::Method::GET, path).header(
                "X-Vault-Token",
                String::from_utf8_lossy(token.expose()).as_ref(),
            );
            if list {
                req = req.query(&[("list", "true")]);
            }
            let resp = req.send().await.map_err(|e| http::transport(PROVIDER, e))?;
            let can_relogin = !matches!(self.config.auth, VaultAuth::Token(_));
            if resp.status() == reqwest::StatusCode::FORBIDDEN && can_relogin && !force_login {
                force_login = true;
                continue;
            }
            if !resp.status().is_success() {
                return Err(http::status_error(PROVIDER, key, &resp));
            }
            return Ok(resp);
        }
    }

    fn mount(&self) -> &str {
        self.config.mount.trim_matches('/')
    }
}

#[derive(Deserialize)]
struct KvResponse {
    data: serde_json::Value,
}

fn fields_of(
    key: &str,
    value: serde_json::Value,
) -> Result<BTreeMap<String, SecretBytes>, SourceError> {
    match value {
        serde_json::Value::Object(map) => Ok(map
            .into_iter()
            .map(|(k, v)| (k, json_value_bytes(v)))
            .collect()),
        _ => Err(SourceError::Protocol {
            provider: PROVIDER,
            detail: format!("KV data of {key:?} is not an object"),
        }),
    }
}

#[async_trait::async_trait]
impl SecretSource for VaultSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn fetch(&self, key: &str, version: Option<&str>) -> Result<RemoteSecret, SourceError> {
        let key = key.trim_matches('/');
        match self.config.kv_version {
            KvVersion::V2 => {
                let mut path = format!("{}/data/{key}", self.mount());
                if let Some(v) = version {
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(SourceError::Config {
                            provider: PROVIDER,
                            detail: format!("KV v2 version {v:?} of {key:?} must be a number"),
                        });
                    }
                    path = format!("{path}?version={v}");
                }
                let resp = self.get(&path, key, false).await?;
                let mut body: KvResponse = http::json(PROVIDER, key, resp).await?;
                let version = body.data["metadata"]["version"]
                    .as_u64()
                    .map(|v| v.to_string())
                    .ok_or_else(|| SourceError::Protocol {
                        provider: PROVIDER,
                        detail: format!("KV v2 response for {key:?} has no metadata.version"),
                    })?;
                // A soft-deleted or destroyed latest version reads as data: null.
                let data = body.data["data"].take();
                if data.is_null() {
                    return Err(SourceError::NotFound {
                        provider: PROVIDER,
                        key: key.to_string(),
                    });
                }
                Ok(RemoteSecret {
                    key: key.to_string(),
                    version,
                    payload: Payload::Fields(fields_of(key, data)?),
                })
            }
            KvVersion::V1 => {
                if version.is_some() {
                    return Err(SourceError::Config {
                        provider: PROVIDER,
                        detail: format!(
                            "KV v1 has no versions; remove the version pinned for {key:?}"
                        ),
                    });
                }
                let path = format!("{}/{key}", self.mount());
                let resp = self.get(&path, key, false).await?;
                let body: KvResponse = http::json(PROVIDER, key, resp).await?;
                let fields = fields_of(key, body.data)?;
                Ok(RemoteSecret {
                    key: key.to_string(),
                    version: content_version(&fields),
                    payload: Payload::Fields(fields),
                })
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::new();
        let mut pending = vec![prefix.trim_matches('/').to_string()];
        while let Some(dir) = pending.pop() {
            let path = match self.config.kv_version {
                KvVersion::V2 => format!("{}/metadata/{dir}", self.mount()),
                KvVersion::V1 => format!("{}/{dir}", self.mount()),
            };
            let resp = match self.get(&path, &dir, true).await {
                Ok(r) => r,
                // An empty directory lists as 404.
                Err(SourceError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            #[derive(Deserialize)]
            struct ListData {
                keys: Vec<String>,
            }
            #[derive(Deserialize)]
            struct ListResponse {
                data: ListData,
            }
            let body: ListResponse = http::json(PROVIDER, &dir, resp).await?;
            for k in body.data.keys {
                let full = if dir.is_empty() {
                    k.clone()
                } else {
                    format!("{dir}/{k}")
                };
                if let Some(sub) = full.strip_suffix('/') {
                    pending.push(sub.to_string());
                } else {
                    out.push(full);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
