//! Shared HTTP plumbing for the REST-based sources: map status codes to
//! [`SourceError`] without ever copying a response body that might hold a value.

use std::time::Duration;

use super::SourceError;

/// One reqwest client with sane timeouts, shared by all calls of a source.
pub(crate) fn client(provider: &'static str) -> Result<reqwest::Client, SourceError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| SourceError::Config {
            provider,
            detail: format!("cannot build HTTP client: {e}"),
        })
}

/// A transport failure (connection refused, timeout): the provider is down.
pub(crate) fn transport(provider: &'static str, err: reqwest::Error) -> SourceError {
    // reqwest's Display names the URL, never a body.
    SourceError::Unavailable {
        provider,
        detail: err.without_url().to_string(),
    }
}

/// Map a non-success status to an error; 404 becomes `NotFound` for `key`.
pub(crate) fn status_error(
    provider: &'static str,
    key: &str,
    resp: &reqwest::Response,
) -> SourceError {
    let status = resp.status();
    match status.as_u16() {
        404 => SourceError::NotFound {
            provider,
            key: key.to_string(),
        },
        401 | 403 => SourceError::Auth {
            provider,
            detail: format!("HTTP {status} reading {key:?}"),
        },
        429 => SourceError::RateLimited {
            provider,
            retry_after: retry_after(resp),
        },
        500..=599 => SourceError::Unavailable {
            provider,
            detail: format!("HTTP {status}"),
        },
        _ => SourceError::Protocol {
            provider,
            detail: format!("HTTP {status} reading {key:?}"),
        },
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Parse a JSON body into `T`, naming only the provider and key on failure.
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    key: &str,
    resp: reqwest::Response,
) -> Result<T, SourceError> {
    let bytes = resp.bytes().await.map_err(|e| transport(provider, e))?;
    serde_json::from_slice(&bytes).map_err(|e| SourceError::Protocol {
        provider,
        // serde_json's message can quote the input, so report only where it failed.
        detail: format!(
            "cannot parse response for {key:?} ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

/// Send a request, and parse a successful JSON answer; `what` names the remote key in
/// errors (never a value).
pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    what: &str,
    req: reqwest::RequestBuilder,
) -> Result<T, SourceError> {
    let resp = req.send().await.map_err(|e| transport(provider, e))?;
    if !resp.status().is_success() {
        return Err(status_error(provider, what, &resp));
    }
    json(provider, what, resp).await
}

/// The current access token of one client, fetched again shortly before it expires.
/// The lock makes concurrent callers share one login.
#[derive(Default)]
pub(crate) struct TokenCache(tokio::sync::Mutex<Option<AccessToken>>);

impl TokenCache {
    /// `Authorization` header value, logging in with `login` when needed.
    pub async fn bearer<F, Fut>(&self, login: F) -> Result<String, SourceError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<AccessToken, SourceError>>,
    {
        let mut guard = self.0.lock().await;
        if let Some(t) = guard.as_ref() {
            if std::time::Instant::now() < t.renew_after {
                return Ok(t.bearer());
            }
        }
        let fresh = login().await?;
        let bearer = fresh.bearer();
        *guard = Some(fresh);
        Ok(bearer)
    }
}

/// An OAuth access token plus when to fetch a new one.
pub(crate) struct AccessToken {
    pub token: super::SecretBytes,
    pub renew_after: std::time::Instant,
}

impl AccessToken {
    /// A token valid for `expires_in` seconds, renewed a minute (or a tenth) early.
    pub fn new(token: String, expires_in: u64) -> Self {
        let margin = (expires_in / 10).min(60);
        Self {
            token: super::SecretBytes::new(token.into_bytes()),
            renew_after: std::time::Instant::now()
                + Duration::from_secs(expires_in.saturating_sub(margin)),
        }
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", String::from_utf8_lossy(self.token.expose()))
    }
}

/// The OAuth token endpoint answer shared by Google and Microsoft (Azure IMDS sends
/// `expires_in` as a string, hence the lenient field).
#[derive(serde::Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: u64,
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    })
}

use serde::Deserialize as _;

/// Map a token endpoint failure: 4xx is an auth problem, 5xx/429 are transient.
pub(crate) fn token_error(
    provider: &'static str,
    what: &str,
    resp: &reqwest::Response,
) -> SourceError {
    let status = resp.status();
    match status.as_u16() {
        429 | 500..=599 => status_error(provider, what, resp),
        _ => SourceError::Auth {
            provider,
            detail: format!("{what}: token request failed with HTTP {status}"),
        },
    }
}

/// Percent-encode one URL path segment (remote secret names are user input).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
