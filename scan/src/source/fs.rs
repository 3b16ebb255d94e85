//! Working-tree scan: a parallel walk that honours .gitignore and .hushignore.

use std::fs::File;
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use super::Collector;
use crate::finding::{IssueKind, ScanOutcome};
use crate::ignore_file::IGNORE_FILE_NAME;
use crate::scanner::Scanner;

/// Scan files and directories. Display paths are relative to `root` when possible.
pub fn scan_paths(scanner: &Scanner, paths: &[PathBuf], root: &Path) -> ScanOutcome {
    let collector = Collector::default();
    let Some((first, rest)) = paths.split_first() else {
        return collector.into_outcome();
    };
    let mut builder = WalkBuilder::new(first);
    for p in rest {
        builder.add(p);
    }
    builder
        .hidden(false)
        .require_git(false)
        .follow_links(scanner.options.follow_symlinks)
        .add_custom_ignore_filename(IGNORE_FILE_NAME)
        .threads(scanner.options.threads.max(1))
        .filter_entry(|e| e.file_name() != ".git");
    builder.build_parallel().run(|| {
        let collector = &collector;
        Box::new(move |entry| {
            match entry {
                Ok(entry) => visit(scanner, collector, root, &entry),
                Err(err) => {
                    let path = err_path(&err);
                    collector.issue(IssueKind::WalkError, &path, err.to_string());
                }
            }
            WalkState::Continue
        })
    });
    collector.into_outcome()
}

fn visit(scanner: &Scanner, collector: &Collector, root: &Path, entry: &ignore::DirEntry) {
    let Some(ft) = entry.file_type() else {
        // Only stdin has no file type; walks never yield it.
        return;
    };
    if !ft.is_file() {
        if ft.is_symlink() && entry.depth() == 0 {
            collector.issue(
                IssueKind::SkippedSymlink,
                &display(root, entry.path()),
                "symlink not followed (use --follow-symlinks)",
            );
        }
        return;
    }
    let rel = display(root, entry.path());
    if scanner.ignore_file().ignores_path(&rel, false) {
        return;
    }
    let size = match entry.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            collector.issue(IssueKind::Unreadable, &rel, e.to_string());
            return;
        }
    };
    if let Some(max) = scanner.options.max_file_size {
        if size > max {
            collector.issue(
                IssueKind::SkippedTooLarge,
                &rel,
                format!("{size} bytes is over --max-file-size {max}; skipped"),
            );
            return;
        }
    }
    match File::open(entry.path()) {
        Ok(f) => collector.scan(scanner, &rel, None, f),
        Err(e) => collector.issue(IssueKind::Unreadable, &rel, e.to_string()),
    }
}

/// `/`-separated path relative to `root` (or as given when outside it).
pub fn display(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let rel = rel.strip_prefix("./").unwrap_or(rel);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".to_string()
    } else {
        s
    }
}

fn err_path(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, .. } => path.to_string_lossy().into_owned(),
        ignore::Error::WithDepth { err, .. } => err_path(err),
        ignore::Error::WithLineNumber { err, .. } => err_path(err),
        ignore::Error::Loop { child, .. } => child.to_string_lossy().into_owned(),
        _ => String::new(),
    }
}
