//! `hush rotation status`: every SOPS file and SealedSecret under a tree with the
//! age of its data key and its recipients; exit 1 when anything is overdue or
//! unreadable, so CI can gate on it.
//!
//! The data key's age comes from `sops.hush_rotated_at`, which `hush rotate`
//! writes. hush keeps unknown metadata fields when it rewrites a file, but real
//! sops drops them; a file without the field falls back to `sops.lastmodified`
//! (the last time any value was encrypted), which is never older than the data
//! key, so an overdue file is never reported as fresh.
//!
//! SealedSecrets carry no sealing time. When the sealing controller is reachable
//! (`--controller-url URL`, or `--cluster` through the Kubernetes API service proxy
//! as `hush seal` reaches it), hush-controller's `POST /v1/key-info` names the key
//! that opens each SealedSecret (fingerprint, creation time; never a value), and
//! the key's age is reported as the SealedSecret's age. Without it, or when the
//! controller cannot be reached, SealedSecrets are listed as `unknown`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand, ValueEnum};
use hush_crypto::metadata::Metadata;
use hush_crypto::sealing::SealedSecretManifest;
use hush_crypto::Value;
use serde_json::json;

use crate::args::FormatArgs;
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};
use crate::tree_walk::{self, FileKind};

/// The metadata field hush writes when it generates a new data key.
pub const ROTATED_AT_FIELD: &str = "hush_rotated_at";

/// Records that the data key was generated at `now` (RFC 3339).
pub fn stamp_rotation(metadata: &mut Metadata, now: &str) {
    metadata.unknown.retain(|(k, _)| k != ROTATED_AT_FIELD);
    metadata
        .unknown
        .push((ROTATED_AT_FIELD.to_string(), Value::Str(now.to_string())));
}

/// Where a data key's age was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgeSource {
    HushRotatedAt,
    LastModified,
    /// Creation time of the sealing key that opens a SealedSecret.
    SealingKey,
}

impl AgeSource {
    fn name(self) -> &'static str {
        match self {
            AgeSource::HushRotatedAt => ROTATED_AT_FIELD,
            AgeSource::LastModified => "lastmodified",
            AgeSource::SealingKey => "sealing-key",
        }
    }
}

/// When a file's data key was last generated, as far as its metadata tells.
#[derive(Debug)]
pub struct DataKeyAge {
    pub rotated_at: String,
    pub since: SystemTime,
    pub source: AgeSource,
}

impl DataKeyAge {
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.since).unwrap_or_default()
    }
}

pub fn data_key_age(metadata: &Metadata) -> Option<DataKeyAge> {
    let stamped = metadata.unknown.iter().find_map(|(k, v)| match v {
        Value::Str(s) | Value::Time(s) if k == ROTATED_AT_FIELD => Some(s.clone()),
        _ => None,
    });
    let (text, source) = match stamped {
        Some(s) => (s, AgeSource::HushRotatedAt),
        None => (metadata.lastmodified.clone(), AgeSource::LastModified),
    };
    let since = humantime::parse_rfc3339_weak(&text).ok()?;
    Some(DataKeyAge {
        rotated_at: text,
        since,
        source,
    })
}

/// Parses `30d`, `12h`, `90days` ... (humantime syntax).
pub fn parse_age(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))
}

#[derive(Args, Debug)]
pub struct RotationArgs {
    #[command(subcommand)]
    pub command: RotationCmd,
}

#[derive(Subcommand, Debug)]
pub enum RotationCmd {
    /// Data-key age and recipients of every encrypted file and sealed secret under PATH
    Status(StatusArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Directory (or file) to inspect
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Data keys older than this are overdue (e.g. 90d, 12h)
    #[arg(long, default_value = "90d", value_parser = parse_age)]
    pub max_age: Duration,
    /// table or json (default: a table on a terminal, JSON otherwise)
    #[arg(long, short = 'o')]
    pub output: Option<ReportFormat>,
    /// Worker threads (default: four per core)
    #[arg(long)]
    pub jobs: Option<usize>,
    /// SealedSecrets: ask the controller at this base URL which key opens each one
    #[arg(long, value_name = "URL", conflicts_with = "cluster")]
    pub controller_url: Option<String>,
    /// SealedSecrets: ask the controller through the Kubernetes API service proxy
    #[arg(long)]
    pub cluster: bool,
    #[command(flatten)]
    pub cluster_args: crate::seal::ClusterArgs,
}

/// One row of the status report.
struct Entry {
    path: PathBuf,
    kind: FileKind,
    state: State,
    age: Option<(DataKeyAge, Duration)>,
    recipients: Vec<String>,
    detail: String,
    /// SealedSecret files: their documents, and the key that opens each (when asked).
    sealed: Vec<SealedSecretManifest>,
    sealing_keys: Vec<serde_json::Value>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Ok,
    Overdue,
    Broken,
    /// SealedSecrets carry no sealing time: listed, never overdue.
    Unknown,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Overdue => "overdue",
            State::Broken => "broken",
            State::Unknown => "unknown",
        }
    }
}

pub fn run(args: RotationArgs) -> CliResult<()> {
    match args.command {
        RotationCmd::Status(a) => status(a),
    }
}

fn status(args: StatusArgs) -> CliResult<()> {
    let files = tree_walk::find(&args.path).map_err(|e| {
        CliError::new(
            Code::CouldNotReadInputFile,
            format!("{}: {e}", args.path.display()),
        )
    })?;
    let now = SystemTime::now();
    let mut entries = tree_walk::parallel_map(&files, args.jobs, |(path, kind)| match kind {
        FileKind::Sops => inspect_sops(path, now, args.max_age),
        FileKind::SealedSecret => inspect_sealed(path),
    });
    if let Some(source) = sealing_source(&args) {
        crate::seal::key_info::annotate(
            &source,
            &mut entries_view(&mut entries),
            now,
            args.max_age,
        );
    }
    let format = args.output.unwrap_or(if std::io::stdout().is_terminal() {
        ReportFormat::Table
    } else {
        ReportFormat::Json
    });
    let text = match format {
        ReportFormat::Table => table(&entries, now),
        ReportFormat::Json => json_report(&entries, args.max_age),
    };
    crate::fileio::write_stdout(text.as_bytes())?;
    let overdue = entries
        .iter()
        .filter(|e| matches!(e.state, State::Overdue | State::Broken))
        .count();
    if overdue > 0 {
        return Err(CliError::new(
            Code::Generic,
            format!("{overdue} file(s) overdue for rotation or unreadable"),
        ));
    }
    Ok(())
}

fn inspect_sops(path: &Path, now: SystemTime, max_age: Duration) -> Entry {
    let spec = FileSpec::new(path, &FormatArgs::default());
    let mut entry = Entry {
        path: path.to_path_buf(),
        kind: FileKind::Sops,
        state: State::Broken,
        age: None,
        recipients: Vec::new(),
        detail: String::new(),
        sealed: Vec::new(),
        sealing_keys: Vec::new(),
    };
    let loaded = ops::read(&spec).and_then(|b| ops::load_encrypted(&spec, &b));
    let metadata = match loaded {
        Ok((_, m)) => m,
        Err(e) => {
            entry.detail = e.message;
            return entry;
        }
    };
    entry.recipients = metadata.all_keys().map(|k| k.kind.describe()).collect();
    match data_key_age(&metadata) {
        Some(age) => {
            let elapsed = age.age(now);
            entry.state = if elapsed > max_age {
                State::Overdue
            } else {
                State::Ok
            };
            entry.age = Some((age, elapsed));
        }
        None => entry.detail = "no readable rotation time in metadata".into(),
    }
    entry
}

fn inspect_sealed(path: &Path) -> Entry {
    let mut entry = Entry {
        path: path.to_path_buf(),
        kind: FileKind::SealedSecret,
        state: State::Broken,
        age: None,
        recipients: Vec::new(),
        detail: String::new(),
        sealed: Vec::new(),
        sealing_keys: Vec::new(),
    };
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| SealedSecretManifest::parse_all(&t).map_err(|e| e.to_string()));
    match parsed {
        Ok(list) => {
            entry.state = State::Unknown;
            entry.recipients = list
                .iter()
                .map(|s| format!("sealed {}", s.display_name()))
                .collect();
            entry.detail = "sealing time not recorded in SealedSecrets".into();
            entry.sealed = list;
        }
        Err(e) => entry.detail = e,
    }
    entry
}

fn sealing_source(args: &StatusArgs) -> Option<crate::seal::key_info::Source> {
    if let Some(url) = &args.controller_url {
        return Some(crate::seal::key_info::Source::Url(url.clone()));
    }
    args.cluster
        .then(|| crate::seal::key_info::Source::Cluster(args.cluster_args.clone()))
}

/// The SealedSecret rows, as the sealing-key lookup sees them.
fn entries_view(entries: &mut [Entry]) -> Vec<crate::seal::key_info::SealedRow<'_>> {
    entries
        .iter_mut()
        .filter(|e| e.kind == FileKind::SealedSecret && !e.sealed.is_empty())
        .map(|e| crate::seal::key_info::SealedRow {
            documents: &e.sealed,
            state: &mut e.state,
            age: &mut e.age,
            recipients: &mut e.recipients,
            detail: &mut e.detail,
            sealing_keys: &mut e.sealing_keys,
        })
        .collect()
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Sops => "sops",
        FileKind::SealedSecret => "sealed-secret",
    }
}

fn json_report(entries: &[Entry], max_age: Duration) -> String {
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "path": e.path.display().to_string(),
                "kind": kind_name(e.kind),
                "status": e.state.name(),
                "rotated_at": e.age.as_ref().map(|(a, _)| a.rotated_at.clone()),
                "age_source": e.age.as_ref().map(|(a, _)| a.source.name()),
                "age_days": e.age.as_ref().map(|(_, d)| d.as_secs() / 86_400),
                "age_seconds": e.age.as_ref().map(|(_, d)| d.as_secs()),
                "recipients": e.recipients,
                "sealing_keys": (!e.sealing_keys.is_empty()).then(|| e.sealing_keys.clone()),
                "detail": (!e.detail.is_empty()).then(|| e.detail.clone()),
            })
        })
        .collect();
    let count = |s: State| entries.iter().filter(|e| e.state == s).count();
    let report = json!({
        "max_age_seconds": max_age.as_secs(),
        "files": rows,
        "summary": {
            "ok": count(State::Ok),
            "overdue": count(State::Overdue),
            "broken": count(State::Broken),
            "unknown": count(State::Unknown),
        },
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    )
}

fn table(entries: &[Entry], _now: SystemTime) -> String {
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            let age = match &e.age {
                Some((_, d)) => format!("{}d", d.as_secs() / 86_400),
                None => "-".into(),
            };
            let source = e.age.as_ref().map_or("-", |(a, _)| a.source.name());
            let who = if e.recipients.is_empty() {
                e.detail.clone()
            } else {
                e.recipients.join(", ")
            };
            [
                e.state.name().to_string(),
                age,
                source.to_string(),
                e.path.display().to_string(),
                who,
            ]
        })
        .collect();
    let header = ["STATUS", "AGE", "SINCE", "FILE", "RECIPIENTS"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter().zip(row.iter()) {
            out.push_str(&format!("{cell:<w$}  "));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_wins_over_lastmodified_and_replaces_old_stamp() {
        let mut m = Metadata::new(Vec::new(), None, Default::default(), false);
        m.lastmodified = "2020-01-01T00:00:00Z".into();
        let age = data_key_age(&m).unwrap();
        assert_eq!(age.source, AgeSource::LastModified);
        stamp_rotation(&mut m, "2024-01-01T00:00:00Z");
        stamp_rotation(&mut m, "2025-01-01T00:00:00Z");
        let age = data_key_age(&m).unwrap();
        assert_eq!(age.source, AgeSource::HushRotatedAt);
        assert_eq!(age.rotated_at, "2025-01-01T00:00:00Z");
        assert_eq!(m.unknown.len(), 1);
    }

    #[test]
    fn ages_parse_in_days() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert!(parse_age("soon").is_err());
    }
}
