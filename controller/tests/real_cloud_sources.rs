//! Thin checks of the secret sources against the real clouds, for a developer with
//! credentials. Each test skips (and says why) unless its environment is set:
//!
//! - AWS: `HUSH_TEST_AWS_REAL=1`, `HUSH_TEST_AWS_SECRET=<Secrets Manager name>`,
//!   optional `HUSH_TEST_AWS_PARAMETER=<SSM name>`; credentials and region from the
//!   SDK default chain (`AWS_PROFILE`, `AWS_REGION`, ...).
//! - GCP: `HUSH_TEST_GCP_PROJECT`, `HUSH_TEST_GCP_SECRET=<secret id>`; a service
//!   account key from `GOOGLE_APPLICATION_CREDENTIALS`, else the metadata server.
//! - Azure: `HUSH_TEST_AZURE_VAULT_URL`, `HUSH_TEST_AZURE_SECRET=<secret name>`;
//!   `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`, else managed identity.
//!
//! Every read is bounded by a timeout. Values are never printed.

use std::time::Duration;

use hush_providers::secrets::{RemoteSecret, SecretSource};

const LIMIT: Duration = Duration::from_secs(60);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The named variables, or `None` after printing why the test is skipped.
fn required(test: &str, names: &[&str]) -> Option<Vec<String>> {
    let values: Vec<Option<String>> = names.iter().map(|n| var(n)).collect();
    if values.iter().all(Option::is_some) {
        return Some(values.into_iter().flatten().collect());
    }
    eprintln!(
        "skipping {test}: set {} to run it against the real cloud",
        names.join(", ")
    );
    None
}

async fn fetch(source: &dyn SecretSource, key: &str) -> RemoteSecret {
    tokio::time::timeout(LIMIT, source.fetch(key, None))
        .await
        .unwrap_or_else(|_| panic!("reading {key:?} took more than {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("reading {key:?}: {e}"))
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn real_aws_secrets_manager_and_ssm() {
    use hush_providers::secrets::aws::{AwsConfig, AwsService, AwsSource};
    let Some(v) = required(
        "real_aws_secrets_manager_and_ssm",
        &["HUSH_TEST_AWS_REAL", "HUSH_TEST_AWS_SECRET"],
    ) else {
        return;
    };
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let config = |service| AwsConfig {
        service,
        region: region.clone(),
        credentials: None,
        role_arn: var("HUSH_TEST_AWS_ROLE_ARN"),
        endpoint_url: None,
    };
    let sm = AwsSource::new(config(AwsService::SecretsManager))
        .await
        .expect("Secrets Manager client");
    let got = fetch(&sm, &v[1]).await;
    assert!(
        !got.version.is_empty(),
        "Secrets Manager returns a VersionId"
    );
    if let Some(param) = var("HUSH_TEST_AWS_PARAMETER") {
        let ssm = AwsSource::new(config(AwsService::ParameterStore))
            .await
            .expect("SSM client");
        let got = fetch(&ssm, &param).await;
        assert!(
            got.version.parse::<u64>().is_ok(),
            "SSM versions are numbers"
        );
    }
}

#[cfg(feature = "gcp")]
#[tokio::test]
async fn real_gcp_secret_manager() {
    use hush_providers::secrets::{
        gcp::{GcpAuth, GcpConfig, GcpSource},
        SecretBytes,
    };
    let Some(v) = required(
        "real_gcp_secret_manager",
        &["HUSH_TEST_GCP_PROJECT", "HUSH_TEST_GCP_SECRET"],
    ) else {
        return;
    };
    let auth = match var("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => GcpAuth::ServiceAccountKey(SecretBytes::new(
            std::fs::read(&path).expect("read GOOGLE_APPLICATION_CREDENTIALS"),
        )),
        None => GcpAuth::WorkloadIdentity,
    };
    let source = GcpSource::new(GcpConfig {
        project: v[0].clone(),
        auth,
        endpoint: None,
        metadata_endpoint: None,
    })
    .expect("GCP client");
    let got = fetch(&source, &v[1]).await;
    assert!(
        got.version.parse::<u64>().is_ok(),
        "Secret Manager versions are numbers"
    );
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn real_azure_key_vault() {
    use hush_providers::secrets::{
        azure::{AzureAuth, AzureConfig, AzureSource},
        SecretBytes,
    };
    let Some(v) = required(
        "real_azure_key_vault",
        &["HUSH_TEST_AZURE_VAULT_URL", "HUSH_TEST_AZURE_SECRET"],
    ) else {
        return;
    };
    let auth = match (
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) {
        (Some(tenant_id), Some(client_id), Some(secret)) => AzureAuth::ClientSecret {
            tenant_id,
            client_id,
            client_secret: SecretBytes::new(secret.into_bytes()),
        },
        (_, client_id, _) => AzureAuth::ManagedIdentity { client_id },
    };
    let source = AzureSource::new(AzureConfig {
        vault_url: v[0].clone(),
        auth,
        authority_host: None,
        imds_endpoint: None,
    })
    .expect("Azure client");
    let got = fetch(&source, &v[1]).await;
    assert!(!got.version.is_empty(), "Key Vault returns a version id");
}
