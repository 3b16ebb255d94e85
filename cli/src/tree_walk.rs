//! Finding SOPS files and SealedSecrets under a directory, and running one job
//! per file on every core. Used by the `--all` modes and `hush rotation status`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Files larger than this are not looked at: no SOPS file or manifest is that big.
const MAX_CANDIDATE_BYTES: u64 = 16 << 20;

/// What a file under the tree turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Carries a `sops` metadata block (any format).
    Sops,
    /// A Kubernetes manifest with `kind: SealedSecret`.
    SealedSecret,
}

/// Every SOPS file or SealedSecret under `root` (or `root` itself if it is a file),
/// sorted by path. `.git` and the temp files of an interrupted write are skipped.
pub fn find(root: &Path) -> std::io::Result<Vec<(PathBuf, FileKind)>> {
    let mut paths = Vec::new();
    collect(root, &mut paths)?;
    paths.sort();
    let kinds = parallel_map(&paths, None, |p| classify(p));
    Ok(paths
        .into_iter()
        .zip(kinds)
        .filter_map(|(p, k)| k.map(|k| (p, k)))
        .collect())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(()); // symlinks are not followed: a link may point outside the tree
    }
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == ".git" || is_temp_file(&name) {
            continue;
        }
        collect(&entry.path(), out)?;
    }
    Ok(())
}

/// `fileio::write_atomic` temp files, left behind only when a process was killed.
fn is_temp_file(name: &str) -> bool {
    name.starts_with(".hush-") && name.ends_with(".tmp")
}

/// Sniffs a file's content. A file that looks like SOPS but does not parse is still
/// reported as SOPS, so that commands can report it as broken instead of hiding it.
/// The files of one kind under `root`, or an error naming `root` (sops' exit code 2).
pub fn find_kind(root: &Path, kind: FileKind) -> crate::exit::CliResult<Vec<PathBuf>> {
    let found = find(root).map_err(|e| {
        crate::exit::CliError::new(
            crate::exit::Code::CouldNotReadInputFile,
            format!("{}: {e}", root.display()),
        )
    })?;
    Ok(found
        .into_iter()
        .filter(|(_, k)| *k == kind)
        .map(|(p, _)| p)
        .collect())
}

fn classify(path: &Path) -> Option<FileKind> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_CANDIDATE_BYTES || path.file_name()? == ".sops.yaml" {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if has(b"lastmodified") && has(b"sops") && has(b"mac") {
        Some(FileKind::Sops)
    } else if has(b"SealedSecret") && has(b"encryptedData") {
        Some(FileKind::SealedSecret)
    } else {
        None
    }
}

/// Default workers per core: a file's job waits on fsync (and on KMS round
/// trips) more than it computes, so a few workers per core keep every core busy.
const WORKERS_PER_CORE: usize = 4;

/// Number of worker threads: `--jobs` if given, else four per core.
pub fn worker_count(jobs: Option<usize>) -> usize {
    jobs.filter(|&j| j > 0).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            * WORKERS_PER_CORE
    })
}

/// Runs `job` on every item on `threads` workers (default: `worker_count`), keeping the
/// input order in the result. Workers pull the next index from a shared counter,
/// so one slow file does not hold up a whole chunk.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: Option<usize>,
    job: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = worker_count(threads).min(items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = job(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every index is processed once"))
        .collect()
}

/// A one-line progress counter on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    label: &'static str,
    total: usize,
    done: AtomicUsize,
    visible: bool,
}

impl Progress {
    pub fn new(label: &'static str, total: usize, enabled: bool) -> Self {
        Progress {
            label,
            total,
            done: AtomicUsize::new(0),
            visible: enabled && std::io::stderr().is_terminal(),
        }
    }

    pub fn tick(&self, current: &Path) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.visible {
            let width = 30;
            let filled = width * done / self.total.max(1);
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[K{} [{}{}] {done}/{} {}",
                self.label,
                "#".repeat(filled),
                "-".repeat(width - filled),
                self.total,
                current.display()
            );
            let _ = err.flush();
        }
    }

    pub fn finish(&self) {
        if self.visible {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order_and_runs_everything() {
        let items: Vec<usize> = (0..500).collect();
        let out = parallel_map(&items, Some(4), |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn temp_files_are_recognised() {
        assert!(is_temp_file(".hush-abc123.tmp"));
        assert!(!is_temp_file("secrets.yaml"));
    }
}
