//! AWS Secrets Manager and SSM Parameter Store.
//!
//! Credentials come from the SDK default chain (which covers IRSA through
//! `AWS_WEB_IDENTITY_TOKEN_FILE`), or from static keys read from a Kubernetes
//! Secret; an optional role is assumed on top of either.

use std::time::Duration;

use aws_config::{
    retry::RetryConfig, sts::AssumeRoleProvider, timeout::TimeoutConfig, BehaviorVersion, Region,
};
use aws_sdk_secretsmanager::{
    config::Credentials,
    error::{ProvideErrorMetadata, SdkError},
};

use super::{Payload, RemoteSecret, SecretBytes, SecretSource, SourceError};

/// Which AWS service a store reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsService {
    SecretsManager,
    ParameterStore,
}

impl AwsService {
    fn provider(self) -> &'static str {
        match self {
            Self::SecretsManager => "aws-sm",
            Self::ParameterStore => "aws-ssm",
        }
    }
}

/// Static access keys (from a credentials Secret).
#[derive(Clone, Debug)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
    pub session_token: Option<SecretBytes>,
}

#[derive(Clone, Debug)]
pub struct AwsConfig {
    pub service: AwsService,
    pub region: String,
    /// `None` uses the default chain (environment, IRSA web identity, instance role).
    pub credentials: Option<StaticCredentials>,
    /// A role ARN to assume with the credentials above.
    pub role_arn: Option<String>,
    /// Endpoint override (tests, VPC endpoints).
    pub endpoint_url: Option<String>,
}

enum Client {
    SecretsManager(aws_sdk_secretsmanager::Client),
    ParameterStore(aws_sdk_ssm::Client),
}

/// One AWS client per store.
pub struct AwsSource {
    service: AwsService,
    client: Client,
}

fn text(b: &SecretBytes) -> String {
    String::from_utf8_lossy(b.expose()).into_owned()
}

/// Every call is bounded: a reconcile must never wait on a silent endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(45);

impl AwsSource {
    pub async fn new(config: AwsConfig) -> Result<Self, SourceError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(ATTEMPT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            );
        if let Some(c) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(
                c.access_key_id.clone(),
                text(&c.secret_access_key),
                c.session_token.as_ref().map(text),
                None,
                "hush-store-secret",
            ));
        }
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let mut sdk = loader.load().await;
        if let Some(role) = &config.role_arn {
            let provider = AssumeRoleProvider::builder(role)
                .session_name("hush-controller")
                .configure(&sdk)
                .build()
                .await;
            sdk = sdk
                .into_builder()
                .credentials_provider(aws_credential_provider(provider))
                .build();
        }
        let client = match config.service {
            AwsService::SecretsManager => {
                Client::SecretsManager(aws_sdk_secretsmanager::Client::new(&sdk))
            }
            AwsService::ParameterStore => Client::ParameterStore(aws_sdk_ssm::Client::new(&sdk)),
        };
        Ok(Self {
            service: config.service,
            client,
        })
    }
}

fn aws_credential_provider(
    p: AssumeRoleProvider,
) -> aws_sdk_secretsmanager::config::SharedCredentialsProvider {
    aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(p)
}

/// Map an SDK error by its error code only: AWS messages are safe, but codes are enough.
fn sdk_error<E: ProvideErrorMetadata, R>(
    provider: &'static str,
    key: &str,
    err: SdkError<E, R>,
) -> SourceError {
    match &err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown").to_string();
            match code.as_str() {
                "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
                    SourceError::NotFound {
                        provider,
                        key: key.to_string(),
                    }
                }
                "ThrottlingException"
                | "TooManyRequestsException"
                | "ThrottledException"
                | "RequestLimitExceeded" => SourceError::RateLimited {
                    provider,
                    retry_after: None,
                },
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "DecryptionFailure" => SourceError::Auth {
                    provider,
                    detail: format!("{code} reading {key:?}"),
                },
                "InternalServiceError"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "InternalFailure" => SourceError::Unavailable {
                    provider,
                    detail: code,
                },
                _ => SourceError::Protocol {
                    provider,
                    detail: format!("{code} reading {key:?}"),
                },
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => SourceError::Unavailable {
            provider,
            detail: "cannot reach the endpoint".into(),
        },
        SdkError::ResponseError(_) => SourceError::Unavailable {
            provider,
            detail: "unreadable response".into(),
        },
        _ => SourceError::Protocol {
            provider,
            detail: format!("request for {key:?} could not be built"),
        },
    }
}

#[async_trait::async_trait]
impl SecretSource for AwsSource {
    fn provider(&self) -> &'static str {
        self.service.provider()
    }

    async fn fetch(&self, key: &str, version: Option<&str>) -> Result<RemoteSecret, SourceError> {
        let provider = self.provider();
        match &self.client {
            Client::SecretsManager(c) => {
                let mut req = c.get_secret_value().secret_id(key);
                // `uuid/<VersionId>` selects a version id; any other value is a stage label.
                req = match version {
                    Some(v) => match v.strip_prefix("uuid/") {
                        Some(id) => req.version_id(id),
                        None => req.version_stage(v),
                    },
                    None => req,
                };
                let out = req.send().await.map_err(|e| sdk_error(provider, key, e))?;
                let version = out.version_id().unwrap_or_default().to_string();
                let bytes = if let Some(s) = out.secret_string() {
                    s.as_bytes().to_vec()
                } else if let Some(b) = out.secret_binary() {
                    b.as_ref().to_vec()
                } else {
                    return Err(SourceError::NotFound {
                        provider,
                        key: key.to_string(),
                    });
                };
                Ok(RemoteSecret {
                    key: key.to_string(),
                    version,
                    payload: Payload::Blob(SecretBytes::new(bytes)),
                })
            }
            Client::ParameterStore(c) => {
                let name = match version {
                    Some(v) => format!("{key}:{v}"),
                    None => key.to_string(),
                };
                let out = c
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| sdk_error(provider, key, e))?;
                let param = out.parameter().ok_or_else(|| SourceError::NotFound {
                    provider,
                    key: key.to_string(),
                })?;
                Ok(RemoteSecret {
                    key: key.to_string(),
                    version: param.version().to_string(),
                    payload: Payload::Blob(SecretBytes::new(
                        param.value().unwrap_or_default().as_bytes().to_vec(),
                    )),
                })
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, SourceError> {
        let provider = self.provider();
        let mut names = Vec::new();
        match &self.client {
            Client::SecretsManager(c) => {
                let mut token: Option<String> = None;
                loop {
                    let out = c
                        .list_secrets()
                        .filters(
                            aws_sdk_secretsmanager::types::Filter::builder()
                                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                                .values(prefix)
                                .build(),
                        )
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error(provider, prefix, e))?;
                    // The name filter matches prefixes of words; keep true prefixes only.
                    names.extend(
                        out.secret_list()
                            .iter()
                            .filter_map(|s| s.name())
                            .filter(|n| n.starts_with(prefix))
                            .map(str::to_string),
                    );
                    match out.next_token() {
                        Some(t) => token = Some(t.to_string()),
                        None => break,
                    }
                }
            }
            Client::ParameterStore(c) => {
                let mut token: Option<String> = None;
                loop {
                    let out = c
                        .get_parameters_by_path()
                        .path(prefix)
                        .recursive(true)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error(provider, prefix, e))?;
                    names.extend(
                        out.parameters()
                            .iter()
                            .filter_map(|p| p.name())
                            .map(str::to_string),
                    );
                    match out.next_token() {
                        Some(t) => token = Some(t.to_string()),
                        None => break,
                    }
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}
