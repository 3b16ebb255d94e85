//! A [`KeyRing`] built from the entries of a Kubernetes Secret, with Flux's
//! kustomize-controller conventions, so a decryption Secret made for Flux works
//! unchanged with hush:
//!
//! | entry | meaning |
//! |---|---|
//! | `*.agekey` | age identities (identity-file text, several per entry allowed) |
//! | `*.asc` | an armored OpenPGP keyring without a passphrase |
//! | `sops.vault-token` | a Vault token for `hc_vault` transit keys |
//! | `sops.aws-kms`, `sops.gcp-kms`, `sops.azure-kv` | static cloud credentials |
//!
//! Cloud KMS keys without a static entry use the process's ambient credentials
//! (workload identity: IRSA / EKS Pod Identity, GKE Workload Identity, Azure
//! Workload Identity), through the same key sources the CLI uses. `sops.aws-kms`
//! (Flux's YAML: `aws_access_key_id`, `aws_secret_access_key`, optional
//! `aws_session_token`) replaces the ambient AWS credentials, and `sops.azure-kv`
//! (`tenantId`/`clientId`/`clientSecret`, or `az ad sp create-for-rbac` output) the
//! ambient Azure ones, and `sops.gcp-kms` (a service-account key file) the ambient
//! Google ones.
//!
//! Errors and notes name the entry, never its content.

use std::collections::BTreeMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::age::AgeSource;
use crate::keyring::KeyRing;
use crate::pgp::PgpSource;
use crate::source::KeyError;

/// Flux's entry for a Vault token.
pub const VAULT_TOKEN_ENTRY: &str = "sops.vault-token";
/// Flux's entries for static cloud credentials.
pub const AWS_KMS_ENTRY: &str = "sops.aws-kms";
pub const GCP_KMS_ENTRY: &str = "sops.gcp-kms";
pub const AZURE_KV_ENTRY: &str = "sops.azure-kv";

/// Why the Secret's entries could not become a key ring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FluxKeyError {
    #[error("entry {entry:?}: {source}")]
    Entry {
        entry: String,
        #[source]
        source: KeyError,
    },
    #[error("entry {0:?} is not valid UTF-8")]
    NotText(String),
}

/// The key ring and what was found in the Secret.
pub struct FluxKeys {
    pub ring: KeyRing,
    /// Entries that held usable keys, by name.
    pub used: Vec<String>,
    /// Things the operator should know (unused static credentials), naming entries only.
    pub notes: Vec<String>,
}

/// Builds a key ring from a Secret's decoded `data` entries. Entries that match no
/// convention are ignored (a Secret may hold other things). `ambient_cloud` adds the
/// cloud KMS sources that use the environment's credentials (workload identity).
pub fn keyring_from_entries(
    entries: &BTreeMap<String, Zeroizing<Vec<u8>>>,
    ambient_cloud: bool,
) -> Result<FluxKeys, FluxKeyError> {
    let mut ring = KeyRing::new();
    let mut used = Vec::new();
    let mut notes = Vec::new();
    let mut age = AgeSource::recipients_only();
    let mut pgp = PgpSource::without_keys();
    let mut vault_token: Option<Zeroizing<String>> = None;
    let mut cloud = StaticCloud::default();
    for (name, bytes) in entries {
        let entry_error = |source| FluxKeyError::Entry {
            entry: name.clone(),
            source,
        };
        if name.ends_with(".agekey") {
            let text =
                std::str::from_utf8(bytes).map_err(|_| FluxKeyError::NotText(name.clone()))?;
            age.add_identities_text(name, text).map_err(entry_error)?;
            used.push(name.clone());
        } else if name.ends_with(".asc") {
            pgp.add_keys(name, bytes).map_err(entry_error)?;
            used.push(name.clone());
        } else if name == VAULT_TOKEN_ENTRY {
            let text =
                std::str::from_utf8(bytes).map_err(|_| FluxKeyError::NotText(name.clone()))?;
            vault_token = Some(Zeroizing::new(text.trim().to_string()));
            used.push(name.clone());
        } else if name == AWS_KMS_ENTRY {
            let text =
                std::str::from_utf8(bytes).map_err(|_| FluxKeyError::NotText(name.clone()))?;
            cloud.aws = Some(aws_credentials(text).map_err(entry_error)?);
            used.push(name.clone());
        } else if name == AZURE_KV_ENTRY {
            let text =
                std::str::from_utf8(bytes).map_err(|_| FluxKeyError::NotText(name.clone()))?;
            cloud.azure = Some(azure_credentials(text).map_err(entry_error)?);
            used.push(name.clone());
        } else if name == GCP_KMS_ENTRY {
            let text =
                std::str::from_utf8(bytes).map_err(|_| FluxKeyError::NotText(name.clone()))?;
            let fields = entry_fields(GCP_KMS_ENTRY, text).map_err(entry_error)?;
            if !(fields.contains_key("client_email") && fields.contains_key("private_key")) {
                return Err(entry_error(KeyError::InvalidKey {
                    kind: "GCP credentials",
                    input: GCP_KMS_ENTRY.into(),
                    reason: "needs a service-account key (client_email, private_key)".into(),
                }));
            }
            cloud.gcp = Some(Zeroizing::new(text.to_string()));
            used.push(name.clone());
        }
    }
    ring.add_source(Arc::new(age));
    ring.add_source(Arc::new(pgp));
    add_cloud_sources(&mut ring, ambient_cloud, vault_token, cloud, &mut notes);
    Ok(FluxKeys { ring, used, notes })
}

/// Static cloud credentials found in the Secret.
#[derive(Default)]
struct StaticCloud {
    aws: Option<AwsCredentials>,
    azure: Option<AzureCredentials>,
    /// A service-account key file (JSON), checked for its two essential fields.
    #[cfg_attr(not(feature = "gcp"), allow(dead_code))]
    gcp: Option<Zeroizing<String>>,
}

/// Flux's `sops.aws-kms` entry.
// Parsed (and checked) in every build; used only by builds with AWS KMS.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
struct AwsCredentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

/// Flux's `sops.azure-kv` entry: a service principal's client secret.
#[cfg_attr(not(feature = "azure"), allow(dead_code))]
struct AzureCredentials {
    tenant_id: String,
    client_id: String,
    client_secret: Zeroizing<String>,
}

/// The string fields of a YAML or JSON entry (JSON is YAML), values zeroized on drop.
fn entry_fields(entry: &str, text: &str) -> Result<BTreeMap<String, Zeroizing<String>>, KeyError> {
    let invalid = |reason: &str| KeyError::InvalidKey {
        kind: "credentials",
        input: entry.to_string(),
        reason: reason.to_string(),
    };
    // The parser's error could quote the text: only say that it did not parse.
    let docs = hush_crypto::stores::yaml::parse_documents(text)
        .map_err(|_| invalid("not YAML or JSON"))?;
    let map = docs.into_iter().next().unwrap_or_default();
    Ok(map
        .entries()
        .filter_map(|(k, v)| Some((k.to_string(), Zeroizing::new(v.as_str()?.to_string()))))
        .filter(|(_, v)| !v.is_empty())
        .collect())
}

fn aws_credentials(text: &str) -> Result<AwsCredentials, KeyError> {
    let mut fields = entry_fields(AWS_KMS_ENTRY, text)?;
    let (Some(id), Some(secret)) = (
        fields.remove("aws_access_key_id"),
        fields.remove("aws_secret_access_key"),
    ) else {
        return Err(KeyError::InvalidKey {
            kind: "AWS credentials",
            input: AWS_KMS_ENTRY.into(),
            reason: "needs aws_access_key_id and aws_secret_access_key".into(),
        });
    };
    Ok(AwsCredentials {
        access_key_id: id.to_string(),
        secret_access_key: secret,
        session_token: fields.remove("aws_session_token"),
    })
}

/// `tenantId`/`clientId`/`clientSecret`, or the output of `az ad sp create-for-rbac`
/// (`tenant`/`appId`/`password`), as Flux accepts.
fn azure_credentials(text: &str) -> Result<AzureCredentials, KeyError> {
    let mut fields = entry_fields(AZURE_KV_ENTRY, text)?;
    let mut either = |a: &str, b: &str| fields.remove(a).or_else(|| fields.remove(b));
    let (Some(tenant), Some(client), Some(secret)) = (
        either("tenantId", "tenant"),
        either("clientId", "appId"),
        either("clientSecret", "password"),
    ) else {
        return Err(KeyError::InvalidKey {
            kind: "Azure credentials",
            input: AZURE_KV_ENTRY.into(),
            reason: "needs tenantId, clientId and clientSecret (certificates and managed \
                     identity client ids are not supported; workload identity needs no entry)"
                .into(),
        });
    };
    Ok(AzureCredentials {
        tenant_id: tenant.to_string(),
        client_id: client.to_string(),
        client_secret: secret,
    })
}

#[cfg(any(feature = "aws", feature = "gcp", feature = "azure", feature = "vault"))]
fn add_cloud_sources(
    ring: &mut KeyRing,
    ambient: bool,
    vault_token: Option<Zeroizing<String>>,
    cloud: StaticCloud,
    notes: &mut Vec<String>,
) {
    #[cfg(feature = "vault")]
    {
        use crate::kms::{net::NetSettings, vault::VaultTransitSource};
        match vault_token {
            Some(token) => ring.add_source(Arc::new(
                VaultTransitSource::new(NetSettings::from_env()).with_token(token.as_str()),
            )),
            None if ambient => ring.add_source(Arc::new(VaultTransitSource::default())),
            None => {}
        }
    }
    #[cfg(not(feature = "vault"))]
    if vault_token.is_some() {
        notes.push(format!(
            "entry {VAULT_TOKEN_ENTRY:?}: this build has no Vault support"
        ));
    }
    #[cfg(feature = "aws")]
    match cloud.aws {
        Some(c) => ring.add_source(Arc::new(
            crate::kms::aws::AwsKmsSource::default().with_static_credentials(
                crate::kms::aws::StaticCredentials {
                    access_key_id: c.access_key_id,
                    secret_access_key: c.secret_access_key,
                    session_token: c.session_token,
                },
            ),
        )),
        None if ambient => ring.add_source(Arc::new(crate::kms::aws::AwsKmsSource::default())),
        None => {}
    }
    #[cfg(not(feature = "aws"))]
    if cloud.aws.is_some() {
        notes.push(format!(
            "entry {AWS_KMS_ENTRY:?}: this build has no AWS KMS support"
        ));
    }
    #[cfg(feature = "azure")]
    match cloud.azure {
        Some(c) => ring.add_source(Arc::new(
            crate::kms::azure::AzureKvSource::default().with_client_secret(
                &c.tenant_id,
                &c.client_id,
                &c.client_secret,
            ),
        )),
        None if ambient => ring.add_source(Arc::new(crate::kms::azure::AzureKvSource::default())),
        None => {}
    }
    #[cfg(not(feature = "azure"))]
    if cloud.azure.is_some() {
        notes.push(format!(
            "entry {AZURE_KV_ENTRY:?}: this build has no Azure Key Vault support"
        ));
    }
    #[cfg(feature = "gcp")]
    match cloud.gcp {
        Some(key) => ring.add_source(Arc::new(
            crate::kms::gcp::GcpKmsSource::default().with_service_account_key(key),
        )),
        None if ambient => ring.add_source(Arc::new(crate::kms::gcp::GcpKmsSource::default())),
        None => {}
    }
    #[cfg(not(feature = "gcp"))]
    if cloud.gcp.is_some() {
        notes.push(format!(
            "entry {GCP_KMS_ENTRY:?}: this build has no Cloud KMS support"
        ));
    }
    if !ambient {
        return;
    }
    let _ = notes;
}

#[cfg(not(any(feature = "aws", feature = "gcp", feature = "azure", feature = "vault")))]
fn add_cloud_sources(
    _ring: &mut KeyRing,
    _ambient: bool,
    vault_token: Option<Zeroizing<String>>,
    cloud: StaticCloud,
    notes: &mut Vec<String>,
) {
    if cloud.aws.is_some() {
        notes.push(format!(
            "entry {AWS_KMS_ENTRY:?}: this build has no AWS KMS support"
        ));
    }
    if cloud.azure.is_some() {
        notes.push(format!(
            "entry {AZURE_KV_ENTRY:?}: this build has no Azure Key Vault support"
        ));
    }
    if cloud.gcp.is_some() {
        notes.push(format!(
            "entry {GCP_KMS_ENTRY:?}: this build has no Cloud KMS support"
        ));
    }
    if vault_token.is_some() {
        notes.push(format!(
            "entry {VAULT_TOKEN_ENTRY:?}: this build has no Vault support"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::age::generate_identity;
    use hush_crypto::metadata::Metadata;
    use hush_crypto::rules::Selector;
    use hush_crypto::{DataKey, KeyGroup, MasterKey};

    fn entries(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Zeroizing::new(v.to_vec())))
            .collect()
    }

    #[test]
    fn agekey_entries_open_data_keys() {
        let (identity, recipient) = generate_identity();
        let wrapper = keyring_from_entries(&BTreeMap::new(), false).unwrap();
        let mut groups: Vec<KeyGroup> = vec![vec![MasterKey {
            kind: crate::age::parse_recipient(&recipient).unwrap(),
            enc: String::new(),
            created_at: None,
        }]];
        let key = DataKey::generate();
        wrapper.ring.wrap(&mut groups, None, &key, "now").unwrap();
        let metadata = Metadata::new(groups, None, Selector::default(), false);

        let keys = keyring_from_entries(
            &entries(&[
                ("identity.agekey", identity.as_bytes()),
                ("README", b"not a key"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(keys.used, vec!["identity.agekey".to_string()]);
        assert!(keys.notes.is_empty(), "{:?}", keys.notes);
        assert_eq!(
            keys.ring.unwrap(&metadata).unwrap().as_bytes(),
            key.as_bytes()
        );

        let none = keyring_from_entries(&BTreeMap::new(), false).unwrap();
        assert!(none.ring.unwrap(&metadata).is_err());
    }

    #[test]
    fn a_bad_entry_is_named_without_its_content() {
        let err = keyring_from_entries(
            &entries(&[("team.agekey", b"AGE-SECRET-KEY-1NOTAKEY")]),
            false,
        )
        .err()
        .expect("invalid identity");
        let text = err.to_string();
        assert!(text.contains("team.agekey"), "{text}");
        assert!(!text.contains("NOTAKEY"), "{text}");
    }
}
