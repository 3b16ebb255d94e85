//! `hush updatekeys --all [PATH]`: bring every SOPS file's master keys in line
//! with `.sops.yaml`. Plans for every file are shown first; one confirmation (or
//! `--yes`) applies them all. Data keys and values are untouched.

use std::path::PathBuf;

use hush_crypto::document::{self, EmitOptions};
use hush_crypto::metadata::Metadata;
use hush_crypto::{KeyKind, Map};
use hush_providers::KeyRing;

use super::updatekeys::{confirm, plan, Plan, UpdatekeysArgs};
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};
use crate::tree_walk::{self, FileKind};
use crate::{config, fileio, keys};

/// A file whose keys differ from its creation rule.
struct Pending {
    spec: FileSpec,
    docs: Vec<Map>,
    metadata: Metadata,
    wanted: Vec<Vec<KeyKind>>,
    threshold: Option<usize>,
    emit: EmitOptions,
    plan: Plan,
}

pub fn run(args: &UpdatekeysArgs) -> CliResult<()> {
    let root = args
        .files
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let files: Vec<PathBuf> = tree_walk::find_kind(&root, FileKind::Sops)?;
    // One ring for every worker: identities are read once, unwrapped data keys
    // and resolved key versions are cached.
    let ring = ops::decryption_ring(&args.decryption)?;
    let prepared = tree_walk::parallel_map(&files, args.jobs, |p| prepare(args, p, &ring));
    let mut failures = 0usize;
    let mut pending = Vec::new();
    for result in prepared {
        match result {
            Ok(Some(p)) => pending.push(p),
            Ok(None) => {}
            Err(e) => {
                eprintln!("hush: {e}");
                failures += 1;
            }
        }
    }
    for p in &pending {
        eprint!(
            "The following changes will be made to {}:\n{}",
            p.spec.display(),
            p.plan.describe()
        );
    }
    eprintln!(
        "hush: updatekeys --all: {} of {} file(s) need key changes",
        pending.len(),
        files.len()
    );
    if !pending.is_empty() && (args.yes || confirm()?) {
        let applied = tree_walk::parallel_map(&pending, args.jobs, |p| apply(p, &ring));
        for (p, r) in pending.iter().zip(applied) {
            match r {
                Ok(()) => eprintln!("hush: {}: keys updated", p.spec.display()),
                Err(e) => {
                    eprintln!("hush: {e}");
                    failures += 1;
                }
            }
        }
    } else if !pending.is_empty() {
        eprintln!("hush: updatekeys --all: nothing changed");
    }
    if failures > 0 {
        return Err(CliError::new(
            Code::Generic,
            format!("updatekeys --all: {failures} file(s) failed"),
        ));
    }
    Ok(())
}

/// Loads a file and computes its plan; `None` when its keys already match.
fn prepare(
    args: &UpdatekeysArgs,
    path: &std::path::Path,
    ring: &KeyRing,
) -> CliResult<Option<Pending>> {
    let spec = FileSpec::new(path, &args.formats);
    let bytes = ops::read(&spec)?;
    let (docs, metadata) = ops::load_encrypted(&spec, &bytes)?;
    let cfg = config::load_for(&spec.name, args.config.config.as_deref())?
        .ok_or_else(|| spec.error(Code::ConfigFileNotFound, "no .sops.yaml found"))?;
    let rule = cfg.rule_for(&spec.name).ok_or_else(|| {
        spec.error(
            Code::ConfigFileNotFound,
            "no creation rule in .sops.yaml matches this file",
        )
    })?;
    let wanted = ring
        .resolve_groups(&rule.key_groups)
        .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))?;
    let current = keys::kinds_of(&metadata.key_groups);
    let plan = plan(
        &current,
        &wanted,
        metadata.shamir_threshold,
        rule.shamir_threshold,
    );
    if plan.is_empty() {
        return Ok(None);
    }
    Ok(Some(Pending {
        emit: ops::emit_options(&args.formats, Some(&cfg)),
        wanted,
        threshold: rule.shamir_threshold,
        spec,
        docs,
        metadata,
        plan,
    }))
}

/// Re-wraps the file's data key for the wanted keys and writes it atomically.
fn apply(p: &Pending, ring: &KeyRing) -> CliResult<()> {
    let key = ops::data_key(&p.spec, &p.metadata, ring)?;
    let mut metadata = p.metadata.clone();
    let mut groups = keys::groups_of(p.wanted.clone());
    ring.wrap(&mut groups, p.threshold, &key, &ops::now_rfc3339())
        .map_err(|e| p.spec.error(Code::CouldNotRetrieveKey, e))?;
    metadata.key_groups = groups;
    metadata.shamir_threshold = p.threshold;
    let out = document::emit_encrypted(p.spec.output, &p.docs, &metadata, &p.emit)
        .map_err(|e| p.spec.error(Code::ErrorDumpingTree, e))?;
    fileio::write_atomic(&p.spec.path, &out, 0o644)
}
