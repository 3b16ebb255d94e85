//! Git sources through the `git` binary: the index (`--staged`) and history
//! (`--history`). Blobs are read with one `git cat-file --batch` process;
//! each distinct blob is scanned once, in parallel.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

use super::Collector;
use crate::error::ScanError;
use crate::finding::{IssueKind, ScanOutcome};
use crate::scanner::Scanner;

fn git(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(repo);
    cmd
}

fn run_git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, ScanError> {
    let out = git(repo)
        .args(args)
        .output()
        .map_err(|e| ScanError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(ScanError::Git(format!(
            "git {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// Top-level directory of the work tree containing `dir`.
pub fn repo_root(dir: &Path) -> Result<PathBuf, ScanError> {
    let out = run_git(dir, &["rev-parse", "--show-toplevel"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim_end()))
}

/// One blob to read: `spec` is anything `git cat-file` accepts (`:path`, an oid).
struct BlobRequest {
    spec: String,
    path: String,
    commit: Option<String>,
}

/// Scan the staged content (the index) of files added, copied, modified or
/// renamed relative to HEAD: what the next commit would contain.
pub fn scan_staged(scanner: &Scanner, repo: &Path) -> Result<ScanOutcome, ScanError> {
    let names = run_git(
        repo,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=ACMRT",
        ],
    )?;
    let requests: Vec<BlobRequest> = names
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|p| !scanner.ignore_file().ignores_path(p, false))
        .map(|p| BlobRequest {
            spec: format!(":{p}"),
            path: p,
            commit: None,
        })
        .collect();
    let collector = Collector::default();
    read_blobs(scanner, repo, requests, &collector);
    let mut outcome = collector.into_outcome();
    // Like history: only what this commit adds. A secret already in HEAD's
    // version of the file is left to full scans and baselines.
    let specs: HashSet<String> = outcome
        .findings
        .iter()
        .map(|f| format!("HEAD:{}", f.path))
        .collect();
    if !specs.is_empty() {
        let committed = read_blob_map(repo, specs.into_iter().collect());
        outcome
            .findings
            .retain(|f| match committed.get(&format!("HEAD:{}", f.path)) {
                Some(old) => memchr::memmem::find(old, f.secret.as_bytes()).is_none(),
                None => true,
            });
    }
    Ok(outcome)
}

/// Scan every blob introduced by the commits in `range` (default: all refs),
/// oldest first. A secret is reported once per path, at the commit that added it.
pub fn scan_history(
    scanner: &Scanner,
    repo: &Path,
    range: Option<&str>,
) -> Result<ScanOutcome, ScanError> {
    let mut args = vec![
        "log",
        "--reverse",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        // Merges too: a conflict resolution can introduce a blob of its own.
        "-m",
        "-z",
        "--format=%x01%H",
    ];
    let range_args: Vec<&str> = match range {
        Some(r) => r.split_whitespace().collect(),
        None => vec!["--all"],
    };
    args.extend(range_args);
    let collector = Collector::default();
    let log = match run_git(repo, &args) {
        Ok(log) => log,
        Err(ScanError::Git(msg)) if repo_root(repo).is_ok() => {
            // A repository whose history cannot be walked (corrupt commit):
            // report, scan nothing, and mark the scan incomplete.
            collector.issue(IssueKind::GitError, "", msg);
            return Ok(collector.into_outcome());
        }
        Err(e) => return Err(e),
    };
    let mut seen_blobs = HashSet::new();
    let mut parents: HashMap<(String, String), String> = HashMap::new();
    let mut commit_order: HashMap<String, usize> = HashMap::new();
    let mut requests = Vec::new();
    let mut commit = String::new();
    let mut tokens = log
        .split(|&b| b == 0)
        .map(|t| t.strip_prefix(b"\n").unwrap_or(t));
    while let Some(token) = tokens.next() {
        if let Some(hash) = token.strip_prefix(b"\x01") {
            commit = String::from_utf8_lossy(hash).trim().to_string();
            let n = commit_order.len();
            commit_order.entry(commit.clone()).or_insert(n);
        } else if let Some(meta) = token.strip_prefix(b":") {
            let Some(path) = tokens.next() else { break };
            let fields: Vec<&[u8]> = meta.split(|&b| b == b' ').collect();
            // :old_mode new_mode old_oid new_oid status
            if fields.len() < 5 || fields[4].first() == Some(&b'D') || fields[1] == b"160000" {
                continue;
            }
            let oid = String::from_utf8_lossy(fields[3]).into_owned();
            let path = String::from_utf8_lossy(path).into_owned();
            if scanner.ignore_file().ignores_path(&path, false) || !seen_blobs.insert(oid.clone()) {
                continue;
            }
            if fields[2].iter().any(|&b| b != b'0') && fields[0] != b"160000" {
                let old = String::from_utf8_lossy(fields[2]).into_owned();
                parents.insert((commit.clone(), path.clone()), old);
            }
            requests.push(BlobRequest {
                spec: oid,
                path,
                commit: Some(commit.clone()),
            });
        }
    }
    read_blobs(scanner, repo, requests, &collector);
    let mut outcome = collector.into_outcome();
    drop_inherited(repo, &mut outcome, &parents);
    // Keep the earliest occurrence of each (path, rule, secret).
    let order = |c: &Option<String>| {
        c.as_ref()
            .and_then(|c| commit_order.get(c))
            .copied()
            .unwrap_or(usize::MAX)
    };
    outcome.findings.sort_by_key(|f| (order(&f.commit), f.line));
    let mut seen = HashSet::new();
    outcome
        .findings
        .retain(|f| seen.insert((f.path.clone(), f.rule_id.clone(), f.secret_sha256.clone())));
    Ok(outcome)
}

/// Drop findings whose secret was already in the file before the commit:
/// only what a commit added counts (this matters for ranges that start
/// after the secret was introduced). Parent blobs are read only for the
/// (few) blobs with findings.
fn drop_inherited(
    repo: &Path,
    outcome: &mut ScanOutcome,
    parents: &HashMap<(String, String), String>,
) {
    let parent_of = |f: &crate::Finding| {
        f.commit
            .as_ref()
            .and_then(|c| parents.get(&(c.clone(), f.path.clone())))
    };
    let wanted: HashSet<&String> = outcome.findings.iter().filter_map(parent_of).collect();
    if wanted.is_empty() {
        return;
    }
    let blobs = read_blob_map(repo, wanted.into_iter().cloned().collect());
    outcome
        .findings
        .retain(|f| match parent_of(f).and_then(|oid| blobs.get(oid)) {
            Some(old) => memchr::memmem::find(old, f.secret.as_bytes()).is_none(),
            None => true,
        });
}

/// Read a few blobs fully (used for parents of blobs with findings).
fn read_blob_map(repo: &Path, oids: Vec<String>) -> HashMap<String, Vec<u8>> {
    let mut map = HashMap::new();
    let input: String = oids.iter().map(|o| format!("{o}\n")).collect();
    let Ok(mut child) = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return map;
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    for oid in oids {
        let mut header = String::new();
        if out.read_line(&mut header).unwrap_or(0) == 0 {
            break;
        }
        let parts: Vec<&str> = header.split_whitespace().collect();
        let [_, _, size] = parts.as_slice() else {
            continue;
        };
        let size: u64 = size.parse().unwrap_or(0);
        let mut blob = Vec::new();
        if (&mut out).take(size).read_to_end(&mut blob).is_err() {
            break;
        }
        let mut lf = [0u8; 1];
        let _ = out.read_exact(&mut lf);
        map.insert(oid, blob);
    }
    let _ = writer.join();
    let _ = child.wait();
    map
}

/// Stream the requested blobs out of `git cat-file --batch` to scanner threads.
fn read_blobs(scanner: &Scanner, repo: &Path, requests: Vec<BlobRequest>, collector: &Collector) {
    if requests.is_empty() {
        return;
    }
    let mut child = match git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            collector.issue(
                IssueKind::GitError,
                "",
                format!("cannot run git cat-file: {e}"),
            );
            return;
        }
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let specs: Vec<String> = requests.iter().map(|r| r.spec.clone()).collect();
    let workers = scanner.options.threads.max(1);
    let max = scanner.options.max_file_size;
    let (tx, rx) = sync_channel::<(usize, Vec<u8>)>(workers * 4);
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        s.spawn(move || {
            for spec in specs {
                if writeln!(stdin, "{spec}").is_err() {
                    break;
                }
            }
        });
        for _ in 0..workers {
            let rx = &rx;
            let requests = &requests;
            s.spawn(move || loop {
                let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((i, blob)) = next else { break };
                let r = &requests[i];
                collector.scan(scanner, &r.path, r.commit.as_deref(), blob.as_slice());
            });
        }
        let mut out = BufReader::with_capacity(1 << 16, stdout);
        let mut header = String::new();
        for (i, r) in requests.iter().enumerate() {
            header.clear();
            if out.read_line(&mut header).unwrap_or(0) == 0 {
                collector.issue(IssueKind::GitError, &r.path, "git cat-file ended early");
                break;
            }
            let parts: Vec<&str> = header.split_whitespace().collect();
            let (kind, size) = match parts.as_slice() {
                [_, kind, size] => (*kind, size.parse::<u64>().unwrap_or(0)),
                _ => {
                    collector.issue(
                        IssueKind::GitError,
                        &r.path,
                        format!("object {} unreadable: {}", r.spec, header.trim()),
                    );
                    continue;
                }
            };
            let too_large = max.is_some_and(|m| size > m);
            if kind != "blob" || too_large {
                if std::io::copy(&mut (&mut out).take(size + 1), &mut std::io::sink()).is_err() {
                    break;
                }
                if too_large {
                    collector.issue(
                        IssueKind::SkippedTooLarge,
                        &r.path,
                        format!("{size} bytes; skipped"),
                    );
                }
                continue;
            }
            let mut blob = Vec::with_capacity(size as usize);
            if (&mut out).take(size).read_to_end(&mut blob).is_err() || blob.len() as u64 != size {
                collector.issue(IssueKind::GitError, &r.path, "short read from git cat-file");
                break;
            }
            let mut lf = [0u8; 1];
            let _ = out.read_exact(&mut lf);
            if tx.send((i, blob)).is_err() {
                break;
            }
        }
        drop(tx);
    });
    let _ = child.kill();
    let _ = child.wait();
}
