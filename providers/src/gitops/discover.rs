//! Sorting a repository's files into what the pull acts on: SOPS-encrypted Kubernetes
//! Secrets (decrypted by [`decrypt_secret`](super::decrypt_secret)) and Bitnami
//! SealedSecrets (passed through for the controller to apply). Everything else is
//! ignored.

use hush_crypto::document::{self, Format};
use hush_crypto::stores::json::{self, JsonIndent};
use hush_crypto::stores::yaml;
use hush_crypto::{Map, Value};

use super::mirror::RepoFile;

/// A file or document the pull acts on.
#[derive(Clone, Debug)]
pub enum Found {
    /// A SOPS-encrypted file (top-level `sops` with a `mac`) holding at least one
    /// `kind: Secret` document.
    SopsSecret(RepoFile),
    /// One `bitnami.com/v1alpha1` `SealedSecret` document, as JSON, unchanged.
    SealedSecret {
        source_path: String,
        manifest: serde_json::Value,
    },
}

impl Found {
    /// The repository path the item came from.
    pub fn source_path(&self) -> &str {
        match self {
            Found::SopsSecret(file) => &file.path,
            Found::SealedSecret { source_path, .. } => source_path,
        }
    }
}

/// Classifies every YAML/JSON document of `files`. Files that do not parse are
/// skipped here: a file that is not a manifest is none of the pull's business.
pub fn discover(files: impl IntoIterator<Item = RepoFile>) -> Vec<Found> {
    let mut found = Vec::new();
    for file in files {
        let format = Format::from_path(&file.path);
        if !matches!(format, Format::Yaml | Format::Json) {
            continue;
        }
        // Cheap byte checks first: most files in a GitOps repository are neither.
        if contains(&file.bytes, b"sops")
            && contains(&file.bytes, b"mac")
            && is_sops_secret_file(format, &file.bytes)
        {
            found.push(Found::SopsSecret(file));
            continue;
        }
        if contains(&file.bytes, b"SealedSecret") {
            for manifest in sealed_secrets(format, &file.bytes) {
                found.push(Found::SealedSecret {
                    source_path: file.path.clone(),
                    manifest,
                });
            }
        }
    }
    found
}

/// True when the document is `kind: Secret` of the core API group.
pub(crate) fn is_secret(doc: &Map) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some("Secret")
        && doc.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

fn is_sops_secret_file(format: Format, bytes: &[u8]) -> bool {
    match document::load_encrypted(format, bytes) {
        Ok((docs, metadata)) => !metadata.mac.is_empty() && docs.iter().any(is_secret),
        Err(_) => false,
    }
}

fn sealed_secrets(format: Format, bytes: &[u8]) -> Vec<serde_json::Value> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let docs = match format {
        Format::Json => json::parse(text).map(|d| vec![d]),
        _ => yaml::parse_documents(text),
    };
    docs.unwrap_or_default()
        .iter()
        .filter(|d| {
            d.get("kind").and_then(Value::as_str) == Some("SealedSecret")
                && d.get("apiVersion").and_then(Value::as_str) == Some("bitnami.com/v1alpha1")
        })
        .filter_map(|d| serde_json::from_str(&json::emit(d, JsonIndent::Spaces(0))).ok())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
