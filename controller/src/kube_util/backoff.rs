//! Per-object retry delays for controllers' error policies: exponential from a
//! minimum, capped, with ±20% jitter so that many objects failing on the same outage
//! do not all retry at the same instant when it ends.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use rand::Rng;

/// (namespace, name) of the object that failed.
pub type ObjectKey = (String, String);

pub struct PerObjectBackoff {
    min: Duration,
    max: Duration,
    failures: Mutex<HashMap<ObjectKey, u32>>,
}

impl PerObjectBackoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            failures: Mutex::default(),
        }
    }

    /// The delay before retrying `key` after one more failure.
    pub fn next(&self, key: &ObjectKey) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(key.clone()).or_insert(0);
        let base = self.min.saturating_mul(1u32 << (*n).min(16)).min(self.max);
        *n = n.saturating_add(1);
        base.mul_f64(rand::thread_rng().gen_range(0.8..1.2))
    }

    /// The controllers' error policy: log the failed reconcile of `obj` (a `what`, e.g.
    /// "sealed secret") without its content, and retry it after the next delay.
    pub fn requeue_failed<K: kube::ResourceExt>(
        &self,
        obj: &K,
        err: &dyn std::fmt::Display,
        what: &str,
    ) -> kube::runtime::controller::Action {
        let key = (obj.namespace().unwrap_or_default(), obj.name_any());
        let delay = self.next(&key);
        tracing::warn!(namespace = %key.0, name = %key.1, %err, retry_in = ?delay, "{what} reconcile failed");
        kube::runtime::controller::Action::requeue(delay)
    }

    /// `key` succeeded: its next failure starts from the minimum again.
    pub fn reset(&self, key: &ObjectKey) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_resets() {
        let b = PerObjectBackoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let key = ("ns".to_string(), "a".to_string());
        let other = ("ns".to_string(), "b".to_string());
        let delays: Vec<f64> = (0..6).map(|_| b.next(&key).as_secs_f64()).collect();
        for (delay, want) in delays.iter().zip([1.0, 2.0, 4.0, 8.0, 8.0, 8.0]) {
            assert!(
                (want * 0.8..=want * 1.2).contains(delay),
                "{delay} not near {want}: {delays:?}"
            );
        }
        // Per object: another key starts at the minimum.
        assert!(b.next(&other) <= Duration::from_millis(1200));
        b.reset(&key);
        assert!(b.next(&key) <= Duration::from_millis(1200));
    }
}
