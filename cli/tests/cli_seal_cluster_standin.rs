//! `hush seal` against a cluster, end to end on the Kubernetes API stand-in (kmock
//! with hush's shim): the certificate, `--validate` and `--re-encrypt` through the
//! service proxy (`services/http:NAME:PORT/proxy/v1/...`, which the stand-in
//! forwards to a real hush-controller HTTP server running in this test), kubeconfig
//! handling, `hush seal keys list|prune`, and `hush rotation status --cluster`.
//! 2048-bit keys keep it quick.

use std::{path::Path, process::Output, sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use hush_controller::sealed::{
    http::{serve_api, RateLimiter},
    keys::{KeySettings, KeyStore},
};
use hush_crypto::sealing::{
    scope_label, seal, unseal_sealed_secret, Scope, SealedSecretManifest, SealingPublicKey,
};
use hush_tests::standins::{free_port, KubeStandin};
use kube::{
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    Api, Client, Config,
};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\nstringData:\n  password: s3cr3t-value\n";

struct Cluster {
    kube: KubeStandin,
    client: Client,
    keys: Arc<KeyStore>,
    api_url: String,
    home: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

async fn cluster() -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let kc = Kubeconfig::read_from(&kube.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    let keys = Arc::new(KeyStore::new(
        client.clone(),
        KeySettings {
            bits: 2048,
            ..KeySettings::default()
        },
    ));
    keys.ensure(Duration::ZERO, false).await.unwrap();
    let port = free_port();
    let limiter = Arc::new(RateLimiter::new(100.0, 100));
    let server_keys = keys.clone();
    let server = tokio::spawn(async move {
        let _ = serve_api(([127, 0, 0, 1], port).into(), server_keys, limiter).await;
    });
    let api_url = format!("http://127.0.0.1:{port}");
    kube.create_proxied_service("kube-system", "sealed-secrets-controller", "http", &api_url);
    Cluster {
        kube,
        client,
        keys,
        api_url,
        home: tempfile::tempdir().unwrap(),
        _server: server,
    }
}

impl Cluster {
    /// Run `hush` with this cluster's kubeconfig in $KUBECONFIG and a clean $HOME.
    async fn hush(&self, args: &[&str], stdin: &str) -> Output {
        let (args, stdin) = (
            args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            stdin.to_string(),
        );
        let (kubeconfig, home) = (self.kube.kubeconfig.clone(), self.home.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hush"))
                .args(&args)
                .env("KUBECONFIG", kubeconfig)
                .env("HOME", home)
                .env_remove("SEALED_SECRETS_CERT")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    fn public(&self, index: usize) -> SealingPublicKey {
        self.keys.snapshot().private[index].public_key().clone()
    }

    async fn new_key(&self) {
        // Keys are ordered by certificate notBefore (second precision).
        tokio::time::sleep(Duration::from_millis(1100)).await;
        self.keys.generate().await.unwrap();
    }

    async fn create_sealed(&self, manifest: &str) {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("bitnami.com", "v1alpha1", "SealedSecret"),
            "sealedsecrets",
        );
        let object: DynamicObject = serde_json::from_str(manifest).unwrap();
        let namespace = object.metadata.namespace.clone().unwrap();
        Api::<DynamicObject>::namespaced_with(self.client.clone(), &namespace, &resource)
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "hush failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "hush should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A SealedSecret `prod/NAME` with one value sealed to `public`, as JSON.
fn sealed_json(public: &SealingPublicKey, name: &str) -> String {
    let label = scope_label(Scope::Strict, "prod", name);
    let ct = seal(public, &label, b"plain-value").unwrap();
    serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": { "name": name, "namespace": "prod" },
        "spec": { "encryptedData": { "password": STANDARD.encode(ct) }, "template": { "metadata": {} } }
    })
    .to_string()
}

fn opened_by(cluster: &Cluster, text: &str) -> Vec<usize> {
    let sealed = &SealedSecretManifest::parse_all(text).unwrap()[0];
    let keys = cluster.keys.snapshot();
    let secret = unseal_sealed_secret(&keys.private, sealed).unwrap();
    assert!(secret.data.values().all(|v| !v.is_empty()));
    secret.used_keys.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_seal_through_the_service_proxy() {
    let cluster = cluster().await;
    let newest_pem = cluster
        .keys
        .snapshot()
        .newest()
        .unwrap()
        .certificate_pem
        .clone();

    // The certificate comes through services/http:sealed-secrets-controller:http/proxy.
    let cert = ok(&cluster.hush(&["seal", "--fetch-cert"], "").await);
    assert_eq!(cert, newest_pem);
    let log = cluster.kube.request_log();
    assert!(log.iter().any(|r| r.path
        == "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem"
        && r.status == Some(200)), "{log:?}");

    // Seal without --cert, then validate through /v1/verify.
    let sealed = ok(&cluster.hush(&["seal", "-o", "yaml"], SECRET).await);
    assert!(!sealed.contains("s3cr3t-value"));
    assert_eq!(opened_by(&cluster, &sealed), vec![0]);
    ok(&cluster.hush(&["seal", "--validate"], &sealed).await);
    let foreign = hush_crypto::sealing::SealingPrivateKey::generate(2048).unwrap();
    let stderr = failed(
        &cluster
            .hush(
                &["seal", "--validate"],
                &sealed_json(foreign.public_key(), "db"),
            )
            .await,
    );
    assert!(
        stderr.contains("unable to decrypt sealed secret"),
        "{stderr}"
    );

    // --re-encrypt with only -f rewrites the file in place, to the newest key.
    cluster.new_key().await;
    let file = cluster.home.path().join("db-sealed.yaml");
    std::fs::write(&file, &sealed).unwrap();
    let out = ok(&cluster
        .hush(&["seal", "--re-encrypt", "-f", file.to_str().unwrap()], "")
        .await);
    assert!(out.is_empty());
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert!(rewritten.starts_with("---\n"), "keeps YAML");
    assert_eq!(opened_by(&cluster, &rewritten), vec![1]);

    // Explicit --kubeconfig/--context; controller flags and their environment variables.
    let elsewhere = cluster.home.path().join("missing-kubeconfig");
    let kubeconfig = cluster.kube.kubeconfig.to_str().unwrap().to_string();
    let output = cluster
        .hush(
            &[
                "seal",
                "--fetch-cert",
                "--kubeconfig",
                &kubeconfig,
                "--context",
                "standin",
            ],
            "",
        )
        .await;
    assert_eq!(
        ok(&output),
        cluster.keys.snapshot().newest().unwrap().certificate_pem
    );
    let stderr = failed(
        &cluster
            .hush(&["seal", "--fetch-cert", "--context", "nope"], "")
            .await,
    );
    assert!(stderr.contains("kubeconfig"), "{stderr}");
    let stderr = failed(
        &cluster
            .hush(
                &[
                    "seal",
                    "--fetch-cert",
                    "--controller-name",
                    "other",
                    "--kubeconfig",
                    &kubeconfig,
                ],
                "",
            )
            .await,
    );
    assert!(stderr.contains("kube-system/other"), "{stderr}");
    let stderr = failed(
        &cluster
            .hush(
                &[
                    "seal",
                    "--fetch-cert",
                    "--kubeconfig",
                    elsewhere.to_str().unwrap(),
                ],
                "",
            )
            .await,
    );
    assert!(stderr.contains("missing-kubeconfig"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_seal_keys_list_prune_and_rotation_status() {
    let cluster = cluster().await;
    cluster.new_key().await;
    cluster.new_key().await;
    let snapshot = cluster.keys.snapshot();
    let fingerprints: Vec<String> = snapshot
        .info
        .iter()
        .map(|k| k.fingerprint.clone())
        .collect();
    let secrets: Vec<String> = snapshot
        .info
        .iter()
        .map(|k| k.secret_name.clone())
        .collect();
    // "old" is sealed to key 0, "new" to key 2; key 1 opens nothing.
    let old = sealed_json(&cluster.public(0), "old");
    let new = sealed_json(&cluster.public(2), "new");
    cluster.create_sealed(&old).await;
    cluster.create_sealed(&new).await;

    let list = ok(&cluster
        .hush(&["seal", "keys", "list", "-o", "json"], "")
        .await);
    let report: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(report["usage_source"], "trial-decryption");
    let rows = report["keys"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (row, (fingerprint, count, active)) in rows.iter().zip([
        (&fingerprints[0], 1, false),
        (&fingerprints[1], 0, false),
        (&fingerprints[2], 1, true),
    ]) {
        assert_eq!(row["fingerprint"], *fingerprint);
        assert_eq!(row["sealed_secrets"], count);
        assert_eq!(row["active"], active);
    }
    let table = ok(&cluster.hush(&["seal", "keys", "list"], "").await);
    assert!(table.starts_with("SECRET"), "{table}");

    // prune: the plan first; nothing without --yes; then only the unused old key goes.
    let plan = ok(&cluster
        .hush(&["seal", "keys", "prune", "--dry-run"], "")
        .await);
    assert!(
        plan.contains(&format!("would delete: kube-system/{}", secrets[1])),
        "{plan}"
    );
    assert!(
        plan.contains("keep (active)") && plan.contains("keep (in use)"),
        "{plan}"
    );
    let stderr = failed(&cluster.hush(&["seal", "keys", "prune"], "").await);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(
        cluster.keys.load().await.unwrap(),
        3,
        "dry run and no --yes delete nothing"
    );
    let applied = ok(&cluster
        .hush(&["seal", "keys", "prune", "--yes", "-o", "json"], "")
        .await);
    let applied: serde_json::Value = serde_json::from_str(&applied).unwrap();
    assert_eq!(applied["prune"]["delete"], serde_json::json!([secrets[1]]));
    assert_eq!(cluster.keys.load().await.unwrap(), 2);
    let left: Vec<String> = cluster
        .keys
        .snapshot()
        .info
        .iter()
        .map(|k| k.secret_name.clone())
        .collect();
    assert_eq!(left, vec![secrets[0].clone(), secrets[2].clone()]);

    // rotation status asks the controller which key sealed each SealedSecret.
    let dir = cluster.home.path().join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("old.json"), &old).unwrap();
    std::fs::write(dir.join("new.json"), &new).unwrap();
    let repo = dir.to_str().unwrap();
    for source in [
        vec!["--cluster"],
        vec!["--controller-url", cluster.api_url.as_str()],
    ] {
        let mut args = vec!["rotation", "status", repo, "-o", "json"];
        args.extend(source.iter().copied());
        let report: serde_json::Value =
            serde_json::from_str(&ok(&cluster.hush(&args, "").await)).unwrap();
        let files = report["files"].as_array().unwrap();
        let by_name = |name: &str| {
            files
                .iter()
                .find(|f| f["path"].as_str().unwrap().ends_with(name))
                .unwrap()
                .clone()
        };
        let (old_row, new_row) = (by_name("old.json"), by_name("new.json"));
        assert_eq!(old_row["status"], "ok", "{old_row}");
        assert_eq!(old_row["age_source"], "sealing-key");
        assert_eq!(old_row["sealing_keys"][0]["fingerprint"], fingerprints[0]);
        assert_eq!(old_row["sealing_keys"][0]["newest"], false);
        assert_eq!(new_row["sealing_keys"][0]["fingerprint"], fingerprints[2]);
        assert_eq!(new_row["sealing_keys"][0]["newest"], true);
        assert!(!report.to_string().contains("plain-value"));
    }
    // An overdue sealing key fails the gate.
    let output = cluster
        .hush(
            &[
                "rotation",
                "status",
                repo,
                "-o",
                "json",
                "--cluster",
                "--max-age",
                "0s",
            ],
            "",
        )
        .await;
    assert!(!output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["overdue"], 2);
    // Without a controller, SealedSecrets stay unknown.
    let report: serde_json::Value = serde_json::from_str(&ok(&cluster
        .hush(&["rotation", "status", repo, "-o", "json"], "")
        .await))
    .unwrap();
    assert_eq!(report["summary"]["unknown"], 2);
    let _ = Path::new(repo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_reseal_all_through_the_service_proxy() {
    let cluster = cluster().await;
    let tree = cluster.home.path().join("repo");
    std::fs::create_dir_all(tree.join("apps")).unwrap();
    let old = cluster.public(0);
    for name in ["db", "api", "cache"] {
        std::fs::write(
            tree.join("apps").join(format!("{name}.json")),
            sealed_json(&old, name),
        )
        .unwrap();
    }
    std::fs::write(tree.join("apps/plain.yaml"), "kind: ConfigMap\n").unwrap();
    cluster.new_key().await;

    // --dry-run names every file and changes none.
    let before = std::fs::read_to_string(tree.join("apps/db.json")).unwrap();
    let out = cluster
        .hush(
            &["reseal", "--all", "--dry-run", tree.to_str().unwrap()],
            "",
        )
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(&out);
    assert!(stderr.contains("3 of 3 file(s) to reseal"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(tree.join("apps/db.json")).unwrap(),
        before
    );

    // No --controller-url and no recovery keys: the controller behind the service proxy.
    let out = cluster
        .hush(&["reseal", "--all", tree.to_str().unwrap()], "")
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(&out);
    assert!(stderr.contains("3 of 3 file(s) resealed"), "{stderr}");
    for name in ["db", "api", "cache"] {
        let text = std::fs::read_to_string(tree.join("apps").join(format!("{name}.json"))).unwrap();
        assert_eq!(opened_by(&cluster, &text), vec![1], "{name}");
        assert!(!text.contains("plain-value"));
    }
    let log = cluster.kube.request_log();
    let rotates = log
        .iter()
        .filter(|r| {
            r.path
                == "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/rotate"
        })
        .count();
    assert_eq!(rotates, 3, "{log:?}");

    // A wrong controller name fails with the name and changes nothing.
    let stderr = failed(
        &cluster
            .hush(
                &[
                    "reseal",
                    "--all",
                    "--controller-name",
                    "other",
                    tree.to_str().unwrap(),
                ],
                "",
            )
            .await,
    );
    assert!(stderr.contains("kube-system/other"), "{stderr}");
}
