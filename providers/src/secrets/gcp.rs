//! GCP Secret Manager over its REST API (`secretmanager.googleapis.com/v1`).
//!
//! Auth: workload identity (the metadata server's access token), or a
//! service-account key, exchanged for a token with a signed JWT (RFC 7523).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;

use super::{
    http::{self, AccessToken, TokenCache, TokenResponse},
    Payload, RemoteSecret, SecretBytes, SecretSource, SourceError,
};

const PROVIDER: &str = "gcp";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

#[derive(Clone, Debug)]
pub enum GcpAuth {
    /// The metadata server of the node (GKE workload identity).
    WorkloadIdentity,
    /// A service-account key JSON file's content.
    ServiceAccountKey(SecretBytes),
}

#[derive(Clone, Debug)]
pub struct GcpConfig {
    pub project: String,
    pub auth: GcpAuth,
    /// API base, default `https://secretmanager.googleapis.com`.
    pub endpoint: Option<String>,
    /// Metadata server base, default `http://metadata.google.internal`.
    pub metadata_endpoint: Option<String>,
}

#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

/// One Secret Manager client per store.
pub struct GcpSource {
    config: GcpConfig,
    key: Option<ServiceAccountKey>,
    http: reqwest::Client,
    token: TokenCache,
}

impl GcpSource {
    pub fn new(config: GcpConfig) -> Result<Self, SourceError> {
        let key = match &config.auth {
            GcpAuth::ServiceAccountKey(json) => Some(serde_json::from_slice(json.expose()).map_err(|_| {
                SourceError::Config {
                    provider: PROVIDER,
                    detail: "service-account key is not a JSON key file with client_email and private_key".into(),
                }
            })?),
            GcpAuth::WorkloadIdentity => None,
        };
        Ok(Self {
            http: http::client(PROVIDER)?,
            key,
            token: TokenCache::default(),
            config,
        })
    }

    fn api(&self) -> &str {
        self.config
            .endpoint
            .as_deref()
            .unwrap_or("https://secretmanager.googleapis.com")
            .trim_end_matches('/')
    }

    async fn bearer(&self) -> Result<String, SourceError> {
        self.token
            .bearer(|| async {
                match &self.key {
                    Some(key) => self.token_from_key(key).await,
                    None => self.token_from_metadata().await,
                }
            })
            .await
    }

    async fn token_from_metadata(&self) -> Result<AccessToken, SourceError> {
        let base = self
            .config
            .metadata_endpoint
            .as_deref()
            .unwrap_or("http://metadata.google.internal")
            .trim_end_matches('/');
        let url = format!("{base}/computeMetadata/v1/instance/service-accounts/default/token");
        let resp = self
            .http
            .get(url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(|e| http::transport(PROVIDER, e))?;
        if !resp.status().is_success() {
            return Err(http::token_error(PROVIDER, "metadata server", &resp));
        }
        let t: TokenResponse = http::json(PROVIDER, "metadata token", resp).await?;
        Ok(AccessToken::new(t.access_token, t.expires_in))
    }

    async fn token_from_key(&self, key: &ServiceAccountKey) -> Result<AccessToken, SourceError> {
        let assertion = signed_jwt(key)?;
        let resp = self
            .http
            .post(&key.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| http::transport(PROVIDER, e))?;
        if !resp.status().is_success() {
            return Err(http::token_error(PROVIDER, "service-account token", &resp));
        }
        let t: TokenResponse = http::json(PROVIDER, "service-account token", resp).await?;
        Ok(AccessToken::new(t.access_token, t.expires_in))
    }

    /// `projects/<p>/secrets/<name>` for a short name; a full resource name passes through.
    fn secret_name(&self, key: &str) -> String {
        if key.starts_with("projects/") {
            key.to_string()
        } else {
            format!(
                "projects/{}/secrets/{}",
                http::segment(&self.config.project),
                http::segment(key)
            )
        }
    }
}

/// The DER bytes of a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
fn pkcs8_der(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")?
        .strip_suffix("-----END PRIVATE KEY-----")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// A JWT for the OAuth JWT-bearer grant, signed RS256 with the key's private key
/// (AWS-LC: constant-time RSA).
fn signed_jwt(key: &ServiceAccountKey) -> Result<String, SourceError> {
    use aws_lc_rs::{
        rand::SystemRandom,
        signature::{RsaKeyPair, RSA_PKCS1_SHA256},
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let header = b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": key.client_email,
        "scope": SCOPE,
        "aud": key.token_uri,
        "iat": now,
        "exp": now + 3600,
    });
    let claims = b64.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let bad_key = || SourceError::Config {
        provider: PROVIDER,
        detail: "service-account private_key is not a PKCS#8 PEM RSA key".into(),
    };
    let der = zeroize::Zeroizing::new(pkcs8_der(&key.private_key).ok_or_else(bad_key)?);
    let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| bad_key())?;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| SourceError::Config {
        provider: PROVIDER,
        detail: "could not sign the service-account JWT".into(),
    })?;
    Ok(format!("{signing_input}.{}", b64.encode(signature)))
}

#[async_trait::async_trait]
impl SecretSource for GcpSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn fetch(&self, key: &str, version: Option<&str>) -> Result<RemoteSecret, SourceError> {
        let version = version.unwrap_or("latest");
        let url = format!(
            "{}/v1/{}/versions/{}:access",
            self.api(),
            self.secret_name(key),
            http::segment(version)
        );
        #[derive(Deserialize)]
        struct Access {
            name: String,
            payload: AccessPayload,
        }
        #[derive(Deserialize)]
        struct AccessPayload {
            #[serde(default)]
            data: String,
        }
        let req = self
            .http
            .get(url)
            .header("Authorization", self.bearer().await?);
        let body: Access = http::send_json(PROVIDER, key, req).await?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(body.payload.data.as_bytes())
            .map_err(|_| SourceError::Protocol {
                provider: PROVIDER,
                detail: format!("payload of {key:?} is not base64"),
            })?;
        let version = body.name.rsplit('/').next().unwrap_or_default().to_string();
        Ok(RemoteSecret {
            key: key.to_string(),
            version,
            payload: Payload::Blob(SecretBytes::new(data)),
        })
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, SourceError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            secrets: Vec<Item>,
            #[serde(default, rename = "nextPageToken")]
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        struct Item {
            name: String,
        }
        let mut out = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut req = self
                .http
                .get(format!(
                    "{}/v1/projects/{}/secrets",
                    self.api(),
                    http::segment(&self.config.project)
                ))
                .header("Authorization", self.bearer().await?);
            if let Some(t) = &page_token {
                req = req.query(&[("pageToken", t)]);
            }
            let page: Page = http::send_json(PROVIDER, prefix, req).await?;
            out.extend(
                page.secrets
                    .into_iter()
                    .filter_map(|s| s.name.rsplit('/').next().map(str::to_string))
                    .filter(|n| n.starts_with(prefix)),
            );
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => page_token = Some(t),
                None => break,
            }
        }
        out.sort();
        Ok(out)
    }
}
