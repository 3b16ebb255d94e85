//! `hush scan install-hook`: a plain Git pre-commit hook that runs the staged scan.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::ScanError;

/// Marker line that identifies a hook written by hush (safe to overwrite).
const MARKER: &str = "# hush-scan pre-commit hook";

/// Write `<hooks dir>/pre-commit` running `command` (a shell command line).
/// Honours `core.hooksPath`. An existing foreign hook is kept unless `force`.
pub fn install_pre_commit(repo: &Path, command: &str, force: bool) -> Result<PathBuf, ScanError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .map_err(|e| ScanError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(ScanError::Git(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let hooks = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    let hooks = if hooks.is_absolute() {
        hooks
    } else {
        repo.join(hooks)
    };
    std::fs::create_dir_all(&hooks).map_err(|e| ScanError::io(&hooks, e))?;
    let hook = hooks.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&hook) {
        if !existing.contains(MARKER) && !force {
            return Err(ScanError::Hook(format!(
                "{} already exists and was not written by hush; use --force to replace it",
                hook.display()
            )));
        }
    }
    let script = format!(
        "#!/bin/sh\n{MARKER}: blocks commits that add secrets.\n# Bypass once with `git commit --no-verify`.\n{command}\n"
    );
    std::fs::write(&hook, script).map_err(|e| ScanError::io(&hook, e))?;
    set_executable(&hook)?;
    Ok(hook)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), ScanError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| ScanError::io(path, e))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<(), ScanError> {
    Ok(())
}

/// Quote a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
