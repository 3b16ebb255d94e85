//! The Vault KV source against a real OpenBao dev server: KV v1 and v2, token and
//! AppRole auth, pinned versions, listing, and the error kinds.

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
