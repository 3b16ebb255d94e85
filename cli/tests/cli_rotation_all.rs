//! `hush rotate --all`, `hush updatekeys --all` and `hush rotation status` against
//! the real binary, with the real `age` binary checking the data keys.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const PLAIN_YAML: &str = "db_password: hunter2\napi:\n    token: abc123\n    retries: 3\n";

/// Encrypts `plain` to the vectors' age key and writes it at `rel`.
fn encrypted_file(sb: &Sandbox, rel: &str, plain: &str) -> PathBuf {
    let src = sb.write(&format!("plain/{rel}"), plain);
    let text = encrypt_age(sb, &src, &[]);
    std::fs::remove_file(&src).unwrap();
    sb.write(rel, text)
}

fn decrypt_text(sb: &Sandbox, path: &Path) -> String {
    let mut cmd = hush(sb);
    cmd.arg("decrypt").arg(path);
    ok_stdout(&run(cmd))
}

/// The data key, recovered with the real `age` binary from the first age stanza.
fn data_key(sb: &Sandbox, path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let armored = if path.extension().is_some_and(|e| e == "json") {
        let v: Value = serde_json::from_str(&text).unwrap();
        v["sops"]["age"][0]["enc"].as_str().unwrap().to_string()
    } else {
        let start = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
        let end = text.find("-----END AGE ENCRYPTED FILE-----").unwrap();
        text[start..end + 32]
            .lines()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let blob = sb.write("datakey.age", armored);
    let out = sb
        .command("age")
        .arg("-d")
        .arg("-i")
        .arg(age_identity_file())
        .arg(&blob)
        .output()
        .expect("age must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32);
    out.stdout
}

/// Marks a file's data key as generated in 2020 (the field is outside the MAC).
fn backdate(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find("\nsops:\n").unwrap() + "\nsops:\n".len();
    let rest = &text[at..];
    let indent = rest.len() - rest.trim_start_matches(' ').len();
    let stamped = format!(
        "{}{}hush_rotated_at: \"2020-01-01T00:00:00Z\"\n{}",
        &text[..at],
        " ".repeat(indent),
        rest
    );
    std::fs::write(path, stamped).unwrap();
}

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

#[test]
fn rotate_all_keeps_values_changes_every_data_key_and_nothing_else() {
    let sb = Sandbox::new();
    let files = [
        encrypted_file(&sb, "tree/a.yaml", PLAIN_YAML),
        encrypted_file(&sb, "tree/sub/b.yaml", "x: 1\n"),
        encrypted_file(&sb, "tree/c.json", "{\"k\": \"v\", \"n\": [1, 2]}"),
    ];
    let unrelated = [
        sb.write("tree/README.md", "# secrets live here\n"),
        sb.write("tree/plain.yaml", "not: encrypted\n"),
    ];
    let read_all = |paths: &[PathBuf]| -> Vec<Vec<u8>> {
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    let plains: Vec<String> = files.iter().map(|f| decrypt_text(&sb, f)).collect();
    let keys: Vec<Vec<u8>> = files.iter().map(|f| data_key(&sb, f)).collect();
    let unrelated_before = read_all(&unrelated);

    // Dry run: a plan, no change.
    let before = read_all(&files);
    let mut cmd = hush(&sb);
    cmd.args(["rotate", "--all", "tree", "--dry-run", "--output", "json"]);
    let report = json_out(&run(cmd));
    assert_eq!(report["summary"]["would_rotate"], 3, "{report}");
    assert_eq!(read_all(&files), before);

    let mut cmd = hush(&sb);
    cmd.args(["rotate", "--all", "tree", "--output", "json"]);
    let out = run(cmd);
    let report = json_out(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["summary"]["rotated"], 3, "{report}");
    assert_eq!(report["summary"]["failed"], 0);
    for (i, f) in files.iter().enumerate() {
        // Decrypt checks the MAC: values and MAC survived, under a new data key.
        assert_eq!(decrypt_text(&sb, f), plains[i], "{}", f.display());
        assert_ne!(data_key(&sb, f), keys[i], "{}", f.display());
        assert!(std::fs::read_to_string(f)
            .unwrap()
            .contains("hush_rotated_at"));
    }
    assert_eq!(read_all(&unrelated), unrelated_before);

    // Right after, --older-than 30d has nothing to do.
    let after = read_all(&files);
    let mut cmd = hush(&sb);
    cmd.args([
        "rotate",
        "--all",
        "tree",
        "--older-than",
        "30d",
        "--output",
        "json",
    ]);
    let report = json_out(&run(cmd));
    assert_eq!(report["summary"]["rotated"], 0, "{report}");
    assert_eq!(report["summary"]["skipped"], 3, "{report}");
    assert_eq!(read_all(&files), after);
}

#[test]
fn killed_rotation_leaves_files_old_or_new_and_a_rerun_finishes() {
    const N: usize = 300;
    let sb = Sandbox::new();
    let first = encrypted_file(&sb, "tree/f000.yaml", PLAIN_YAML);
    backdate(&first);
    let template = std::fs::read(&first).unwrap();
    let files: Vec<PathBuf> = (0..N)
        .map(|i| {
            let p = sb.path(&format!("tree/f{i:03}.yaml"));
            std::fs::write(&p, &template).unwrap();
            p
        })
        .collect();
    let rotated = |files: &[PathBuf]| {
        files
            .iter()
            .filter(|f| std::fs::read(f).unwrap() != template)
            .count()
    };

    let mut cmd = hush(&sb);
    cmd.args(["rotate", "--all", "tree", "--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rotated(&files[..20]) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = rotated(&files);
    assert!(
        done > 0 && done < N,
        "kill landed mid-run: {done} of {N} rotated"
    );

    // Every file is either the old bytes or a complete new file that decrypts.
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        if bytes != template {
            assert_eq!(decrypt_text(&sb, f), PLAIN_YAML, "{}", f.display());
        }
    }

    let mut cmd = hush(&sb);
    cmd.args([
        "rotate",
        "--all",
        "tree",
        "--older-than",
        "1d",
        "--output",
        "json",
    ]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["summary"]["rotated"], N - done, "{report}");
    assert_eq!(report["summary"]["skipped"], done, "{report}");
    assert_eq!(rotated(&files), N);
    assert_eq!(decrypt_text(&sb, &files[N - 1]), PLAIN_YAML);
    // No temp file of the killed run is mistaken for a SOPS file.
    assert_eq!(report["files"].as_array().unwrap().len(), N);
}

fn other_recipient(sb: &Sandbox) -> String {
    let out = sb
        .command("age-keygen")
        .arg("-y")
        .arg(vector("age/other_identity.txt"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn updatekeys_all_removes_and_adds_recipients() {
    let sb = Sandbox::new();
    let files = [
        encrypted_file(&sb, "tree/a.yaml", PLAIN_YAML),
        encrypted_file(&sb, "tree/deep/b.yaml", "x: 1\n"),
    ];
    let other = other_recipient(&sb);
    sb.write(
        "tree/.sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {other}\n"),
    );
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    // No terminal, no --yes: the plan is shown and nothing changes.
    let mut cmd = hush(&sb);
    cmd.args(["updatekeys", "--all", "tree"]);
    let out = run(cmd);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains(&format!("+++ age {other}")),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(&format!("--- age {}", age_recipient())));
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(&std::fs::read(f).unwrap(), b);
    }

    let mut cmd = hush(&sb);
    cmd.args(["updatekeys", "--all", "--yes", "tree"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in &files {
        // The removed key no longer opens the file...
        let mut cmd = hush(&sb);
        cmd.arg("decrypt").arg(f);
        assert_eq!(code(&run(cmd)), 128, "{}", f.display());
        // ...and the added one does.
        let mut cmd = hush_bare(&sb);
        cmd.env("SOPS_AGE_KEY_FILE", vector("age/other_identity.txt"))
            .arg("decrypt")
            .arg(f);
        ok_stdout(&run(cmd));
    }
    // Values untouched: the ciphertext of a value is the same.
    let a_after = std::fs::read_to_string(&files[0]).unwrap();
    let a_before = String::from_utf8(before[0].clone()).unwrap();
    let line = |t: &str| {
        t.lines()
            .find(|l| l.contains("db_password"))
            .unwrap()
            .to_string()
    };
    assert_eq!(line(&a_before), line(&a_after));

    // Second run: nothing to do.
    let mut cmd = hush_bare(&sb);
    cmd.args(["updatekeys", "--all", "tree"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 of 2"), "{}", stderr(&out));
}

#[test]
fn rotation_status_reports_fresh_old_and_broken_files() {
    let sb = Sandbox::new();
    let fresh = encrypted_file(&sb, "tree/fresh.yaml", PLAIN_YAML);
    let mut cmd = hush(&sb);
    cmd.args(["rotate", "-i"]).arg(&fresh);
    ok_stdout(&run(cmd));
    let old = encrypted_file(&sb, "tree/old.yaml", PLAIN_YAML);
    backdate(&old);
    let never = encrypted_file(&sb, "tree/never-rotated.yaml", "y: 2\n");
    // Broken: an unreadable rotation time, and a JSON file cut off mid-write.
    let garbled = std::fs::read_to_string(&never).unwrap();
    let at = garbled.find("lastmodified: ").unwrap() + "lastmodified: ".len();
    let end = at + garbled[at..].find('\n').unwrap();
    sb.write(
        "tree/broken.yaml",
        format!("{}\"yesterday\"{}", &garbled[..at], &garbled[end..]),
    );
    let json = encrypted_file(&sb, "tree/torn.json", "{\"k\": \"v\"}");
    let json_text = std::fs::read_to_string(&json).unwrap();
    std::fs::write(&json, &json_text[..json_text.find("\"mac\"").unwrap() + 20]).unwrap();
    sb.write("tree/notes.txt", "nothing secret\n");

    let mut cmd = hush(&sb);
    cmd.args([
        "rotation",
        "status",
        "tree",
        "--max-age",
        "90d",
        "--output",
        "json",
    ]);
    let out = run(cmd);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json_out(&out);
    let rows = report["files"].as_array().unwrap();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {report}"))
    };
    assert_eq!(rows.len(), 5, "{report}");
    assert_eq!(row("fresh.yaml")["status"], "ok");
    assert_eq!(row("fresh.yaml")["age_source"], "hush_rotated_at");
    assert_eq!(row("never-rotated.yaml")["status"], "ok");
    assert_eq!(row("never-rotated.yaml")["age_source"], "lastmodified");
    assert_eq!(row("old.yaml")["status"], "overdue");
    assert!(row("old.yaml")["age_days"].as_u64().unwrap() > 365);
    assert_eq!(row("broken.yaml")["status"], "broken");
    assert_eq!(row("torn.json")["status"], "broken");
    assert_eq!(
        row("fresh.yaml")["recipients"][0],
        format!("age {}", age_recipient())
    );
    assert_eq!(report["summary"]["overdue"], 1);
    assert_eq!(report["summary"]["broken"], 2);

    let mut cmd = hush(&sb);
    cmd.args(["rotation", "status", "tree", "--output", "table"]);
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    let table = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap()
            .to_string()
    };
    assert!(table.starts_with("STATUS"), "{table}");
    assert!(line("old.yaml").starts_with("overdue"), "{table}");
    assert!(line("fresh.yaml").starts_with("ok"), "{table}");
    assert!(line("broken.yaml").starts_with("broken"), "{table}");

    // Only fresh files: exit 0. A generous --max-age makes old.yaml fresh too.
    std::fs::remove_file(sb.path("tree/broken.yaml")).unwrap();
    std::fs::remove_file(sb.path("tree/torn.json")).unwrap();
    let mut cmd = hush(&sb);
    cmd.args([
        "rotation",
        "status",
        "tree",
        "--max-age",
        "36500d",
        "-o",
        "json",
    ]);
    let out = run(cmd);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}
