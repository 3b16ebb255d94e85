//! Helpers every hush controller shares: ownership checks, server-side apply with
//! the `hush` field manager, events, status conditions and rolling restarts.

pub mod conditions;
pub mod events;
pub mod ownership;
pub mod rollout;

use kube::api::{Patch, PatchParams};

/// The field manager for every write hush makes.
pub const FIELD_MANAGER: &str = "hush";

/// Server-side apply parameters: our field manager, taking over conflicting fields
/// (only ever used on objects we own, or on Merge targets for our own keys).
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Server-side apply of a typed object.
pub async fn apply<K>(api: &kube::Api<K>, name: &str, obj: &K) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(name, &apply_params(), &Patch::Apply(obj)).await
}

/// RFC 3339 text of a time, seconds precision (what Kubernetes uses).
pub fn rfc3339(ts: jiff::Timestamp) -> String {
    ts.round(jiff::Unit::Second)
        .unwrap_or(ts)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parse an RFC 3339 time written by [`rfc3339`] (or by Kubernetes).
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}
