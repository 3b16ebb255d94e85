//! Assemble the values a SecretSync asks for: `data` entries, `dataFrom` extracts
//! and finds, then the optional template. Values stay in [`SecretBytes`].

use std::collections::BTreeMap;

use hush_providers::secrets::{SecretBytes, SourceError};
use jiff::Timestamp;

use super::sources::StoreClient;
use crate::crd::{SecretSyncSpec, SyncedKey, Template};

/// The values to write and the source versions they came from.
#[derive(Debug, Default)]
pub struct Desired {
    pub data: BTreeMap<String, SecretBytes>,
    pub synced: Vec<SyncedKey>,
}

/// Fetch everything the spec names. The first failing remote key fails the whole sync:
/// a partial Secret would be worse than the last good one.
pub async fn fetch(
    store: &StoreClient,
    spec: &SecretSyncSpec,
    not_before: Timestamp,
) -> Result<Desired, SourceError> {
    let mut out = Desired::default();
    let provider = store.provider;
    for entry in &spec.data {
        let r = &entry.remote_ref;
        let remote = store
            .fetch(&r.key, r.version.as_deref(), not_before)
            .await?;
        let value = remote.property(provider, r.property.as_deref())?;
        out.data.insert(entry.secret_key.clone(), value);
        out.synced.push(SyncedKey {
            secret_key: entry.secret_key.clone(),
            remote_key: r.key.clone(),
            version: remote.version.clone(),
        });
    }
    for from in &spec.data_from {
        if let Some(r) = &from.extract {
            let remote = store
                .fetch(&r.key, r.version.as_deref(), not_before)
                .await?;
            for (k, v) in remote.fields(provider)? {
                out.synced.push(SyncedKey {
                    secret_key: k.clone(),
                    remote_key: r.key.clone(),
                    version: remote.version.clone(),
                });
                out.data.insert(k, v);
            }
        }
        if let Some(find) = &from.find {
            let prefix = find.path.trim_end_matches('/');
            for key in store.list(&find.path).await? {
                let remote = store.fetch(&key, None, not_before).await?;
                let rel = key
                    .strip_prefix(prefix)
                    .unwrap_or(&key)
                    .trim_start_matches('/');
                let secret_key = rel.replace('/', "_");
                out.synced.push(SyncedKey {
                    secret_key: secret_key.clone(),
                    remote_key: key.clone(),
                    version: remote.version.clone(),
                });
                out.data.insert(secret_key, remote.whole());
            }
        }
    }
    Ok(out)
}

/// Template error: names the template key and the missing reference, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("template value {target:?} refers to {missing:?}, which is not a fetched key")]
pub struct TemplateError {
    pub target: String,
    pub missing: String,
}

/// Apply `template.data`: `{{ .key }}` placeholders are replaced by fetched values.
/// Without template data the fetched values are written as they are.
pub fn apply_template(
    template: Option<&Template>,
    fetched: BTreeMap<String, SecretBytes>,
) -> Result<BTreeMap<String, SecretBytes>, TemplateError> {
    let Some(t) = template.filter(|t| !t.data.is_empty()) else {
        return Ok(fetched);
    };
    let mut out = BTreeMap::new();
    for (target, pattern) in &t.data {
        let mut value: Vec<u8> = Vec::with_capacity(pattern.len());
        let mut rest = pattern.as_str();
        while let Some(start) = rest.find("{{") {
            value.extend_from_slice(&rest.as_bytes()[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                // An unclosed `{{` is literal text.
                value.extend_from_slice(&rest.as_bytes()[start..]);
                rest = "";
                break;
            };
            let name = after[..end].trim().trim_start_matches('.');
            let v = fetched.get(name).ok_or_else(|| TemplateError {
                target: target.clone(),
                missing: name.to_string(),
            })?;
            value.extend_from_slice(v.expose());
            rest = &after[end + 2..];
        }
        value.extend_from_slice(rest.as_bytes());
        out.insert(target.clone(), SecretBytes::new(value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched() -> BTreeMap<String, SecretBytes> {
        [
            ("user".to_string(), SecretBytes::new(b"alice".to_vec())),
            ("pass".to_string(), SecretBytes::new(b"s3cret".to_vec())),
        ]
        .into()
    }

    #[test]
    fn template_replaces_placeholders() {
        let t = Template {
            data: [(
                "url".to_string(),
                "postgres://{{ .user }}:{{.pass}}@db/app".to_string(),
            )]
            .into(),
            ..Default::default()
        };
        let out = apply_template(Some(&t), fetched()).unwrap();
        assert_eq!(out["url"].expose(), b"postgres://alice:s3cret@db/app");
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn template_missing_key_is_named_without_values() {
        let t = Template {
            data: [("x".to_string(), "{{ .nope }}".to_string())].into(),
            ..Default::default()
        };
        let err = apply_template(Some(&t), fetched()).unwrap_err();
        assert_eq!(err.missing, "nope");
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn no_template_passes_values_through() {
        assert_eq!(apply_template(None, fetched()).unwrap().len(), 2);
    }
}
