//! Helpers every hush controller shares: ownership checks, server-side apply with
//! the `hush` field manager, events, status conditions and rolling restarts.

pub mod backoff;
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

/// A controller for all of `api`'s objects that wakes on spec (generation) and
/// annotation changes only: a reconcile writes status, and waking on that write would
/// retry failures before their backoff and loop on success.
pub fn spec_change_controller<K>(api: kube::Api<K>) -> kube::runtime::Controller<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    use kube::runtime::{predicates, reflector, watcher, Predicate, WatchStreamExt};
    let (reader, writer) = reflector::store();
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            predicates::generation.combine(predicates::annotations),
            Default::default(),
        );
    kube::runtime::Controller::for_stream(events, reader)
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

/// The body of a JSON merge patch (RFC 7386) on the status subresource that turns
/// `old` into `new`. Status types skip empty lists and `None` when serialized, and a
/// merge patch keeps every field it does not mention, so fields `new` leaves out but
/// `old` had are sent as `null`: a list that became empty must really be emptied.
/// (`old` may lag behind the server; the next reconcile's patch corrects that.)
pub fn status_merge_patch<T: serde::Serialize>(old: Option<&T>, new: &T) -> serde_json::Value {
    let mut status = serde_json::to_value(new).unwrap_or_default();
    let old = old.and_then(|o| serde_json::to_value(o).ok());
    if let (Some(fields), Some(serde_json::Value::Object(old_fields))) =
        (status.as_object_mut(), old)
    {
        for (key, _) in old_fields {
            fields.entry(key).or_insert(serde_json::Value::Null);
        }
    }
    serde_json::json!({ "status": status })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        file_errors: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        revision: Option<String>,
        ready: bool,
    }

    #[test]
    fn status_patch_nulls_what_was_dropped() {
        let old = Status {
            file_errors: vec!["a.yaml".into()],
            revision: Some("abc".into()),
            ready: false,
        };
        let new = Status {
            file_errors: vec![],
            revision: None,
            ready: true,
        };
        assert_eq!(
            status_merge_patch(Some(&old), &new),
            serde_json::json!({ "status": { "fileErrors": null, "revision": null, "ready": true } })
        );
        assert_eq!(
            status_merge_patch(None, &old),
            serde_json::json!({ "status": { "fileErrors": ["a.yaml"], "revision": "abc", "ready": false } })
        );
    }
}
