//! AWS KMS (`kms:` entries): `Encrypt`/`Decrypt` of the data key with the
//! key's ARN and encryption context, as sops does.
//!
//! Credentials come from the SDK's default chain (environment, shared profile
//! or `aws_profile`, web identity / IRSA, container and instance metadata),
//! optionally exchanged through STS AssumeRole for the key's `role` with sops'
//! session name. The region is the ARN's. `AWS_ENDPOINT_URL_KMS` /
//! `AWS_ENDPOINT_URL` override the endpoint (tests, private endpoints).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use hush_crypto::{KeyKind, KeyType, MasterKey};
use zeroize::Zeroizing;

use super::net::{self, CallError, NetSettings};
use super::{unwrap_error, wrap_error};
use crate::source::{KeyError, KeySource};

/// STS limits role session names to 64 characters.
const SESSION_NAME_LIMIT: usize = 64;

/// The parts of a `kms:` entry that decide which client to use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    region: String,
    profile: String,
    role: Option<String>,
}

/// Static AWS credentials (Flux's `sops.aws-kms` key-Secret entry) used instead of
/// the environment's credential chain.
#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StaticCredentials {{ access_key_id: {:?}, .. }}",
            self.access_key_id
        )
    }
}

/// Wraps data keys with AWS KMS. Clients are built on first use and reused, so
/// constructing the source needs neither credentials nor network.
pub struct AwsKmsSource {
    settings: NetSettings,
    /// Overrides the environment's endpoint (`AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL`).
    endpoint: Option<String>,
    /// Overrides the environment's credential chain (a role, if the key names one, is
    /// still assumed, with these as the base credentials).
    credentials: Option<StaticCredentials>,
    clients: Mutex<HashMap<ClientKey, aws_sdk_kms::Client>>,
}

impl Default for AwsKmsSource {
    fn default() -> Self {
        Self::new(NetSettings::from_env())
    }
}

impl AwsKmsSource {
    pub fn new(settings: NetSettings) -> Self {
        AwsKmsSource {
            settings,
            endpoint: None,
            credentials: None,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Uses these credentials instead of the environment's.
    pub fn with_static_credentials(mut self, credentials: StaticCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sends every call to `url` (a private endpoint, or a local stand-in).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The endpoint a call for `region` goes to, for messages.
    fn endpoint(&self, region: &str) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| default_endpoint(region))
    }

    async fn client(&self, key: &ClientKey) -> aws_sdk_kms::Client {
        let cached = self.clients.lock().expect("lock").get(key).cloned();
        if let Some(c) = cached {
            return c;
        }
        let client = build_client(
            key,
            &self.settings,
            self.endpoint.as_deref(),
            self.credentials.as_ref(),
        )
        .await;
        self.clients
            .lock()
            .expect("lock")
            .insert(key.clone(), client.clone());
        client
    }
}

async fn build_client(
    key: &ClientKey,
    settings: &NetSettings,
    endpoint: Option<&str>,
    credentials: Option<&StaticCredentials>,
) -> aws_sdk_kms::Client {
    net::install_crypto_provider();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(key.region.clone()))
        // Retries happen in `net::with_retries`, under one time budget.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.connect_timeout)
                .operation_attempt_timeout(settings.total_timeout)
                .build(),
        );
    if !key.profile.is_empty() {
        loader = loader.profile_name(&key.profile);
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    if let Some(c) = credentials {
        loader = loader.credentials_provider(aws_sdk_kms::config::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.as_str(),
            c.session_token.as_ref().map(|t| t.to_string()),
            None,
            "sops.aws-kms",
        ));
    }
    let sdk_config = loader.load().await;
    let mut conf = aws_sdk_kms::config::Builder::from(&sdk_config);
    if let Some(role) = &key.role {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
            .session_name(session_name(&hostname()))
            .configure(&sdk_config)
            .build()
            .await;
        conf = conf.credentials_provider(provider);
    }
    aws_sdk_kms::Client::from_conf(conf.build())
}

/// `sops@<hostname>`, keeping only the characters STS accepts, at most 64 characters.
pub fn session_name(hostname: &str) -> String {
    let clean: String = hostname
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .collect();
    let mut name = format!("sops@{clean}");
    name.truncate(SESSION_NAME_LIMIT);
    name
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The region of `arn:aws[-partition]:kms:<region>:<account>:(key|alias)/<id>`.
pub fn region_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let ok = arn_word == "arn"
        && partition.starts_with("aws")
        && service == "kms"
        && !region.is_empty()
        && !account.is_empty()
        && account.chars().all(|c| c.is_ascii_digit())
        && (resource.starts_with("key/") || resource.starts_with("alias/"))
        && resource.len() > resource.find('/').unwrap_or(0) + 1;
    ok.then_some(region)
}

/// The endpoint the SDK picks from the environment for `region`.
fn default_endpoint(region: &str) -> String {
    ["AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| format!("https://kms.{region}.amazonaws.com"))
}

struct AwsKey<'k> {
    arn: &'k str,
    client_key: ClientKey,
    context: Option<HashMap<String, String>>,
    endpoint: String,
}

fn parse<'k>(kind: &'k KeyKind, source: &AwsKmsSource) -> Result<AwsKey<'k>, KeyError> {
    let KeyKind::AwsKms {
        arn,
        role,
        context,
        aws_profile,
    } = kind
    else {
        return Err(KeyError::Unsupported(kind.key_type()));
    };
    let region = region_of(arn).ok_or_else(|| KeyError::InvalidKey {
        kind: "kms",
        input: arn.clone(),
        reason: "expected arn:aws:kms:<region>:<account>:key/<id> or alias/<name>".into(),
    })?;
    Ok(AwsKey {
        arn,
        client_key: ClientKey {
            region: region.to_string(),
            profile: aws_profile.clone(),
            role: role.clone().filter(|r| !r.is_empty()),
        },
        context: (!context.is_empty()).then(|| {
            context
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        endpoint: source.endpoint(region),
    })
}

/// Sorts an SDK failure into retry classes, keeping AWS's error code and message.
fn classify<E>(err: SdkError<E>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &err {
        let status = service.raw().status().as_u16();
        let code = service.err().code().unwrap_or("error").to_string();
        let message = service.err().message().unwrap_or("").to_string();
        let detail = format!("{code} (HTTP {status}): {message}");
        let throttled = matches!(
            code.as_str(),
            "ThrottlingException"
                | "KMSInternalException"
                | "DependencyTimeoutException"
                | "RequestLimitExceeded"
        );
        return if throttled || status >= 500 || status == 429 {
            CallError::transient(detail)
        } else {
            CallError::permanent(detail)
        };
    }
    let detail = DisplayErrorContext(&err).to_string();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("no credentials") || lower.contains("credentials provider") {
        return CallError::no_credentials(detail);
    }
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            CallError::transient(detail)
        }
        _ => CallError::permanent(detail),
    }
}

impl KeySource for AwsKmsSource {
    fn key_type(&self) -> KeyType {
        KeyType::AwsKms
    }

    fn wrap(&self, kind: &KeyKind, data_key: &[u8]) -> Result<String, KeyError> {
        let key = parse(kind, self)?;
        let blob = net::block_on(async {
            let client = &self.client(&key.client_key).await;
            let (arn, context) = (key.arn, &key.context);
            net::with_retries(&self.settings, || async move {
                let out = client
                    .encrypt()
                    .key_id(arn)
                    .plaintext(Blob::new(data_key))
                    .set_encryption_context(context.clone())
                    .send()
                    .await
                    .map_err(classify)?;
                out.ciphertext_blob
                    .map(|b| b.into_inner())
                    .ok_or_else(|| CallError::permanent("the Encrypt answer has no CiphertextBlob"))
            })
            .await
        })
        .map_err(|e| wrap_error(kind, &key.endpoint, e))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(blob))
    }

    fn unwrap(&self, master: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let kind = &master.kind;
        let key = parse(kind, self)?;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(master.enc.trim())
            .map_err(|e| KeyError::Unwrap {
                key: kind.describe(),
                reason: format!("enc is not base64: {e}"),
            })?;
        net::block_on(async {
            let client = &self.client(&key.client_key).await;
            let (arn, context, blob) = (key.arn, &key.context, blob.as_slice());
            net::with_retries(&self.settings, || async move {
                let out = client
                    .decrypt()
                    .key_id(arn)
                    .ciphertext_blob(Blob::new(blob))
                    .set_encryption_context(context.clone())
                    .send()
                    .await
                    .map_err(classify)?;
                out.plaintext
                    .map(|b| Zeroizing::new(b.into_inner()))
                    .ok_or_else(|| CallError::permanent("the Decrypt answer has no Plaintext"))
            })
            .await
        })
        .map_err(|e| unwrap_error(kind, &key.endpoint, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_the_arn() {
        assert_eq!(
            region_of("arn:aws:kms:eu-west-1:123456789012:key/1234-abcd"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of("arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/sops"),
            Some("us-gov-west-1")
        );
        assert_eq!(region_of("arn:aws:kms:eu-west-1:12ab:key/x"), None);
        assert_eq!(region_of("arn:aws:s3:eu-west-1:1:key/x"), None);
        assert_eq!(region_of("arn:aws:kms:eu-west-1:1:key/"), None);
    }

    #[test]
    fn session_names_are_sanitised_and_bounded() {
        assert_eq!(session_name("build-01.example"), "sops@build-01.example");
        assert_eq!(session_name("my host!#"), "sops@myhost");
        let long = "h".repeat(100);
        assert_eq!(session_name(&long).len(), 64);
    }
}
