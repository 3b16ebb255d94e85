//! The Sealed Secrets controller: a drop-in for Bitnami's. Unseals
//! `bitnami.com/v1alpha1` SealedSecrets into Secrets with the keys in
//! [`keys::KeyStore`], serves `/v1/cert.pem`, `/v1/verify`, `/v1/rotate` ([`http`]),
//! and records which key unsealed each Secret (annotations and metrics).

pub mod http;
pub mod keys;
pub mod metrics;
pub mod pipeline;
mod reconcile;
pub mod secret;

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    runtime::{controller::Action, watcher},
    Api, Client,
};

use crate::{crd::SealedSecret, kube_util::backoff::PerObjectBackoff, kube_util::events::Events};
pub use reconcile::reconcile;

/// Errors that abort a reconcile and are retried with backoff. Unseal and
/// ownership problems go to status instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("SealedSecret has no namespace")]
    NoNamespace,
    #[error("unseal task failed: {0}")]
    Task(String),
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub concurrency: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            concurrency: 16,
        }
    }
}

pub struct Context {
    pub client: Client,
    pub keys: Arc<keys::KeyStore>,
    pub metrics: metrics::SealedMetrics,
    pub events: Events,
    pub settings: Settings,
    /// One unseal at a time per core.
    pub pool: pipeline::UnsealPool,
    pub(crate) failures: PerObjectBackoff,
}

impl Context {
    pub fn new(client: Client, keys: Arc<keys::KeyStore>, settings: Settings) -> Self {
        Self {
            events: Events::new(client.clone(), "hush-controller"),
            client,
            keys,
            metrics: metrics::SealedMetrics::new(),
            failures: PerObjectBackoff::new(settings.min_backoff, settings.max_backoff),
            settings,
            pool: pipeline::UnsealPool::default(),
        }
    }
}

fn error_policy(ss: Arc<SealedSecret>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.failures.requeue_failed(&*ss, err, "sealed secret")
}

/// Run until the shutdown signal. Secrets owned by a SealedSecret map back to it,
/// so a deleted or edited Secret is recreated or corrected.
pub async fn run(ctx: Arc<Context>) {
    let sealed: Api<SealedSecret> = Api::all(ctx.client.clone());
    let secrets: Api<Secret> = Api::all(ctx.client.clone());
    crate::kube_util::spec_change_controller(sealed)
        .owns(secrets, watcher::Config::default())
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.settings.concurrency),
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "sealed secret controller stream");
            }
        })
        .await;
}
