//! Sealed Secrets metrics, with rotation tracking Bitnami lacks: per-key usage
//! counts and key age. Their own registry, served on the sealed metrics port.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use super::keys::KeySet;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    pub fingerprint: String,
    pub secret: String,
}

#[derive(Clone)]
pub struct SealedMetrics {
    registry: Arc<Registry>,
    pub unseal_requests: Counter,
    pub unseal_errors: Family<ReasonLabels, Counter>,
    /// Secret writes (create, replace, patch); flat in steady state.
    pub secret_writes: Counter,
    pub reconciles: Counter,
    key_usage: Family<KeyLabels, Gauge>,
    key_age: Family<KeyLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// (namespace, name) of each SealedSecret -> fingerprint of the key that unsealed it.
    usage: Arc<Mutex<HashMap<(String, String), String>>>,
}

impl Default for SealedMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl SealedMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hush_sealed");
        let this = Self {
            registry: Arc::default(),
            unseal_requests: Counter::default(),
            unseal_errors: Family::default(),
            secret_writes: Counter::default(),
            reconciles: Counter::default(),
            key_usage: Family::default(),
            key_age: Family::default(),
            usage: Arc::default(),
        };
        registry.register(
            "unseal_requests",
            "SealedSecrets unsealed (attempts)",
            this.unseal_requests.clone(),
        );
        registry.register(
            "unseal_errors",
            "Failed unseals by reason (unseal, unmanaged, update, immutable)",
            this.unseal_errors.clone(),
        );
        registry.register(
            "secret_writes",
            "Secrets created or updated from SealedSecrets",
            this.secret_writes.clone(),
        );
        registry.register(
            "reconciles",
            "SealedSecret reconcile runs",
            this.reconciles.clone(),
        );
        registry.register(
            "key_usage_secrets",
            "SealedSecrets whose Secret was last unsealed with this key",
            this.key_usage.clone(),
        );
        registry.register(
            "key_age_seconds",
            "Age of each sealing key (certificate notBefore)",
            this.key_age.clone(),
        );
        Self {
            registry: Arc::new(registry),
            ..this
        }
    }

    pub fn error(&self, reason: &str) {
        self.unseal_errors
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc();
    }

    /// Remember which key unsealed a SealedSecret.
    pub fn record_use(&self, namespace: &str, name: &str, fingerprint: &str) {
        self.usage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((namespace.into(), name.into()), fingerprint.into());
    }

    /// Per-key usage counts.
    pub fn usage_by_key(&self) -> HashMap<String, i64> {
        let mut counts = HashMap::new();
        for fingerprint in self
            .usage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            *counts.entry(fingerprint.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Text exposition, with key gauges refreshed from `keys`.
    pub fn encode(&self, keys: &KeySet) -> String {
        let usage = self.usage_by_key();
        let now = SystemTime::now();
        for info in &keys.info {
            let labels = KeyLabels {
                fingerprint: info.fingerprint.clone(),
                secret: info.secret_name.clone(),
            };
            self.key_usage
                .get_or_create(&labels)
                .set(usage.get(&info.fingerprint).copied().unwrap_or(0));
            let age = now.duration_since(info.created).unwrap_or_default();
            self.key_age.get_or_create(&labels).set(age.as_secs_f64());
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
