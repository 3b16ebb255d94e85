//! `hush rotate --all [PATH]`: a new data key for every SOPS file under a tree,
//! on every core, each file replaced atomically. `--older-than` skips files whose
//! data key is younger, so a job that is killed can simply be run again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Args;
use hush_providers::KeyRing;
use serde_json::json;

use super::rotate::{self, RotateArgs};
use super::rotation_status::{data_key_age, parse_age};
use crate::exit::{CliError, CliResult, Code};
use crate::fileio;
use crate::ops::{self, FileSpec};
use crate::tree_walk::{self, FileKind, Progress};

/// Flags of the tree mode.
#[derive(Args, Debug, Clone, Default)]
pub struct RotateAllArgs {
    /// Rotate every SOPS file under FILE (a directory, default: .), in place
    #[arg(long)]
    pub all: bool,
    /// With --all: report what would be rotated, change nothing
    #[arg(long, requires = "all")]
    pub dry_run: bool,
    /// With --all: only files whose data key is older than this (e.g. 30d)
    #[arg(long, requires = "all", value_parser = parse_age)]
    pub older_than: Option<Duration>,
    /// With --all: worker threads (default: four per core)
    #[arg(long, requires = "all")]
    pub jobs: Option<usize>,
}

/// What happened to one file.
enum Action {
    Rotated,
    WouldRotate,
    /// Younger than `--older-than`.
    Fresh,
    Failed(CliError),
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Rotated => "rotated",
            Action::WouldRotate => "would-rotate",
            Action::Fresh => "skipped",
            Action::Failed(_) => "failed",
        }
    }
}

struct Outcome {
    path: PathBuf,
    previous: Option<String>,
    action: Action,
}

/// Report format, taken from `--output` in tree mode (`json` or `text`).
fn wants_json(args: &RotateArgs) -> CliResult<bool> {
    if args.output.in_place {
        return Ok(false); // --all always writes in place; -i is accepted for symmetry
    }
    match args.output.output.as_deref().map(Path::to_str) {
        None | Some(Some("text")) => Ok(false),
        Some(Some("json")) => Ok(true),
        _ => Err(CliError::new(
            Code::Generic,
            "with --all, --output takes `json` or `text` (files are rewritten in place)",
        )),
    }
}

pub fn run(args: &RotateArgs) -> CliResult<()> {
    let json = wants_json(args)?;
    let root = args.file.clone().unwrap_or_else(|| PathBuf::from("."));
    let files: Vec<PathBuf> = tree_walk::find_kind(&root, FileKind::Sops)?;
    let now = SystemTime::now();
    // One ring for every worker: identities and KMS clients are set up once.
    let ring = ops::decryption_ring(&args.decryption)?;
    let progress = Progress::new("rotating", files.len(), !json);
    let outcomes = tree_walk::parallel_map(&files, args.all.jobs, |path| {
        let outcome = rotate_one(args, &ring, path, now);
        progress.tick(path);
        outcome
    });
    progress.finish();
    report(args, &outcomes, json)
}

fn rotate_one(args: &RotateArgs, ring: &KeyRing, path: &Path, now: SystemTime) -> Outcome {
    let mut outcome = Outcome {
        path: path.to_path_buf(),
        previous: None,
        action: Action::Rotated,
    };
    let spec = FileSpec::new(path, &args.formats);
    let result = (|| -> CliResult<Action> {
        let bytes = ops::read(&spec)?;
        let (_, metadata) = ops::load_encrypted(&spec, &bytes)?;
        let age = data_key_age(&metadata);
        outcome.previous = age.as_ref().map(|a| a.rotated_at.clone());
        if let (Some(limit), Some(age)) = (args.all.older_than, &age) {
            if age.age(now) <= limit {
                return Ok(Action::Fresh);
            }
        }
        if args.all.dry_run {
            return Ok(Action::WouldRotate);
        }
        let out = rotate::rotate_bytes_with_ring(
            &spec,
            &bytes,
            &args.changes,
            &args.decryption,
            &args.formats,
            &args.config,
            ring,
        )?;
        // Temp file + fsync + rename: a kill leaves the old file or the new one.
        fileio::write_atomic(path, &out, 0o644)?;
        Ok(Action::Rotated)
    })();
    outcome.action = result.unwrap_or_else(Action::Failed);
    outcome
}

fn report(args: &RotateArgs, outcomes: &[Outcome], json: bool) -> CliResult<()> {
    let count = |name: &str| outcomes.iter().filter(|o| o.action.name() == name).count();
    let failed = count("failed");
    if json {
        let files: Vec<_> = outcomes
            .iter()
            .map(|o| {
                json!({
                    "path": o.path.display().to_string(),
                    "action": o.action.name(),
                    "previous_rotation": o.previous,
                    "error": match &o.action {
                        Action::Failed(e) => Some(e.message.clone()),
                        _ => None,
                    },
                })
            })
            .collect();
        let report = json!({
            "dry_run": args.all.dry_run,
            "older_than_seconds": args.all.older_than.map(|d| d.as_secs()),
            "files": files,
            "summary": {
                "rotated": count("rotated"),
                "would_rotate": count("would-rotate"),
                "skipped": count("skipped"),
                "failed": failed,
            },
        });
        let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
        fileio::write_stdout(text.as_bytes())?;
    } else {
        for o in outcomes {
            match &o.action {
                Action::Failed(e) => eprintln!("hush: {e}"),
                Action::WouldRotate => eprintln!("would rotate {}", o.path.display()),
                _ => {}
            }
        }
        eprintln!(
            "hush: rotate --all: {} rotated, {} would rotate, {} skipped (younger than --older-than), {failed} failed",
            count("rotated"),
            count("would-rotate"),
            count("skipped"),
        );
    }
    if failed > 0 {
        return Err(CliError::new(
            Code::Generic,
            format!("rotate --all: {failed} file(s) could not be rotated"),
        ));
    }
    Ok(())
}
