//! `hush agent`: the GitOps pull without Kubernetes. Each cycle asks the remote for
//! one ref; when it moved, fetches, decrypts the SOPS files that changed and brings
//! the target (a directory or an env file) up to date. When it did not move, the
//! cycle only compares the target's files with the hashes it recorded and decrypts
//! again only to restore a file changed on disk.

pub mod atomic;
pub mod report;
pub mod sources;
pub mod state;
pub mod target_dir;
pub mod target_env;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hush_providers::gitops::{discover, Found, GitError, GitRef, Mirror, RepoFile, RepoSpec};
use hush_providers::KeyRing;

use atomic::Owner;
use report::CycleReport;
use state::AgentState;

/// Where decrypted secrets go (`--target`).
#[derive(Clone, Debug)]
pub enum Target {
    Dir(target_dir::DirTarget),
    EnvFile(target_env::EnvTarget),
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        match s.split_once(':') {
            Some(("dir", p)) if !p.is_empty() => Ok(Target::Dir(target_dir::DirTarget {
                root: PathBuf::from(p),
            })),
            Some(("env-file", p)) if !p.is_empty() => Ok(Target::EnvFile(target_env::EnvTarget {
                file: PathBuf::from(p),
            })),
            _ => Err(format!(
                "--target {s:?}: expected dir:<directory> or env-file:<file>"
            )),
        }
    }
}

impl Target {
    fn state_path(&self) -> PathBuf {
        match self {
            Target::Dir(d) => d.state_path(),
            Target::EnvFile(e) => e.state_path(),
        }
    }

    /// The directory to create and to sweep for temp files of a killed run.
    fn base_dir(&self) -> PathBuf {
        match self {
            Target::Dir(d) => d.root.clone(),
            Target::EnvFile(e) => match e.file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            },
        }
    }

    fn intact(&self, state: &AgentState) -> bool {
        match self {
            Target::Dir(d) => d.intact(state),
            Target::EnvFile(e) => e.intact(state),
        }
    }

    fn sync(&self, ctx: &mut Ctx<'_>, state: &mut AgentState, commit: &str, sources: &[RepoFile]) {
        match self {
            Target::Dir(d) => d.sync(ctx, state, commit, sources),
            Target::EnvFile(e) => e.sync(ctx, state, commit, sources),
        }
    }
}

/// What a target needs during one cycle.
pub struct Ctx<'a> {
    pub ring: &'a KeyRing,
    pub owner: Option<Owner>,
    pub stop: &'a AtomicBool,
    pub report: &'a mut CycleReport,
}

impl Ctx<'_> {
    /// SIGTERM/SIGINT arrived: finish the current write, start no new one.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

pub struct Agent {
    mirror: Mirror,
    paths: Vec<String>,
    target: Target,
    ring: KeyRing,
    owner: Option<Owner>,
    state: AgentState,
}

impl Agent {
    pub fn new(
        cache_dir: &Path,
        spec: RepoSpec,
        paths: Vec<String>,
        target: Target,
        ring: KeyRing,
        owner: Option<Owner>,
    ) -> Result<Agent, String> {
        let mirror = Mirror::open(cache_dir, spec).map_err(|e| e.to_string())?;
        let base = target.base_dir();
        atomic::create_private_dir(&base, owner).map_err(|e| format!("{}: {e}", base.display()))?;
        atomic::sweep_temp_files(&base);
        let state = AgentState::load(&target.state_path());
        Ok(Agent {
            mirror,
            paths,
            target,
            ring,
            owner,
            state,
        })
    }

    /// One cycle. Errors are in the report; the target keeps its last good state.
    pub fn cycle(&mut self, stop: &AtomicBool) -> CycleReport {
        let started = Instant::now();
        let mut report = CycleReport::default();
        let before = self.state.clone();
        if let Some(commit) = self.revision(&mut report) {
            let idle = self.state.revision.as_deref() == Some(commit.as_str())
                && self.state.failed.is_empty()
                && self.target.intact(&self.state);
            if !idle {
                match self.sources(&commit) {
                    Ok(sources) => {
                        let mut ctx = Ctx {
                            ring: &self.ring,
                            owner: self.owner,
                            stop,
                            report: &mut report,
                        };
                        self.target
                            .sync(&mut ctx, &mut self.state, &commit, &sources);
                    }
                    Err(e) => report.error("", "ReadFailed", e.to_string()),
                }
            }
        }
        if self.state != before {
            let path = self.target.state_path();
            if let Err(e) = atomic::write_private(&path, &self.state.to_json(), self.owner) {
                report.error("", "WriteFailed", format!("{}: {e}", path.display()));
            }
        }
        report.revision = self.state.revision.clone();
        report.duration_ms = started.elapsed().as_millis();
        report
    }

    /// The commit to bring the target to: the remote's, fetched if new; when the remote
    /// cannot be reached, the one already applied (so tampered files are still restored).
    fn revision(&mut self, report: &mut CycleReport) -> Option<String> {
        if !matches!(self.mirror.spec().reference, GitRef::Commit(_)) {
            report.ref_lookups += 1;
        }
        let fallback = |report: &mut CycleReport, e: GitError, reason: &str| {
            report.error("", reason, e.to_string());
            None
        };
        let remote = match self.mirror.remote_revision() {
            Ok(r) => r,
            Err(e) => return fallback(report, e, "RemoteUnavailable").or(self.applied()),
        };
        if self.mirror.last_fetched().as_deref() == Some(remote.as_str()) {
            return Some(remote);
        }
        report.fetches += 1;
        match self.mirror.fetch() {
            Ok(commit) => Some(commit),
            Err(e) => fallback(report, e, "FetchFailed").or(self.applied()),
        }
    }

    fn applied(&self) -> Option<String> {
        self.state.revision.clone()
    }

    /// The SOPS-encrypted Secret files under the paths at `commit`.
    fn sources(&self, commit: &str) -> Result<Vec<RepoFile>, GitError> {
        let files = self.mirror.files_under(commit, &self.paths)?;
        Ok(discover(files)
            .into_iter()
            .filter_map(|f| match f {
                Found::SopsSecret(file) => Some(file),
                // SealedSecrets need a cluster's sealing key: hush-controller's job.
                Found::SealedSecret { .. } => None,
            })
            .collect())
    }
}
