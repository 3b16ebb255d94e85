//! AWS Secrets Manager and SSM Parameter Store sources against moto (an AWS
//! stand-in), plus one controller flow on the Kubernetes API stand-in.
#![cfg(feature = "aws")]

mod common;

use std::time::Duration;

use hush_providers::secrets::{
    aws::{AwsConfig, AwsService, AwsSource, StaticCredentials},
    SecretBytes, SecretSource, SourceError,
};
use hush_tests::standins::Moto;
use serde_json::{json, Value};

/// Call an AWS JSON-protocol API on moto directly (moto does not check signatures;
/// it picks the service from the credential scope).
async fn aws_call(endpoint: &str, service: &str, target: &str, body: Value) -> Value {
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
        .post(endpoint)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", target)
        .header(
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .json(&body)
        .send()
        .await
        .expect("moto reachable");
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{target} failed: {status} {value}");
    value
}

async fn sm(endpoint: &str, op: &str, body: Value) -> Value {
    aws_call(
        endpoint,
        "secretsmanager",
        &format!("secretsmanager.{op}"),
        body,
    )
    .await
}

async fn ssm(endpoint: &str, op: &str, body: Value) -> Value {
    aws_call(endpoint, "ssm", &format!("AmazonSSM.{op}"), body).await
}

fn source_config(service: AwsService, endpoint: &str) -> AwsConfig {
    AwsConfig {
        service,
        region: "us-east-1".into(),
        credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: SecretBytes::new(b"testing".to_vec()),
            session_token: None,
        }),
        role_arn: None,
        endpoint_url: Some(endpoint.into()),
    }
}

fn text(s: &hush_providers::secrets::RemoteSecret, prop: Option<&str>) -> String {
    String::from_utf8(s.property("aws", prop).unwrap().expose().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_secrets_manager_versions_stages_and_listing() {
    let moto = Moto::start().expect("start moto");
    let e = moto.endpoint.as_str();
    let created = sm(
        e,
        "CreateSecret",
        json!({"Name": "app/db", "SecretString": r#"{"user":"alice","password":"p1"}"#}),
    )
    .await;
    let v1 = created["VersionId"].as_str().unwrap().to_string();
    sm(
        e,
        "CreateSecret",
        json!({"Name": "app/api", "SecretString": "plain"}),
    )
    .await;
    sm(
        e,
        "CreateSecret",
        json!({"Name": "zzz", "SecretString": "x"}),
    )
    .await;

    let src = AwsSource::new(source_config(AwsService::SecretsManager, &moto.endpoint))
        .await
        .unwrap();
    let got = src.fetch("app/db", None).await.unwrap();
    assert_eq!(got.version, v1);
    assert_eq!(text(&got, Some("password")), "p1");

    let v2 = sm(
        e,
        "PutSecretValue",
        json!({"SecretId": "app/db", "SecretString": r#"{"user":"alice","password":"p2"}"#}),
    )
    .await["VersionId"]
        .as_str()
        .unwrap()
        .to_string();
    let got = src.fetch("app/db", None).await.unwrap();
    assert_eq!(
        (got.version.as_str(), text(&got, Some("password")).as_str()),
        (v2.as_str(), "p2")
    );
    let pinned = src
        .fetch("app/db", Some(&format!("uuid/{v1}")))
        .await
        .unwrap();
    assert_eq!(text(&pinned, Some("password")), "p1");
    let previous = src.fetch("app/db", Some("AWSPREVIOUS")).await.unwrap();
    assert_eq!(previous.version, v1);
    assert!(matches!(
        got.property("aws-sm", Some("nope")),
        Err(SourceError::PropertyMissing { .. })
    ));
    assert!(matches!(
        src.fetch("app/none", None).await,
        Err(SourceError::NotFound { .. })
    ));
    assert_eq!(src.list("app/").await.unwrap(), vec!["app/api", "app/db"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_ssm_parameters_versions_and_outage() {
    let mut moto = Moto::start().expect("start moto");
    let e = moto.endpoint.clone();
    for (value, overwrite) in [("t1", false), ("t2", true)] {
        ssm(&e, "PutParameter", json!({"Name": "/app/token", "Value": value, "Type": "SecureString", "Overwrite": overwrite})).await;
    }
    ssm(
        &e,
        "PutParameter",
        json!({"Name": "/app/nested/url", "Value": "u", "Type": "String"}),
    )
    .await;
    let src = AwsSource::new(source_config(AwsService::ParameterStore, &moto.endpoint))
        .await
        .unwrap();
    let got = src.fetch("/app/token", None).await.unwrap();
    assert_eq!(
        (got.version.as_str(), text(&got, None).as_str()),
        ("2", "t2")
    );
    assert_eq!(
        text(&src.fetch("/app/token", Some("1")).await.unwrap(), None),
        "t1"
    );
    assert!(matches!(
        src.fetch("/app/none", None).await,
        Err(SourceError::NotFound { .. })
    ));
    assert_eq!(
        src.list("/app").await.unwrap(),
        vec!["/app/nested/url", "/app/token"]
    );

    moto.process.stop();
    let err = tokio::time::timeout(Duration::from_secs(60), src.fetch("/app/token", None))
        .await
        .expect("the SDK gives up")
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_secretsync_from_moto_secrets_manager() {
    use common::*;
    use hush_controller::{
        crd::{SecretStore, SecretSync},
        sync::target::SOURCE_VERSION,
    };
    let moto = Moto::start().expect("start moto");
    let version = sm(
        &moto.endpoint,
        "CreateSecret",
        json!({"Name": "prod/db", "SecretString": r#"{"password":"pw"}"#}),
    )
    .await["VersionId"]
        .as_str()
        .unwrap()
        .to_string();
    let h = Harness::start().await;
    h.plain_secret("aws-creds", &[("id", "testing"), ("secret", "testing")])
        .await;
    h.create::<SecretStore>(serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1", "kind": "SecretStore",
        "metadata": { "name": "aws", "namespace": NS },
        "spec": { "provider": { "aws": {
            "service": "SecretsManager", "region": "us-east-1", "endpoint": moto.endpoint,
            "auth": { "secretRef": {
                "accessKeyIDSecretRef": { "name": "aws-creds", "key": "id" },
                "secretAccessKeySecretRef": { "name": "aws-creds", "key": "secret" } } }
        } } }
    }))
    .await;
    h.create::<SecretSync>(secret_sync(
        "db",
        serde_json::json!({
            "storeRef": { "name": "aws" },
            "data": [ { "secretKey": "password", "remoteRef": { "key": "prod/db", "property": "password" } } ]
        }),
    ))
    .await;
    let s = eventually("Secret from AWS", Duration::from_secs(20), || async {
        let s = h.secret("db").await?;
        value(&s, "password").is_some().then_some(s)
    })
    .await;
    assert_eq!(value(&s, "password").as_deref(), Some("pw"));
    assert_eq!(
        annotation(&s, SOURCE_VERSION),
        Some(format!("prod/db={version}"))
    );
}
