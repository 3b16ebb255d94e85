//! SopsSecret controller against the Kubernetes API stand-in (kmock + hush's shim, not
//! a real API server): apply, update, drift reverted, tampering refused (condition and
//! event without values), a foreign Secret left alone, webhook notifications.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{annotation, client_for, eventually, value, NS};
use hush_controller::{
    crd::SopsSecret,
    notifier::Notifier,
    sops::{self, keys::KeySecretRef, Context, Settings},
};
use hush_crypto::{
    metadata::Metadata, nested, rules::Selector, stores::json, stores::yaml, DataKey, KeyGroup,
    MasterKey,
};
use hush_providers::{age::generate_identity, age::parse_recipient, flux_keys, KeyRing};
use hush_tests::standins::{FakeControls, FakeRequest, FakeResponse, FakeServer, KubeStandin};
use k8s_openapi::api::{core::v1::Secret, events::v1::Event};
use kube::{
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    Api, Client,
};

const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    _kube: KubeStandin,
    client: Client,
    identity: String,
    recipient: String,
    controller: tokio::task::JoinHandle<()>,
    ctx: Arc<Context>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

async fn start(notifier: Notifier) -> Setup {
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let client = client_for(&kube).await;
    let (identity, recipient) = generate_identity();
    // The key Secret, Flux style.
    let keys: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "sops-keys", "namespace": NS },
        "stringData": { "identity.agekey": identity.as_str() }
    }))
    .unwrap();
    let mut keys = keys;
    keys.data = Some(
        [(
            "identity.agekey".to_string(),
            k8s_openapi::ByteString(identity.as_bytes().to_vec()),
        )]
        .into(),
    );
    keys.string_data = None;
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &keys)
        .await
        .expect("create key secret");
    let ctx = Arc::new(Context::new(
        client.clone(),
        notifier,
        Settings {
            min_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(2),
            concurrency: 4,
            default_key_secret: Some(KeySecretRef {
                namespace: NS.into(),
                name: "sops-keys".into(),
            }),
        },
    ));
    let controller = tokio::spawn(sops::run(ctx.clone()));
    Setup {
        _kube: kube,
        client,
        identity: identity.to_string(),
        recipient,
        controller,
        ctx,
    }
}

/// A SopsSecret sealed exactly as `hush encrypt` seals one (same crypto call), as JSON.
fn sealed_sops_secret(recipient: &str, name: &str, password: &str) -> serde_json::Value {
    let plain = format!(
        "apiVersion: hush.dev/v1alpha1\nkind: SopsSecret\nmetadata:\n  name: {name}\n  namespace: {NS}\nspec:\n  template:\n    type: Opaque\n    metadata:\n      labels:\n        app: db\n  stringData:\n    password: {password}\n  data:\n    token: dG9rZW4=\n"
    );
    let mut doc = yaml::parse_documents(&plain).unwrap().remove(0);
    let groups: Vec<KeyGroup> = vec![vec![MasterKey {
        kind: parse_recipient(recipient).unwrap(),
        enc: String::new(),
        created_at: None,
    }]];
    let selector = Selector::from_field("encrypted_regex", "^(data|stringData)$")
        .unwrap()
        .unwrap();
    let mut metadata = Metadata::new(groups, None, selector, false);
    let key = DataKey::generate();
    let wrapper = flux_keys::keyring_from_entries(&Default::default(), false).unwrap();
    let ring: &KeyRing = &wrapper.ring;
    ring.wrap(&mut metadata.key_groups, None, &key, "2026-01-01T00:00:00Z")
        .unwrap();
    nested::seal(
        &mut doc,
        nested::SOPS_SECRET_SUBTREE,
        &mut metadata,
        &key,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    serde_json::from_str(&json::emit(&doc, json::JsonIndent::Spaces(0))).unwrap()
}

/// Add what GitOps tools add at the root: labels, annotations.
fn decorate(mut obj: serde_json::Value) -> serde_json::Value {
    obj["metadata"]["labels"] = serde_json::json!({ "argocd.argoproj.io/instance": "apps" });
    obj["metadata"]["annotations"] = serde_json::json!({
        "kubectl.kubernetes.io/last-applied-configuration": "{\"huge\":\"blob\"}"
    });
    obj
}

async fn create(client: &Client, obj: serde_json::Value) {
    let obj: SopsSecret = serde_json::from_value(obj).expect("SopsSecret JSON");
    Api::<SopsSecret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &obj)
        .await
        .expect("create SopsSecret");
}

async fn secret(client: &Client, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(client.clone(), NS)
        .get_opt(name)
        .await
        .unwrap()
}

async fn ready(client: &Client, name: &str) -> Option<(String, String, String)> {
    let obj = Api::<SopsSecret>::namespaced(client.clone(), NS)
        .get_opt(name)
        .await
        .unwrap()?;
    let c = obj
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status, c.reason, c.message))
}

#[tokio::test]
async fn standin_sops_secret_applies_updates_and_reverts_drift() {
    let s = start(Notifier::none()).await;
    let obj = decorate(sealed_sops_secret(&s.recipient, "db", "first-pass"));
    create(&s.client, obj).await;
    let live = eventually("Secret db created", WAIT, || async {
        secret(&s.client, "db").await
    })
    .await;
    assert_eq!(value(&live, "password").as_deref(), Some("first-pass"));
    assert_eq!(value(&live, "token").as_deref(), Some("token"));
    assert_eq!(
        live.metadata
            .labels
            .as_ref()
            .unwrap()
            .get("app")
            .map(String::as_str),
        Some("db")
    );
    assert_eq!(
        annotation(&live, "hush.dev/managed-by").as_deref(),
        Some("SopsSecret/db")
    );
    let owner = &live.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("SopsSecret", Some(true))
    );
    eventually("Ready=True", WAIT, || async {
        ready(&s.client, "db")
            .await
            .filter(|(st, _, _)| st == "True")
    })
    .await;

    // A new commit: the spec is re-encrypted with a new value and applied over the old.
    let updated = sealed_sops_secret(&s.recipient, "db", "second-pass");
    Api::<SopsSecret>::namespaced(s.client.clone(), NS)
        .patch(
            "db",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "spec": updated["spec"] })),
        )
        .await
        .unwrap();
    eventually("Secret db updated", WAIT, || async {
        secret(&s.client, "db")
            .await
            .filter(|l| value(l, "password").as_deref() == Some("second-pass"))
    })
    .await;

    // Drift: an edit outside hush is reverted by the watch.
    Api::<Secret>::namespaced(s.client.clone(), NS)
        .patch(
            "db",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "data": { "password": "aGFja2Vk" } })),
        )
        .await
        .unwrap();
    eventually("edited Secret restored", WAIT, || async {
        secret(&s.client, "db")
            .await
            .filter(|l| value(l, "password").as_deref() == Some("second-pass"))
    })
    .await;
    // Drift: a deleted Secret is recreated.
    Api::<Secret>::namespaced(s.client.clone(), NS)
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    eventually("deleted Secret recreated", WAIT, || async {
        secret(&s.client, "db")
            .await
            .filter(|l| value(l, "password").as_deref() == Some("second-pass"))
    })
    .await;
    assert!(!s.identity.is_empty());
}

#[tokio::test]
async fn standin_sops_secret_tampered_spec_is_refused_without_values() {
    // An in-test webhook receiver that keeps every body it gets.
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = bodies.clone();
    let receiver = FakeServer::start(
        None,
        Arc::new(FakeControls::default()),
        Arc::new(move |req: &FakeRequest| {
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&req.body).into_owned());
            FakeResponse::json(200, "{}")
        }),
    );
    let s = start(Notifier::webhook(&format!("{}/hooks/T0/B0/XYZ", receiver.url())).unwrap()).await;
    let mut obj = decorate(sealed_sops_secret(&s.recipient, "tampered", "never-shown"));
    obj["spec"]["template"]["type"] = "kubernetes.io/tls".into();
    create(&s.client, obj).await;
    let (_, reason, message) = eventually("Ready=False", WAIT, || async {
        ready(&s.client, "tampered")
            .await
            .filter(|(st, _, _)| st == "False")
    })
    .await;
    assert_eq!(reason, "MacMismatch");
    assert!(!message.contains("never-shown"));
    assert!(secret(&s.client, "tampered").await.is_none());
    let events = eventually("warning event", WAIT, || async {
        let list = Api::<Event>::all(s.client.clone())
            .list(&ListParams::default())
            .await
            .ok()?;
        let texts: Vec<String> = list
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("MacMismatch"))
            .map(|e| format!("{:?}", e.note))
            .collect();
        (!texts.is_empty()).then_some(texts)
    })
    .await;
    assert!(events.iter().all(|t| !t.contains("never-shown")));
    assert_eq!(s.ctx.writes.get(), 0);
    let body = eventually("webhook notification", WAIT, || async {
        bodies.lock().unwrap().first().cloned()
    })
    .await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    let text = json["text"].as_str().expect("Slack-style text");
    assert!(text.contains("SopsSecret/default/tampered"), "{text}");
    assert!(text.contains("MacMismatch"), "{text}");
    assert!(!body.contains("never-shown"));
}
