//! `hush rotate`: a new data key for a file, every value re-encrypted, and
//! optionally master keys added or removed.

use std::path::PathBuf;

use clap::Args;
use hush_crypto::{DataKey, KeyKind};
use hush_providers::KeyRing;

use crate::args::{ConfigArgs, DecryptArgsCommon, FormatArgs, KeyArgs, OutputArgs};
use crate::exit::{CliResult, Code};
use crate::keys;
use crate::ops::{self, FileSpec};

/// `--add-*` / `--rm-*` flags, as sops names them.
#[derive(Args, Debug, Clone, Default)]
pub struct KeyChangeArgs {
    /// age recipients to add (comma-separated)
    #[arg(long)]
    pub add_age: Option<String>,
    /// age recipients to remove
    #[arg(long)]
    pub rm_age: Option<String>,
    /// PGP fingerprints to add
    #[arg(long)]
    pub add_pgp: Option<String>,
    /// PGP fingerprints to remove
    #[arg(long)]
    pub rm_pgp: Option<String>,
    /// AWS KMS ARNs to add
    #[arg(long)]
    pub add_kms: Option<String>,
    /// AWS KMS ARNs to remove
    #[arg(long)]
    pub rm_kms: Option<String>,
    /// GCP KMS resource IDs to add
    #[arg(long)]
    pub add_gcp_kms: Option<String>,
    /// GCP KMS resource IDs to remove
    #[arg(long)]
    pub rm_gcp_kms: Option<String>,
    /// Azure Key Vault key URLs to add
    #[arg(long)]
    pub add_azure_kv: Option<String>,
    /// Azure Key Vault key URLs to remove
    #[arg(long)]
    pub rm_azure_kv: Option<String>,
    /// Vault transit URIs to add
    #[arg(long)]
    pub add_hc_vault_transit: Option<String>,
    /// Vault transit URIs to remove
    #[arg(long)]
    pub rm_hc_vault_transit: Option<String>,
}

impl KeyChangeArgs {
    fn as_key_args(&self, add: bool) -> KeyArgs {
        let pick = |a: &Option<String>, r: &Option<String>| if add { a.clone() } else { r.clone() };
        KeyArgs {
            age: pick(&self.add_age, &self.rm_age),
            pgp: pick(&self.add_pgp, &self.rm_pgp),
            kms: pick(&self.add_kms, &self.rm_kms),
            gcp_kms: pick(&self.add_gcp_kms, &self.rm_gcp_kms),
            azure_kv: pick(&self.add_azure_kv, &self.rm_azure_kv),
            hc_vault_transit: pick(&self.add_hc_vault_transit, &self.rm_hc_vault_transit),
            ..KeyArgs::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The encrypted file to rotate (with --all: the directory, default .)
    #[arg(required_unless_present = "all")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub all: super::rotate_all::RotateAllArgs,
    #[command(flatten)]
    pub changes: KeyChangeArgs,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: RotateArgs) -> CliResult<()> {
    if args.all.all {
        return super::rotate_all::run(&args);
    }
    let file = args.file.clone().unwrap_or_default();
    let spec = FileSpec::new(&file, &args.formats);
    let bytes = ops::read(&spec)?;
    let out = rotate_bytes(
        &spec,
        &bytes,
        &args.changes,
        &args.decryption,
        &args.formats,
        &args.config,
    )?;
    ops::deliver(&spec, &args.output, &out, false)
}

/// Rotates one file's bytes: decrypt, apply key changes, new data key, re-encrypt.
pub fn rotate_bytes(
    spec: &FileSpec,
    bytes: &[u8],
    changes: &KeyChangeArgs,
    decryption: &DecryptArgsCommon,
    formats: &FormatArgs,
    config: &ConfigArgs,
) -> CliResult<Vec<u8>> {
    let opened = ops::open(spec, bytes, decryption)?;
    let (docs, metadata) = (opened.docs, opened.metadata);
    rewrap_and_emit(spec, docs, metadata, changes, formats, config, &opened.ring)
}

/// [`rotate_bytes`] with a key ring shared across files (`rotate --all`), so key
/// sources and their clients are set up once per run, not once per file.
pub fn rotate_bytes_with_ring(
    spec: &FileSpec,
    bytes: &[u8],
    changes: &KeyChangeArgs,
    decryption: &DecryptArgsCommon,
    formats: &FormatArgs,
    config: &ConfigArgs,
    ring: &KeyRing,
) -> CliResult<Vec<u8>> {
    let (mut docs, metadata) = ops::load_encrypted(spec, bytes)?;
    let old_key = ops::data_key(spec, &metadata, ring)?;
    ops::decrypt_docs(spec, &mut docs, &metadata, &old_key, decryption.ignore_mac)?;
    rewrap_and_emit(spec, docs, metadata, changes, formats, config, ring)
}

/// Applies the key changes, wraps a new data key and encrypts the decrypted documents.
fn rewrap_and_emit(
    spec: &FileSpec,
    docs: Vec<hush_crypto::Map>,
    mut metadata: hush_crypto::metadata::Metadata,
    changes: &KeyChangeArgs,
    formats: &FormatArgs,
    config: &ConfigArgs,
    ring: &KeyRing,
) -> CliResult<Vec<u8>> {
    let added = keys::kinds_from_flags(&changes.as_key_args(true))?;
    let removed: Vec<KeyKind> = keys::kinds_from_flags(&changes.as_key_args(false))?;
    for group in metadata.key_groups.iter_mut() {
        group.retain(|k| !removed.iter().any(|r| same_key(r, &k.kind)));
    }
    if metadata.key_groups.is_empty() {
        metadata.key_groups.push(Vec::new());
    }
    for kind in added {
        if !metadata.all_keys().any(|k| same_key(&k.kind, &kind)) {
            metadata.key_groups[0].extend(keys::groups_of(vec![vec![kind]]).remove(0));
        }
    }
    if metadata.key_groups.iter().all(|g| g.is_empty()) {
        return Err(spec.error(
            Code::NoEncryptionKeyFound,
            "rotation would leave the file without master keys",
        ));
    }
    let key = DataKey::generate();
    let now = ops::now_rfc3339();
    ring.wrap(
        &mut metadata.key_groups,
        metadata.shamir_threshold,
        &key,
        &now,
    )
    .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))?;
    // Lets `hush rotation status` and `--older-than` tell the data key's age.
    super::rotation_status::stamp_rotation(&mut metadata, &now);
    let cfg = crate::config::load_for(&spec.name, config.config.as_deref()).unwrap_or(None);
    let opts = ops::emit_options(formats, cfg.as_ref());
    ops::seal_and_emit(spec, docs, &mut metadata, &key, None, &opts)
}

/// Key identity ignoring the wrapped data (and, for KMS, the context).
fn same_key(a: &KeyKind, b: &KeyKind) -> bool {
    match (a, b) {
        (KeyKind::AwsKms { arn: x, .. }, KeyKind::AwsKms { arn: y, .. }) => x == y,
        _ => a == b,
    }
}
