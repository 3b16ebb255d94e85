//! Flags shared by several commands, named and defaulted as sops names them.

use std::path::PathBuf;

use clap::Args;
use hush_crypto::document::Format;

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s)
        .ok_or_else(|| format!("unknown format {s:?} (yaml, json, dotenv, ini, binary)"))
}

/// Input and output formats.
#[derive(Args, Debug, Clone, Default)]
pub struct FormatArgs {
    /// Input format: yaml, json, dotenv, ini or binary (default: from the file extension)
    #[arg(long, value_parser = parse_format)]
    pub input_type: Option<Format>,
    /// Output format: yaml, json, dotenv, ini or binary (default: the input format)
    #[arg(long, value_parser = parse_format)]
    pub output_type: Option<Format>,
    /// Indentation of YAML and JSON output (default: 4 for YAML, a tab for JSON)
    #[arg(long)]
    pub indent: Option<usize>,
    /// Use this file name for format detection and creation rules (useful with stdin)
    #[arg(long)]
    pub filename_override: Option<PathBuf>,
}

/// Master keys given on the command line or in the environment.
#[derive(Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// Comma-separated age recipients (age1…, ssh-ed25519 …, ssh-rsa …)
    #[arg(long, env = "SOPS_AGE_RECIPIENTS")]
    pub age: Option<String>,
    /// Comma-separated PGP fingerprints
    #[arg(long, env = "SOPS_PGP_FP")]
    pub pgp: Option<String>,
    /// Comma-separated AWS KMS key ARNs, each optionally followed by +ROLE_ARN
    #[arg(long, env = "SOPS_KMS_ARN")]
    pub kms: Option<String>,
    /// Comma-separated GCP KMS resource IDs
    #[arg(long, env = "SOPS_GCP_KMS_IDS")]
    pub gcp_kms: Option<String>,
    /// Comma-separated Azure Key Vault key URLs
    #[arg(long, env = "SOPS_AZURE_KEYVAULT_URLS")]
    pub azure_kv: Option<String>,
    /// Comma-separated Vault transit URIs (https://vault:8200/v1/transit/keys/NAME)
    #[arg(long, env = "SOPS_VAULT_URIS")]
    pub hc_vault_transit: Option<String>,
    /// Comma-separated HuaweiCloud KMS key IDs (region:uuid)
    #[arg(long, env = "SOPS_HUAWEICLOUD_KMS_IDS")]
    pub hckms: Option<String>,
    /// AWS profile for KMS keys
    #[arg(long)]
    pub aws_profile: Option<String>,
    /// KMS encryption context, key:value,key2:value2
    #[arg(long)]
    pub encryption_context: Option<String>,
    /// Number of key groups needed to decrypt (Shamir threshold)
    #[arg(long)]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

/// Which values are encrypted (at most one selector).
#[derive(Args, Debug, Clone, Default)]
pub struct SelectorArgs {
    /// Keys with this suffix (and everything under them) stay in clear [default: _unencrypted]
    #[arg(long)]
    pub unencrypted_suffix: Option<String>,
    /// Only keys with this suffix (and everything under them) are encrypted
    #[arg(long)]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regex stay in clear
    #[arg(long)]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted (Kubernetes: '^(data|stringData)$')
    #[arg(long)]
    pub encrypted_regex: Option<String>,
    /// Values after a comment matching this regex stay in clear
    #[arg(long)]
    pub unencrypted_comment_regex: Option<String>,
    /// Only values after a comment matching this regex are encrypted
    #[arg(long)]
    pub encrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only
    #[arg(long)]
    pub mac_only_encrypted: bool,
}

/// How data keys are recovered and checked.
#[derive(Args, Debug, Clone, Default)]
pub struct DecryptArgsCommon {
    /// Comma-separated key types to try first (default: age,pgp)
    #[arg(long, env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
    /// Decrypt even if the MAC is missing or does not match
    #[arg(long)]
    pub ignore_mac: bool,
}

/// Where results go.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Write the result back to the input file (atomically)
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Write the result to this file instead of standard output
    #[arg(long, conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
}

/// The config file.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Path to .sops.yaml (default: the nearest one above the file)
    #[arg(long, env = "SOPS_CONFIG")]
    pub config: Option<PathBuf>,
}
