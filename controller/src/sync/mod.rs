//! The SecretSync controller: keeps a Kubernetes Secret in sync with values in Vault
//! or a cloud secret manager, records which source version is live and when it last
//! changed, flags overdue rotations and restarts the workloads that asked for it.
//!
//! Triggers: SecretSync changes, the refresh interval, the refresh annotation, and
//! any change to a target Secret (drift is corrected at once).

mod cleanup;
mod desired;
mod plan;
mod reconcile;
mod sources;
pub mod target;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{future, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    runtime::{
        controller::Action,
        predicates,
        reflector::{self, ObjectRef},
        watcher, Controller, Predicate, WatchStreamExt,
    },
    Api, Client, Resource, ResourceExt,
};

use crate::{
    crd::SecretSync, kube_util::backoff::PerObjectBackoff, kube_util::events::Events,
    metrics::Metrics,
};
pub use cleanup::FINALIZER as MERGE_FINALIZER;
pub use reconcile::reconcile;
pub use sources::StoreClients;

/// Annotation on every target Secret naming its SecretSync (same namespace); the
/// Secret watch maps changes back through it.
pub const SYNCED_BY: &str = "hush.dev/secret-sync";

/// Errors that abort a reconcile; provider and spec problems are reported in status
/// instead and never reach here.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("SecretSync has no namespace")]
    NoNamespace,
}

/// Tunables, mostly for tests.
#[derive(Clone, Debug)]
pub struct Settings {
    /// First retry delay after a failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Parallel reconciles.
    pub concurrency: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            concurrency: 16,
        }
    }
}

/// The data hash and keys hush last wrote to one target Secret.
type Written = (String, Vec<String>);

/// Shared state of the controller.
pub struct Context {
    pub client: Client,
    pub metrics: Metrics,
    pub events: Events,
    pub stores: StoreClients,
    pub settings: Settings,
    pub(crate) failures: PerObjectBackoff,
    overdue: Mutex<HashSet<(String, String)>>,
    refreshes: Mutex<HashMap<(String, String), String>>,
    /// What hush last wrote to each target Secret (namespace, name) -> (data hash,
    /// keys), so the watch event of our own write does not trigger another reconcile.
    written: Mutex<HashMap<(String, String), Written>>,
}

impl Context {
    pub fn new(client: Client, metrics: Metrics, settings: Settings) -> Self {
        Self {
            events: Events::new(client.clone(), "hush-controller"),
            client,
            metrics,
            stores: StoreClients::default(),
            failures: PerObjectBackoff::new(settings.min_backoff, settings.max_backoff),
            settings,
            overdue: Mutex::default(),
            refreshes: Mutex::default(),
            written: Mutex::default(),
        }
    }

    fn remember_write(&self, namespace: &str, secret: &str, hash: &str, keys: Vec<String>) {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                (namespace.to_string(), secret.to_string()),
                (hash.to_string(), keys),
            );
    }

    /// Is this Secret exactly what hush last wrote (hash annotation and data)? Then its
    /// watch event is the echo of our own write and needs no reconcile.
    fn is_own_write(&self, secret: &Secret) -> bool {
        let key = (secret.namespace().unwrap_or_default(), secret.name_any());
        let written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let Some((hash, keys)) = written.get(&key) else {
            return false;
        };
        secret.annotations().get(target::DATA_HASH) == Some(hash)
            && target::live_hash(secret, keys.iter().cloned()) == *hash
    }

    /// Next retry delay for an object: exponential, capped, with ±20% jitter so that many
    /// failing objects do not hit a recovering provider at the same instant.
    fn backoff(&self, key: &(String, String), at_least: Option<Duration>) -> Duration {
        self.failures.next(key).max(at_least.unwrap_or_default())
    }

    fn handled_refresh(&self, key: &(String, String)) -> Option<String> {
        self.refreshes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn remember_refresh(&self, key: &(String, String), value: &str) {
        self.refreshes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), value.to_string());
    }

    /// Track the overdue set and update the gauge; true when `overdue` is new.
    fn mark_overdue(&self, key: &(String, String), overdue: bool) -> bool {
        let mut set = self.overdue.lock().unwrap_or_else(|e| e.into_inner());
        let changed = if overdue {
            set.insert(key.clone())
        } else {
            set.remove(key)
        };
        self.metrics.rotation_overdue.set(set.len() as i64);
        changed && overdue
    }
}

/// Start of the refresh slot `now` falls in: refreshes are aligned to multiples of the
/// interval, so SecretSyncs that share a remote secret and an interval refresh
/// together and share one provider read per slot.
pub fn slot_start(now: jiff::Timestamp, interval: Duration) -> jiff::Timestamp {
    let step = interval.as_secs().max(1) as i64;
    let secs = now.as_second().div_euclid(step) * step;
    jiff::Timestamp::from_second(secs).unwrap_or(now)
}

fn error_policy(sync: Arc<SecretSync>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.failures.requeue_failed(&*sync, err, "secret sync")
}

/// Predicate part that changes when deletion starts (a finalizer has work to do).
fn deleting(sync: &SecretSync) -> Option<u64> {
    Some(u64::from(sync.meta().deletion_timestamp.is_some()))
}

/// Map a target Secret back to the SecretSync that writes it.
fn secret_to_sync(secret: Secret) -> Option<ObjectRef<SecretSync>> {
    let name = secret.annotations().get(SYNCED_BY)?.clone();
    let ns = secret.namespace()?;
    Some(ObjectRef::new(&name).within(&ns))
}

/// Run the SecretSync controller until the stream ends (shutdown signal).
///
/// API traffic is kept to what a change needs: SecretSync events only count when the
/// spec (generation) or annotations changed, not our own status writes; Secret events
/// that echo our own write are dropped. Timers (`Action::requeue`) drive refreshes.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let syncs: Api<SecretSync> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::all(client);
    let (reader, writer) = reflector::store();
    let sync_events = watcher(syncs, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            predicates::generation
                .combine(predicates::annotations)
                .combine(deleting),
            Default::default(),
        );
    let own = ctx.clone();
    let secret_events = watcher(secrets, watcher::Config::default())
        .default_backoff()
        .filter_map(move |event| {
            let relevant = match event {
                Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => {
                    (!own.is_own_write(&s)).then_some(Ok(s))
                }
                Ok(watcher::Event::Delete(s)) => Some(Ok(s)),
                Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
                Err(e) => Some(Err(e)),
            };
            future::ready(relevant)
        });
    Controller::for_stream(sync_events, reader)
        .watches_stream(secret_events, secret_to_sync)
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.settings.concurrency),
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "controller stream");
            }
        })
        .await;
}
