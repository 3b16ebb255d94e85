//! Which master keys a command uses, and the key ring that wraps and unwraps with them.

use std::sync::Arc;

use hush_crypto::{keyspec, KeyGroup, KeyKind, MasterKey};
use hush_providers::age::{terminal_passphrase_prompt, AgeSource};
use hush_providers::pgp::PgpSource;
use hush_providers::KeyRing;

use crate::args::KeyArgs;
use crate::config::CreationRule;
use crate::exit::{CliError, CliResult, Code};

/// A key ring with every identity the environment offers (sops' variables).
pub fn ring_from_env() -> CliResult<KeyRing> {
    let mut ring = KeyRing::new();
    let age = AgeSource::from_env_with_passphrase(terminal_passphrase_prompt())
        .map_err(|e| CliError::new(Code::CouldNotRetrieveKey, format!("age: {e}")))?;
    for warning in age.warnings() {
        eprintln!("hush: warning: {warning}");
    }
    ring.add_source(Arc::new(age));
    let pgp = PgpSource::from_env()
        .map_err(|e| CliError::new(Code::CouldNotRetrieveKey, format!("pgp: {e}")))?;
    ring.add_source(Arc::new(pgp));
    crate::cloud::add_sources(&mut ring);
    Ok(ring)
}

/// A key ring for wrapping only: recipients need no identities.
pub fn ring_for_wrapping() -> CliResult<KeyRing> {
    let mut ring = KeyRing::new();
    ring.add_source(Arc::new(AgeSource::recipients_only()));
    let pgp = PgpSource::from_env()
        .map_err(|e| CliError::new(Code::CouldNotRetrieveKey, format!("pgp: {e}")))?;
    ring.add_source(Arc::new(pgp));
    crate::cloud::add_sources(&mut ring);
    Ok(ring)
}

fn spec_err(e: keyspec::KeySpecError) -> CliError {
    CliError::new(Code::Generic, e.to_string())
}

/// The keys named by flags or their environment variables, as one group; empty when none.
pub fn kinds_from_flags(args: &KeyArgs) -> CliResult<Vec<KeyKind>> {
    let mut group = Vec::new();
    let list = |v: &Option<String>| v.as_deref().map(keyspec::split_list).unwrap_or_default();
    for r in list(&args.age) {
        group.push(
            hush_providers::age::parse_recipient(&r)
                .map_err(|e| CliError::new(Code::Generic, e.to_string()))?,
        );
    }
    for fp in list(&args.pgp) {
        group.push(keyspec::pgp(&fp).map_err(spec_err)?);
    }
    let context = match &args.encryption_context {
        Some(c) => keyspec::encryption_context(c).map_err(spec_err)?,
        None => Default::default(),
    };
    let profile = args.aws_profile.clone().unwrap_or_default();
    for arn in list(&args.kms) {
        group.push(keyspec::kms(&arn, &context, &profile).map_err(spec_err)?);
    }
    for id in list(&args.gcp_kms) {
        group.push(keyspec::gcp_kms(&id).map_err(spec_err)?);
    }
    for url in list(&args.azure_kv) {
        group.push(keyspec::azure_kv(&url).map_err(spec_err)?);
    }
    for uri in list(&args.hc_vault_transit) {
        group.push(keyspec::hc_vault(&uri).map_err(spec_err)?);
    }
    for id in list(&args.hckms) {
        group.push(keyspec::hckms(&id).map_err(spec_err)?);
    }
    Ok(group)
}

/// The key identities of a file's groups (what `groups_of` turns back into entries).
pub fn kinds_of(groups: &[KeyGroup]) -> Vec<Vec<KeyKind>> {
    groups
        .iter()
        .map(|g| g.iter().map(|k| k.kind.clone()).collect())
        .collect()
}

/// Turns key identities into (unwrapped) metadata entries.
pub fn groups_of(kinds: Vec<Vec<KeyKind>>) -> Vec<KeyGroup> {
    kinds
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|kind| MasterKey {
                    kind,
                    enc: String::new(),
                    created_at: None,
                })
                .collect()
        })
        .collect()
}

/// Key groups and threshold for a new file: flags win, then the creation rule.
pub fn resolve(
    args: &KeyArgs,
    rule: Option<&CreationRule>,
    file: &str,
) -> CliResult<(Vec<KeyGroup>, Option<usize>)> {
    let flagged = kinds_from_flags(args)?;
    if !flagged.is_empty() {
        return Ok((
            groups_of(vec![flagged]),
            args.shamir_secret_sharing_threshold,
        ));
    }
    match rule {
        Some(rule) if !rule.key_groups.is_empty() => Ok((
            groups_of(rule.key_groups.clone()),
            args.shamir_secret_sharing_threshold.or(rule.shamir_threshold),
        )),
        _ => Err(CliError::new(
            Code::NoEncryptionKeyFound,
            format!(
                "{file}: no keys given: pass --age/--pgp/--kms/... (or SOPS_AGE_RECIPIENTS, ...) or add a matching creation rule to .sops.yaml"
            ),
        )),
    }
}
