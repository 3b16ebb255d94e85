//! The Sealed Secrets controller on the Kubernetes API stand-in (kmock + shim):
//! first-start key generation, create/update/delete, template, unmanaged Secrets,
//! bad ciphertext, no-op reconciles, restart. 2048-bit keys keep the test quick.

mod common;

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use common::{annotation, client_for, eventually, value, NS};
use hush_controller::{
    crd::SealedSecret,
    sealed::{
        self,
        keys::{KeySettings, KeyStore, KEY_LABEL},
        secret::{KEY_CREATED, KEY_FINGERPRINT},
    },
};
use hush_crypto::sealing::{scope_label, seal, Scope, SealingPublicKey};
use hush_tests::standins::KubeStandin;
use k8s_openapi::api::{core::v1::Secret, events::v1::Event};
use kube::{
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    Api, Client, ResourceExt,
};

const WAIT: Duration = Duration::from_secs(20);
const KEY_NS: &str = "kube-system";

struct Running {
    ctx: Arc<sealed::Context>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_controller(client: &Client) -> Running {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let keys = Arc::new(KeyStore::new(
        client.clone(),
        KeySettings {
            namespace: KEY_NS.into(),
            bits: 2048,
            ..KeySettings::default()
        },
    ));
    keys.ensure(Duration::from_secs(30 * 24 * 3600), false)
        .await
        .expect("keys");
    let ctx = Arc::new(sealed::Context::new(
        client.clone(),
        keys,
        sealed::Settings {
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            concurrency: 4,
        },
    ));
    let task = tokio::spawn(sealed::run(ctx.clone()));
    Running { ctx, task }
}

fn sealed_secret(
    public: &SealingPublicKey,
    name: &str,
    values: &[(&str, &str)],
    template: serde_json::Value,
) -> SealedSecret {
    let label = scope_label(Scope::Strict, NS, name);
    let encrypted: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(k, v)| {
            let ct = seal(public, &label, v.as_bytes()).unwrap();
            (k.to_string(), STANDARD.encode(ct).into())
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": { "name": name, "namespace": NS },
        "spec": { "encryptedData": encrypted, "template": template }
    }))
    .unwrap()
}

fn synced(ss: &SealedSecret) -> Option<(String, Option<String>, Option<i64>)> {
    let status = ss.status.as_ref()?;
    let c = status.conditions.iter().find(|c| c.type_ == "Synced")?;
    Some((
        c.status.clone(),
        c.reason.clone(),
        status.observed_generation,
    ))
}

async fn wait_synced(api: &Api<SealedSecret>, name: &str, want: &str) -> SealedSecret {
    eventually(&format!("{name} Synced={want}"), WAIT, || async {
        let ss = api.get(name).await.ok()?;
        let (status, _, generation) = synced(&ss)?;
        (status == want && generation == ss.metadata.generation).then_some(ss)
    })
    .await
}

async fn wait_secret(api: &Api<Secret>, name: &str, key: &str, want: &str) -> Secret {
    eventually(&format!("{name}.{key} == value"), WAIT, || async {
        let s = api.get_opt(name).await.ok()??;
        (value(&s, key).as_deref() == Some(want)).then_some(s)
    })
    .await
}

/// resourceVersion of every object the controller could write.
async fn versions(client: &Client) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for s in Api::<Secret>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        all.push((
            format!("Secret/{}", s.name_any()),
            s.resource_version().unwrap_or_default(),
        ));
    }
    for s in Api::<SealedSecret>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        all.push((
            format!("SealedSecret/{}", s.name_any()),
            s.resource_version().unwrap_or_default(),
        ));
    }
    let events = Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    all.push(("events".into(), events.items.len().to_string()));
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_sealed_secrets_flows() {
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let client = client_for(&kube).await;
    let running = start_controller(&client).await;
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);

    // First start: one key Secret in Bitnami's shape.
    let key_secrets: Vec<Secret> = Api::<Secret>::namespaced(client.clone(), KEY_NS)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(key_secrets.len(), 1);
    let key_secret = &key_secrets[0];
    assert!(key_secret.name_any().starts_with("sealed-secrets-key"));
    assert_eq!(key_secret.name_any().len(), "sealed-secrets-key".len() + 5);
    assert_eq!(key_secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(
        key_secret.labels().get(KEY_LABEL).map(String::as_str),
        Some("active")
    );
    let keys = running.ctx.keys.snapshot();
    let public = keys.newest_private().unwrap().public_key().clone();
    let fingerprint = keys.newest().unwrap().fingerprint.clone();

    // Create, with a template (labels, annotations, type, templated key).
    let template = serde_json::json!({
        "metadata": { "labels": { "app": "db" }, "annotations": { "team": "core" } },
        "type": "kubernetes.io/basic-auth",
        "data": { "dsn": "postgres://{{ .username }}:{{ .password }}@db" }
    });
    let ss = sealed_secret(
        &public,
        "db",
        &[("username", "alice"), ("password", "s3cr3t-one")],
        template.clone(),
    );
    sealed_api
        .create(&PostParams::default(), &ss)
        .await
        .unwrap();
    let secret = wait_secret(&secrets, "db", "password", "s3cr3t-one").await;
    assert_eq!(
        value(&secret, "dsn").as_deref(),
        Some("postgres://alice:s3cr3t-one@db")
    );
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(secret.labels().get("app").map(String::as_str), Some("db"));
    assert_eq!(annotation(&secret, "team").as_deref(), Some("core"));
    assert_eq!(
        annotation(&secret, KEY_FINGERPRINT),
        Some(fingerprint.clone())
    );
    assert!(annotation(&secret, KEY_CREATED).is_some_and(|t| t.ends_with('Z')));
    let owner = secret.metadata.owner_references.clone().unwrap();
    assert_eq!(
        (owner[0].kind.as_str(), owner[0].controller),
        ("SealedSecret", Some(true))
    );
    let live = wait_synced(&sealed_api, "db", "True").await;
    assert_eq!(live.status.as_ref().unwrap().observed_generation, Some(1));

    // Update: new ciphertext -> new value, generation observed.
    let updated = sealed_secret(
        &public,
        "db",
        &[("username", "alice"), ("password", "s3cr3t-two")],
        template,
    );
    let patch = serde_json::json!({ "spec": { "encryptedData": updated.spec.encrypted_data } });
    sealed_api
        .patch("db", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    wait_secret(&secrets, "db", "password", "s3cr3t-two").await;
    let live = wait_synced(&sealed_api, "db", "True").await;
    assert_eq!(live.status.as_ref().unwrap().observed_generation, Some(2));

    // Delete the Secret: it comes back.
    secrets
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    wait_secret(&secrets, "db", "password", "s3cr3t-two").await;

    // A Secret the controller does not own is refused, not overwritten.
    let foreign: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "foreign", "namespace": NS },
        "data": { "password": STANDARD.encode("theirs") }
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(
                &public,
                "foreign",
                &[("password", "ours")],
                serde_json::json!({}),
            ),
        )
        .await
        .unwrap();
    // Bad ciphertext: condition and event, while a good neighbour is still unsealed.
    let mut bad = sealed_secret(
        &public,
        "broken",
        &[("password", "never-shown")],
        serde_json::json!({}),
    );
    bad.metadata.name = Some("broken-renamed".into()); // label mismatch: strict scope binds the name
    sealed_api
        .create(&PostParams::default(), &bad)
        .await
        .unwrap();
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(
                &public,
                "neighbour",
                &[("k", "fine")],
                serde_json::json!({}),
            ),
        )
        .await
        .unwrap();
    wait_secret(&secrets, "neighbour", "k", "fine").await;
    let refused = wait_synced(&sealed_api, "foreign", "False").await;
    assert_eq!(
        synced(&refused).unwrap().1.as_deref(),
        Some("ErrUpdateFailed")
    );
    assert_eq!(
        value(&secrets.get("foreign").await.unwrap(), "password").as_deref(),
        Some("theirs")
    );
    let broken = wait_synced(&sealed_api, "broken-renamed", "False").await;
    assert_eq!(
        synced(&broken).unwrap().1.as_deref(),
        Some("ErrUnsealFailed")
    );
    assert!(secrets.get_opt("broken-renamed").await.unwrap().is_none());
    let events = Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let reasons: Vec<String> = events.iter().filter_map(|e| e.reason.clone()).collect();
    for want in ["Unsealed", "ErrUnsealFailed", "ErrUpdateFailed"] {
        assert!(
            reasons.iter().any(|r| r == want),
            "event {want} in {reasons:?}"
        );
    }
    // No value in events or status.
    let event_text = serde_json::to_string(&events.items).unwrap();
    let status_text =
        serde_json::to_string(&sealed_api.list(&ListParams::default()).await.unwrap().items)
            .unwrap();
    for plaintext in ["s3cr3t", "never-shown", "alice"] {
        assert!(!event_text.contains(plaintext), "{plaintext} in events");
        assert!(!status_text.contains(plaintext), "{plaintext} in status");
    }

    // Managed annotation lets the controller take the foreign Secret over.
    secrets
        .patch(
            "foreign",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({
            "metadata": { "annotations": { "sealedsecrets.bitnami.com/managed": "true" } } })),
        )
        .await
        .unwrap();
    // Touch the SealedSecret so it is reconciled now (the foreign Secret has no owner ref).
    sealed_api
        .patch(
            "foreign",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({
            "metadata": { "annotations": { "touch": "1" } } })),
        )
        .await
        .unwrap();
    wait_secret(&secrets, "foreign", "password", "ours").await;

    // Steady state: a reconcile with nothing to change writes nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes_before = running.ctx.metrics.secret_writes.get();
    let reconciles_before = running.ctx.metrics.reconciles.get();
    sealed_api
        .patch(
            "db",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({
            "metadata": { "annotations": { "touch": "2" } } })),
        )
        .await
        .unwrap();
    eventually("reconcile after touch", WAIT, || async {
        (running.ctx.metrics.reconciles.get() > reconciles_before).then_some(())
    })
    .await;
    let before = versions(&client).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(versions(&client).await, before, "no writes in steady state");
    assert_eq!(running.ctx.metrics.secret_writes.get(), writes_before);

    // Metrics: per-key usage and key age.
    let text = running.ctx.metrics.encode(&running.ctx.keys.snapshot());
    assert!(
        text.contains("hush_sealed_key_usage_secrets{fingerprint="),
        "{text}"
    );
    assert!(text.contains("hush_sealed_key_age_seconds{"));

    // Restart: the same key is loaded (no new one), and a change made while the
    // controller was down converges.
    drop(running);
    secrets
        .delete("neighbour", &DeleteParams::default())
        .await
        .unwrap();
    let running = start_controller(&client).await;
    assert_eq!(
        running.ctx.keys.snapshot().info.len(),
        1,
        "existing key reused"
    );
    assert_eq!(
        running.ctx.keys.snapshot().newest().unwrap().fingerprint,
        fingerprint
    );
    wait_secret(&secrets, "neighbour", "k", "fine").await;
    wait_secret(&secrets, "db", "password", "s3cr3t-two").await;
    drop(running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_sealed_key_renewal_keeps_old_keys() {
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let client = client_for(&kube).await;
    let running = start_controller(&client).await;
    let old = running.ctx.keys.snapshot();
    let old_public = old.newest_private().unwrap().public_key().clone();
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(&old_public, "old", &[("k", "v1")], serde_json::json!({})),
        )
        .await
        .unwrap();
    wait_secret(&secrets, "old", "k", "v1").await;

    // Renewal adds a key; old SealedSecrets still unseal; new ones use the new key.
    // (Keys are ordered by certificate notBefore, which has second precision.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = running.ctx.keys.generate().await.unwrap();
    assert_ne!(new.fingerprint, old.newest().unwrap().fingerprint);
    assert_eq!(running.ctx.keys.snapshot().info.len(), 2);
    let new_public = running
        .ctx
        .keys
        .snapshot()
        .newest_private()
        .unwrap()
        .public_key()
        .clone();
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(&new_public, "new", &[("k", "v2")], serde_json::json!({})),
        )
        .await
        .unwrap();
    let s = wait_secret(&secrets, "new", "k", "v2").await;
    assert_eq!(
        annotation(&s, KEY_FINGERPRINT),
        Some(new.fingerprint.clone())
    );
    let s = secrets.get("old").await.unwrap();
    assert_eq!(
        annotation(&s, KEY_FINGERPRINT),
        Some(old.newest().unwrap().fingerprint.clone())
    );
    let key_secrets = Api::<Secret>::namespaced(client.clone(), KEY_NS)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(key_secrets.items.len(), 2, "old key Secret kept");

    // A restart loads both, newest last.
    drop(running);
    let running = start_controller(&client).await;
    let snapshot = running.ctx.keys.snapshot();
    assert_eq!(snapshot.info.len(), 2);
    assert_eq!(snapshot.newest().unwrap().fingerprint, new.fingerprint);
}

// ---------------------------------------------------------------------------
// API faults injected by the stand-in (`/_standin/faults`): retried with backoff,
// never in a hot loop, and the controller converges.

/// Logged requests with this method whose path ends with `suffix`.
fn requests(
    kube: &KubeStandin,
    method: &str,
    suffix: &str,
) -> Vec<hush_tests::standins::LoggedRequest> {
    kube.request_log()
        .into_iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .collect()
}

/// Seconds between consecutive requests.
fn gaps(requests: &[hush_tests::standins::LoggedRequest]) -> Vec<f64> {
    requests.windows(2).map(|w| w[1].time - w[0].time).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_sealed_conflict_and_server_errors_are_retried_with_backoff() {
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let client = client_for(&kube).await;
    let running = start_controller(&client).await;
    let public = running
        .ctx
        .keys
        .snapshot()
        .newest_private()
        .unwrap()
        .public_key()
        .clone();
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);

    // 500 on create: three failures, then the Secret is created. Retries follow
    // the controller's backoff (200 ms doubling, +-20% jitter), not a hot loop.
    let create_path = format!("/api/v1/namespaces/{NS}/secrets");
    kube.inject_fault("POST", &format!("{create_path}$"), "", 500, 3);
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(&public, "db", &[("password", "v1")], serde_json::json!({})),
        )
        .await
        .unwrap();
    wait_secret(&secrets, "db", "password", "v1").await;
    let creates = requests(&kube, "POST", &create_path);
    let statuses: Vec<Option<u16>> = creates.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..3], [Some(500); 3], "{statuses:?}");
    assert!(statuses[3].is_some_and(|s| s < 300), "{statuses:?}");
    let delays = gaps(&creates[..4]);
    assert!(
        delays[0] >= 0.15 && delays[1] >= 0.3 && delays[2] >= 0.6,
        "backoff doubles: {delays:?}"
    );

    // 409 on update (the live Secret changed under the controller): retried with a
    // fresh read, and the new value lands.
    let secret_path = format!("/api/v1/namespaces/{NS}/secrets/db");
    kube.inject_fault("PATCH", &format!("{secret_path}$"), "", 409, 2);
    let patch = serde_json::json!({ "spec": { "encryptedData":
        sealed_secret(&public, "db", &[("password", "v2")], serde_json::json!({})).spec.encrypted_data } });
    sealed_api
        .patch("db", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    wait_secret(&secrets, "db", "password", "v2").await;
    let patches = requests(&kube, "PATCH", &secret_path);
    let statuses: Vec<Option<u16>> = patches.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..2], [Some(409); 2], "{statuses:?}");
    assert!(statuses[2].is_some_and(|s| s < 300), "{statuses:?}");
    assert!(
        gaps(&patches[..3]).iter().all(|g| *g >= 0.15),
        "{:?}",
        gaps(&patches[..3])
    );
    let reads_before_patches = kube
        .request_log()
        .iter()
        .filter(|r| r.method == "GET" && r.path == secret_path && r.time < patches[2].time)
        .count();
    assert!(
        reads_before_patches >= 3,
        "each retry re-reads the live Secret"
    );
    wait_synced(&sealed_api, "db", "True").await;
    drop(running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_sealed_list_errors_and_expired_watch_then_restart_converge() {
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let client = client_for(&kube).await;
    let running = start_controller(&client).await;
    let public = running
        .ctx
        .keys
        .snapshot()
        .newest_private()
        .unwrap()
        .public_key()
        .clone();
    drop(running);
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(&public, "first", &[("k", "one")], serde_json::json!({})),
        )
        .await
        .unwrap();

    // A cold start meets three 500s on the SealedSecret list, then an expired
    // watch (410): the watcher backs off, lists again, and the controller converges.
    let list_path = "/apis/bitnami.com/v1alpha1/sealedsecrets";
    kube.clear_log();
    kube.inject_fault("GET", &format!("{list_path}$"), "", 500, 3);
    kube.inject_fault("GET", &format!("{list_path}$"), "watch=", 410, 1);
    let running = start_controller(&client).await;
    wait_secret(&secrets, "first", "k", "one").await;
    let lists = requests(&kube, "GET", list_path);
    let failed: Vec<_> = lists.iter().filter(|r| r.status == Some(500)).collect();
    assert_eq!(failed.len(), 3, "{lists:?}");
    let window = failed[2].time - failed[0].time;
    assert!(
        window >= 1.0,
        "list retries back off (client-go backoff), took {window:.2}s"
    );

    // After the 410 the watcher re-lists and keeps watching: a new SealedSecret
    // created now is unsealed.
    sealed_api
        .create(
            &PostParams::default(),
            &sealed_secret(&public, "second", &[("k", "two")], serde_json::json!({})),
        )
        .await
        .unwrap();
    wait_secret(&secrets, "second", "k", "two").await;
    let lists = requests(&kube, "GET", list_path);
    let expired = lists
        .iter()
        .position(|r| r.query.contains("watch=") && r.status == Some(200))
        .expect("the expired watch was served");
    assert!(
        lists[expired + 1..]
            .iter()
            .any(|r| !r.query.contains("watch=") && r.status == Some(200)),
        "a re-list follows the expired watch: {lists:?}"
    );
    let total_lists = lists.len();
    assert!(
        total_lists < 20,
        "no hot loop: {total_lists} list/watch requests"
    );

    // Restart while a Secret is missing and a SealedSecret changed: converges.
    drop(running);
    secrets
        .delete("first", &DeleteParams::default())
        .await
        .unwrap();
    let patch = serde_json::json!({ "spec": { "encryptedData":
        sealed_secret(&public, "second", &[("k", "three")], serde_json::json!({})).spec.encrypted_data } });
    sealed_api
        .patch("second", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    kube.inject_fault(
        "POST",
        &format!("/api/v1/namespaces/{NS}/secrets$"),
        "",
        500,
        1,
    );
    let running = start_controller(&client).await;
    wait_secret(&secrets, "first", "k", "one").await;
    wait_secret(&secrets, "second", "k", "three").await;

    // And then it is quiet: no writes once converged.
    wait_synced(&sealed_api, "second", "True").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    kube.clear_log();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes: Vec<_> = kube
        .request_log()
        .into_iter()
        .filter(|r| r.is_write())
        .collect();
    assert!(writes.is_empty(), "steady state writes nothing: {writes:?}");
    drop(running);
}
