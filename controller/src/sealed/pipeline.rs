//! The CPU side of unsealing, with no I/O: a SealedSecret (as JSON) and the key
//! set in, the Secret to write out. The reconciler runs it on the blocking pool
//! behind [`UnsealPool`], which admits one job per core so every core decrypts
//! while the async threads stay free for API traffic; the benchmark runs it
//! directly (`examples/bench_sealed.rs`).

use std::sync::Arc;

use hush_crypto::sealing::{unseal_sealed_secret, SealedSecretManifest};
use k8s_openapi::api::core::v1::Secret;
use tokio::sync::Semaphore;

use super::keys::{rfc3339, KeySet};
use super::secret::{desired, Owner, UsedKey};

/// The Secret a SealedSecret unseals to, and which key opened it.
pub struct Unsealed {
    pub secret: Secret,
    /// Index into [`KeySet::info`] of the newest key that decrypted a value.
    pub key_index: usize,
}

/// Unseal `sealed` (a SealedSecret as JSON) with `keys` and build its Secret.
/// Errors name the object and data key, never a value.
pub fn unseal_to_secret(
    sealed: serde_json::Value,
    keys: &KeySet,
    owner_uid: &str,
) -> Result<Unsealed, String> {
    let manifest = SealedSecretManifest::from_value(sealed).map_err(|e| e.to_string())?;
    if keys.private.is_empty() {
        return Err("no sealing keys loaded".to_string());
    }
    let unsealed = unseal_sealed_secret(&keys.private, &manifest).map_err(|e| e.to_string())?;
    let key_index = unsealed
        .used_keys
        .iter()
        .next_back()
        .copied()
        .unwrap_or(keys.private.len() - 1);
    let info = &keys.info[key_index];
    let created = rfc3339(info.created);
    let secret = desired(
        &unsealed,
        &Owner {
            name: &unsealed.name,
            uid: owner_uid,
        },
        &UsedKey {
            fingerprint: &info.fingerprint,
            created: &created,
        },
    );
    Ok(Unsealed { secret, key_index })
}

/// Admits as many unseal jobs to the blocking pool as there are cores: more would
/// only queue RSA work behind RSA work and hold plaintext in memory longer.
#[derive(Clone)]
pub struct UnsealPool {
    permits: Arc<Semaphore>,
}

impl Default for UnsealPool {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

impl UnsealPool {
    pub fn new(workers: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// Run `job` on the blocking pool once a core is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, String>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| format!("unseal pool closed: {e}"))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| format!("unseal task failed: {e}"))
    }
}
