//! More SecretSync flows on the Kubernetes API stand-in (kmock + shim) against a real
//! OpenBao dev server: ClusterSecretStore namespace rules, `dataFrom`, templates and
//! the RotationOverdue condition, Event and metric.

mod common;

use std::time::Duration;

use common::*;
use hush_controller::crd::{ClusterSecretStore, SecretStore, SecretSync};
use hush_tests::standins::OpenBao;
use k8s_openapi::api::{
    core::v1::{Namespace, Secret},
    events::v1::Event,
};
use kube::{
    api::{ListParams, PostParams},
    Api,
};

const WAIT: Duration = Duration::from_secs(20);

fn condition(sync: &SecretSync, type_: &str) -> Option<(String, String)> {
    let c = sync
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone()))
}

async fn wait_condition(
    api: &Api<SecretSync>,
    name: &str,
    type_: &str,
    want: (&str, &str),
) -> SecretSync {
    eventually(&format!("{name} {type_}={want:?}"), WAIT, || async move {
        let s = api.get(name).await.ok()?;
        (condition(&s, type_)? == (want.0.to_string(), want.1.to_string())).then_some(s)
    })
    .await
}

async fn wait_secret(api: &Api<Secret>, name: &str) -> Secret {
    eventually(&format!("Secret {name}"), WAIT, || async move {
        api.get_opt(name).await.ok().flatten()
    })
    .await
}

async fn setup() -> (Harness, OpenBao) {
    let bao = OpenBao::start().expect("start OpenBao");
    let h = Harness::start().await;
    h.plain_secret("bao-token", &[("token", &bao.root_token)])
        .await;
    h.create::<SecretStore>(vault_store(
        "bao",
        &bao.address,
        "secret",
        "v2",
        "bao-token",
    ))
    .await;
    (h, bao)
}

async fn namespace(h: &Harness, name: &str, labels: serde_json::Value) {
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": { "name": name, "labels": labels }
    }))
    .unwrap();
    Api::<Namespace>::all(h.client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_cluster_store_allows_selected_namespaces_only() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/shared/api", "key=k1"]);
    namespace(
        &h,
        "team-a",
        serde_json::json!({ "hush.dev/secrets": "yes" }),
    )
    .await;
    namespace(&h, "team-b", serde_json::json!({ "team": "b" })).await;
    let store: ClusterSecretStore = serde_json::from_value(serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1", "kind": "ClusterSecretStore",
        "metadata": { "name": "shared" },
        "spec": {
            "namespaceSelector": { "matchLabels": { "hush.dev/secrets": "yes" } },
            "provider": { "vault": {
                "server": bao.address, "path": "secret", "version": "v2",
                "auth": { "tokenSecretRef": { "name": "bao-token", "key": "token", "namespace": NS } }
            } }
        }
    }))
    .unwrap();
    Api::<ClusterSecretStore>::all(h.client.clone())
        .create(&PostParams::default(), &store)
        .await
        .expect("create ClusterSecretStore");
    for ns in ["team-a", "team-b"] {
        let sync: SecretSync = serde_json::from_value(serde_json::json!({
            "apiVersion": "hush.dev/v1alpha1", "kind": "SecretSync",
            "metadata": { "name": "api", "namespace": ns },
            "spec": {
                "storeRef": { "name": "shared", "kind": "ClusterSecretStore" },
                "data": [ { "secretKey": "key", "remoteRef": { "key": "shared/api", "property": "key" } } ]
            }
        }))
        .unwrap();
        Api::<SecretSync>::namespaced(h.client.clone(), ns)
            .create(&PostParams::default(), &sync)
            .await
            .expect("create SecretSync");
    }

    let allowed = wait_secret(&Api::namespaced(h.client.clone(), "team-a"), "api").await;
    assert_eq!(value(&allowed, "key").as_deref(), Some("k1"));

    let refused_api = Api::<SecretSync>::namespaced(h.client.clone(), "team-b");
    let refused = wait_condition(&refused_api, "api", "Ready", ("False", "StoreNotReady")).await;
    let message = refused.status.unwrap().conditions[0].message.clone();
    assert!(
        message.contains("does not allow namespace \"team-b\""),
        "{message}"
    );
    let team_b: Api<Secret> = Api::namespaced(h.client.clone(), "team-b");
    assert!(team_b.get_opt("api").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_data_from_extract_and_find_by_path() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/db", "user=alice", "password=pw"]);
    bao.cli(&["kv", "put", "secret/certs/web", "crt=C1"]);
    bao.cli(&["kv", "put", "secret/certs/nested/api", "crt=C2"]);
    bao.cli(&["kv", "put", "secret/other/x", "crt=no"]);
    h.create::<SecretSync>(secret_sync(
        "db",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "dataFrom": [ { "extract": { "key": "app/db" } } ]
        }),
    ))
    .await;
    h.create::<SecretSync>(secret_sync(
        "certs",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "dataFrom": [ { "find": { "path": "certs/" } } ]
        }),
    ))
    .await;

    let secrets = h.api::<Secret>();
    let db = wait_secret(&secrets, "db").await;
    let keys: Vec<&String> = db.data.as_ref().unwrap().keys().collect();
    assert_eq!(keys, ["password", "user"]);
    assert_eq!(value(&db, "user").as_deref(), Some("alice"));
    assert_eq!(value(&db, "password").as_deref(), Some("pw"));

    let certs = wait_secret(&secrets, "certs").await;
    let keys: Vec<&String> = certs.data.as_ref().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["nested_api", "web"],
        "every secret under certs/, none outside"
    );
    let web: serde_json::Value =
        serde_json::from_str(&value(&certs, "web").unwrap()).expect("whole secret as JSON");
    assert_eq!(web, serde_json::json!({ "crt": "C1" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_template_sets_type_labels_annotations_and_values() {
    let (h, bao) = setup().await;
    bao.cli(&[
        "kv",
        "put",
        "secret/app/db",
        "user=alice",
        "password=s3cret",
    ]);
    h.create::<SecretSync>(secret_sync(
        "db",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "target": { "name": "db-url", "template": {
                "type": "kubernetes.io/basic-auth",
                "labels": { "app": "api" },
                "annotations": { "team": "payments" },
                "data": {
                    "username": "{{ .user }}",
                    "password": "{{ .password }}",
                    "url": "postgres://{{ .user }}:{{ .password }}@db:5432/app"
                }
            } },
            "dataFrom": [ { "extract": { "key": "app/db" } } ]
        }),
    ))
    .await;
    let s = wait_secret(&h.api::<Secret>(), "db-url").await;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .map(String::as_str),
        Some("api")
    );
    assert_eq!(annotation(&s, "team").as_deref(), Some("payments"));
    let keys: Vec<&String> = s.data.as_ref().unwrap().keys().collect();
    assert_eq!(keys, ["password", "url", "username"], "only templated keys");
    assert_eq!(
        value(&s, "url").as_deref(),
        Some("postgres://alice:s3cret@db:5432/app")
    );

    // A template naming a field the source lacks fails without touching the Secret,
    // and the message names the field, not a value.
    h.merge::<SecretSync>(
        "db",
        serde_json::json!({ "spec": { "target": { "template": { "data": { "x": "{{ .nope }}" } } } } }),
    )
    .await;
    let failed = wait_condition(&h.api(), "db", "Ready", ("False", "TemplateError")).await;
    let message = failed.status.unwrap().conditions[0].message.clone();
    assert!(
        message.contains("nope") && !message.contains("s3cret"),
        "{message}"
    );
    let still = h.secret("db-url").await.unwrap();
    assert_eq!(value(&still, "password").as_deref(), Some("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_rotation_overdue_condition_event_and_metric() {
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/token", "t=one"]);
    h.create::<SecretSync>(secret_sync(
        "token",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "rotationPolicy": { "maxAge": "6s" },
            "data": [ { "secretKey": "t", "remoteRef": { "key": "app/token", "property": "t" } } ]
        }),
    ))
    .await;
    let api = h.api::<SecretSync>();
    wait_condition(&api, "token", "RotationOverdue", ("False", "WithinMaxAge")).await;
    assert_eq!(h.ctx.metrics.rotation_overdue.get(), 0);

    // Nothing rotates the source: within a few seconds the sync is overdue.
    wait_condition(&api, "token", "RotationOverdue", ("True", "MaxAgeExceeded")).await;
    assert_eq!(h.ctx.metrics.rotation_overdue.get(), 1);
    let events: Api<Event> = Api::namespaced(h.client.clone(), NS);
    let overdue = eventually("RotationOverdue event", WAIT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("RotationOverdue"))
    })
    .await;
    assert_eq!(overdue.type_.as_deref(), Some("Warning"));
    assert_eq!(
        overdue.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("token")
    );

    // A new value in the source (picked up on request) clears it.
    bao.cli(&["kv", "put", "secret/app/token", "t=two"]);
    h.merge::<SecretSync>(
        "token",
        serde_json::json!({ "metadata": { "annotations": {
            hush_controller::sync::target::REFRESH_REQUESTED: "1" } } }),
    )
    .await;
    wait_condition(&api, "token", "RotationOverdue", ("False", "WithinMaxAge")).await;
    assert_eq!(h.ctx.metrics.rotation_overdue.get(), 0);
    assert_eq!(
        value(&h.secret("token").await.unwrap(), "t").as_deref(),
        Some("two")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_k8s_deleting_a_merge_sync_takes_its_keys_back_out() {
    use hush_controller::sync::{target::DATA_HASH, MERGE_FINALIZER};
    use kube::api::DeleteParams;
    let (h, bao) = setup().await;
    bao.cli(&["kv", "put", "secret/app/m", "token=t1"]);
    h.plain_secret("shared", &[("other", "theirs")]).await;
    h.create::<SecretSync>(secret_sync(
        "merge",
        serde_json::json!({
            "storeRef": { "name": "bao" },
            "target": { "name": "shared", "creationPolicy": "Merge" },
            "data": [ { "secretKey": "token", "remoteRef": { "key": "app/m", "property": "token" } } ]
        }),
    ))
    .await;
    let secrets = h.api::<Secret>();
    eventually("merged", WAIT, || async {
        let s = secrets.get("shared").await.ok()?;
        value(&s, "token").is_some().then_some(())
    })
    .await;
    let api = h.api::<SecretSync>();
    let sync = api.get("merge").await.unwrap();
    assert!(
        sync.metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == MERGE_FINALIZER),
        "a Merge SecretSync carries the cleanup finalizer"
    );

    api.delete("merge", &DeleteParams::default()).await.unwrap();
    let s = eventually("our key removed, theirs kept", WAIT, || async {
        let s = secrets.get("shared").await.ok()?;
        value(&s, "token").is_none().then_some(s)
    })
    .await;
    assert_eq!(value(&s, "other").as_deref(), Some("theirs"));
    assert!(annotation(&s, DATA_HASH).is_none());
    eventually("SecretSync released and gone", WAIT, || async {
        api.get_opt("merge").await.ok()?.is_none().then_some(())
    })
    .await;
}
