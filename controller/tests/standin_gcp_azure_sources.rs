//! GCP Secret Manager and Azure Key Vault sources against in-test HTTP stand-ins that
//! follow the public REST API docs (paths, auth headers, token endpoints, JSON shapes,
//! pagination, error codes). They are stand-ins, not the real services.

mod common;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::http_stub::{serve, Request, Response};
use hush_providers::secrets::{
    azure::{AzureAuth, AzureConfig, AzureSource},
    gcp::{GcpAuth, GcpConfig, GcpSource},
    SecretBytes, SecretSource, SourceError,
};
use serde_json::json;

/// name -> versions (1-based), as both services keep them.
type Store = Arc<Mutex<std::collections::BTreeMap<String, Vec<String>>>>;

fn text(s: &hush_providers::secrets::RemoteSecret, prop: Option<&str>) -> String {
    String::from_utf8(s.property("t", prop).unwrap().expose().to_vec()).unwrap()
}

// ---------------- GCP ----------------

const GCP_TOKEN: &str = "ya29.standin-token";

/// Verify an RS256 JWT-bearer assertion the way Google's token endpoint would.
fn verify_jwt(assertion: &str, public: &rsa::RsaPublicKey, token_uri: &str) -> bool {
    use rsa::{pkcs1v15::VerifyingKey, signature::Verifier};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    let Ok(sig) = b64.decode(parts[2]) else {
        return false;
    };
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig.as_slice()) else {
        return false;
    };
    let key = VerifyingKey::<sha2::Sha256>::new(public.clone());
    if key
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .is_err()
    {
        return false;
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap_or_default()).unwrap_or_default();
    claims["aud"] == token_uri
        && claims["iss"] == "hush@proj.iam.gserviceaccount.com"
        && claims["scope"].is_string()
}

async fn gcp_handler(
    req: Request,
    store: Store,
    public: rsa::RsaPublicKey,
    token_uri: String,
) -> Response {
    let unauthorized = || {
        Response::json(
            401,
            json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
        )
    };
    if req.path == "/token" {
        let form = req.form();
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            || !verify_jwt(
                form.get("assertion").map(String::as_str).unwrap_or(""),
                &public,
                &token_uri,
            )
        {
            return Response::json(400, json!({"error": "invalid_grant"}));
        }
        return Response::json(
            200,
            json!({"access_token": GCP_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
        );
    }
    if req.path == "/computeMetadata/v1/instance/service-accounts/default/token" {
        if req.header("metadata-flavor") != Some("Google") {
            return Response::json(403, json!({}));
        }
        return Response::json(
            200,
            json!({"access_token": GCP_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
        );
    }
    if req.header("authorization") != Some(&format!("Bearer {GCP_TOKEN}")) {
        return unauthorized();
    }
    let store = store.lock().unwrap();
    // GET /v1/projects/{p}/secrets/{s}/versions/{v}:access
    if let Some(rest) = req.path.strip_prefix("/v1/projects/proj/secrets/") {
        if let Some((name, version)) = rest.split_once("/versions/") {
            let version = version.strip_suffix(":access").unwrap_or(version);
            let Some(versions) = store.get(name) else {
                return Response::json(404, json!({"error": {"code": 404, "status": "NOT_FOUND"}}));
            };
            let n = if version == "latest" {
                versions.len()
            } else {
                version.parse().unwrap_or(0)
            };
            let Some(value) = n.checked_sub(1).and_then(|i| versions.get(i)) else {
                return Response::json(404, json!({"error": {"code": 404, "status": "NOT_FOUND"}}));
            };
            return Response::json(
                200,
                json!({
                    "name": format!("projects/123456/secrets/{name}/versions/{n}"),
                    "payload": {"data": base64::engine::general_purpose::STANDARD.encode(value)}
                }),
            );
        }
    }
    // GET /v1/projects/{p}/secrets, one per page to exercise pageToken.
    if req.path == "/v1/projects/proj/secrets" {
        let names: Vec<&String> = store.keys().collect();
        let start: usize = req
            .query
            .get("pageToken")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let mut body = json!({"secrets": names.get(start).map(|n| vec![json!({"name": format!("projects/proj/secrets/{n}")})]).unwrap_or_default()});
        if start + 1 < names.len() {
            body["nextPageToken"] = json!((start + 1).to_string());
        }
        return Response::json(200, body);
    }
    Response::json(404, json!({"error": {"code": 404}}))
}

#[tokio::test]
async fn standin_gcp_secret_manager_service_account_key_and_workload_identity() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = private.to_public_key();
    let store: Store = Arc::default();
    store.lock().unwrap().insert(
        "db".into(),
        vec![r#"{"password":"p1"}"#.into(), r#"{"password":"p2"}"#.into()],
    );
    store
        .lock()
        .unwrap()
        .insert("dbx".into(), vec!["plain".into()]);
    store
        .lock()
        .unwrap()
        .insert("other".into(), vec!["o".into()]);
    let token_uri = Arc::new(Mutex::new(String::new()));
    let (addr, _server) = {
        let store = store.clone();
        let token_uri = token_uri.clone();
        serve(move |req| {
            let (store, public, uri) = (
                store.clone(),
                public.clone(),
                token_uri.lock().unwrap().clone(),
            );
            gcp_handler(req, store, public, uri)
        })
        .await
    };
    let base = format!("http://{addr}");
    *token_uri.lock().unwrap() = format!("{base}/token");
    let key_json = json!({
        "type": "service_account",
        "client_email": "hush@proj.iam.gserviceaccount.com",
        "private_key": private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        "token_uri": format!("{base}/token"),
    });
    let src = GcpSource::new(GcpConfig {
        project: "proj".into(),
        auth: GcpAuth::ServiceAccountKey(SecretBytes::new(key_json.to_string().into_bytes())),
        endpoint: Some(base.clone()),
        metadata_endpoint: None,
    })
    .unwrap();
    let latest = src.fetch("db", None).await.unwrap();
    assert_eq!(
        (
            latest.version.as_str(),
            text(&latest, Some("password")).as_str()
        ),
        ("2", "p2")
    );
    let v1 = src.fetch("db", Some("1")).await.unwrap();
    assert_eq!(text(&v1, Some("password")), "p1");
    assert!(matches!(
        src.fetch("missing", None).await,
        Err(SourceError::NotFound { .. })
    ));
    assert_eq!(src.list("db").await.unwrap(), vec!["db", "dbx"]);

    let wi = GcpSource::new(GcpConfig {
        project: "proj".into(),
        auth: GcpAuth::WorkloadIdentity,
        endpoint: Some(base.clone()),
        metadata_endpoint: Some(base.clone()),
    })
    .unwrap();
    assert_eq!(text(&wi.fetch("dbx", None).await.unwrap(), None), "plain");

    // A key the token endpoint does not accept is an auth failure.
    let other = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let mut wrong = key_json.clone();
    wrong["private_key"] = json!(other.to_pkcs8_pem(LineEnding::LF).unwrap().to_string());
    let bad = GcpSource::new(GcpConfig {
        project: "proj".into(),
        auth: GcpAuth::ServiceAccountKey(SecretBytes::new(wrong.to_string().into_bytes())),
        endpoint: Some(base),
        metadata_endpoint: None,
    })
    .unwrap();
    assert!(matches!(
        bad.fetch("db", None).await,
        Err(SourceError::Auth { .. })
    ));
}

// ---------------- Azure ----------------

const AZ_TOKEN: &str = "eyJ.standin.token";

async fn azure_handler(
    req: Request,
    store: Store,
    vault: String,
    throttle: Arc<Mutex<u32>>,
) -> Response {
    if req.path == "/tenant-1/oauth2/v2.0/token" {
        let form = req.form();
        let ok_secret = form.get("client_secret").map(String::as_str) == Some("sp-secret");
        let ok_fed = form.get("client_assertion").map(String::as_str) == Some("federated-jwt")
            && form.get("client_assertion_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        if form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || form.get("scope").map(String::as_str) != Some("https://vault.azure.net/.default")
            || form.get("client_id").map(String::as_str) != Some("client-1")
            || !(ok_secret || ok_fed)
        {
            return Response::json(401, json!({"error": "invalid_client"}));
        }
        return Response::json(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": AZ_TOKEN}),
        );
    }
    if req.path == "/metadata/identity/oauth2/token" {
        if req.header("metadata") != Some("true")
            || req.query.get("resource").map(String::as_str) != Some("https://vault.azure.net")
        {
            return Response::json(400, json!({"error": "invalid_request"}));
        }
        // IMDS sends expires_in as a string.
        return Response::json(
            200,
            json!({"access_token": AZ_TOKEN, "expires_in": "3599", "token_type": "Bearer"}),
        );
    }
    if req.header("authorization") != Some(&format!("Bearer {AZ_TOKEN}")) {
        return Response::json(401, json!({"error": {"code": "Unauthorized"}}));
    }
    if req.query.get("api-version").map(String::as_str) != Some("7.4") {
        return Response::json(400, json!({"error": {"code": "BadParameter"}}));
    }
    {
        let mut t = throttle.lock().unwrap();
        if *t > 0 {
            *t -= 1;
            return Response {
                status: 429,
                headers: vec![("Retry-After".into(), "7".into())],
                body: json!({"error": {"code": "Throttled"}}).to_string(),
            };
        }
    }
    let store = store.lock().unwrap();
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["secrets"] => {
            let value: Vec<_> = store
                .keys()
                .map(|n| json!({"id": format!("{vault}/secrets/{n}")}))
                .collect();
            Response::json(200, json!({"value": value, "nextLink": null}))
        }
        ["secrets", name] | ["secrets", name, _] => {
            let Some(versions) = store.get(*name) else {
                return Response::json(404, json!({"error": {"code": "SecretNotFound"}}));
            };
            let idx = match segments.get(2) {
                None => versions.len() - 1,
                Some(v) => match v.strip_prefix("ver").and_then(|n| n.parse::<usize>().ok()) {
                    Some(n) if n >= 1 && n <= versions.len() => n - 1,
                    _ => return Response::json(404, json!({"error": {"code": "SecretNotFound"}})),
                },
            };
            Response::json(
                200,
                json!({"value": versions[idx], "id": format!("{vault}/secrets/{name}/ver{}", idx + 1), "attributes": {"enabled": true}}),
            )
        }
        _ => Response::json(404, json!({"error": {"code": "NotFound"}})),
    }
}

#[tokio::test]
async fn standin_azure_key_vault_client_secret_managed_and_workload_identity() {
    let store: Store = Arc::default();
    store
        .lock()
        .unwrap()
        .insert("api-key".into(), vec!["k1".into(), "k2".into()]);
    store
        .lock()
        .unwrap()
        .insert("api-other".into(), vec!["x".into()]);
    let throttle = Arc::new(Mutex::new(0u32));
    let vault = Arc::new(Mutex::new(String::new()));
    let (addr, _server) = {
        let (store, vault, throttle) = (store.clone(), vault.clone(), throttle.clone());
        serve(move |req| {
            let v = vault.lock().unwrap().clone();
            azure_handler(req, store.clone(), v, throttle.clone())
        })
        .await
    };
    let base = format!("http://{addr}");
    *vault.lock().unwrap() = base.clone();
    let source = |auth| {
        AzureSource::new(AzureConfig {
            vault_url: base.clone(),
            auth,
            authority_host: Some(base.clone()),
            imds_endpoint: Some(base.clone()),
        })
        .unwrap()
    };
    let sp = source(AzureAuth::ClientSecret {
        tenant_id: "tenant-1".into(),
        client_id: "client-1".into(),
        client_secret: SecretBytes::new(b"sp-secret".to_vec()),
    });
    let latest = sp.fetch("api-key", None).await.unwrap();
    assert_eq!(
        (latest.version.as_str(), text(&latest, None).as_str()),
        ("ver2", "k2")
    );
    assert_eq!(
        text(&sp.fetch("api-key", Some("ver1")).await.unwrap(), None),
        "k1"
    );
    assert!(matches!(
        sp.fetch("nope", None).await,
        Err(SourceError::NotFound { .. })
    ));
    assert_eq!(sp.list("api-").await.unwrap(), vec!["api-key", "api-other"]);

    *throttle.lock().unwrap() = 1;
    match sp.fetch("api-key", None).await {
        Err(SourceError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(7)))
        }
        other => panic!("expected rate limit, got {other:?}"),
    }

    let mi = source(AzureAuth::ManagedIdentity { client_id: None });
    assert_eq!(text(&mi.fetch("api-other", None).await.unwrap(), None), "x");

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "federated-jwt\n").unwrap();
    let wi = source(AzureAuth::WorkloadIdentity {
        tenant_id: "tenant-1".into(),
        client_id: "client-1".into(),
        token_file,
    });
    assert_eq!(text(&wi.fetch("api-key", None).await.unwrap(), None), "k2");

    let wrong = source(AzureAuth::ClientSecret {
        tenant_id: "tenant-1".into(),
        client_id: "client-1".into(),
        client_secret: SecretBytes::new(b"bad".to_vec()),
    });
    let err = wrong.fetch("api-key", None).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Auth { .. }) && !err.to_string().contains("bad"),
        "{err}"
    );
}

// ---------------- through the controller ----------------

/// A SecretStore plus a SecretSync reading `remote`/`property` into key `value`.
async fn sync_through_controller(
    h: &common::Harness,
    provider: serde_json::Value,
    remote: &str,
    property: Option<&str>,
) -> k8s_openapi::api::core::v1::Secret {
    use hush_controller::crd::{SecretStore, SecretSync};
    h.create::<SecretStore>(json!({
        "apiVersion": "hush.dev/v1alpha1", "kind": "SecretStore",
        "metadata": { "name": "cloud", "namespace": common::NS },
        "spec": { "provider": provider }
    }))
    .await;
    let mut remote_ref = json!({ "key": remote });
    if let Some(p) = property {
        remote_ref["property"] = json!(p);
    }
    h.create::<SecretSync>(common::secret_sync(
        "app",
        json!({ "storeRef": { "name": "cloud" },
                "data": [ { "secretKey": "value", "remoteRef": remote_ref } ] }),
    ))
    .await;
    common::eventually(
        "Secret synced from the cloud stand-in",
        std::time::Duration::from_secs(20),
        || async {
            h.secret("app")
                .await
                .filter(|s| common::value(s, "value").is_some())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_secretsync_from_gcp_secret_manager() {
    use hush_controller::sync::target::SOURCE_VERSION;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = private.to_public_key();
    let store: Store = Arc::default();
    store.lock().unwrap().insert(
        "db".into(),
        vec![r#"{"password":"p1"}"#.into(), r#"{"password":"p2"}"#.into()],
    );
    let token_uri = Arc::new(Mutex::new(String::new()));
    let (addr, _server) = {
        let token_uri = token_uri.clone();
        serve(move |req| {
            let uri = token_uri.lock().unwrap().clone();
            gcp_handler(req, store.clone(), public.clone(), uri)
        })
        .await
    };
    let base = format!("http://{addr}");
    *token_uri.lock().unwrap() = format!("{base}/token");
    let key_json = json!({
        "type": "service_account",
        "client_email": "hush@proj.iam.gserviceaccount.com",
        "private_key": private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        "token_uri": format!("{base}/token"),
    });
    let h = common::Harness::start().await;
    h.plain_secret("gcp-key", &[("key.json", &key_json.to_string())])
        .await;
    let s = sync_through_controller(
        &h,
        json!({ "gcp": { "projectID": "proj", "endpoint": base,
                         "auth": { "secretRef": { "name": "gcp-key", "key": "key.json" } } } }),
        "db",
        Some("password"),
    )
    .await;
    assert_eq!(common::value(&s, "value").as_deref(), Some("p2"));
    assert_eq!(
        common::annotation(&s, SOURCE_VERSION).as_deref(),
        Some("db=2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_secretsync_from_azure_key_vault() {
    use hush_controller::sync::target::SOURCE_VERSION;
    let store: Store = Arc::default();
    store
        .lock()
        .unwrap()
        .insert("api-key".into(), vec!["k1".into(), "k2".into()]);
    let vault = Arc::new(Mutex::new(String::new()));
    let (addr, _server) = {
        let vault = vault.clone();
        let throttle = Arc::new(Mutex::new(0u32));
        serve(move |req| {
            let v = vault.lock().unwrap().clone();
            azure_handler(req, store.clone(), v, throttle.clone())
        })
        .await
    };
    let base = format!("http://{addr}");
    *vault.lock().unwrap() = base.clone();
    let h = common::Harness::start().await;
    h.plain_secret("azure-sp", &[("secret", "sp-secret")]).await;
    let s = sync_through_controller(
        &h,
        json!({ "azure": { "vaultUrl": base, "authType": "ServicePrincipal",
                           "tenantId": "tenant-1", "clientId": "client-1", "authorityHost": base,
                           "clientSecretRef": { "name": "azure-sp", "key": "secret" } } }),
        "api-key",
        None,
    )
    .await;
    assert_eq!(common::value(&s, "value").as_deref(), Some("k2"));
    assert_eq!(
        common::annotation(&s, SOURCE_VERSION).as_deref(),
        Some("api-key=ver2")
    );
}
