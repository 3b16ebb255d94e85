//! `hush updatekeys`: make a file's master keys match its `.sops.yaml` creation
//! rule. The data key is kept and re-wrapped; values and MAC are untouched.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use hush_crypto::document;
use hush_crypto::KeyKind;

use crate::args::{ConfigArgs, DecryptArgsCommon, FormatArgs};
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};
use crate::{config, keys};

#[derive(Args, Debug)]
pub struct UpdatekeysArgs {
    /// Encrypted files to update (with --all: the directory, default .)
    #[arg(required_unless_present = "all")]
    pub files: Vec<PathBuf>,
    /// Update every SOPS file under the given directory, in parallel
    #[arg(long)]
    pub all: bool,
    /// With --all: worker threads (default: four per core)
    #[arg(long, requires = "all")]
    pub jobs: Option<usize>,
    /// Apply without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// The key changes for one file, group by group.
pub struct Plan {
    pub groups: Vec<(Vec<KeyKind>, Vec<KeyKind>)>,
    pub threshold_change: Option<(Option<usize>, Option<usize>)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.groups
            .iter()
            .all(|(a, r)| a.is_empty() && r.is_empty())
            && self.threshold_change.is_none()
    }

    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, (added, removed)) in self.groups.iter().enumerate() {
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            out.push_str(&format!("Group {}\n", i + 1));
            for k in added {
                out.push_str(&format!("+++ {}\n", k.describe()));
            }
            for k in removed {
                out.push_str(&format!("--- {}\n", k.describe()));
            }
        }
        if let Some((old, new)) = self.threshold_change {
            out.push_str(&format!("shamir_threshold: {old:?} -> {new:?}\n"));
        }
        out
    }
}

pub fn run(args: UpdatekeysArgs) -> CliResult<()> {
    if args.all {
        return super::updatekeys_all::run(&args);
    }
    let mut first_error = None;
    for file in &args.files {
        if let Err(e) = update_one(&args, file) {
            eprintln!("hush: {e}");
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn update_one(args: &UpdatekeysArgs, file: &std::path::Path) -> CliResult<()> {
    let spec = FileSpec::new(file, &args.formats);
    let bytes = ops::read(&spec)?;
    let (docs, mut metadata) = ops::load_encrypted(&spec, &bytes)?;
    let cfg = config::load_for(&spec.name, args.config.config.as_deref())?
        .ok_or_else(|| spec.error(Code::ConfigFileNotFound, "no .sops.yaml found"))?;
    let rule = cfg.rule_for(&spec.name).ok_or_else(|| {
        spec.error(
            Code::ConfigFileNotFound,
            "no creation rule in .sops.yaml matches this file",
        )
    })?;
    // Keys as a wrap would record them (an Azure key without a version is its
    // latest), so that a file already keyed that way has nothing to change.
    let ring = ops::decryption_ring(&args.decryption)?;
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
        eprintln!("hush: {}: keys already match .sops.yaml", spec.display());
        return Ok(());
    }
    eprint!(
        "The following changes will be made to {}:\n{}",
        spec.display(),
        plan.describe()
    );
    if !args.yes && !confirm()? {
        eprintln!("hush: {}: not changed", spec.display());
        return Ok(());
    }
    let key = ops::data_key(&spec, &metadata, &ring)?;
    let mut groups = keys::groups_of(wanted);
    let threshold = rule.shamir_threshold;
    ring.wrap(&mut groups, threshold, &key, &ops::now_rfc3339())
        .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))?;
    metadata.key_groups = groups;
    metadata.shamir_threshold = threshold;
    let opts = ops::emit_options(&args.formats, Some(&cfg));
    let out = document::emit_encrypted(spec.output, &docs, &metadata, &opts)
        .map_err(|e| spec.error(Code::ErrorDumpingTree, e))?;
    crate::fileio::write_atomic(&spec.path, &out, 0o644)?;
    eprintln!("hush: {}: keys updated", spec.display());
    Ok(())
}

/// Per-group additions and removals between the file's keys and the rule's.
pub fn plan(
    current: &[Vec<KeyKind>],
    wanted: &[Vec<KeyKind>],
    old_t: Option<usize>,
    new_t: Option<usize>,
) -> Plan {
    let n = current.len().max(wanted.len());
    let empty = Vec::new();
    let groups = (0..n)
        .map(|i| {
            let cur = current.get(i).unwrap_or(&empty);
            let want = wanted.get(i).unwrap_or(&empty);
            let added = want.iter().filter(|k| !cur.contains(k)).cloned().collect();
            let removed = cur.iter().filter(|k| !want.contains(k)).cloned().collect();
            (added, removed)
        })
        .collect();
    let threshold_change = (wanted.len() > 1 && old_t != new_t).then_some((old_t, new_t));
    Plan {
        groups,
        threshold_change,
    }
}

pub(crate) fn confirm() -> CliResult<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Code::Generic,
            "refusing to change keys without confirmation: pass --yes when not on a terminal",
        ));
    }
    eprint!("Is this okay? (y/n): ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new(Code::Generic, e.to_string()))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
