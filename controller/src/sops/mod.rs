//! The SopsSecret controller: decrypts `hush.dev/v1alpha1` SopsSecrets (a Secret whose
//! `spec` is a SOPS document) into Secrets, with keys from a Flux-style key Secret or
//! the pod's workload identity. The MAC is always verified; a SopsSecret that fails
//! keeps its last good Secret.
//!
//! Triggers: SopsSecret changes and any change to a Secret it owns (an edited or
//! deleted Secret is put back at once).

pub mod decrypt;
pub mod keys;
mod reconcile;
pub mod secret;

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    runtime::{controller::Action, watcher},
    Api, Client,
};

use crate::{
    crd::SopsSecret, kube_util::backoff::PerObjectBackoff, kube_util::events::Events,
    notifier::Notifier,
};
pub use reconcile::reconcile;

/// Errors that abort a reconcile and are retried with backoff; decryption and
/// ownership problems go to status instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("SopsSecret has no namespace")]
    NoNamespace,
    #[error("decrypt task failed: {0}")]
    Task(String),
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub concurrency: u16,
    /// Key Secret used when a SopsSecret names none (`--sops-key-secret`).
    pub default_key_secret: Option<keys::KeySecretRef>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            concurrency: 16,
            default_key_secret: None,
        }
    }
}

pub struct Context {
    pub client: Client,
    pub events: Events,
    pub notifier: Notifier,
    pub settings: Settings,
    /// SopsSecrets decrypted and applied (writes), for tests and metrics.
    pub writes: prometheus_client::metrics::counter::Counter,
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
            writes: Default::default(),
        }
    }
}

fn error_policy(obj: Arc<SopsSecret>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.failures.requeue_failed(&*obj, err, "sops secret")
}

/// Run until the shutdown signal.
pub async fn run(ctx: Arc<Context>) {
    let objects: Api<SopsSecret> = Api::all(ctx.client.clone());
    let secrets: Api<Secret> = Api::all(ctx.client.clone());
    crate::kube_util::spec_change_controller(objects)
        .owns(secrets, watcher::Config::default())
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.settings.concurrency),
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "sops secret controller stream");
            }
        })
        .await;
}
