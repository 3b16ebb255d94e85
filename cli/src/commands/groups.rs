//! `hush groups add|delete`: add a key group to a file, or delete one by its index,
//! as `sops groups` does. The data key is kept and split again over the new set of
//! groups (Shamir), so every group is re-wrapped; values and MAC are untouched.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use hush_crypto::metadata::Metadata;
use hush_crypto::{document, KeyKind, Map};

use crate::args::{ConfigArgs, DecryptArgsCommon, FormatArgs, KeyArgs, OutputArgs};
use crate::exit::{fail, CliResult, Code};
use crate::ops::{self, FileSpec};
use crate::{config, keys};

#[derive(Args, Debug)]
pub struct GroupsArgs {
    #[command(subcommand)]
    pub action: GroupsAction,
}

#[derive(Subcommand, Debug)]
pub enum GroupsAction {
    /// Add a key group made of the given keys (each flag repeatable or comma-separated)
    Add(AddArgs),
    /// Delete the key group at INDEX (counted from 0, as sops counts)
    Delete(DeleteArgs),
}

/// Where the file is and where the result goes.
#[derive(Args, Debug)]
pub struct FileArgs {
    /// The encrypted file
    #[arg(long)]
    pub file: PathBuf,
    /// Groups needed to decrypt afterwards [default: the file's threshold, else all groups]
    #[arg(long)]
    pub shamir_secret_sharing_threshold: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    pub target: FileArgs,
    /// age recipients of the new group
    #[arg(long)]
    pub age: Vec<String>,
    /// PGP fingerprints of the new group
    #[arg(long)]
    pub pgp: Vec<String>,
    /// AWS KMS key ARNs of the new group (ARN+ROLE_ARN for a role)
    #[arg(long)]
    pub kms: Vec<String>,
    /// GCP KMS resource IDs of the new group
    #[arg(long)]
    pub gcp_kms: Vec<String>,
    /// Azure Key Vault key URLs of the new group
    #[arg(long)]
    pub azure_kv: Vec<String>,
    /// Vault transit URIs of the new group
    #[arg(long)]
    pub hc_vault_transit: Vec<String>,
    /// AWS profile for the KMS keys
    #[arg(long)]
    pub aws_profile: Option<String>,
    /// KMS encryption context, key:value,key2:value2
    #[arg(long)]
    pub encryption_context: Option<String>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub target: FileArgs,
    /// Index of the group to delete (0 is the first)
    pub index: usize,
}

pub fn run(args: GroupsArgs) -> CliResult<()> {
    match args.action {
        GroupsAction::Add(a) => add(a),
        GroupsAction::Delete(a) => delete(a),
    }
}

fn add(args: AddArgs) -> CliResult<()> {
    // Only the flags: unlike `encrypt`, the SOPS_* variables add nothing here.
    let joined = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
    let new_group = keys::kinds_from_flags(&KeyArgs {
        age: joined(&args.age),
        pgp: joined(&args.pgp),
        kms: joined(&args.kms),
        gcp_kms: joined(&args.gcp_kms),
        azure_kv: joined(&args.azure_kv),
        hc_vault_transit: joined(&args.hc_vault_transit),
        aws_profile: args.aws_profile.clone(),
        encryption_context: args.encryption_context.clone(),
        ..KeyArgs::default()
    })?;
    if new_group.is_empty() {
        return fail(
            Code::NoEncryptionKeyFound,
            "groups add: give the new group at least one key (--age, --pgp, --kms, …)",
        );
    }
    regroup(&args.target, |groups| {
        groups.push(new_group);
        Ok(())
    })
}

fn delete(args: DeleteArgs) -> CliResult<()> {
    let index = args.index;
    regroup(&args.target, |groups| {
        if index >= groups.len() {
            return fail(
                Code::Generic,
                format!(
                    "there is no key group {index}: the file has {}",
                    groups.len()
                ),
            );
        }
        if groups.len() == 1 {
            return fail(Code::Generic, "cannot delete the only key group of a file");
        }
        groups.remove(index);
        Ok(())
    })
}

/// Opens the data key, changes the list of groups with `change`, and writes the
/// file (or prints it) with every group wrapping its new share.
fn regroup(
    args: &FileArgs,
    change: impl FnOnce(&mut Vec<Vec<KeyKind>>) -> CliResult<()>,
) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let bytes = ops::read(&spec)?;
    let (docs, mut metadata) = ops::load_encrypted(&spec, &bytes)?;
    let mut groups = keys::kinds_of(&metadata.key_groups);
    change(&mut groups).map_err(|e| spec.error(e.code, e.message))?;
    let threshold = threshold_for(
        args.shamir_secret_sharing_threshold,
        metadata.shamir_threshold,
        groups.len(),
    )
    .map_err(|message| spec.error(Code::Generic, message))?;

    let ring = ops::decryption_ring(&args.decryption)?;
    let key = ops::data_key(&spec, &metadata, &ring)?;
    let mut wrapped = keys::groups_of(groups);
    ring.wrap(&mut wrapped, threshold, &key, &ops::now_rfc3339())
        .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))?;
    metadata.key_groups = wrapped;
    metadata.shamir_threshold = threshold;
    write(&spec, args, &docs, &metadata)
}

/// The threshold to record: asked for, else the file's, and always one a reader can
/// meet. A single group has none.
fn threshold_for(
    asked: Option<usize>,
    current: Option<usize>,
    groups: usize,
) -> Result<Option<usize>, String> {
    if groups <= 1 {
        return Ok(None);
    }
    match asked.or(current) {
        Some(0) => Err("the Shamir threshold must be at least 1".into()),
        Some(t) if t > groups => Err(format!(
            "the Shamir threshold {t} is more than the {groups} key groups: pass --shamir-secret-sharing-threshold"
        )),
        other => Ok(other),
    }
}

fn write(spec: &FileSpec, args: &FileArgs, docs: &[Map], metadata: &Metadata) -> CliResult<()> {
    // The config only sets the output's indentation here, as for `decrypt`.
    let cfg = config::load_for(&spec.name, args.config.config.as_deref()).unwrap_or(None);
    let opts = ops::emit_options(&args.formats, cfg.as_ref());
    let out = document::emit_encrypted(spec.output, docs, metadata, &opts)
        .map_err(|e| spec.error(Code::ErrorDumpingTree, e))?;
    ops::deliver(spec, &args.output, &out, false)
}

#[cfg(test)]
mod tests {
    use super::threshold_for;

    #[test]
    fn thresholds() {
        assert_eq!(threshold_for(Some(2), None, 1), Ok(None));
        assert_eq!(threshold_for(None, None, 3), Ok(None));
        assert_eq!(threshold_for(None, Some(2), 3), Ok(Some(2)));
        assert_eq!(threshold_for(Some(1), Some(2), 3), Ok(Some(1)));
        assert!(threshold_for(None, Some(3), 2).is_err());
        assert!(threshold_for(Some(0), None, 2).is_err());
    }
}
