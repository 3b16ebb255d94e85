//! Rolling restarts of workloads that asked for one when a Secret changes.
//!
//! A workload opts in with the annotation `hush.dev/restart-on-change: name1,name2`.
//! The restart is a pod-template annotation change, as `kubectl rollout restart` does.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::{
    api::{ListParams, Patch, PatchParams},
    Api, Client, Resource, ResourceExt,
};

use super::FIELD_MANAGER;

/// Annotation on a workload listing the Secrets it depends on.
pub const RESTART_ON_CHANGE: &str = "hush.dev/restart-on-change";
/// Pod-template annotation hush sets to roll the pods.
pub const RESTARTED_AT: &str = "hush.dev/restartedAt";

/// Does the workload ask for a restart when `secret` changes?
pub fn wants_restart(
    annotations: &std::collections::BTreeMap<String, String>,
    secret: &str,
) -> bool {
    annotations
        .get(RESTART_ON_CHANGE)
        .is_some_and(|names| names.split(',').any(|n| n.trim() == secret))
}

/// Restart every Deployment, StatefulSet and DaemonSet in `namespace` that depends on
/// `secret`. Returns the names restarted as `Kind/name`.
pub async fn restart_dependents(
    client: &Client,
    namespace: &str,
    secret: &str,
    now: &str,
) -> Result<Vec<String>, kube::Error> {
    let mut restarted = Vec::new();
    restart_kind::<Deployment>(client, namespace, secret, now, &mut restarted).await?;
    restart_kind::<StatefulSet>(client, namespace, secret, now, &mut restarted).await?;
    restart_kind::<DaemonSet>(client, namespace, secret, now, &mut restarted).await?;
    Ok(restarted)
}

async fn restart_kind<K>(
    client: &Client,
    namespace: &str,
    secret: &str,
    now: &str,
    restarted: &mut Vec<String>,
) -> Result<(), kube::Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    for obj in api.list(&ListParams::default()).await? {
        if !wants_restart(obj.annotations(), secret) {
            continue;
        }
        let name = obj.name_any();
        let patch = serde_json::json!({
            "spec": { "template": { "metadata": { "annotations": { RESTARTED_AT: now } } } }
        });
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Merge(&patch),
        )
        .await?;
        restarted.push(format!("{}/{name}", K::kind(&())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_annotation_lists_names() {
        let a = [(
            RESTART_ON_CHANGE.to_string(),
            "db-creds, api-key".to_string(),
        )]
        .into();
        assert!(wants_restart(&a, "api-key"));
        assert!(wants_restart(&a, "db-creds"));
        assert!(!wants_restart(&a, "db"));
    }
}
