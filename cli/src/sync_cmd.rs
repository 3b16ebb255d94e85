//! `hush sync refresh NAME`: ask hush-controller to re-read a SecretSync's source now.
//!
//! It sets the annotation `hush.dev/refresh-requested` on the SecretSync to a fresh
//! timestamp; the controller syncs when that value differs from the one it last
//! handled (`status.refreshRequested`), bypassing its read cache.
//!
//! Needs in cli/Cargo.toml: kube (features client, rustls-tls, ring), k8s-openapi
//! (feature v1_33), tokio (rt), rustls (ring), serde_json.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kube::{
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams},
    Api, Client,
};

/// The annotation the controller watches (must match hush-controller's `REFRESH_REQUESTED`).
pub const REFRESH_REQUESTED: &str = "hush.dev/refresh-requested";

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub command: SyncCommand,
}

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Re-read the source of a SecretSync now instead of at its next refresh interval.
    Refresh(RefreshArgs),
}

#[derive(Args, Debug)]
pub struct RefreshArgs {
    /// SecretSync name.
    pub name: String,
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

/// Run a `hush sync` subcommand (uses the usual kubeconfig / in-cluster config).
pub fn run(args: SyncArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match args.command {
            SyncCommand::Refresh(r) => refresh(r).await,
        }
    })
}

async fn refresh(args: RefreshArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::try_default()
        .await
        .context("connecting to Kubernetes")?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("hush.dev", "v1alpha1", "SecretSync"),
        "secretsyncs",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        .to_string();
    let patch = serde_json::json!({ "metadata": { "annotations": { REFRESH_REQUESTED: stamp } } });
    api.patch(&args.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!(
                "requesting a refresh of SecretSync {namespace}/{}",
                args.name
            )
        })?;
    println!(
        "refresh requested for secretsync/{} in namespace {namespace}",
        args.name
    );
    Ok(())
}
