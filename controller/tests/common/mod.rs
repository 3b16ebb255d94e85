//! Shared setup for the controller's stand-in tests.
#![allow(dead_code)] // each test file uses a different part

pub mod http_stub;

use std::{future::Future, sync::Arc, time::Duration};

use hush_controller::{
    metrics::Metrics,
    sync::{self, Context, Settings},
};
use hush_tests::standins::KubeStandin;
use k8s_openapi::{api::core::v1::Secret, ByteString};
use kube::{
    api::{Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    Api, Client, Config,
};

pub const NS: &str = "default";

/// The Kubernetes API stand-in plus an in-process controller talking to it.
pub struct Harness {
    pub kube: KubeStandin,
    pub client: Client,
    pub ctx: Arc<Context>,
    controller: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

pub async fn client_for(kube: &KubeStandin) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(&kube.kubeconfig).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    Client::try_from(config).expect("client")
}

impl Harness {
    /// Start the stand-in and the SecretSync controller with fast retries.
    pub async fn start() -> Self {
        let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
        let client = client_for(&kube).await;
        let settings = Settings {
            min_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(2),
            concurrency: 8,
        };
        let ctx = Arc::new(Context::new(client.clone(), Metrics::new(), settings));
        let controller = tokio::spawn(sync::run(ctx.clone()));
        Self {
            kube,
            client,
            ctx,
            controller,
        }
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Create any namespaced object from JSON.
    pub async fn create<K>(&self, value: serde_json::Value) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let obj: K = serde_json::from_value(value).expect("valid object JSON");
        self.api::<K>()
            .create(&PostParams::default(), &obj)
            .await
            .expect("create")
    }

    pub async fn secret(&self, name: &str) -> Option<Secret> {
        self.api::<Secret>()
            .get_opt(name)
            .await
            .expect("get secret")
    }

    /// Create a plain Secret with string values.
    pub async fn plain_secret(&self, name: &str, pairs: &[(&str, &str)]) -> Secret {
        let data: std::collections::BTreeMap<String, ByteString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
            .collect();
        let s = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.into()),
                namespace: Some(NS.into()),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        self.api::<Secret>()
            .create(&PostParams::default(), &s)
            .await
            .expect("create secret")
    }

    /// Merge-patch an object.
    pub async fn merge<K>(&self, name: &str, patch: serde_json::Value)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        self.api::<K>()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch");
    }
}

/// The string value of a Secret key.
pub fn value(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
}

pub fn annotation(secret: &Secret, key: &str) -> Option<String> {
    secret.metadata.annotations.as_ref()?.get(key).cloned()
}

/// Poll `check` until it returns `Some`, or panic with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Vault SecretStore using a token Secret.
pub fn vault_store(
    name: &str,
    address: &str,
    mount: &str,
    version: &str,
    token_secret: &str,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1",
        "kind": "SecretStore",
        "metadata": { "name": name, "namespace": NS },
        "spec": { "provider": { "vault": {
            "server": address, "path": mount, "version": version,
            "auth": { "tokenSecretRef": { "name": token_secret, "key": "token" } }
        } } }
    })
}

/// A SecretSync with the given spec.
pub fn secret_sync(name: &str, spec: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1",
        "kind": "SecretSync",
        "metadata": { "name": name, "namespace": NS },
        "spec": spec
    })
}
