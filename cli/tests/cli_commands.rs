//! set, unset, rotate, updatekeys, filestatus, exec-env, exec-file, keygen and edit,
//! each on good and bad input, through the real binary.

mod common;
use common::*;

const PLAIN: &str = "a: one\nb: two\nnested:\n    c: three\n";

fn encrypted(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    let plain = sb.write(&format!("plain-{name}"), PLAIN);
    sb.write(name, encrypt_age(sb, &plain, &[]))
}

fn decrypt_text(sb: &Sandbox, path: &std::path::Path) -> String {
    let mut cmd = hush(sb);
    cmd.arg("decrypt").arg(path);
    ok_stdout(&run(cmd))
}

/// The recipient of the vectors' second age identity, computed by the real age-keygen.
fn other_recipient(sb: &Sandbox) -> String {
    let out = sb
        .command("age-keygen")
        .arg("-y")
        .arg(vector("age/other_identity.txt"))
        .output()
        .unwrap();
    let r = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(r.starts_with("age1"), "age-keygen -y failed: {r}");
    r
}

fn enc_line<'t>(text: &'t str, key: &str) -> &'t str {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap()
}

#[test]
fn set_changes_one_value_and_keeps_the_others_ciphertext() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    let mut cmd = hush(&sb);
    cmd.args(["set"])
        .arg(&path)
        .args(["[\"nested\"][\"c\"]", "\"changed\""]);
    ok_stdout(&run(cmd));
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        enc_line(&before, "a"),
        enc_line(&after, "a"),
        "unchanged values keep their IV"
    );
    assert_ne!(enc_line(&before, "c"), enc_line(&after, "c"));
    assert_eq!(
        decrypt_text(&sb, &path),
        "a: one\nb: two\nnested:\n    c: changed\n"
    );
    // A new key with a JSON object value.
    let mut cmd = hush(&sb);
    cmd.args(["set"]).arg(&path).args(["[\"d\"]", "{\"x\": 1}"]);
    ok_stdout(&run(cmd));
    assert!(decrypt_text(&sb, &path).ends_with("d:\n    x: 1\n"));
    // --idempotent with the same value leaves the file byte-identical.
    let snapshot = std::fs::read(&path).unwrap();
    let mut cmd = hush(&sb);
    cmd.args(["set", "--idempotent"])
        .arg(&path)
        .args(["[\"a\"]", "\"one\""]);
    ok_stdout(&run(cmd));
    assert_eq!(std::fs::read(&path).unwrap(), snapshot);
    // Invalid JSON: exit 7, file untouched, value not echoed.
    let mut cmd = hush(&sb);
    cmd.args(["set"])
        .arg(&path)
        .args(["[\"a\"]", "not-json-s3cret"]);
    let out = run(cmd);
    assert_eq!(code(&out), 7);
    assert!(!stderr(&out).contains("s3cret"));
    assert_eq!(std::fs::read(&path).unwrap(), snapshot);
    // A bad path: exit 91.
    let mut cmd = hush(&sb);
    cmd.args(["set"]).arg(&path).args(["a.b", "\"x\""]);
    assert_eq!(code(&run(cmd)), 91);
}

#[test]
fn set_reads_the_value_from_stdin_or_a_file() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let mut cmd = hush(&sb);
    cmd.args(["set", "--value-stdin"]).arg(&path).arg("[\"a\"]");
    let out = run_with_stdin(cmd, b"\"from stdin\"");
    assert!(out.status.success(), "{}", stderr(&out));
    let vf = sb.write("v.json", "\"from file\"");
    let mut cmd = hush(&sb);
    cmd.args(["set", "--value-file"])
        .arg(&vf)
        .arg(&path)
        .arg("[\"b\"]");
    ok_stdout(&run(cmd));
    assert!(decrypt_text(&sb, &path).starts_with("a: from stdin\nb: from file\n"));
}

#[test]
fn unset_removes_and_is_idempotent_on_request() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let mut cmd = hush(&sb);
    cmd.args(["unset"]).arg(&path).arg("[\"b\"]");
    ok_stdout(&run(cmd));
    assert_eq!(decrypt_text(&sb, &path), "a: one\nnested:\n    c: three\n");
    let mut cmd = hush(&sb);
    cmd.args(["unset"]).arg(&path).arg("[\"b\"]");
    assert_eq!(code(&run(cmd)), 91);
    let mut cmd = hush(&sb);
    cmd.args(["unset", "--idempotent"])
        .arg(&path)
        .arg("[\"b\"]");
    ok_stdout(&run(cmd));
}

#[test]
fn rotate_changes_the_data_key_and_every_ciphertext() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    let other_recipient = &other_recipient(&sb);
    let mut cmd = hush(&sb);
    cmd.args(["rotate", "-i", "--add-age", other_recipient])
        .arg(&path);
    ok_stdout(&run(cmd));
    let after = std::fs::read_to_string(&path).unwrap();
    for key in ["a", "b", "c"] {
        assert_ne!(enc_line(&before, key), enc_line(&after, key));
    }
    assert!(after.contains(other_recipient));
    assert_eq!(decrypt_text(&sb, &path), PLAIN);
    // --rm-age removes our own key: now only the other identity could open it.
    let mut cmd = hush(&sb);
    cmd.args(["rotate", "-i", "--rm-age", &age_recipient()])
        .arg(&path);
    ok_stdout(&run(cmd));
    let mut cmd = hush(&sb);
    cmd.arg("decrypt").arg(&path);
    assert_eq!(code(&run(cmd)), 128);
}

#[test]
fn updatekeys_follows_sops_yaml() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let other_identity = std::fs::read_to_string(vector("age/other_identity.txt")).unwrap();
    let other_recipient = {
        let out = sb
            .command("age-keygen")
            .arg("-y")
            .arg(vector("age/other_identity.txt"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert!(other_recipient.starts_with("age1"), "{other_recipient}");
    sb.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {other_recipient}\n"),
    );
    // Not on a terminal and no --yes: refused, nothing changed.
    let snapshot = std::fs::read(&path).unwrap();
    let mut cmd = hush(&sb);
    cmd.arg("updatekeys").arg(&path);
    assert_ne!(code(&run(cmd)), 0);
    assert_eq!(std::fs::read(&path).unwrap(), snapshot);
    let mut cmd = hush(&sb);
    cmd.args(["updatekeys", "--yes"]).arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("+++ age {other_recipient}")),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(&format!("--- age {}", age_recipient())));
    // Values untouched, old key removed, new key works.
    let after = std::fs::read_to_string(&path).unwrap();
    let before = String::from_utf8(snapshot).unwrap();
    assert_eq!(enc_line(&before, "a"), enc_line(&after, "a"));
    let mut cmd = hush(&sb);
    cmd.arg("decrypt").arg(&path);
    assert_eq!(
        code(&run(cmd)),
        128,
        "the removed key no longer opens the file"
    );
    let mut cmd = hush_bare(&sb);
    cmd.env("SOPS_AGE_KEY", other_identity.trim())
        .arg("decrypt")
        .arg(&path);
    assert_eq!(ok_stdout(&run(cmd)), PLAIN);
}

#[test]
fn creation_rules_are_found_walking_up_and_matched_by_path() {
    let sb = Sandbox::new();
    sb.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    encrypted_regex: ^secret$\n    age: {}\n  - age: {}\n",
            age_recipient(),
            age_recipient()
        ),
    );
    let prod = sb.write("prod/deep/app.yaml", "name: app\nsecret: x\n");
    let mut cmd = hush_bare(&sb);
    cmd.arg("encrypt").arg(&prod);
    let enc = ok_stdout(&run(cmd));
    assert!(enc.starts_with("name: app\nsecret: ENC["), "{enc}");
    let dev = sb.write("dev/app.yaml", "name: app\n");
    let mut cmd = hush_bare(&sb);
    cmd.arg("encrypt").arg(&dev);
    assert!(ok_stdout(&run(cmd)).starts_with("name: ENC["));
    // A broken config is a config error naming the file.
    sb.write(".sops.yaml", "creation_rules: {");
    let mut cmd = hush_bare(&sb);
    cmd.arg("encrypt").arg(&dev);
    let out = run(cmd);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains(".sops.yaml"));
}

#[test]
fn shamir_key_groups_from_sops_yaml() {
    let sb = Sandbox::new();
    let other = {
        let out = sb
            .command("age-keygen")
            .arg("-y")
            .arg(vector("age/other_identity.txt"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    sb.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age:\n          - {}\n      - age:\n          - {other}\n",
            age_recipient()
        ),
    );
    let plain = sb.write("s.yaml", PLAIN);
    let mut cmd = hush_bare(&sb);
    cmd.arg("encrypt").arg(&plain);
    let enc = ok_stdout(&run(cmd));
    assert!(
        enc.contains("    key_groups:\n") && enc.contains("    shamir_threshold: 2\n"),
        "{enc}"
    );
    let enc_path = sb.write("s.enc.yaml", &enc);
    // One group's identity is not enough.
    let mut cmd = hush(&sb);
    cmd.arg("decrypt").arg(&enc_path);
    assert_eq!(code(&run(cmd)), 128);
    // Both identities: decrypts.
    let both = format!(
        "{}\n{}",
        std::fs::read_to_string(age_identity_file()).unwrap().trim(),
        std::fs::read_to_string(vector("age/other_identity.txt"))
            .unwrap()
            .trim()
    );
    let mut cmd = hush_bare(&sb);
    cmd.env("SOPS_AGE_KEY", both).arg("decrypt").arg(&enc_path);
    assert_eq!(ok_stdout(&run(cmd)), PLAIN);
}

#[test]
fn filestatus_reports_json() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let plain = sb.write("p.yaml", PLAIN);
    for (p, expected) in [
        (&path, "{\"encrypted\":true}\n"),
        (&plain, "{\"encrypted\":false}\n"),
    ] {
        let mut cmd = hush_bare(&sb);
        cmd.arg("filestatus").arg(p);
        assert_eq!(ok_stdout(&run(cmd)), expected);
    }
}

#[test]
fn exec_env_and_exec_file() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    let mut cmd = hush(&sb);
    cmd.arg("exec-env")
        .arg(&path)
        .arg("printf '%s|%s' \"$a\" \"$b\"");
    assert_eq!(ok_stdout(&run(cmd)), "one|two");
    let mut cmd = hush(&sb);
    cmd.arg("exec-env").arg(&path).arg("exit 7");
    assert_eq!(
        code(&run(cmd)),
        7,
        "the command's exit code is passed through"
    );
    for extra in [&[][..], &["--no-fifo"][..]] {
        let mut cmd = hush(&sb);
        cmd.arg("exec-file")
            .args(extra)
            .arg(&path)
            .arg("cat {}; ls -l {} | cut -c1-10");
        let out = ok_stdout(&run(cmd));
        assert!(out.starts_with(PLAIN), "{out}");
        let kind = if extra.is_empty() {
            "prw-------"
        } else {
            "-rw-------"
        };
        assert!(out.ends_with(&format!("{kind}\n")), "{out}");
    }
    // The command that never reads the FIFO does not hang hush.
    let mut cmd = hush(&sb);
    cmd.arg("exec-file").arg(&path).arg("true");
    ok_stdout(&run(cmd));
}

#[test]
fn keygen_writes_a_private_identity_and_never_overwrites() {
    let sb = Sandbox::new();
    let key = sb.path("k.txt");
    let mut cmd = hush_bare(&sb);
    cmd.args(["keygen", "-o"]).arg(&key);
    let out = run(cmd);
    assert!(out.status.success());
    assert_eq!(mode_of(&key), 0o600);
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.lines().any(|l| l.starts_with("AGE-SECRET-KEY-1")));
    let recipient = stderr(&out)
        .trim()
        .trim_start_matches("Public key: ")
        .to_string();
    // Real age accepts the generated identity and recipient.
    let msg = sb.write("m.txt", "hi");
    let enc = sb
        .command("age")
        .args(["-r", &recipient, "-o"])
        .arg(sb.path("m.age"))
        .arg(&msg)
        .output()
        .unwrap();
    assert!(enc.status.success());
    let dec = sb
        .command("age")
        .args(["-d", "-i"])
        .arg(&key)
        .arg(sb.path("m.age"))
        .output()
        .unwrap();
    assert_eq!(dec.stdout, b"hi");
    let mut cmd = hush_bare(&sb);
    cmd.args(["keygen", "-o"]).arg(&key);
    assert_eq!(code(&run(cmd)), 3);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
}

#[test]
fn edit_reencrypts_changes_and_leaves_unchanged_files_alone() {
    let sb = Sandbox::new();
    let path = encrypted(&sb, "s.yaml");
    // An "editor" that records the temp file's mode and directory, then edits.
    let editor = sb.write(
        "editor.sh",
        format!(
            "#!/bin/sh\nstat -c %a \"$1\" > {dir}/mode\nstat -c %a \"$(dirname \"$1\")\" > {dir}/dirmode\necho \"$1\" > {dir}/where\nsed -i 's/two/TWO/' \"$1\"\n",
            dir = sb.dir.path().display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let mut cmd = hush(&sb);
    cmd.env("EDITOR", &editor).arg("edit").arg(&path);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(sb.path("mode")).unwrap().trim(),
        "600"
    );
    assert_eq!(
        std::fs::read_to_string(sb.path("dirmode")).unwrap().trim(),
        "700"
    );
    let tmp = std::fs::read_to_string(sb.path("where")).unwrap();
    assert!(
        !std::path::Path::new(tmp.trim()).exists(),
        "the plaintext temp file is removed"
    );
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(enc_line(&before, "a"), enc_line(&after, "a"));
    assert_eq!(
        decrypt_text(&sb, &path),
        "a: one\nb: TWO\nnested:\n    c: three\n"
    );
    // An editor that changes nothing: exit 200 and the file is untouched.
    let snapshot = std::fs::read(&path).unwrap();
    let mut cmd = hush(&sb);
    cmd.env("EDITOR", "true").arg("edit").arg(&path);
    assert_eq!(code(&run(cmd)), 200);
    assert_eq!(std::fs::read(&path).unwrap(), snapshot);
    // An editor that writes invalid YAML (not on a terminal): refused, file untouched.
    let mut cmd = hush(&sb);
    cmd.env("EDITOR", "sh -c 'echo \"a: [\" > \"$1\"' x")
        .arg("edit")
        .arg(&path);
    assert_ne!(code(&run(cmd)), 0);
    assert_eq!(std::fs::read(&path).unwrap(), snapshot);
}
