//! hush-controller: flags, logging, the metrics server, and the controllers.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use clap::Parser;
use hush_controller::{
    duration,
    metrics::Metrics,
    notifier::Notifier,
    sealed::{self, http::RateLimiter, keys::KeySettings, keys::KeyStore},
    sops::{self, keys::KeySecretRef},
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
    /// Sealed Secrets: serve the Bitnami-compatible controller as well.
    #[arg(long, env = "HUSH_SEALED_SECRETS", default_value_t = true, action = clap::ArgAction::Set)]
    sealed_secrets: bool,
    /// Sealed Secrets API (`/v1/cert.pem`, `/v1/verify`, `/v1/rotate`, `/healthz`).
    #[arg(
        long,
        env = "SEALED_SECRETS_LISTEN_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    listen_addr: SocketAddr,
    /// Sealed Secrets metrics (per-key usage and age).
    #[arg(
        long,
        env = "SEALED_SECRETS_LISTEN_METRICS_ADDR",
        default_value = "0.0.0.0:8081"
    )]
    listen_metrics_addr: SocketAddr,
    /// Namespace holding the key Secrets (defaults to POD_NAMESPACE, then kube-system).
    #[arg(long, env = "POD_NAMESPACE", default_value = "kube-system")]
    key_namespace: String,
    /// Key Secret name prefix (Bitnami's default, so existing keys load).
    #[arg(
        long,
        env = "SEALED_SECRETS_KEY_PREFIX",
        default_value = "sealed-secrets-key"
    )]
    key_prefix: String,
    /// RSA key size for new keys.
    #[arg(long, env = "SEALED_SECRETS_KEY_SIZE", default_value_t = 4096)]
    key_size: usize,
    /// Generate a new key this often after the newest (`0` = never), e.g. `720h` (30 days).
    #[arg(long, env = "SEALED_SECRETS_KEY_RENEW_PERIOD", default_value = "720h")]
    key_renew_period: String,
    /// Generate a new key at startup even if the newest is recent (SIGUSR1 does it at runtime).
    #[arg(long)]
    force_new_key: bool,
    /// `/v1/verify` and `/v1/rotate` requests per second per client.
    #[arg(long, default_value_t = 2.0)]
    rate_limit: f64,
    #[arg(long, default_value_t = 2)]
    rate_limit_burst: u32,
    /// SopsSecret: decrypt `hush.dev` SopsSecrets into Secrets.
    #[arg(long, env = "HUSH_SOPS_SECRETS", default_value_t = true, action = clap::ArgAction::Set)]
    sops_secrets: bool,
    /// SopsSecret: key Secret (Flux conventions: `*.agekey`, `*.asc`, `sops.vault-token`)
    /// used when a SopsSecret names none, as `NAME` (in --key-namespace) or `NAMESPACE/NAME`.
    #[arg(long, env = "HUSH_SOPS_KEY_SECRET")]
    sops_key_secret: Option<String>,
    /// Webhook (Slack-compatible `{"text": ...}`) for failures, reverted drift and updated Secrets.
    #[arg(long, env = "HUSH_NOTIFY_WEBHOOK", hide_env_values = true)]
    notify_webhook: Option<String>,
    /// SecretRepository: pull Git repositories and apply the SOPS Secrets and SealedSecrets in them.
    #[arg(long, env = "HUSH_SECRET_REPOSITORIES", default_value_t = true, action = clap::ArgAction::Set)]
    secret_repositories: bool,
    /// SecretRepository: where the bare Git mirrors are kept (an emptyDir is fine).
    #[arg(long, env = "HUSH_GIT_CACHE_DIR", default_value = "/tmp/hush-git")]
    git_cache_dir: std::path::PathBuf,
    /// SecretSync: keep Secrets in sync with Vault and cloud secret managers.
    #[arg(long, env = "HUSH_SECRET_SYNC", default_value_t = true, action = clap::ArgAction::Set)]
    secret_sync: bool,
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
    let ctx = Arc::new(sync::Context::new(
        client.clone(),
        metrics,
        settings.clone(),
    ));
    let mut sealed_tasks = Vec::new();
    let sealed_controller = if args.sealed_secrets {
        let renew = duration::parse(&args.key_renew_period)
            .map_err(|e| anyhow::anyhow!("--key-renew-period: {e}"))?;
        let keys = Arc::new(KeyStore::new(
            client.clone(),
            KeySettings {
                namespace: args.key_namespace.clone(),
                prefix: args.key_prefix.clone(),
                bits: args.key_size,
                ..KeySettings::default()
            },
        ));
        keys.ensure(renew, args.force_new_key).await?;
        let sealed_ctx = Arc::new(sealed::Context::new(
            client.clone(),
            keys.clone(),
            sealed::Settings {
                concurrency: args.concurrency.max(1),
                ..sealed::Settings::default()
            },
        ));
        let limiter = Arc::new(RateLimiter::new(args.rate_limit, args.rate_limit_burst));
        sealed_tasks.push(tokio::spawn(keys.clone().renew_loop(renew)));
        sealed_tasks.push(tokio::spawn(async move {
            let _ = sealed::http::serve_api(args.listen_addr, keys.clone(), limiter).await;
        }));
        let (keys, metrics) = (sealed_ctx.keys.clone(), sealed_ctx.metrics.clone());
        sealed_tasks.push(tokio::spawn(async move {
            let _ = sealed::http::serve_metrics(args.listen_metrics_addr, keys, metrics).await;
        }));
        Some(sealed::run(sealed_ctx))
    } else {
        None
    };
    let notifier = match &args.notify_webhook {
        Some(url) => {
            Notifier::webhook(url).map_err(|e| anyhow::anyhow!("--notify-webhook: {e}"))?
        }
        None => Notifier::none(),
    };
    let mut controllers: Vec<futures::future::BoxFuture<'static, ()>> = Vec::new();
    if args.secret_sync {
        controllers.push(Box::pin(sync::run(ctx)));
    }
    if let Some(sealed_run) = sealed_controller {
        controllers.push(Box::pin(sealed_run));
    }
    let default_key_secret =
        args.sops_key_secret
            .as_deref()
            .map(|text| match text.split_once('/') {
                Some((ns, name)) => KeySecretRef {
                    namespace: ns.into(),
                    name: name.into(),
                },
                None => KeySecretRef {
                    namespace: args.key_namespace.clone(),
                    name: text.into(),
                },
            });
    #[cfg(feature = "gitops")]
    if args.secret_repositories {
        let repo_ctx = Arc::new(hush_controller::gitrepo::Context::new(
            client.clone(),
            notifier.clone(),
            hush_controller::gitrepo::Settings {
                min_backoff: settings.min_backoff,
                max_backoff: settings.max_backoff,
                cache_dir: args.git_cache_dir.clone(),
                default_key_secret: default_key_secret.clone(),
                ..Default::default()
            },
        ));
        controllers.push(Box::pin(hush_controller::gitrepo::run(repo_ctx)));
    }
    if args.sops_secrets {
        let sops_ctx = Arc::new(sops::Context::new(
            client.clone(),
            notifier.clone(),
            sops::Settings {
                min_backoff: settings.min_backoff,
                max_backoff: settings.max_backoff,
                concurrency: args.concurrency.max(1),
                default_key_secret,
            },
        ));
        controllers.push(Box::pin(sops::run(sops_ctx)));
    }
    tracing::info!(
        secret_sync = args.secret_sync,
        sealed_secrets = args.sealed_secrets,
        sops_secrets = args.sops_secrets,
        secret_repositories = args.secret_repositories,
        notify = args.notify_webhook.is_some(),
        "hush-controller starting"
    );
    futures::future::join_all(controllers).await;
    for task in sealed_tasks {
        task.abort();
    }
    server.abort();
    tracing::info!("hush-controller stopped");
    Ok(())
}
