//! hush-controller: flags, logging, the metrics server, and the controllers.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use clap::Parser;
use hush_controller::{
    metrics::Metrics,
    sync::{self, Settings},
    telemetry::{self, LogFormat},
};

#[derive(Parser, Debug)]
#[command(
    name = "hush-controller",
    version,
    about = "Keeps Kubernetes Secrets in sync with Vault and cloud secret managers"
)]
struct Args {
    /// Address for the Prometheus `/metrics` and `/healthz` endpoints.
    #[arg(long, env = "HUSH_METRICS_ADDR", default_value = "0.0.0.0:9090")]
    metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "HUSH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// How many SecretSyncs to reconcile in parallel.
    #[arg(long, env = "HUSH_CONCURRENCY", default_value_t = 16)]
    concurrency: u16,
    /// First retry delay after a failed sync, in seconds (doubles up to --max-backoff).
    #[arg(long, default_value_t = 5)]
    min_backoff: u64,
    /// Longest retry delay after repeated failures, in seconds.
    #[arg(long, default_value_t = 300)]
    max_backoff: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    telemetry::init(args.log_format);
    // kube uses ring and the AWS SDK aws-lc-rs; rustls needs one process-wide choice.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let client = kube::Client::try_default().await?;
    let metrics = Metrics::new();
    let server = tokio::spawn(metrics.clone().serve(args.metrics_addr));
    let settings = Settings {
        min_backoff: Duration::from_secs(args.min_backoff.max(1)),
        max_backoff: Duration::from_secs(args.max_backoff.max(1)),
        concurrency: args.concurrency.max(1),
    };
    let ctx = Arc::new(sync::Context::new(client, metrics, settings));
    tracing::info!("hush-controller starting: SecretSync controller");
    // Later controllers (sealed secrets, SOPS from Git) join here.
    sync::run(ctx).await;
    server.abort();
    tracing::info!("hush-controller stopped");
    Ok(())
}
