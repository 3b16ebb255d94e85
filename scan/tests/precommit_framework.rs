//! The repository's `.pre-commit-hooks.yaml`, used through the real
//! pre-commit framework (PyPI `pre-commit`, HUSH_TEST_PRECOMMIT or
//! /work/venv/bin/pre-commit), blocks a real `git commit` that adds a secret.
//! `hush` on PATH is a shim that runs this crate's dev binary.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hush-scan-dev");
const HOOKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.pre-commit-hooks.yaml");

fn run(dir: &Path, path_env: &str, home: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .env("PATH", path_env)
        .env("PRE_COMMIT_HOME", home)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

#[cfg(unix)]
#[test]
fn pre_commit_framework_runs_the_hush_hook() {
    use std::os::unix::fs::PermissionsExt;
    let precommit =
        std::env::var("HUSH_TEST_PRECOMMIT").unwrap_or_else(|_| "/work/venv/bin/pre-commit".into());
    assert!(
        Path::new(&precommit).exists(),
        "pre-commit not found at {precommit} (pip install pre-commit)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (bin, hooks_repo, work, home) = (
        tmp.path().join("bin"),
        tmp.path().join("hooks"),
        tmp.path().join("work"),
        tmp.path().join("pc-home"),
    );
    for d in [&bin, &hooks_repo, &work] {
        std::fs::create_dir(d).unwrap();
    }
    // `hush scan ARGS` → `hush-scan-dev ARGS`.
    let shim = bin.join("hush");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\n[ \"$1\" = scan ] && shift\nexec '{BIN}' \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path_env = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let git = |dir: &Path, args: &[&str]| {
        let o = run(dir, &path_env, &home, "git", args);
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };

    std::fs::copy(HOOKS, hooks_repo.join(".pre-commit-hooks.yaml")).unwrap();
    git(&hooks_repo, &["init", "-q", "-b", "main"]);
    git(&hooks_repo, &["add", "."]);
    git(&hooks_repo, &["commit", "-qm", "hooks"]);
    let rev = git(&hooks_repo, &["rev-parse", "HEAD"]);

    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(
        work.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: hush-scan\n",
            hooks_repo.display()
        ),
    )
    .unwrap();
    let o = run(&work, &path_env, &home, &precommit, &["install"]);
    assert!(
        o.status.success(),
        "pre-commit install: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    git(&work, &["add", ".pre-commit-config.yaml"]);
    git(&work, &["commit", "-qm", "config"]);

    std::fs::write(
        work.join("deploy.env"),
        "SENDGRID_API_KEY=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\n",
    )
    .unwrap();
    git(&work, &["add", "deploy.env"]);
    let blocked = run(&work, &path_env, &home, "git", &["commit", "-qm", "leak"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&blocked.stdout),
        String::from_utf8_lossy(&blocked.stderr)
    );
    assert!(!blocked.status.success(), "commit must be blocked: {out}");
    assert!(out.contains("sendgrid-api-key"), "{out}");
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]), "1");
}
