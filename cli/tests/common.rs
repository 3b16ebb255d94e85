//! Helpers for running the real `hush` binary in a sandbox.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use hush_tests::{code, ok_stdout, run_with_stdin, vector, Sandbox};

pub const HUSH: &str = env!("CARGO_BIN_EXE_hush");

pub fn age_recipient() -> String {
    std::fs::read_to_string(vector("age/recipient.txt"))
        .unwrap()
        .trim()
        .to_string()
}

pub fn age_identity_file() -> PathBuf {
    vector("age/identity.txt")
}

/// `hush` in the sandbox with the vectors' age identity available.
pub fn hush(sb: &Sandbox) -> Command {
    let mut cmd = sb.command(HUSH);
    cmd.env("SOPS_AGE_KEY_FILE", age_identity_file());
    cmd
}

/// `hush` in the sandbox with no identities at all.
pub fn hush_bare(sb: &Sandbox) -> Command {
    sb.command(HUSH)
}

pub fn run(mut cmd: Command) -> Output {
    cmd.output().expect("run hush")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Encrypts `path` to the vectors' age recipient and returns the encrypted text.
pub fn encrypt_age(sb: &Sandbox, path: &Path, extra: &[&str]) -> String {
    let mut cmd = hush(sb);
    cmd.args(["encrypt", "--age", &age_recipient()])
        .args(extra)
        .arg(path);
    ok_stdout(&run(cmd))
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
