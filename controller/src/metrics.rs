//! Prometheus metrics for every controller, served on their own port.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderCallLabels {
    pub provider: String,
    pub call: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncErrorLabels {
    pub provider: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub namespace: String,
    pub name: String,
}

/// All metric families; cheap to clone (each family is an `Arc` inside).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Completed SecretSync syncs (a provider read was made), per provider.
    pub sync_calls: Family<ProviderLabels, Counter>,
    /// Failed syncs per provider and reason.
    pub sync_errors: Family<SyncErrorLabels, Counter>,
    /// Calls made to a provider API.
    pub provider_calls: Family<ProviderCallLabels, Counter>,
    /// Provider API latency in seconds.
    pub provider_latency: Family<ProviderLabels, Histogram>,
    /// Seconds since the synced value last changed, per SecretSync.
    pub secret_age: Family<ObjectLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// How many SecretSyncs are past their rotation `maxAge`.
    pub rotation_overdue: Gauge,
    /// Rolling restarts triggered by a value change.
    pub workload_restarts: Counter,
    /// Reconcile runs (a flat line when idle shows there is no hot loop).
    pub reconciles: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hush");
        let sync_calls = Family::<ProviderLabels, Counter>::default();
        let sync_errors = Family::<SyncErrorLabels, Counter>::default();
        let provider_calls = Family::<ProviderCallLabels, Counter>::default();
        let provider_latency = Family::<ProviderLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        let secret_age =
            Family::<ObjectLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        let rotation_overdue = Gauge::default();
        let workload_restarts = Counter::default();
        let reconciles = Counter::default();
        registry.register(
            "sync_calls",
            "SecretSync syncs that read the provider",
            sync_calls.clone(),
        );
        registry.register(
            "sync_errors",
            "SecretSync syncs that failed",
            sync_errors.clone(),
        );
        registry.register(
            "provider_calls",
            "Calls to a secret provider API",
            provider_calls.clone(),
        );
        registry.register(
            "provider_latency_seconds",
            "Latency of secret provider API calls",
            provider_latency.clone(),
        );
        registry.register(
            "secret_age_seconds",
            "Seconds since the synced source value last changed",
            secret_age.clone(),
        );
        registry.register(
            "rotation_overdue_secrets",
            "SecretSyncs whose source value is older than rotationPolicy.maxAge",
            rotation_overdue.clone(),
        );
        registry.register(
            "workload_restarts",
            "Rolling restarts triggered by a changed Secret",
            workload_restarts.clone(),
        );
        registry.register("reconciles", "Reconcile runs", reconciles.clone());
        Self {
            registry: Arc::new(registry),
            sync_calls,
            sync_errors,
            provider_calls,
            provider_latency,
            secret_age,
            rotation_overdue,
            workload_restarts,
            reconciles,
        }
    }

    /// Record one provider API call and its latency.
    pub fn provider_call(&self, provider: &str, call: &str, ok: bool, elapsed: Duration) {
        self.provider_calls
            .get_or_create(&ProviderCallLabels {
                provider: provider.to_string(),
                call: call.to_string(),
                result: if ok { "ok" } else { "error" }.to_string(),
            })
            .inc();
        self.provider_latency
            .get_or_create(&ProviderLabels {
                provider: provider.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Serve `/metrics` and `/healthz` on `addr` until the task is dropped.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "metrics server listening");
        loop {
            let (mut stream, _) = listener.accept().await?;
            let metrics = self.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                    .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, content_type, body) = match path {
                    "/metrics" => (
                        "200 OK",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        metrics.encode(),
                    ),
                    "/healthz" | "/readyz" => ("200 OK", "text/plain", "ok\n".to_string()),
                    _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_provider_calls() {
        let m = Metrics::new();
        m.provider_call("vault", "fetch", true, Duration::from_millis(3));
        let text = m.encode();
        assert!(
            text.contains(
                r#"hush_provider_calls_total{provider="vault",call="fetch",result="ok"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("hush_provider_latency_seconds_bucket"));
    }
}
