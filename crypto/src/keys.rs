//! Master-key entries of the `sops:` metadata block: who wraps the data key.
//!
//! These are format facts (field names and encodings from sops' `stores.go`),
//! so they live here; the code that talks to each backend lives in `hush-providers`.

use std::collections::BTreeMap;

/// One master key: its identity, the wrapped data key (`enc`) and its creation time.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterKey {
    pub kind: KeyKind,
    /// The wrapped data key (or Shamir share), exactly as stored in the file.
    pub enc: String,
    /// RFC 3339 creation time; sops writes none for age keys.
    pub created_at: Option<String>,
}

/// The backend-specific identity of a master key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Age {
        recipient: String,
    },
    Pgp {
        fingerprint: String,
    },
    AwsKms {
        arn: String,
        role: Option<String>,
        context: BTreeMap<String, String>,
        aws_profile: String,
    },
    GcpKms {
        resource_id: String,
    },
    AzureKv {
        vault_url: String,
        name: String,
        version: String,
    },
    HcVault {
        vault_address: String,
        engine_path: String,
        key_name: String,
    },
    HuaweiKms {
        key_id: String,
    },
}

/// The list name under which each kind is stored in metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    Age,
    Pgp,
    AwsKms,
    GcpKms,
    AzureKv,
    HcVault,
    HuaweiKms,
}

impl KeyType {
    /// All types, in the order sops' decryption falls back to after `age,pgp`.
    pub const ALL: [KeyType; 7] = [
        KeyType::Age,
        KeyType::Pgp,
        KeyType::AwsKms,
        KeyType::GcpKms,
        KeyType::AzureKv,
        KeyType::HcVault,
        KeyType::HuaweiKms,
    ];

    /// The metadata list name (`age`, `pgp`, `kms`, ...).
    pub fn list_name(self) -> &'static str {
        match self {
            KeyType::Age => "age",
            KeyType::Pgp => "pgp",
            KeyType::AwsKms => "kms",
            KeyType::GcpKms => "gcp_kms",
            KeyType::AzureKv => "azure_kv",
            KeyType::HcVault => "hc_vault",
            KeyType::HuaweiKms => "hckms",
        }
    }

    pub fn from_list_name(name: &str) -> Option<Self> {
        KeyType::ALL.into_iter().find(|t| t.list_name() == name)
    }
}

impl KeyKind {
    pub fn key_type(&self) -> KeyType {
        match self {
            KeyKind::Age { .. } => KeyType::Age,
            KeyKind::Pgp { .. } => KeyType::Pgp,
            KeyKind::AwsKms { .. } => KeyType::AwsKms,
            KeyKind::GcpKms { .. } => KeyType::GcpKms,
            KeyKind::AzureKv { .. } => KeyType::AzureKv,
            KeyKind::HcVault { .. } => KeyType::HcVault,
            KeyKind::HuaweiKms { .. } => KeyType::HuaweiKms,
        }
    }

    /// A short human name for messages: the recipient, fingerprint, ARN, URL, ...
    /// Never contains key material.
    pub fn describe(&self) -> String {
        match self {
            KeyKind::Age { recipient } => format!("age {recipient}"),
            KeyKind::Pgp { fingerprint } => format!("pgp {fingerprint}"),
            KeyKind::AwsKms { arn, role, .. } => match role {
                Some(role) => format!("kms {arn} (role {role})"),
                None => format!("kms {arn}"),
            },
            KeyKind::GcpKms { resource_id } => format!("gcp_kms {resource_id}"),
            KeyKind::AzureKv {
                vault_url,
                name,
                version,
            } => format!("azure_kv {vault_url}/keys/{name}/{version}"),
            KeyKind::HcVault {
                vault_address,
                engine_path,
                key_name,
            } => format!("hc_vault {vault_address}/v1/{engine_path}/keys/{key_name}"),
            KeyKind::HuaweiKms { key_id } => format!("hckms {key_id}"),
        }
    }
}

/// A key group: every key in it wraps the same data key (or the same Shamir share).
pub type KeyGroup = Vec<MasterKey>;
