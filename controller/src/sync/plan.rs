//! When a SecretSync must read its source: the decision is a pure function of what
//! the controller observed, so it is unit-tested without a cluster.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;

use super::target::{live_hash, DATA_HASH};
use crate::{
    crd::{CreationPolicy, SecretSyncSpec, SecretSyncStatus},
    kube_util::parse_time,
};

/// Why a sync runs now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    FirstSync,
    SpecChanged,
    /// The refresh annotation changed (`hush sync refresh`).
    Requested,
    /// The refresh interval (or the retry backoff) elapsed.
    Due,
    /// The target Secret is missing or was edited by someone else.
    Drifted,
}

impl Trigger {
    /// Reads the user asked for must see the provider now, not a cached read.
    pub fn bypasses_cache(self) -> bool {
        matches!(self, Self::Requested)
    }
}

pub struct Observed<'a> {
    pub spec: &'a SecretSyncSpec,
    pub status: &'a SecretSyncStatus,
    pub generation: Option<i64>,
    pub refresh_annotation: Option<&'a str>,
    pub live: Option<&'a Secret>,
    pub now: Timestamp,
    pub interval: Duration,
}

/// The keys a SecretSync writes into its target.
pub fn written_keys(spec: &SecretSyncSpec, status: &SecretSyncStatus) -> Vec<String> {
    match spec.target.template.as_ref().filter(|t| !t.data.is_empty()) {
        Some(t) => t.data.keys().cloned().collect(),
        None => {
            let mut keys: Vec<String> =
                status.synced.iter().map(|s| s.secret_key.clone()).collect();
            keys.sort();
            keys.dedup();
            keys
        }
    }
}

/// Has the target Secret moved away from what was last written?
fn drifted(o: &Observed<'_>) -> bool {
    let Some(expected) = o.status.data_hash.as_deref() else {
        return false;
    };
    let Some(live) = o.live else {
        // A Merge target that vanished is not ours to recreate; the sync reports it.
        return o.spec.target.creation_policy != CreationPolicy::Merge;
    };
    let annotated = live
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DATA_HASH))
        .map(String::as_str);
    annotated != Some(expected)
        || live_hash(live, written_keys(o.spec, o.status).into_iter()) != expected
}

/// The reason to sync now, or `None` to wait.
pub fn needs_sync(o: &Observed<'_>) -> Option<Trigger> {
    if o.status.last_synced_at.is_none() && o.status.conditions.is_empty() {
        return Some(Trigger::FirstSync);
    }
    if o.generation.is_some() && o.status.observed_generation != o.generation {
        return Some(Trigger::SpecChanged);
    }
    if o.refresh_annotation.is_some()
        && o.refresh_annotation != o.status.refresh_requested.as_deref()
    {
        return Some(Trigger::Requested);
    }
    if drifted(o) {
        return Some(Trigger::Drifted);
    }
    match o.status.next_refresh_at.as_deref().and_then(parse_time) {
        Some(next) if o.now >= next => Some(Trigger::Due),
        Some(_) => None,
        // interval 0 after a successful sync: never again unless asked.
        None if o.interval.is_zero() && o.status.last_synced_at.is_some() => None,
        None => Some(Trigger::Due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{StoreKind, StoreRef, SyncedKey};
    use k8s_openapi::{apimachinery::pkg::apis::meta::v1::ObjectMeta, ByteString};

    fn spec() -> SecretSyncSpec {
        SecretSyncSpec {
            store_ref: StoreRef {
                name: "s".into(),
                kind: StoreKind::SecretStore,
            },
            refresh_interval: None,
            target: Default::default(),
            data: vec![],
            data_from: vec![],
            rotation_policy: None,
        }
    }

    fn synced_status(hash: &str, next: &str) -> SecretSyncStatus {
        SecretSyncStatus {
            observed_generation: Some(1),
            synced: vec![SyncedKey {
                secret_key: "k".into(),
                remote_key: "r".into(),
                version: "1".into(),
            }],
            last_synced_at: Some("2026-01-01T00:00:00Z".into()),
            next_refresh_at: Some(next.into()),
            data_hash: Some(hash.into()),
            ..Default::default()
        }
    }

    fn secret(value: &str, hash: &str) -> Secret {
        Secret {
            metadata: ObjectMeta {
                annotations: Some([(DATA_HASH.to_string(), hash.to_string())].into()),
                ..Default::default()
            },
            data: Some([("k".to_string(), ByteString(value.as_bytes().to_vec()))].into()),
            ..Default::default()
        }
    }

    fn hash_of(value: &str) -> String {
        live_hash(&secret(value, ""), ["k".to_string()].into_iter())
    }

    #[test]
    fn decisions() {
        let spec = spec();
        let h = hash_of("v1");
        let status = synced_status(&h, "2026-01-01T01:00:00Z");
        let live = secret("v1", &h);
        let base = |now: &str| Observed {
            spec: &spec,
            status: &status,
            generation: Some(1),
            refresh_annotation: None,
            live: Some(&live),
            now: now.parse().unwrap(),
            interval: Duration::from_secs(3600),
        };
        assert_eq!(needs_sync(&base("2026-01-01T00:30:00Z")), None);
        assert_eq!(
            needs_sync(&base("2026-01-01T01:00:01Z")),
            Some(Trigger::Due)
        );
        let o = Observed {
            generation: Some(2),
            ..base("2026-01-01T00:30:00Z")
        };
        assert_eq!(needs_sync(&o), Some(Trigger::SpecChanged));
        let o = Observed {
            refresh_annotation: Some("now"),
            ..base("2026-01-01T00:30:00Z")
        };
        assert_eq!(needs_sync(&o), Some(Trigger::Requested));
        let edited = secret("tampered", &h);
        let o = Observed {
            live: Some(&edited),
            ..base("2026-01-01T00:30:00Z")
        };
        assert_eq!(needs_sync(&o), Some(Trigger::Drifted));
        let o = Observed {
            live: None,
            ..base("2026-01-01T00:30:00Z")
        };
        assert_eq!(needs_sync(&o), Some(Trigger::Drifted));
        let fresh = SecretSyncStatus::default();
        let o = Observed {
            status: &fresh,
            ..base("2026-01-01T00:30:00Z")
        };
        assert_eq!(needs_sync(&o), Some(Trigger::FirstSync));
    }
}
