//! The `hush scan` command line, shared by the `hush` binary (which embeds
//! [`ScanArgs`] as a subcommand) and the crate's dev binary.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};

use crate::baseline::Baseline;
use crate::config::ScanConfig;
use crate::finding::ScanOutcome;
use crate::hook::{install_pre_commit, shell_quote};
use crate::ignore_file::IgnoreFile;
use crate::report::{self, Redaction};
use crate::scanner::{ScanOptions, Scanner};
use crate::source;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
    Sarif,
}

/// Scan files, the Git index, Git history or stdin for leaked secrets.
///
/// Exit status: 0 clean, 1 findings, 2 error or incomplete scan.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub action: Option<ScanAction>,

    /// Files or directories to scan (default: current directory; `-` for stdin).
    pub paths: Vec<PathBuf>,

    /// Scan the staged content (the Git index): for pre-commit hooks.
    #[arg(long, conflicts_with_all = ["history", "stdin"])]
    pub staged: bool,

    /// Scan Git history: what each commit in RANGE added (`--history=A..B`; default: all refs).
    #[arg(long, value_name = "RANGE", num_args = 0..=1, require_equals = true, default_missing_value = "", conflicts_with = "stdin")]
    pub history: Option<String>,

    /// Read the content to scan from standard input.
    #[arg(long)]
    pub stdin: bool,

    /// Config file (default: .hush-scan.toml or .gitleaks.toml in the scan root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report only findings not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write the current findings to a baseline file (exit 0 unless the scan failed).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub report_path: Option<PathBuf>,

    /// Show secrets in reports instead of redacting them.
    #[arg(long)]
    pub no_redact: bool,

    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,

    /// Skip files larger than this many bytes (0: no limit). Default 50 MB.
    #[arg(long, value_name = "BYTES", default_value_t = 50 << 20)]
    pub max_file_size: u64,

    /// Follow symbolic links while walking directories.
    #[arg(long)]
    pub follow_symlinks: bool,
}

#[derive(Subcommand, Debug)]
pub enum ScanAction {
    /// Install a Git pre-commit hook that runs `hush scan --staged`.
    InstallHook {
        /// Repository (default: current directory).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Replace an existing pre-commit hook not written by hush.
        #[arg(long)]
        force: bool,
    },
    /// List the built-in and configured rules.
    ListRules {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Run `hush scan`. Errors that prevent scanning are returned (the caller
/// prints them and exits 2); per-file problems are in the report.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    match run_inner(args) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("hush scan: error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

fn run_inner(args: ScanArgs) -> anyhow::Result<ExitCode> {
    match &args.action {
        Some(ScanAction::InstallHook { repo, force }) => return install_hook(repo, *force),
        Some(ScanAction::ListRules { config }) => {
            let cfg = load_config(config.as_deref(), Path::new("."))?;
            for r in &cfg.rules {
                println!("{:<36} {}", r.id, r.description);
            }
            for (id, d) in crate::gitops::GITOPS_RULES {
                println!("{id:<36} {d}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let started = Instant::now();
    let stdin_mode = args.stdin || args.paths.iter().any(|p| p.as_os_str() == "-");
    let cwd = std::env::current_dir().context("current directory")?;
    let git_mode = args.staged || args.history.is_some();
    let root = if git_mode {
        let start = args.paths.first().cloned().unwrap_or_else(|| cwd.clone());
        source::git::repo_root(&start)?
    } else if let [single] = args.paths.as_slice() {
        if single.is_dir() {
            single.clone()
        } else {
            cwd.clone()
        }
    } else {
        cwd.clone()
    };
    let config = load_config(args.config.as_deref(), &root)?;
    let ignore = IgnoreFile::load(&root)?;
    let options = ScanOptions {
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1),
        max_file_size: (args.max_file_size > 0).then_some(args.max_file_size),
        follow_symlinks: args.follow_symlinks,
    };
    let scanner = Scanner::new(config, ignore, options)?;
    let mut outcome = if stdin_mode {
        source::scan_reader(&scanner, "-", std::io::stdin().lock())
    } else if args.staged {
        source::git::scan_staged(&scanner, &root)?
    } else if let Some(range) = &args.history {
        let range = (!range.trim().is_empty()).then_some(range.as_str());
        source::git::scan_history(&scanner, &root, range)?
    } else {
        let paths = if args.paths.is_empty() {
            vec![root.clone()]
        } else {
            args.paths.clone()
        };
        for p in &paths {
            if std::fs::symlink_metadata(p).is_err() {
                bail!("{}: no such file or directory", p.display());
            }
        }
        let display_root = if root == cwd || args.paths.len() != 1 {
            cwd.clone()
        } else {
            root.clone()
        };
        source::fs::scan_paths(&scanner, &paths, &display_root)
    };
    outcome.issues.extend(scanner.config_issues());
    let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
    scanner.finish(&mut outcome, baseline.as_ref());

    if let Some(path) = &args.write_baseline {
        Baseline::write(path, &outcome.findings)?;
        eprintln!(
            "hush scan: wrote {} finding(s) to baseline {}",
            outcome.findings.len(),
            path.display()
        );
        return Ok(ExitCode::from(if outcome.complete() { 0 } else { 2 }));
    }
    write_report(&args, &scanner, &outcome, started.elapsed().as_secs_f64())?;
    Ok(ExitCode::from(outcome.exit_code()))
}

fn load_config(explicit: Option<&Path>, root: &Path) -> anyhow::Result<ScanConfig> {
    Ok(match explicit {
        Some(p) => ScanConfig::load(p)?,
        None => ScanConfig::discover(root)?,
    })
}

fn write_report(
    args: &ScanArgs,
    scanner: &Scanner,
    outcome: &ScanOutcome,
    elapsed: f64,
) -> anyhow::Result<()> {
    let redaction = if args.no_redact {
        Redaction::Show
    } else {
        Redaction::Redact
    };
    let mut sink: Box<dyn Write> = match &args.report_path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating report {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    match args.output {
        OutputFormat::Human => report::human::write(&mut sink, outcome, redaction, elapsed)?,
        OutputFormat::Json => report::json::write(&mut sink, outcome, redaction)?,
        OutputFormat::Sarif => {
            report::sarif::write(&mut sink, outcome, scanner.rules(), redaction)?
        }
    }
    sink.flush()?;
    if args.report_path.is_some() && args.output != OutputFormat::Human {
        // Keep a one-line summary on the terminal when the report goes to a file.
        let binaries = outcome
            .issues
            .iter()
            .filter(|i| i.kind == crate::finding::IssueKind::SkippedBinary)
            .count();
        report::human::write_summary(
            &mut std::io::stderr(),
            outcome,
            redaction,
            elapsed,
            binaries,
        )?;
    }
    Ok(())
}

fn install_hook(repo: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("locating the hush binary")?;
    let exe_text = exe.to_string_lossy();
    // `hush scan --staged` for the real binary; the dev binary takes scan flags directly.
    let is_hush = exe.file_stem().is_some_and(|s| s == "hush");
    let command = if is_hush {
        format!("exec {} scan --staged", shell_quote(&exe_text))
    } else {
        format!("exec {} --staged", shell_quote(&exe_text))
    };
    let hook = install_pre_commit(repo, &command, force)?;
    println!("installed {}", hook.display());
    Ok(ExitCode::SUCCESS)
}
