//! `--target dir:<out>`: one file per Secret key at `<out>/<namespace>/<name>/<key>`
//! (`default` when the manifest names no namespace), files 0600, directories 0700.
//! The agent only ever removes files its state says it wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hush_providers::gitops::{DesiredSecret, RepoFile};
use zeroize::Zeroizing;

use super::atomic;
use super::sources::{decrypt_all, sha256_hex};
use super::state::{AgentState, SourceState};
use super::Ctx;

pub const STATE_FILE: &str = ".hush-agent-state.json";

#[derive(Clone, Debug)]
pub struct DirTarget {
    pub root: PathBuf,
}

/// A planned output: target-relative path, SHA-256 hex, and the content when decrypted
/// this cycle (`None`: unchanged source, only its recorded hash is known).
type Output = (String, String, Option<Zeroizing<Vec<u8>>>);

/// A file the target should hold, with its content when this cycle decrypted it.
struct Planned {
    hash: String,
    content: Option<Zeroizing<Vec<u8>>>,
    source: String,
}

impl DirTarget {
    pub fn state_path(&self) -> PathBuf {
        self.root.join(STATE_FILE)
    }

    /// Target-relative paths and contents for a file's Secrets.
    fn files_of(secrets: Vec<DesiredSecret>) -> Vec<(String, Zeroizing<Vec<u8>>)> {
        let mut out = Vec::new();
        for s in secrets {
            let ns = s.namespace.clone().unwrap_or_else(|| "default".into());
            for (key, value) in s.data {
                out.push((format!("{ns}/{}/{key}", s.name), value));
            }
        }
        out
    }

    /// True when every file the state lists is on disk with the recorded content.
    pub fn intact(&self, state: &AgentState) -> bool {
        state
            .files
            .iter()
            .all(|(rel, hash)| self.disk_hash(rel).as_deref() == Some(hash.as_str()))
    }

    fn disk_hash(&self, rel: &str) -> Option<String> {
        atomic::read_no_follow(&self.root.join(rel))
            .ok()
            .map(|b| sha256_hex(&b))
    }

    /// Brings the directory to `sources` at `commit`: decrypts changed (and previously
    /// failed) files, keeps the last good output of files that fail, writes what
    /// differs on disk, restores tampered files, removes stale ones.
    pub fn sync(
        &self,
        ctx: &mut Ctx<'_>,
        state: &mut AgentState,
        commit: &str,
        sources: &[RepoFile],
    ) {
        let changed: Vec<&RepoFile> = sources
            .iter()
            .filter(|f| {
                state.failed.contains(&f.path)
                    || state
                        .sources
                        .get(&f.path)
                        .is_none_or(|s| s.blob_id != f.blob_id)
            })
            .collect();
        ctx.report.decrypted += changed.len() as u32;
        let mut fresh: BTreeMap<&str, _> = changed
            .iter()
            .map(|f| f.path.as_str())
            .zip(decrypt_all(&changed, ctx.ring))
            .collect();

        let mut desired: BTreeMap<String, Planned> = BTreeMap::new();
        let mut new_sources = BTreeMap::new();
        let mut failed = BTreeSet::new();
        for file in sources {
            let path = file.path.as_str();
            let (outputs, source_state) = match fresh.remove(path) {
                Some(Ok(secrets)) => {
                    let files = Self::files_of(secrets);
                    let rels = files.iter().map(|(r, _)| r.clone()).collect();
                    let outputs: Vec<_> = files
                        .into_iter()
                        .map(|(rel, c)| (rel, sha256_hex(&c), Some(c)))
                        .collect();
                    (
                        outputs,
                        SourceState {
                            blob_id: file.blob_id.clone(),
                            outputs: rels,
                        },
                    )
                }
                Some(Err(e)) => {
                    ctx.report.error(path, e.reason(), e.to_string());
                    failed.insert(path.to_string());
                    match state.sources.get(path) {
                        Some(prev) => (Self::previous(state, prev), prev.clone()),
                        None => continue,
                    }
                }
                None => match state.sources.get(path) {
                    Some(prev) => (Self::previous(state, prev), prev.clone()),
                    None => continue,
                },
            };
            if let Some((rel, other)) = outputs
                .iter()
                .find_map(|(rel, _, _)| desired.get(rel).map(|d| (rel, d.source.clone())))
            {
                ctx.report.error(
                    path,
                    "Conflict",
                    format!("{path}: {rel} is already written from {other}"),
                );
                failed.insert(path.to_string());
                continue;
            }
            for (rel, hash, content) in outputs {
                desired.insert(
                    rel,
                    Planned {
                        hash,
                        content,
                        source: path.to_string(),
                    },
                );
            }
            new_sources.insert(path.to_string(), source_state);
        }
        self.apply(ctx, state, desired, sources, commit, new_sources, failed);
    }

    /// Outputs (hash only) a source produced last time.
    fn previous(state: &AgentState, prev: &SourceState) -> Vec<Output> {
        prev.outputs
            .iter()
            .filter_map(|rel| Some((rel.clone(), state.files.get(rel)?.clone(), None)))
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        ctx: &mut Ctx<'_>,
        state: &mut AgentState,
        desired: BTreeMap<String, Planned>,
        sources: &[RepoFile],
        commit: &str,
        new_sources: BTreeMap<String, SourceState>,
        mut failed: BTreeSet<String>,
    ) {
        let mut files = BTreeMap::new();
        let mut restore: BTreeSet<String> = BTreeSet::new();
        let mut interrupted = false;
        let mut batch = Staged::new(&self.root);
        for (rel, planned) in &desired {
            if ctx.stopping() {
                interrupted = true;
                break;
            }
            if self.disk_hash(rel).as_deref() == Some(planned.hash.as_str()) {
                files.insert(rel.clone(), planned.hash.clone());
                continue;
            }
            match &planned.content {
                Some(content) => {
                    let was_ours = state.files.get(rel) == Some(&planned.hash);
                    self.stage(ctx, &mut batch, rel, content, &planned.hash, was_ours);
                }
                None => {
                    restore.insert(planned.source.clone());
                }
            }
        }
        // Files changed or deleted on disk whose source did not change: decrypt just those sources again.
        if !restore.is_empty() && !interrupted {
            let again: Vec<&RepoFile> = sources
                .iter()
                .filter(|f| restore.contains(&f.path))
                .collect();
            ctx.report.decrypted += again.len() as u32;
            for (file, result) in again.iter().zip(decrypt_all(&again, ctx.ring)) {
                match result {
                    Ok(secrets) => {
                        for (rel, content) in Self::files_of(secrets) {
                            let ours = desired.get(&rel).is_some_and(|p| p.source == file.path);
                            if !ours || files.contains_key(&rel) {
                                continue;
                            }
                            let hash = sha256_hex(&content);
                            self.stage(ctx, &mut batch, &rel, &content, &hash, true);
                        }
                    }
                    Err(e) => {
                        ctx.report.error(&file.path, e.reason(), e.to_string());
                        failed.insert(file.path.clone());
                    }
                }
            }
        }
        // Everything staged becomes visible here, written or not before an interruption.
        batch.commit(ctx, &mut files);
        if interrupted {
            // Keep the old revision so the next run finishes the job; remember what was written.
            state.files.extend(files);
            return;
        }
        for rel in state.files.keys() {
            if !desired.contains_key(rel) {
                match atomic::remove_and_prune(&self.root, &self.root.join(rel)) {
                    Ok(()) => ctx.report.removed += 1,
                    Err(e) => ctx
                        .report
                        .error("", "WriteFailed", format!("removing {rel}: {e}")),
                }
            }
        }
        // Planned files that could not be written stay tracked so they are retried.
        for (rel, planned) in &desired {
            files
                .entry(rel.clone())
                .or_insert_with(|| planned.hash.clone());
        }
        state.files = files;
        state.sources = new_sources;
        state.failed = failed;
        state.revision = Some(commit.to_string());
    }

    /// Stages one file of this apply; it becomes visible at [`Staged::commit`].
    fn stage(
        &self,
        ctx: &mut Ctx<'_>,
        batch: &mut Staged,
        rel: &str,
        content: &[u8],
        hash: &str,
        restoring: bool,
    ) {
        let path = self.root.join(rel);
        let result = atomic::create_private_dir(path.parent().unwrap_or(Path::new(".")), ctx.owner)
            .and_then(|_| batch.files.stage(&path, content, ctx.owner));
        match result {
            Ok(()) => batch
                .pending
                .push((rel.to_string(), hash.to_string(), restoring)),
            Err(e) => ctx
                .report
                .error("", "WriteFailed", format!("{}: {e}", path.display())),
        }
    }
}

/// The files of one apply, staged, with what each one means for the report and state.
struct Staged {
    files: atomic::WriteBatch,
    /// (target-relative path, content hash, restores a file we wrote before)
    pending: Vec<(String, String, bool)>,
}

impl Staged {
    fn new(root: &Path) -> Staged {
        Staged {
            files: atomic::WriteBatch::new(root),
            pending: Vec::new(),
        }
    }

    /// Makes every staged file visible and records the ones that landed.
    fn commit(self, ctx: &mut Ctx<'_>, files: &mut BTreeMap<String, String>) {
        let results = self.files.commit();
        for ((rel, hash, restoring), (path, result)) in self.pending.into_iter().zip(results) {
            match result {
                Ok(()) => {
                    if restoring {
                        ctx.report.restored += 1;
                    } else {
                        ctx.report.written += 1;
                    }
                    files.insert(rel, hash);
                }
                Err(e) => ctx
                    .report
                    .error("", "WriteFailed", format!("{}: {e}", path.display())),
            }
        }
    }
}
