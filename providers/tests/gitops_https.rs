//! https with a token against a real `git http-backend` behind a TLS server that
//! demands Basic auth (401 first), its self-signed certificate trusted through
//! `SSL_CERT_FILE` as an operator would add a private CA. Its own test binary,
//! because it sets `SSL_CERT_FILE` for the process.
#![cfg(feature = "gitops")]

use hush_providers::gitops::{GitAuth, GitRef, Mirror, RepoSpec};
use hush_tests::git::git;
use hush_tests::git_http::GitHttp;
use zeroize::Zeroizing;

#[test]
fn https_with_a_token_fetches_and_a_wrong_token_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("served/origin.git");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "--bare", "-b", "main"]);
    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join("apps")).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("apps/cm.yaml"), "kind: ConfigMap\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(&work, &["push", "-q", origin.to_str().unwrap(), "main"]);

    let server = GitHttp::start_tls(&tmp.path().join("served"), "deploy-bot", "tok-RIGHT-123");
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, server.cert_pem.as_ref().unwrap()).unwrap();
    std::env::set_var("SSL_CERT_FILE", &ca);
    let url = format!("https://127.0.0.1:{}/origin.git", server.port);
    let spec = |token: &str| RepoSpec {
        url: url.clone(),
        reference: GitRef::Branch("main".into()),
        auth: GitAuth::Token {
            username: "deploy-bot".into(),
            token: Zeroizing::new(token.into()),
        },
    };

    let mut mirror = Mirror::open(&tmp.path().join("cache"), spec("tok-RIGHT-123")).unwrap();
    let head = mirror.fetch().unwrap();
    let files = mirror.files_under(&head, &["apps".into()]).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].bytes, b"kind: ConfigMap\n");

    let mut wrong = Mirror::open(&tmp.path().join("cache2"), spec("tok-WRONG-456")).unwrap();
    let err = wrong.fetch().unwrap_err().to_string();
    assert!(
        !err.contains("tok-WRONG") && !err.contains("tok-RIGHT"),
        "{err}"
    );
    assert!(wrong.last_fetched().is_none());
}
