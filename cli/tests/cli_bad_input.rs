//! Bad input: one-line errors naming the file (and key path), sops' exit codes,
//! and nothing written or leaked.

mod common;
use common::*;

const PLAIN: &str = "db:\n    user: admin\n    password: pa55word\nport: 5432\n";

fn encrypted(sb: &Sandbox) -> std::path::PathBuf {
    let plain = sb.write("s.yaml", PLAIN);
    sb.write("s.enc.yaml", encrypt_age(sb, &plain, &[]))
}

fn decrypt(sb: &Sandbox, path: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = hush(sb);
    cmd.arg("decrypt").args(extra).arg(path);
    run(cmd)
}

fn assert_one_line_naming(out: &std::process::Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.contains(needle), "{err:?} should name {needle:?}");
    assert!(
        !err.contains("pa55word") && !err.contains("admin"),
        "error leaks a value: {err}"
    );
    assert!(out.stdout.is_empty(), "no partial output on failure");
}

#[test]
fn tampered_value_names_the_key_path() {
    let sb = Sandbox::new();
    let path = encrypted(&sb);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().find(|l| l.contains("password:")).unwrap();
    let pos = text.find(line).unwrap() + line.find("data:").unwrap() + 6;
    let mut bytes = text.into_bytes();
    bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
    std::fs::write(&path, bytes).unwrap();
    let out = decrypt(&sb, &path, &[]);
    assert_eq!(code(&out), 25);
    assert_one_line_naming(&out, "[\"db\"][\"password\"]");
    assert!(stderr(&out).contains("s.enc.yaml"));
}

#[test]
fn value_added_in_clear_is_refused() {
    let sb = Sandbox::new();
    let path = encrypted(&sb);
    let text =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("port: ENC", "port: 1\nxport: ENC", 1);
    std::fs::write(&path, text).unwrap();
    let out = decrypt(&sb, &path, &[]);
    assert_eq!(code(&out), 25);
    assert_one_line_naming(&out, "[\"port\"]");
}

#[test]
fn removed_value_fails_the_mac_unless_ignored() {
    let sb = Sandbox::new();
    let path = encrypted(&sb);
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("port:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let out = decrypt(&sb, &path, &[]);
    assert_eq!(code(&out), 51);
    assert_one_line_naming(&out, "MAC mismatch");
    let out = decrypt(&sb, &path, &["--ignore-mac"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn missing_mac_is_refused_with_52() {
    let sb = Sandbox::new();
    let path = encrypted(&sb);
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let out = decrypt(&sb, &path, &[]);
    assert_eq!(code(&out), 52);
    assert_one_line_naming(&out, "MAC not found");
}

#[test]
fn changed_lastmodified_is_refused() {
    let sb = Sandbox::new();
    let path = encrypted(&sb);
    let text = std::fs::read_to_string(&path).unwrap();
    let i = text.find("lastmodified: \"").unwrap() + 15;
    let mut bytes = text.into_bytes();
    bytes[i + 3] = if bytes[i + 3] == b'0' { b'1' } else { b'0' }; // year digit
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(code(&decrypt(&sb, &path, &[])), 24);
}

#[test]
fn wrong_identity_lists_the_keys_tried() {
    let sb = Sandbox::new();
    let path = encrypted(&sb);
    let mut cmd = hush_bare(&sb);
    cmd.env("SOPS_AGE_KEY_FILE", vector("age/other_identity.txt"))
        .arg("decrypt")
        .arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    assert_one_line_naming(&out, &age_recipient());
}

#[test]
fn not_encrypted_non_utf8_truncated_and_deep_inputs() {
    let sb = Sandbox::new();
    let plain = sb.write("plain.yaml", PLAIN);
    let out = decrypt(&sb, &plain, &[]);
    assert_eq!(code(&out), 2);
    assert_one_line_naming(&out, "plain.yaml");

    let bad = sb.write("bad.yaml", b"a: \xff\xfe\n");
    let mut cmd = hush(&sb);
    cmd.args(["encrypt", "--age", &age_recipient()]).arg(&bad);
    let out = run(cmd);
    assert_eq!(code(&out), 2);
    assert_one_line_naming(&out, "UTF-8");

    let enc = std::fs::read_to_string(encrypted(&sb)).unwrap();
    let truncated = sb.write("trunc.yaml", &enc[..enc.len() / 2]);
    let out = decrypt(&sb, &truncated, &[]);
    assert_ne!(code(&out), 0);
    assert_one_line_naming(&out, "trunc.yaml");

    for (name, text) in [
        (
            "deep.json",
            format!("{{\"a\":{}1{}}}", "[".repeat(200_000), "]".repeat(200_000)),
        ),
        (
            "deep.yaml",
            format!("a: {}1{}\n", "[".repeat(200_000), "]".repeat(200_000)),
        ),
    ] {
        let p = sb.write(name, text);
        let mut cmd = hush(&sb);
        cmd.args(["encrypt", "--age", &age_recipient()]).arg(&p);
        let out = run(cmd);
        assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
        assert_one_line_naming(&out, name);
    }
}

#[test]
fn no_keys_anywhere_exits_111() {
    let sb = Sandbox::new();
    let plain = sb.write("plain.yaml", PLAIN);
    let mut cmd = hush_bare(&sb);
    cmd.arg("encrypt").arg(&plain);
    let out = run(cmd);
    assert_eq!(code(&out), 111);
    assert_one_line_naming(&out, "plain.yaml");
}

#[test]
fn missing_input_exits_2() {
    let sb = Sandbox::new();
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "nope.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 2);
    assert_one_line_naming(&out, "nope.yaml");
}
