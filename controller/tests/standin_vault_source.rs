//! The Vault KV source against a real OpenBao dev server: KV v1 and v2, token and
//! AppRole auth, Kubernetes auth (TokenReview answered by an in-test stub), pinned
//! versions, listing, and the error kinds.

mod common;

use hush_providers::secrets::{
    vault::{KvVersion, VaultAuth, VaultConfig, VaultSource},
    Payload, SecretBytes, SecretSource, SourceError,
};
use hush_tests::standins::OpenBao;

fn token_source(bao: &OpenBao, mount: &str, kv: KvVersion, token: &str) -> VaultSource {
    VaultSource::new(VaultConfig {
        address: bao.address.clone(),
        namespace: None,
        mount: mount.into(),
        kv_version: kv,
        auth: VaultAuth::Token(SecretBytes::new(token.as_bytes().to_vec())),
    })
    .unwrap()
}

fn field(s: &hush_providers::secrets::RemoteSecret, name: &str) -> String {
    String::from_utf8(s.property("vault", Some(name)).unwrap().expose().to_vec()).unwrap()
}

#[tokio::test]
async fn openbao_kv2_versions_pinning_and_listing() {
    let bao = OpenBao::start().expect("start OpenBao");
    bao.cli(&["kv", "put", "secret/team/a/db", "password=one", "port=5432"]);
    bao.cli(&["kv", "put", "secret/team/a/db", "password=two", "port=5432"]);
    bao.cli(&["kv", "put", "secret/team/b/api", "key=k"]);
    let src = token_source(&bao, "secret", KvVersion::V2, "root");

    let latest = src.fetch("team/a/db", None).await.unwrap();
    assert_eq!(latest.version, "2");
    assert_eq!(field(&latest, "password"), "two");
    assert!(matches!(latest.payload, Payload::Fields(ref f) if f.len() == 2));
    let pinned = src.fetch("team/a/db", Some("1")).await.unwrap();
    assert_eq!(
        (pinned.version.as_str(), field(&pinned, "password").as_str()),
        ("1", "one")
    );

    assert_eq!(
        src.list("team").await.unwrap(),
        vec!["team/a/db", "team/b/api"]
    );
    assert!(src.list("nothing-here").await.unwrap().is_empty());

    assert!(matches!(
        src.fetch("team/none", None).await,
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        src.fetch("team/a/db", Some("9")).await,
        Err(SourceError::NotFound { .. })
    ));
    let bad = token_source(&bao, "secret", KvVersion::V2, "wrong-token");
    let err = bad.fetch("team/a/db", None).await.unwrap_err();
    assert!(matches!(err, SourceError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("wrong-token"));
}

#[tokio::test]
async fn openbao_kv1_has_content_versions() {
    let bao = OpenBao::start().expect("start OpenBao");
    bao.cli(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    bao.cli(&["kv", "put", "kv1/app", "token=t1"]);
    let src = token_source(&bao, "kv1", KvVersion::V1, "root");
    let first = src.fetch("app", None).await.unwrap();
    assert_eq!(field(&first, "token"), "t1");
    assert!(first.version.starts_with("sha256:"));
    bao.cli(&["kv", "put", "kv1/app", "token=t2"]);
    let second = src.fetch("app", None).await.unwrap();
    assert_ne!(
        first.version, second.version,
        "a changed value gets a new version"
    );
    assert!(matches!(
        src.fetch("app", Some("1")).await,
        Err(SourceError::Config { .. })
    ));
    assert_eq!(src.list("").await.unwrap(), vec!["app"]);
}

#[tokio::test]
async fn openbao_approle_login_and_outage() {
    let mut bao = OpenBao::start().expect("start OpenBao");
    bao.cli(&["kv", "put", "secret/app/x", "v=1"]);
    bao.cli(&["auth", "enable", "approle"]);
    let policy = r#"path "secret/data/app/*" { capabilities = ["read"] }"#;
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("p.hcl");
    std::fs::write(&policy_file, policy).unwrap();
    bao.cli(&["policy", "write", "reader", policy_file.to_str().unwrap()]);
    bao.cli(&[
        "write",
        "auth/approle/role/hush",
        "token_policies=reader",
        "token_ttl=1h",
    ]);
    let role_id = bao.cli_text(&["read", "-field=role_id", "auth/approle/role/hush/role-id"]);
    let secret_id = bao.cli_text(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/hush/secret-id",
    ]);

    let approle = |secret: &str| {
        VaultSource::new(VaultConfig {
            address: bao.address.clone(),
            namespace: None,
            mount: "secret".into(),
            kv_version: KvVersion::V2,
            auth: VaultAuth::AppRole {
                mount: "approle".into(),
                role_id: role_id.clone(),
                secret_id: SecretBytes::new(secret.as_bytes().to_vec()),
            },
        })
        .unwrap()
    };
    let src = approle(&secret_id);
    let got = src.fetch("app/x", None).await.unwrap();
    assert_eq!(field(&got, "v"), "1");
    // The policy allows app/* only.
    bao.cli(&["kv", "put", "secret/other", "v=1"]);
    assert!(matches!(
        src.fetch("other", None).await,
        Err(SourceError::Auth { .. })
    ));
    // A wrong secret id fails to log in, without echoing it.
    let err = approle("not-the-secret-id")
        .fetch("app/x", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Auth { .. }) && !err.to_string().contains("not-the-secret-id")
    );

    bao.process.stop();
    let err = src.fetch("app/x", None).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

/// A service-account token as the kubelet projects it (the signature is not checked
/// here: OpenBao asks the TokenReview API, which the stub below answers).
fn service_account_jwt(namespace: &str, name: &str, uid: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","kid":"standin"}"#);
    let claims = serde_json::json!({
        "iss": "kubernetes/serviceaccount",
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": uid,
        "kubernetes.io/serviceaccount/secret.name": format!("{name}-token"),
    });
    format!(
        "{header}.{}.{}",
        b64.encode(claims.to_string()),
        b64.encode([7u8; 256])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbao_kubernetes_auth_with_token_review() {
    use common::http_stub::{serve, Response};
    let jwt = service_account_jwt("default", "hush-controller", "uid-1");
    let reviews = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The Kubernetes TokenReview API, as OpenBao's kubernetes auth method calls it.
    let (addr, _server) = {
        let (jwt, reviews) = (jwt.clone(), reviews.clone());
        serve(move |req| {
            let (jwt, reviews) = (jwt.clone(), reviews.clone());
            async move {
                if req.path != "/apis/authentication.k8s.io/v1/tokenreviews" {
                    return Response::json(404, serde_json::json!({}));
                }
                reviews.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body: serde_json::Value =
                    serde_json::from_slice(&req.body).unwrap_or_default();
                let ok = body["spec"]["token"] == jwt.as_str();
                Response::json(
                    201,
                    serde_json::json!({
                        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                        "status": if ok { serde_json::json!({
                            "authenticated": true,
                            "user": { "username": "system:serviceaccount:default:hush-controller",
                                      "uid": "uid-1" } })
                        } else { serde_json::json!({ "authenticated": false, "error": "invalid token" }) }
                    }),
                )
            }
        })
        .await
    };
    let bao = OpenBao::start().expect("start OpenBao");
    bao.cli(&["kv", "put", "secret/app/x", "v=k8s"]);
    bao.cli(&["auth", "enable", "kubernetes"]);
    let dir = tempfile::tempdir().unwrap();
    // OpenBao insists on a CA certificate; the stub speaks plain HTTP, so any will do.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, hush_tests::standins::self_signed_tls().1).unwrap();
    bao.cli(&[
        "write",
        "auth/kubernetes/config",
        &format!("kubernetes_host=http://{addr}"),
        &format!("kubernetes_ca_cert=@{}", ca.display()),
        "disable_local_ca_jwt=true",
    ]);
    let policy_file = dir.path().join("p.hcl");
    std::fs::write(
        &policy_file,
        r#"path "secret/data/app/*" { capabilities = ["read"] }"#,
    )
    .unwrap();
    bao.cli(&["policy", "write", "reader", policy_file.to_str().unwrap()]);
    bao.cli(&[
        "write",
        "auth/kubernetes/role/hush",
        "bound_service_account_names=hush-controller",
        "bound_service_account_namespaces=default",
        "token_policies=reader",
        "token_ttl=1h",
    ]);
    let source = |token: &str| {
        let path = dir.path().join(format!("token-{}", token.len()));
        std::fs::write(&path, token).unwrap();
        VaultSource::new(VaultConfig {
            address: bao.address.clone(),
            namespace: None,
            mount: "secret".into(),
            kv_version: KvVersion::V2,
            auth: VaultAuth::Kubernetes {
                mount: "kubernetes".into(),
                role: "hush".into(),
                jwt_path: path,
            },
        })
        .unwrap()
    };
    let got = source(&jwt).fetch("app/x", None).await.unwrap();
    assert_eq!(field(&got, "v"), "k8s");
    assert!(reviews.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    // A token the TokenReview API rejects cannot log in.
    let other = service_account_jwt("default", "hush-controller", "uid-2");
    let err = source(&other).fetch("app/x", None).await.unwrap_err();
    assert!(matches!(err, SourceError::Auth { .. }), "{err}");
}
