//! Controller flows on the Kubernetes API stand-in (kmock + shim) against a real
//! OpenBao dev server. The stand-in has no garbage collector, so Owner deletion is
//! checked through the owner reference, not through an actual cascade.

mod common;

use std::time::Duration;

use common::*;
use hush_controller::{
    crd::SecretSync,
    kube_util::rollout::RESTARTED_AT,
    sync::target::{DATA_HASH, LAST_ROTATED, REFRESH_REQUESTED, SOURCE, SOURCE_VERSION},
};
use hush_tests::standins::OpenBao;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Secret};
use kube::api::DeleteParams;

const WAIT: Duration = Duration::from_secs(20);

fn ready(sync: &SecretSync) -> Option<(String, String)> {
    let c = sync
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status.clone(), c.reason.clone()))
}

async fn wait_reason(h: &Harness, name: &str, status: &str, reason: &str) -> SecretSync {
    let api = h.api::<SecretSync>();
    eventually(
        &format!("{name} Ready={status} reason={reason}"),
        WAIT,
        || {
            let api = api.clone();
            async move {
                let s = api.get(name).await.ok()?;
                (ready(&s)? == (status.to_string(), reason.to_string())).then_some(s)
            }
        },
    )
    .await
}

async fn request_refresh(h: &Harness, name: &str, token: &str) {
    h.merge::<SecretSync>(
        name,
        serde_json::json!({ "metadata": { "annotations": { REFRESH_REQUESTED: token } } }),
    )
    .await;
}

async fn secret_where(
    h: &Harness,
    name: &str,
    what: &str,
    pred: impl Fn(&Secret) -> bool,
) -> Secret {
    eventually(what, WAIT, || async {
        let s = h.secret(name).await?;
        pred(&s).then_some(s)
    })
    .await
}

async fn setup() -> (Harness, OpenBao) {
    let bao = OpenBao::start().expect("start OpenBao");
    let h = Harness::start().await;
    h.plain_secret("bao-token", &[("token", &bao.root_token)])
        .await;
    h.create::<hush_controller::crd::SecretStore>(vault_store(
        "bao",
        &bao.address,
        "secret",
        "v2",
        "bao-token",
    ))
    .await;
    (h, bao)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_kv2_sync_rotation_restart_and_pinning() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/db", "user=alice", "password=one"]);
    h.create::<Deployment>(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "api", "namespace": NS,
                      "annotations": { "hush.dev/restart-on-change": "db-creds" } },
        "spec": { "selector": { "matchLabels": { "app": "api" } },
                  "template": { "metadata": { "labels": { "app": "api" } },
                                "spec": { "containers": [ { "name": "api", "image": "api:1" } ] } } }
    }))
    .await;
    h.create::<SecretSync>(secret_sync(
        "db",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "refreshInterval": "1h",
            "target": { "name": "db-creds" },
            "data": [
                { "secretKey": "username", "remoteRef": { "key": "app/db", "property": "user" } },
                { "secretKey": "password", "remoteRef": { "key": "app/db", "property": "password" } }
            ]
        }),
    ))
    .await;
    h.create::<SecretSync>(secret_sync(
        "db-pinned",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "data": [ { "secretKey": "password",
                        "remoteRef": { "key": "app/db", "property": "password", "version": "1" } } ]
        }),
    ))
    .await;

    // First sync: the Secret appears with the values and version annotations.
    let s = secret_where(&h, "db-creds", "db-creds created", |s| {
        value(s, "password").is_some()
    })
    .await;
    assert_eq!(value(&s, "username").as_deref(), Some("alice"));
    assert_eq!(value(&s, "password").as_deref(), Some("one"));
    assert_eq!(annotation(&s, SOURCE_VERSION).as_deref(), Some("app/db=1"));
    assert_eq!(
        annotation(&s, SOURCE).as_deref(),
        Some("vault:SecretStore/bao")
    );
    assert!(annotation(&s, DATA_HASH).is_some_and(|h| h.len() == 64));
    let first_rotated = annotation(&s, LAST_ROTATED).expect("last-rotated annotation");
    let owner = s.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(
        owner.len(),
        1,
        "Owner policy sets a controller owner reference"
    );
    assert_eq!(owner[0].kind, "SecretSync");
    let status = wait_reason(&h, "db", "True", "Synced")
        .await
        .status
        .unwrap();
    assert_eq!(status.synced.len(), 2);
    assert!(status
        .synced
        .iter()
        .all(|k| k.version == "1" && k.remote_key == "app/db"));
    assert!(status.next_refresh_at.is_some() && status.last_rotated_at.is_some());
    let status_json = serde_json::to_string(&status).unwrap();
    assert!(
        !status_json.contains("one") && !status_json.contains("alice"),
        "no values in status"
    );

    // Rotate at the source, ask for a refresh: new value, new version, dependents restarted.
    tokio::time::sleep(Duration::from_millis(1100)).await; // last-rotated has second precision
    bao.cli(&["kv", "put", "secret/app/db", "user=alice", "password=two"]);
    request_refresh(&h, "db", "r1").await;
    let s = secret_where(&h, "db-creds", "rotated value", |s| {
        value(s, "password").as_deref() == Some("two")
    })
    .await;
    assert_eq!(annotation(&s, SOURCE_VERSION).as_deref(), Some("app/db=2"));
    assert_ne!(annotation(&s, LAST_ROTATED), Some(first_rotated.clone()));
    let deploy = eventually("deployment restarted", WAIT, || async {
        let d = h.api::<Deployment>().get("api").await.ok()?;
        let restarted = d
            .spec
            .as_ref()?
            .template
            .metadata
            .as_ref()?
            .annotations
            .as_ref()?
            .get(RESTARTED_AT)?
            .clone();
        Some(restarted)
    })
    .await;
    assert!(!deploy.is_empty());
    let status = wait_reason(&h, "db", "True", "Synced")
        .await
        .status
        .unwrap();
    assert!(status.synced.iter().all(|k| k.version == "2"));
    assert_ne!(status.last_rotated_at, Some(first_rotated));

    // The pinned SecretSync stays on version 1 after a refresh.
    request_refresh(&h, "db-pinned", "r1").await;
    let pinned = wait_reason(&h, "db-pinned", "True", "Synced").await;
    assert_eq!(pinned.status.unwrap().synced[0].version, "1");
    let s = h.secret("db-pinned").await.unwrap();
    assert_eq!(value(&s, "password").as_deref(), Some("one"));
    assert_eq!(annotation(&s, SOURCE_VERSION).as_deref(), Some("app/db=1"));

    let text = h.ctx.metrics.encode();
    assert!(
        text.contains(r#"hush_provider_calls_total{provider="vault",call="fetch",result="ok"}"#),
        "{text}"
    );
    assert!(text.contains("hush_workload_restarts_total 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_drift_is_corrected_from_the_watch() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/api", "key=k1"]);
    h.create::<SecretSync>(secret_sync(
        "api",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "refreshInterval": "1h",
            "data": [ { "secretKey": "key", "remoteRef": { "key": "app/api", "property": "key" } } ]
        }),
    ))
    .await;
    secret_where(&h, "api", "api created", |s| {
        value(s, "key").as_deref() == Some("k1")
    })
    .await;
    // Someone edits the Secret: it is restored long before the 1h interval.
    h.merge::<Secret>("api", serde_json::json!({ "data": { "key": "aGFja2Vk" } }))
        .await;
    secret_where(&h, "api", "drift corrected", |s| {
        value(s, "key").as_deref() == Some("k1")
    })
    .await;

    // Idle means idle: no reconcile loop feeds on its own writes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = h.ctx.metrics.reconciles.get();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        h.ctx.metrics.reconciles.get(),
        before,
        "reconciles while idle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_provider_outage_keeps_last_good_secret_then_recovers() {
    let (h, mut bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/q", "v=good"]);
    h.create::<SecretSync>(secret_sync(
        "q",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "data": [ { "secretKey": "v", "remoteRef": { "key": "app/q", "property": "v" } } ]
        }),
    ))
    .await;
    secret_where(&h, "q", "q created", |s| {
        value(s, "v").as_deref() == Some("good")
    })
    .await;

    bao.process.stop();
    request_refresh(&h, "q", "outage").await;
    let failed = wait_reason(&h, "q", "False", "ProviderUnavailable").await;
    let msg = &failed.status.unwrap().conditions[0].message;
    assert!(msg.contains("last synced Secret is kept"), "{msg}");
    let s = h.secret("q").await.expect("Secret kept during outage");
    assert_eq!(value(&s, "v").as_deref(), Some("good"));

    // Back up (a fresh dev server on the same port with a new value): the retry recovers.
    bao = bao.restart().expect("restart OpenBao");
    bao.cli(&["kv", "put", "secret/app/q", "v=better"]);
    secret_where(&h, "q", "recovered", |s| {
        value(s, "v").as_deref() == Some("better")
    })
    .await;
    wait_reason(&h, "q", "True", "Synced").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_missing_key_and_source_deletion() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/keep", "v=1"]);
    bao.cli(&["kv", "put", "secret/app/drop", "v=1"]);
    let spec = |key: &str, policy: &str| {
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "target": { "deletionPolicy": policy },
            "data": [ { "secretKey": "v", "remoteRef": { "key": key, "property": "v" } } ]
        })
    };
    h.create::<SecretSync>(secret_sync("keep", spec("app/keep", "Retain")))
        .await;
    h.create::<SecretSync>(secret_sync("drop", spec("app/drop", "Delete")))
        .await;
    h.create::<SecretSync>(secret_sync(
        "badprop",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "data": [ { "secretKey": "v", "remoteRef": { "key": "app/keep", "property": "nope" } } ]
        }),
    ))
    .await;
    // A missing property fails only that SecretSync, with a clear reason.
    let bad = wait_reason(&h, "badprop", "False", "PropertyMissing").await;
    assert!(bad.status.unwrap().conditions[0]
        .message
        .contains("\"nope\""));
    secret_where(&h, "keep", "keep created", |s| value(s, "v").is_some()).await;
    secret_where(&h, "drop", "drop created", |s| value(s, "v").is_some()).await;
    assert!(h.secret("badprop").await.is_none());

    bao.cli(&["kv", "metadata", "delete", "secret/app/keep"]);
    bao.cli(&["kv", "metadata", "delete", "secret/app/drop"]);
    request_refresh(&h, "keep", "gone").await;
    request_refresh(&h, "drop", "gone").await;
    wait_reason(&h, "keep", "False", "SourceDeleted").await;
    wait_reason(&h, "drop", "False", "SourceDeleted").await;
    assert!(h.secret("keep").await.is_some(), "Retain keeps the Secret");
    eventually("Delete policy removes the Secret", WAIT, || async {
        h.secret("drop").await.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_merge_orphan_owner_and_foreign_secrets() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/m", "token=t1"]);
    h.plain_secret("shared", &[("other", "theirs")]).await;
    h.plain_secret("foreign", &[("x", "mine")]).await;
    let spec = |target: &str, policy: &str| {
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "target": { "name": target, "creationPolicy": policy },
            "data": [ { "secretKey": "token", "remoteRef": { "key": "app/m", "property": "token" } } ]
        })
    };
    h.create::<SecretSync>(secret_sync("merge", spec("shared", "Merge")))
        .await;
    h.create::<SecretSync>(secret_sync("orphan", spec("orphaned", "Orphan")))
        .await;
    h.create::<SecretSync>(secret_sync("steal", spec("foreign", "Owner")))
        .await;
    h.create::<SecretSync>(secret_sync("merge-missing", spec("absent", "Merge")))
        .await;

    // Merge adds our key and keeps theirs; no owner reference.
    let s = secret_where(&h, "shared", "merged", |s| value(s, "token").is_some()).await;
    assert_eq!(value(&s, "other").as_deref(), Some("theirs"));
    assert_eq!(value(&s, "token").as_deref(), Some("t1"));
    assert!(s.metadata.owner_references.unwrap_or_default().is_empty());

    // Orphan: created without an owner reference, and it survives its SecretSync.
    let s = secret_where(&h, "orphaned", "orphan created", |s| {
        value(s, "token").is_some()
    })
    .await;
    assert!(s.metadata.owner_references.unwrap_or_default().is_empty());
    h.api::<SecretSync>()
        .delete("orphan", &DeleteParams::default())
        .await
        .expect("delete SecretSync");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(h.secret("orphaned").await.is_some());

    // A Secret someone else created is never overwritten under Owner policy.
    let steal = wait_reason(&h, "steal", "False", "SecretNotOwned").await;
    assert!(steal.status.unwrap().conditions[0]
        .message
        .contains("foreign"));
    let s = h.secret("foreign").await.unwrap();
    assert_eq!(value(&s, "x").as_deref(), Some("mine"));
    assert!(value(&s, "token").is_none());

    // Merge into a Secret that does not exist is an error, not a creation.
    wait_reason(&h, "merge-missing", "False", "TargetMissing").await;
    assert!(h.secret("absent").await.is_none());
}
