//! Sealing scopes and the OAEP label each one binds a ciphertext to.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Annotation that marks a SealedSecret (and its template) namespace-wide.
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Annotation that marks a SealedSecret (and its template) cluster-wide.
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";

/// Where a sealed value may be unsealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// Only under the same name in the same namespace (the default).
    #[default]
    Strict,
    /// Under any name in the same namespace.
    NamespaceWide,
    /// Under any name in any namespace.
    ClusterWide,
}

/// The scope string was not one of `strict`, `namespace-wide`, `cluster-wide`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected strict, namespace-wide or cluster-wide")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(UnknownScope(other.to_string())),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        })
    }
}

impl Scope {
    /// The scope an object's annotations ask for. Like Bitnami's `SecretScope`,
    /// cluster-wide wins when both annotations are `"true"`.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Scope {
        let is_true = |key: &str| annotations.get(key).map(String::as_str) == Some("true");
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// Rewrites the scope annotations to say `self` (as `UpdateScopeAnnotations`):
    /// both are removed, then the one for this scope is set to `"true"`.
    pub fn apply_to_annotations(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        match self {
            Scope::Strict => {}
            Scope::NamespaceWide => {
                annotations.insert(NAMESPACE_WIDE_ANNOTATION.to_string(), "true".to_string());
            }
            Scope::ClusterWide => {
                annotations.insert(CLUSTER_WIDE_ANNOTATION.to_string(), "true".to_string());
            }
        }
    }
}

/// The OAEP label for a scope: `namespace/name` (strict), `namespace`
/// (namespace-wide) or empty (cluster-wide). No trailing slash.
pub fn scope_label(scope: Scope, namespace: &str, name: &str) -> Vec<u8> {
    match scope {
        Scope::Strict => format!("{namespace}/{name}").into_bytes(),
        Scope::NamespaceWide => namespace.as_bytes().to_vec(),
        Scope::ClusterWide => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_bitnami() {
        assert_eq!(scope_label(Scope::Strict, "ns", "n"), b"ns/n");
        assert_eq!(scope_label(Scope::NamespaceWide, "ns", "n"), b"ns");
        assert_eq!(scope_label(Scope::ClusterWide, "ns", "n"), b"");
    }

    #[test]
    fn cluster_wide_wins_over_namespace_wide() {
        let mut annotations = BTreeMap::new();
        annotations.insert(NAMESPACE_WIDE_ANNOTATION.into(), "true".into());
        assert_eq!(Scope::from_annotations(&annotations), Scope::NamespaceWide);
        annotations.insert(CLUSTER_WIDE_ANNOTATION.into(), "true".into());
        assert_eq!(Scope::from_annotations(&annotations), Scope::ClusterWide);
        Scope::Strict.apply_to_annotations(&mut annotations);
        assert!(annotations.is_empty());
    }

    #[test]
    fn parses_and_prints() {
        for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
        assert!("global".parse::<Scope>().is_err());
    }
}
