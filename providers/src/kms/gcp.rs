//! Google Cloud KMS (`gcp_kms:` entries): `encrypt`/`decrypt` on the key's
//! `resource_id` with no additional authenticated data, as sops does; `enc` is
//! the standard base64 of the ciphertext.
//!
//! The official client (REST transport) is used. Credentials: sops'
//! `GOOGLE_OAUTH_ACCESS_TOKEN` if set, else Application Default Credentials
//! (`GOOGLE_APPLICATION_CREDENTIALS`, the gcloud well-known file, then the
//! metadata server / workload identity; `GCE_METADATA_HOST` moves it).
//! `SOPS_GCP_KMS_ENDPOINT` and `SOPS_GCP_KMS_UNIVERSE_DOMAIN` override the
//! endpoint (private endpoints, sovereign clouds, tests).

use base64::Engine;
use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_kms_v1::client::KeyManagementService;
use hush_crypto::{KeyKind, KeyType, MasterKey};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::net::{self, CallError, NetSettings};
use super::{unwrap_error, wrap_error};
use crate::source::{KeyError, KeySource};

const DEFAULT_ENDPOINT: &str = "https://cloudkms.googleapis.com";

/// Wraps data keys with Cloud KMS. The client is built on first use.
pub struct GcpKmsSource {
    settings: NetSettings,
    /// Overrides `SOPS_GCP_KMS_ENDPOINT`.
    endpoint: Option<String>,
    /// A service-account key (JSON) used instead of the environment's credentials.
    service_account_key: Option<Zeroizing<String>>,
    client: OnceCell<Result<KeyManagementService, CallError>>,
}

impl Default for GcpKmsSource {
    fn default() -> Self {
        Self::new(NetSettings::from_env())
    }
}

/// A fixed OAuth access token (`GOOGLE_OAUTH_ACCESS_TOKEN`), sent as a bearer token.
#[derive(Debug)]
struct StaticToken {
    header: http::HeaderValue,
    tag: EntityTag,
}

impl CredentialsProvider for StaticToken {
    async fn headers(
        &self,
        _extensions: http::Extensions,
    ) -> Result<CacheableResource<http::HeaderMap>, google_cloud_auth::errors::CredentialsError>
    {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, self.header.clone());
        Ok(CacheableResource::New {
            entity_tag: self.tag.clone(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The REST endpoint: `SOPS_GCP_KMS_ENDPOINT` (a URL, or host[:port] meaning https).
fn endpoint() -> String {
    match env("SOPS_GCP_KMS_ENDPOINT") {
        Some(e) if e.contains("://") => e.trim_end_matches('/').to_string(),
        Some(e) => format!("https://{}", e.trim_end_matches('/')),
        None => match env("SOPS_GCP_KMS_UNIVERSE_DOMAIN") {
            Some(domain) => format!("https://cloudkms.{domain}"),
            None => DEFAULT_ENDPOINT.to_string(),
        },
    }
}

fn classify(err: google_cloud_gax::error::Error) -> CallError {
    let detail = match err.status() {
        Some(status) => format!("{:?}: {}", status.code, status.message),
        None => {
            let mut text = err.to_string();
            let mut cause = std::error::Error::source(&err);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    };
    let detail = match err.http_status_code() {
        Some(code) => format!("HTTP {code}: {detail}"),
        None => detail,
    };
    if err.is_authentication() {
        return CallError::no_credentials(detail);
    }
    let http = err.http_status_code().unwrap_or(0);
    let transient_status = err.status().is_some_and(|s| {
        use google_cloud_gax::error::rpc::Code;
        matches!(
            s.code,
            Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded | Code::Internal
        )
    });
    if err.is_timeout()
        || err.is_connect()
        || err.is_io()
        || err.is_transport()
        || transient_status
        || http >= 500
        || http == 429
    {
        CallError::transient(detail)
    } else {
        CallError::permanent(detail)
    }
}

impl GcpKmsSource {
    pub fn new(settings: NetSettings) -> Self {
        GcpKmsSource {
            settings,
            endpoint: None,
            service_account_key: None,
            client: OnceCell::new(),
        }
    }

    /// Sends every call to `url` (a private endpoint, or a local stand-in).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Signs in with this service-account key (the JSON file, e.g. Flux's
    /// `sops.gcp-kms` entry) instead of the environment's credentials.
    pub fn with_service_account_key(mut self, json: Zeroizing<String>) -> Self {
        self.service_account_key = Some(json);
        self
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone().unwrap_or_else(endpoint)
    }

    async fn client(&self) -> Result<KeyManagementService, CallError> {
        self.client
            .get_or_init(|| async {
                net::install_crypto_provider();
                let mut builder = KeyManagementService::builder()
                    .with_endpoint(self.endpoint())
                    // Retries happen in `net::with_retries`, under one time budget.
                    .with_retry_policy(NeverRetry)
                    .with_attempt_timeout(self.settings.total_timeout);
                if let Some(domain) = env("SOPS_GCP_KMS_UNIVERSE_DOMAIN") {
                    builder = builder.with_universe_domain(domain);
                }
                if let Some(key) = &self.service_account_key {
                    // Neither error may quote the key: name the problem only.
                    let json: serde_json::Value = serde_json::from_str(key).map_err(|_| {
                        CallError::no_credentials("the service-account key is not JSON")
                    })?;
                    let creds = google_cloud_auth::credentials::service_account::Builder::new(json)
                        .build()
                        .map_err(|_| {
                            CallError::no_credentials(
                                "the service-account key is not a valid service_account key",
                            )
                        })?;
                    builder = builder.with_credentials(creds);
                } else if let Some(token) = env("GOOGLE_OAUTH_ACCESS_TOKEN") {
                    let mut header =
                        http::HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(
                            |_| {
                                CallError::no_credentials(
                                    "GOOGLE_OAUTH_ACCESS_TOKEN is not a valid header value",
                                )
                            },
                        )?;
                    header.set_sensitive(true);
                    let creds = Credentials::from(StaticToken {
                        header,
                        tag: EntityTag::new(),
                    });
                    builder = builder.with_credentials(creds);
                }
                builder
                    .build()
                    .await
                    .map_err(|e| CallError::no_credentials(format!("Cloud KMS client: {e}")))
            })
            .await
            .clone()
    }
}

fn resource_id(kind: &KeyKind) -> Result<&str, KeyError> {
    match kind {
        KeyKind::GcpKms { resource_id } => Ok(resource_id),
        other => Err(KeyError::Unsupported(other.key_type())),
    }
}

impl KeySource for GcpKmsSource {
    fn key_type(&self) -> KeyType {
        KeyType::GcpKms
    }

    fn wrap(&self, kind: &KeyKind, data_key: &[u8]) -> Result<String, KeyError> {
        let name = resource_id(kind)?;
        let plaintext = bytes::Bytes::copy_from_slice(data_key);
        let ciphertext = net::block_on(async {
            let client = &self.client().await?;
            let plaintext = &plaintext;
            net::with_retries(&self.settings, || async move {
                client
                    .encrypt()
                    .set_name(name)
                    .set_plaintext(plaintext.clone())
                    .send()
                    .await
                    .map(|r| r.ciphertext)
                    .map_err(classify)
            })
            .await
        })
        .map_err(|e| wrap_error(kind, &self.endpoint(), e))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(ciphertext))
    }

    fn unwrap(&self, master: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let kind = &master.kind;
        let name = resource_id(kind)?;
        let ciphertext = base64::engine::general_purpose::STANDARD
            .decode(master.enc.trim())
            .map_err(|e| KeyError::Unwrap {
                key: kind.describe(),
                reason: format!("enc is not base64: {e}"),
            })?;
        let ciphertext = bytes::Bytes::from(ciphertext);
        net::block_on(async {
            let client = &self.client().await?;
            let ciphertext = &ciphertext;
            net::with_retries(&self.settings, || async move {
                client
                    .decrypt()
                    .set_name(name)
                    .set_ciphertext(ciphertext.clone())
                    .send()
                    .await
                    .map(|r| Zeroizing::new(r.plaintext.to_vec()))
                    .map_err(classify)
            })
            .await
        })
        .map_err(|e| unwrap_error(kind, &self.endpoint(), e))
    }
}
