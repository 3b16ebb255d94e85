//! What every network key source shares: one tokio runtime for the process,
//! bounded timeouts, and retries with jittered exponential backoff.
//!
//! [`KeySource`](crate::KeySource) is synchronous, so each call blocks on the
//! shared runtime. Callers already inside a tokio runtime are served from a
//! short-lived helper thread (blocking a runtime worker would panic); async
//! callers should still prefer `spawn_blocking` so they do not stall a worker.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::Rng;

/// Timeouts and retry budget for one KMS call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetSettings {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole call, retries included.
    pub total_timeout: Duration,
    /// Attempts in total (1 = no retry).
    pub max_attempts: u32,
    /// First backoff delay; doubled on every retry, with full jitter.
    pub base_delay: Duration,
}

impl Default for NetSettings {
    fn default() -> Self {
        NetSettings {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
        }
    }
}

impl NetSettings {
    /// Defaults, overridden by `HUSH_KMS_TIMEOUT` (seconds for the whole call,
    /// fractions allowed) and `HUSH_KMS_RETRIES` (retries after the first attempt).
    pub fn from_env() -> Self {
        let mut s = NetSettings::default();
        if let Some(secs) = std::env::var("HUSH_KMS_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
        {
            s.total_timeout = Duration::from_secs_f64(secs);
            s.connect_timeout = s.connect_timeout.min(s.total_timeout);
        }
        if let Some(retries) = std::env::var("HUSH_KMS_RETRIES")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            s.max_attempts = retries.saturating_add(1).min(10);
        }
        s
    }

    /// The delay before retry number `retry` (1-based): uniform in [0, base·2^(retry-1)], capped at 5 s.
    fn backoff(&self, retry: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(Duration::from_secs(5));
        let millis = cap.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

/// How a failed attempt should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Throttling, 5xx, connection errors, timeouts: worth another attempt.
    Transient,
    /// No credentials for this key on this machine: the caller may try another key.
    NoCredentials,
    /// Anything else (denied, wrong key, bad ciphertext): retrying will not help.
    Permanent,
}

/// One failed call: its class and a message that never contains key material.
#[derive(Clone, Debug)]
pub struct CallError {
    pub failure: Failure,
    pub detail: String,
}

impl CallError {
    pub fn transient(detail: impl Into<String>) -> Self {
        CallError {
            failure: Failure::Transient,
            detail: detail.into(),
        }
    }
    pub fn permanent(detail: impl Into<String>) -> Self {
        CallError {
            failure: Failure::Permanent,
            detail: detail.into(),
        }
    }
    pub fn no_credentials(detail: impl Into<String>) -> Self {
        CallError {
            failure: Failure::NoCredentials,
            detail: detail.into(),
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hush-kms")
            .enable_all()
            .build()
            .expect("create the KMS tokio runtime")
    })
}

/// Runs `fut` to completion on the shared runtime, from sync code.
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        // Blocking inside a runtime would panic: hand the wait to a plain thread.
        std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(fut))
                .join()
                .expect("KMS helper thread panicked")
        })
    } else {
        runtime().block_on(fut)
    }
}

/// Calls `attempt` until it succeeds, fails for good, or the time budget is spent.
/// Each attempt is cut off at the remaining budget, so the call never hangs.
pub async fn with_retries<T, F, Fut>(settings: &NetSettings, mut attempt: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let deadline = Instant::now() + settings.total_timeout;
    let mut tries = 0u32;
    loop {
        tries += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let outcome = match tokio::time::timeout(remaining, attempt()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(CallError::transient(format!(
                "no answer within {:?} (HUSH_KMS_TIMEOUT)",
                settings.total_timeout
            ))),
        };
        let err = match outcome {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if err.failure != Failure::Transient || tries >= settings.max_attempts {
            return Err(with_attempts(err, tries));
        }
        let delay = settings.backoff(tries);
        if Instant::now() + delay >= deadline {
            return Err(with_attempts(err, tries));
        }
        tokio::time::sleep(delay).await;
    }
}

fn with_attempts(mut err: CallError, tries: u32) -> CallError {
    if tries > 1 {
        err.detail = format!("{} (after {tries} attempts)", err.detail);
    }
    err
}

/// Makes rustls use aws-lc-rs in this process (the SDKs need a process-wide
/// provider when more than one is compiled in). Already installed is fine.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> NetSettings {
        NetSettings {
            connect_timeout: Duration::from_millis(100),
            total_timeout: Duration::from_secs(2),
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
        }
    }

    #[test]
    fn transient_failures_are_retried_until_the_budget() {
        let calls = &AtomicU32::new(0);
        let r: Result<(), _> = block_on(with_retries(&fast(), || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(CallError::transient("503"))
        }));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(r.unwrap_err().detail.contains("after 3 attempts"));
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        let calls = &AtomicU32::new(0);
        let r: Result<(), _> = block_on(with_retries(&fast(), || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(CallError::permanent("denied"))
        }));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(r.unwrap_err().detail, "denied");
    }

    #[test]
    fn a_hanging_call_is_cut_off() {
        let mut s = fast();
        s.total_timeout = Duration::from_millis(200);
        let start = Instant::now();
        let r: Result<(), _> = block_on(with_retries(&s, || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }));
        assert!(r.unwrap_err().detail.contains("no answer within"));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn block_on_works_inside_a_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = rt.block_on(async { block_on(async { 7 }) });
        assert_eq!(v, 7);
    }

    #[test]
    fn backoff_is_bounded() {
        let s = NetSettings::default();
        for retry in 1..20 {
            assert!(s.backoff(retry) <= Duration::from_secs(5));
        }
    }
}
