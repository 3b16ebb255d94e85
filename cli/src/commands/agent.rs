//! `hush agent`: pull a Git repository, decrypt its SOPS-encrypted Secrets and keep a
//! directory or an env file in sync with them, on an interval or once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use hush_providers::gitops::{GitAuth, GitRef, RepoSpec};
use zeroize::Zeroizing;

use crate::agent::atomic::Owner;
use crate::agent::{Agent, Target};
use crate::args::DecryptArgsCommon;
use crate::exit::{CliError, CliResult, Code};

#[derive(Args, Debug)]
#[command(
    long_about = "Pull a Git repository, decrypt the SOPS-encrypted Kubernetes Secrets under --path and write them \
to a directory (one 0600 file per key at <out>/<namespace>/<name>/<key>) or one env file. \
Each cycle costs one ref lookup when nothing changed; only changed files are decrypted. Files changed \
or deleted on disk are restored, files of removed Secrets are deleted (only files the agent wrote, \
listed in its state file). A file that fails to decrypt is reported and keeps its last good output. \
Identities come from the same variables as `hush decrypt` (SOPS_AGE_KEY_FILE, ...)."
)]
pub struct AgentArgs {
    /// Repository: https://, ssh://, git@host:path, git://, file:// or a local path
    #[arg(long)]
    pub repo: String,
    /// What to follow: a branch name, refs/heads/…, refs/tags/… or a 40-hex commit [default: main]
    #[arg(long = "ref", conflicts_with_all = ["branch", "tag", "commit"])]
    pub git_ref: Option<String>,
    /// Branch to follow
    #[arg(long, conflicts_with_all = ["tag", "commit"])]
    pub branch: Option<String>,
    /// Tag to follow instead of a branch
    #[arg(long, conflicts_with = "commit")]
    pub tag: Option<String>,
    /// Fixed commit to use instead of a branch
    #[arg(long)]
    pub commit: Option<String>,
    /// Directory or file in the repository to read (repeatable; default: the whole repository)
    #[arg(long = "path")]
    pub paths: Vec<String>,
    /// dir:<directory> or env-file:<file>
    #[arg(long)]
    pub target: Target,
    /// Time between cycles (e.g. 30s, 1m, 1h)
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Run one cycle and exit (exit code 1 if anything failed)
    #[arg(long)]
    pub once: bool,
    /// Owner of written files and directories: uid[:gid]
    #[arg(long)]
    pub owner: Option<Owner>,
    /// Where repository mirrors are kept [default: $XDG_CACHE_HOME/hush/git or ~/.cache/hush/git]
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// json: one JSON report per cycle on stdout
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub output: String,
    /// HTTPS username for --git-token-file [default: git]
    #[arg(long, default_value = "git")]
    pub git_username: String,
    /// File holding an HTTPS token (or set HUSH_GIT_TOKEN)
    #[arg(long, conflicts_with = "ssh_key_file")]
    pub git_token_file: Option<PathBuf>,
    /// SSH private key for ssh:// and git@host:path repositories
    #[arg(long, requires = "known_hosts")]
    pub ssh_key_file: Option<PathBuf>,
    /// known_hosts file for the SSH host (host keys are always checked)
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// Comma-separated key types to try first (default: age,pgp)
    #[arg(long, env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
}

pub fn run(args: AgentArgs) -> CliResult<()> {
    let ring = crate::ops::decryption_ring(&DecryptArgsCommon {
        decryption_order: args.decryption_order.clone(),
        ignore_mac: false,
    })?;
    let spec = RepoSpec {
        url: args.repo.clone(),
        reference: reference(&args),
        auth: auth(&args)?,
    };
    let cache = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
    let mut agent = Agent::new(
        &cache,
        spec,
        args.paths.clone(),
        args.target,
        ring,
        args.owner,
    )
    .map_err(|e| CliError::new(Code::Generic, format!("agent: {e}")))?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| CliError::new(Code::Generic, format!("agent: signal handler: {e}")))?;
    }
    let json = args.output == "json";
    loop {
        let report = agent.cycle(&stop);
        if json {
            println!("{}", report.to_json_line());
        } else {
            eprintln!("{}", report.summary());
            for e in &report.errors {
                eprintln!("hush: agent: {}", e.message);
            }
        }
        if args.once {
            return if report.errors.is_empty() {
                Ok(())
            } else {
                Err(CliError::new(
                    Code::Generic,
                    format!("agent: {} error(s) in this cycle", report.errors.len()),
                ))
            };
        }
        let next = Instant::now() + args.interval;
        while Instant::now() < next {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100).min(next - Instant::now()));
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}

fn reference(args: &AgentArgs) -> GitRef {
    if let Some(r) = &args.git_ref {
        return if r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
            GitRef::Commit(r.clone())
        } else if r.starts_with("refs/tags/") {
            GitRef::Tag(r.clone())
        } else {
            GitRef::Branch(r.clone())
        };
    }
    if let Some(t) = &args.tag {
        GitRef::Tag(t.clone())
    } else if let Some(c) = &args.commit {
        GitRef::Commit(c.clone())
    } else {
        GitRef::Branch(args.branch.clone().unwrap_or_else(|| "main".into()))
    }
}

fn read_secret_file(path: &Path) -> CliResult<Zeroizing<String>> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| {
            CliError::new(
                Code::CouldNotReadInputFile,
                format!("{}: {e}", path.display()),
            )
        })
}

fn auth(args: &AgentArgs) -> CliResult<GitAuth> {
    if let Some(key) = &args.ssh_key_file {
        let known_hosts = args
            .known_hosts
            .as_ref()
            .expect("clap requires --known-hosts");
        return Ok(GitAuth::Ssh {
            private_key: read_secret_file(key)?,
            known_hosts: read_secret_file(known_hosts)?.to_string(),
        });
    }
    let token = match &args.git_token_file {
        Some(path) => Some(read_secret_file(path)?),
        None => std::env::var("HUSH_GIT_TOKEN").ok().map(Zeroizing::new),
    };
    Ok(match token {
        Some(t) => GitAuth::Token {
            username: args.git_username.clone(),
            token: Zeroizing::new(t.trim().to_string()),
        },
        None => GitAuth::None,
    })
}

fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("hush/git")
}
