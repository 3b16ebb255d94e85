//! hush-controller: Kubernetes controllers for hush.
//!
//! One module per controller (`sync` keeps Secrets in sync with secret managers);
//! `kube_util` holds what every controller needs (ownership, apply, events,
//! conditions, rolling restarts) and `metrics` the Prometheus registry.

pub mod crd;
pub mod duration;
#[cfg(feature = "gitops")]
pub mod gitrepo;
pub mod kube_util;
pub mod metrics;
pub mod notifier;
pub mod sealed;
pub mod sops;
pub mod sync;
pub mod telemetry;
