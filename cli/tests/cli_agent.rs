//! `hush agent` end to end: real Git repositories made by the test (served over
//! file:// and a real `git daemon` on 127.0.0.1), the real binary, temp directories.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use hush_tests::git::git;
use hush_tests::git_daemon::GitDaemon;
use serde_json::Value;

/// A sandbox with a work repository whose files are SOPS-encrypted by `hush encrypt`.
struct Fixture {
    sb: Sandbox,
    repo: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let sb = Sandbox::new();
        let repo = sb.path("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        Fixture { sb, repo }
    }

    /// Writes `rel` as the SOPS encryption of a Secret with these stringData pairs.
    fn secret(&self, rel: &str, name: &str, pairs: &[(&str, &str)]) {
        let mut yaml = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: apps\nstringData:\n");
        for (k, v) in pairs {
            yaml.push_str(&format!("  {k}: {v}\n"));
        }
        let plain = self.sb.write("plain.yaml", yaml);
        let encrypted = encrypt_age(&self.sb, &plain, &[]);
        std::fs::remove_file(plain).unwrap();
        let path = self.repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, encrypted).unwrap();
    }

    fn commit(&self) -> String {
        git(&self.repo, &["add", "-A"]);
        git(
            &self.repo,
            &["commit", "-q", "--allow-empty", "-m", "change"],
        );
        git(&self.repo, &["rev-parse", "HEAD"])
    }

    fn out(&self) -> PathBuf {
        self.sb.path("out")
    }

    fn agent(&self, repo: &str, target: &str, extra: &[&str]) -> Command {
        let mut cmd = hush(&self.sb);
        cmd.args([
            "agent", "--repo", repo, "--path", "apps", "--target", target, "--output", "json",
        ])
        .arg("--cache-dir")
        .arg(self.sb.path("cache"))
        .args(extra);
        cmd
    }

    /// One `--once` cycle into the dir target: (exit code, report).
    fn once(&self) -> (i32, Value) {
        let target = format!("dir:{}", self.out().display());
        let out = run(self.agent(self.repo.to_str().unwrap(), &target, &["--once"]));
        let report =
            last_report(&out.stdout).unwrap_or_else(|| panic!("no report: {}", stderr(&out)));
        (code(&out), report)
    }
}

fn last_report(stdout: &[u8]) -> Option<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .next_back()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn dir_target_follows_adds_changes_removals_and_restores_tampering() {
    let f = Fixture::new();
    f.secret(
        "apps/db.yaml",
        "db",
        &[("user", "admin"), ("password", "one")],
    );
    f.secret("apps/api.yaml", "api", &[("token", "t1")]);
    f.commit();

    let (rc, r) = f.once();
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (
            r["ref_lookups"].as_u64(),
            r["fetches"].as_u64(),
            r["decrypted"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{r}"
    );
    assert_eq!(r["written"], 3, "{r}");
    let password = f.out().join("apps/db/password");
    assert_eq!(read(&password), "one");
    assert_eq!(read(&f.out().join("apps/api/token")), "t1");
    assert_eq!(mode_of(&password), 0o600);
    assert_eq!(mode_of(&f.out().join("apps/db")), 0o700);

    // Nothing new: one ref lookup, no fetch, no decryption, no write.
    let (rc, r) = f.once();
    assert_eq!(rc, 0);
    assert_eq!(
        (
            r["ref_lookups"].as_u64(),
            r["fetches"].as_u64(),
            r["decrypted"].as_u64(),
            r["written"].as_u64()
        ),
        (Some(1), Some(0), Some(0), Some(0)),
        "{r}"
    );

    // Tampered and deleted on disk: restored, decrypting only the file that produced them.
    std::fs::write(&password, "changed by hand").unwrap();
    std::fs::remove_file(f.out().join("apps/db/user")).unwrap();
    let (rc, r) = f.once();
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (
            r["decrypted"].as_u64(),
            r["restored"].as_u64(),
            r["fetches"].as_u64()
        ),
        (Some(1), Some(2), Some(0)),
        "{r}"
    );
    assert_eq!(read(&password), "one");
    assert_eq!(read(&f.out().join("apps/db/user")), "admin");

    // A file the agent did not write is never touched.
    std::fs::write(f.out().join("apps/mine.txt"), "keep").unwrap();
    // Change one secret, drop a key, remove another secret.
    f.secret("apps/db.yaml", "db", &[("password", "two")]);
    std::fs::remove_file(f.repo.join("apps/api.yaml")).unwrap();
    f.commit();
    let (rc, r) = f.once();
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (
            r["fetches"].as_u64(),
            r["decrypted"].as_u64(),
            r["written"].as_u64(),
            r["removed"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(2)),
        "{r}"
    );
    assert_eq!(read(&password), "two");
    assert!(!f.out().join("apps/db/user").exists());
    assert!(
        !f.out().join("apps/api").exists(),
        "empty directories of removed secrets go too"
    );
    assert_eq!(read(&f.out().join("apps/mine.txt")), "keep");
}

#[test]
fn a_failing_file_is_reported_and_keeps_its_last_good_output() {
    let f = Fixture::new();
    f.secret("apps/db.yaml", "db", &[("password", "one")]);
    f.secret("apps/api.yaml", "api", &[("token", "t1")]);
    f.commit();
    assert_eq!(f.once().0, 0);

    // db.yaml is tampered in Git (the MAC no longer matches); api.yaml changes normally.
    let db = f.repo.join("apps/db.yaml");
    std::fs::write(
        &db,
        read(&db).replace("namespace: apps", "namespace: other"),
    )
    .unwrap();
    f.secret("apps/api.yaml", "api", &[("token", "t2")]);
    f.commit();
    let (rc, r) = f.once();
    assert_eq!(rc, 1, "{r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0]["path"], "apps/db.yaml");
    assert_eq!(errors[0]["reason"], "MacMismatch");
    assert_eq!(read(&f.out().join("apps/db/password")), "one");
    assert_eq!(read(&f.out().join("apps/api/token")), "t2");

    // The failed file is retried on the next cycle, even with no new commit; fixed, it applies.
    f.secret("apps/db.yaml", "db", &[("password", "fixed")]);
    f.commit();
    let (rc, r) = f.once();
    assert_eq!(rc, 0, "{r}");
    assert_eq!(read(&f.out().join("apps/db/password")), "fixed");
}

#[test]
fn no_identity_is_an_error_per_file_not_a_crash() {
    let f = Fixture::new();
    f.secret("apps/db.yaml", "db", &[("password", "one")]);
    f.commit();
    let target = format!("dir:{}", f.out().display());
    let mut cmd = hush_bare(&f.sb);
    cmd.args([
        "agent",
        "--once",
        "--output",
        "json",
        "--repo",
        f.repo.to_str().unwrap(),
        "--target",
        &target,
    ])
    .arg("--cache-dir")
    .arg(f.sb.path("cache"));
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    let r = last_report(&out.stdout).unwrap();
    assert_eq!(r["errors"][0]["reason"], "NoKey", "{r}");
    assert!(!f.out().join("apps").exists());
}

#[test]
fn env_file_target() {
    let f = Fixture::new();
    f.secret(
        "apps/db.yaml",
        "db",
        &[("DB_PASSWORD", "'p w$1'"), ("DB_USER", "admin")],
    );
    f.secret("apps/api.yaml", "api", &[("API_TOKEN", "t1")]);
    f.commit();
    let env = f.sb.path("run/app.env");
    let target = format!("env-file:{}", env.display());
    let once = || {
        let out = run(f.agent(f.repo.to_str().unwrap(), &target, &["--once"]));
        (code(&out), last_report(&out.stdout).unwrap())
    };
    let (rc, r) = once();
    assert_eq!(rc, 0, "{r}");
    let text = read(&env);
    assert!(
        text.contains("API_TOKEN=t1\n") && text.contains("DB_USER=admin\n"),
        "{text}"
    );
    assert!(text.contains("DB_PASSWORD='p w$1'\n"), "{text}");
    assert_eq!(mode_of(&env), 0o600);

    let (_, r) = once();
    assert_eq!(
        (r["decrypted"].as_u64(), r["written"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );

    std::fs::write(&env, "tampered\n").unwrap();
    let (_, r) = once();
    assert_eq!(r["restored"], 1, "{r}");
    assert_eq!(read(&env), text);

    std::fs::remove_file(f.repo.join("apps/api.yaml")).unwrap();
    f.commit();
    let (rc, r) = once();
    assert_eq!(rc, 0, "{r}");
    assert!(!read(&env).contains("API_TOKEN"));
}

#[test]
fn owner_is_applied_when_running_as_root() {
    if !nix_is_root() {
        eprintln!("skipped: --owner needs root to chown");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::new();
    f.secret("apps/db.yaml", "db", &[("password", "one")]);
    f.commit();
    let target = format!("dir:{}", f.out().display());
    let out = run(f.agent(
        f.repo.to_str().unwrap(),
        &target,
        &["--once", "--owner", "4321:4322"],
    ));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let meta = std::fs::metadata(f.out().join("apps/db/password")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn git_daemon_remote_then_unreachable_keeps_files_and_still_restores() {
    let f = Fixture::new();
    let served = f.sb.path("served");
    std::fs::create_dir_all(&served).unwrap();
    f.secret("apps/db.yaml", "db", &[("password", "one")]);
    f.commit();
    git(
        &served,
        &[
            "clone",
            "-q",
            "--bare",
            f.repo.to_str().unwrap(),
            "origin.git",
        ],
    );
    let mut daemon = GitDaemon::start(&served);
    let url = format!("git://127.0.0.1:{}/origin.git", daemon.port);
    let target = format!("dir:{}", f.out().display());
    let out = run(f.agent(&url, &target, &["--once"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let password = f.out().join("apps/db/password");
    assert_eq!(read(&password), "one");

    // A force-push that rewrites history is followed.
    f.secret("apps/db.yaml", "db", &[("password", "rewritten")]);
    git(&f.repo, &["add", "-A"]);
    git(&f.repo, &["commit", "-q", "--amend", "-m", "rewritten"]);
    git(
        &f.repo,
        &[
            "push",
            "-q",
            "--force",
            served.join("origin.git").to_str().unwrap(),
            "main",
        ],
    );
    let out = run(f.agent(&url, &target, &["--once"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(read(&password), "rewritten");

    daemon.stop();
    std::fs::write(&password, "tampered").unwrap();
    let out = run(f.agent(&url, &target, &["--once"]));
    assert_eq!(code(&out), 1);
    let r = last_report(&out.stdout).unwrap();
    assert_eq!(r["errors"][0]["reason"], "RemoteUnavailable", "{r}");
    assert_eq!(r["restored"], 1, "{r}");
    assert_eq!(
        read(&password),
        "rewritten",
        "the last state is kept and restored from the mirror"
    );
}

#[test]
fn kill_during_a_write_leaves_no_partial_file() {
    let f = Fixture::new();
    // One Secret with many large keys: thousands of writes, time to kill mid-way.
    const KEYS: usize = 1500;
    let value = |i: usize| format!("start-{i}-{}-end", "x".repeat(2000));
    let pairs: Vec<(String, String)> = (0..KEYS).map(|i| (format!("k{i:04}"), value(i))).collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    f.secret("apps/big.yaml", "big", &refs);
    f.commit();

    let target = format!("dir:{}", f.out().display());
    let mut cmd = f.agent(f.repo.to_str().unwrap(), &target, &["--once"]);
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dir = f.out().join("apps/big");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        if written >= 20 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the agent finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "the agent wrote nothing");
        std::thread::sleep(Duration::from_millis(2));
    }
    nix_kill(&child, 9);
    let _ = child.wait();

    let mut complete = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".hush-agent-") {
            continue; // a temp file: never at a final name, swept on the next start
        }
        let i: usize = name[1..].parse().unwrap();
        assert_eq!(read(&entry.path()), value(i), "{name} is partial");
        complete += 1;
    }
    // The agent stages every file of an apply before renaming any, so a kill lands
    // either among the temp files (no final file yet) or among the renames; either way
    // it must not have finished, and every file at a final name is whole.
    assert!(complete < KEYS, "killed mid-way: {complete} files");

    // The next run finishes the job and sweeps leftovers.
    let out = run(f.agent(f.repo.to_str().unwrap(), &target, &["--once"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), KEYS, "no temp files left");
}

fn nix_kill(child: &Child, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn interval_mode_picks_up_commits_and_stops_on_sigterm() {
    let f = Fixture::new();
    f.secret("apps/db.yaml", "db", &[("password", "one")]);
    f.commit();
    let target = format!("dir:{}", f.out().display());
    let mut cmd = f.agent(f.repo.to_str().unwrap(), &target, &["--interval", "200ms"]);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let password = f.out().join("apps/db/password");
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(&password).ok().as_deref() != Some(what) {
            assert!(Instant::now() < deadline, "{what} never appeared");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("one");
    // A few idle cycles before the next commit.
    std::thread::sleep(Duration::from_millis(800));
    f.secret("apps/db.yaml", "db", &[("password", "two")]);
    f.commit();
    wait_for("two");
    nix_kill(&child, 15);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "agent ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let reports: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(reports.len() >= 3, "{stdout}");
    // Idle cycles between the two commits: one ref lookup, nothing decrypted.
    assert!(
        reports
            .iter()
            .any(|r| r["fetches"] == 0 && r["decrypted"] == 0 && r["ref_lookups"] == 1),
        "{stdout}"
    );
}
