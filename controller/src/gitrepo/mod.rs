//! The SecretRepository controller: pulls a Git repository (hush-providers' `gitops`
//! mirror), decrypts the SOPS-encrypted Secret manifests under its paths, applies them
//! and the SealedSecrets it finds with server-side apply (field manager `hush`),
//! prunes what left Git, and puts back Secrets edited or deleted outside Git.
//!
//! Cost model: an interval without a new commit is one ref lookup and one LIST of the
//! namespace's Secrets (for drift), with no decryption and no write. A new commit
//! decrypts only the files whose blob changed (the rest are remembered by blob id) and
//! writes only the Secrets whose content differs from the live ones.

mod reconcile;
mod state;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    runtime::{controller::Action, reflector::ObjectRef, watcher},
    Api, Client, ResourceExt,
};

use crate::{
    crd::{SealedSecret, SecretRepository},
    kube_util::backoff::PerObjectBackoff,
    kube_util::events::Events,
    notifier::Notifier,
    sops::keys::KeySecretRef,
};
pub use reconcile::reconcile;

/// Annotation on every object a SecretRepository applied: its name (same namespace).
pub const SOURCE_REPOSITORY: &str = "hush.dev/secret-repository";
/// Annotation: the commit the object's current content was applied from.
pub const SOURCE_REVISION: &str = "hush.dev/source-revision";
/// Annotation: the repository file it came from.
pub const SOURCE_FILE: &str = "hush.dev/source-file";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("SecretRepository has no namespace")]
    NoNamespace,
    #[error("git task failed: {0}")]
    Task(String),
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub concurrency: u16,
    /// Parallel Secret writes per repository.
    pub apply_concurrency: usize,
    /// Where the bare mirrors live.
    pub cache_dir: PathBuf,
    pub default_key_secret: Option<KeySecretRef>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            concurrency: 4,
            apply_concurrency: 16,
            cache_dir: std::env::temp_dir().join("hush-git"),
            default_key_secret: None,
        }
    }
}

/// Counters for tests, benchmarks and `/metrics`-style checks.
#[derive(Default)]
pub struct Counters {
    pub ref_lookups: prometheus_client::metrics::counter::Counter,
    pub fetches: prometheus_client::metrics::counter::Counter,
    pub files_decrypted: prometheus_client::metrics::counter::Counter,
    pub writes: prometheus_client::metrics::counter::Counter,
    pub prunes: prometheus_client::metrics::counter::Counter,
    pub drift_reverted: prometheus_client::metrics::counter::Counter,
}

/// (namespace, name) of a SecretRepository.
type RepoKey = (String, String);
/// One repository's mirror and last applied state, locked while it reconciles.
type SharedRepoState = Arc<tokio::sync::Mutex<state::RepoState>>;

pub struct Context {
    pub client: Client,
    pub events: Events,
    pub notifier: Notifier,
    pub settings: Settings,
    pub counters: Counters,
    repos: Mutex<HashMap<RepoKey, SharedRepoState>>,
    pub(crate) failures: PerObjectBackoff,
}

impl Context {
    pub fn new(client: Client, notifier: Notifier, settings: Settings) -> Self {
        Self {
            events: Events::new(client.clone(), "hush-controller"),
            client,
            notifier,
            failures: PerObjectBackoff::new(settings.min_backoff, settings.max_backoff),
            settings,
            counters: Counters::default(),
            repos: Mutex::default(),
        }
    }

    fn repo_state(&self, key: &(String, String)) -> Arc<tokio::sync::Mutex<state::RepoState>> {
        self.repos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }
}

fn error_policy(obj: Arc<SecretRepository>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.failures.requeue_failed(&*obj, err, "secret repository")
}

/// A Secret or SealedSecret applied by a SecretRepository maps back to it.
fn to_repository<K: ResourceExt>(obj: K) -> Option<ObjectRef<SecretRepository>> {
    let name = obj.annotations().get(SOURCE_REPOSITORY)?.clone();
    let ns = obj.namespace()?;
    Some(ObjectRef::new(&name).within(&ns))
}

/// Run until the shutdown signal.
pub async fn run(ctx: Arc<Context>) {
    let repos: Api<SecretRepository> = Api::all(ctx.client.clone());
    let secrets: Api<Secret> = Api::all(ctx.client.clone());
    let sealed: Api<SealedSecret> = Api::all(ctx.client.clone());
    crate::kube_util::spec_change_controller(repos)
        .watches(secrets, watcher::Config::default(), to_repository)
        .watches(sealed, watcher::Config::default(), to_repository)
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.settings.concurrency),
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "secret repository controller stream");
            }
        })
        .await;
}
