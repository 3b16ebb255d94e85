//! `hush groups add|delete` (as `sops groups`): Shamir key groups change, the data
//! key, values and MAC do not; bad requests leave the file untouched.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const PLAIN: &str = "user: admin\npassword: hunter2\n";

struct Key {
    identity: String,
    recipient: String,
}

fn key() -> Key {
    let (identity, recipient) = hush_providers::age::generate_identity();
    Key {
        identity: identity.to_string(),
        recipient,
    }
}

/// `hush` holding exactly these identities.
fn hush_with(sb: &Sandbox, keys: &[&Key]) -> Command {
    let mut cmd = hush_bare(sb);
    let text: String = keys.iter().map(|k| k.identity.as_str()).collect();
    cmd.env("SOPS_AGE_KEY", text);
    cmd
}

fn decrypts_with(sb: &Sandbox, path: &Path, keys: &[&Key]) -> bool {
    let mut cmd = hush_with(sb, keys);
    cmd.arg("decrypt").arg(path);
    let out = run(cmd);
    if out.status.success() {
        assert_eq!(String::from_utf8_lossy(&out.stdout), PLAIN);
        true
    } else {
        assert_eq!(code(&out), 128, "{}", stderr(&out));
        false
    }
}

/// A file encrypted to `first`'s recipient only.
fn encrypted_for(sb: &Sandbox, first: &Key) -> std::path::PathBuf {
    let path = sb.write("s.yaml", PLAIN);
    let mut cmd = hush_bare(sb);
    cmd.args(["encrypt", "-i", "--age", &first.recipient])
        .arg(&path);
    ok_stdout(&run(cmd));
    path
}

/// `hush groups add -i` of a group holding `added`, opened with `opener`.
fn add_group(sb: &Sandbox, path: &Path, opener: &[&Key], added: &Key, extra: &[&str]) {
    let mut cmd = hush_with(sb, opener);
    cmd.args(["groups", "add", "-i"])
        .args(extra)
        .arg("--file")
        .arg(path)
        .args(["--age", &added.recipient]);
    ok_stdout(&run(cmd));
}

fn mac_of(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("mac: "))
        .expect("mac line")
        .to_string()
}

fn groups(text: &str) -> usize {
    text.lines().filter(|l| l.trim() == "- age:").count()
}

#[test]
fn add_and_delete_groups_keep_values_and_mac() {
    let (a, b, c) = (key(), key(), key());
    let sb = Sandbox::new();
    let path = encrypted_for(&sb, &a);
    let before = std::fs::read_to_string(&path).unwrap();

    // Without -i the result goes to stdout and the file stays as it is.
    let mut cmd = hush_with(&sb, &[&a]);
    cmd.args(["groups", "add", "--file"])
        .arg(&path)
        .args(["--age", &b.recipient]);
    let printed = ok_stdout(&run(cmd));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert!(printed.contains(&b.recipient));

    // A second group: by default both are needed.
    add_group(&sb, &path, &[&a], &b, &[]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(groups(&text), 2, "{text}");
    assert_eq!(mac_of(&text), mac_of(&before), "the MAC is untouched");
    assert!(!decrypts_with(&sb, &path, &[&a]));
    assert!(!decrypts_with(&sb, &path, &[&b]));
    assert!(decrypts_with(&sb, &path, &[&a, &b]));

    // A third group with threshold 1: any one group opens the file.
    let mut cmd = hush_with(&sb, &[&a, &b]);
    cmd.args([
        "groups",
        "add",
        "-i",
        "--shamir-secret-sharing-threshold",
        "1",
        "--file",
    ])
    .arg(&path)
    .args(["--age", &c.recipient]);
    ok_stdout(&run(cmd));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(groups(&text), 3, "{text}");
    assert!(text.contains("shamir_threshold: 1"), "{text}");
    for k in [&a, &b, &c] {
        assert!(decrypts_with(&sb, &path, &[k]));
    }

    // Delete the first group: its key no longer opens the file.
    let mut cmd = hush_with(&sb, &[&c]);
    cmd.args(["groups", "delete", "-i", "--file"])
        .arg(&path)
        .arg("0");
    ok_stdout(&run(cmd));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(groups(&text), 2, "{text}");
    assert!(!text.contains(&a.recipient), "{text}");
    assert!(!decrypts_with(&sb, &path, &[&a]));
    assert!(decrypts_with(&sb, &path, &[&b]));
    assert!(decrypts_with(&sb, &path, &[&c]));
    assert_eq!(mac_of(&text), mac_of(&before));
}

#[test]
fn bad_requests_name_the_file_and_change_nothing() {
    let (a, b) = (key(), key());
    let sb = Sandbox::new();
    let path = encrypted_for(&sb, &a);
    add_group(&sb, &path, &[&a], &b, &[]);
    let before = std::fs::read_to_string(&path).unwrap();

    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec!["add".into()], 111, "at least one key"),
        (vec!["delete".into(), "5".into()], 1, "no key group 5"),
        (
            vec![
                "add".into(),
                "--shamir-secret-sharing-threshold".into(),
                "4".into(),
                "--age".into(),
                b.recipient.clone(),
            ],
            1,
            "threshold 4",
        ),
        (
            vec!["add".into(), "--age".into(), "age1notarecipient".into()],
            1,
            "age1notarecipient",
        ),
    ];
    for (args, expected, message) in cases {
        let mut cmd = hush_with(&sb, &[&a, &b]);
        cmd.arg("groups")
            .arg(&args[0])
            .args(["-i", "--file"])
            .arg(&path)
            .args(&args[1..]);
        let out = run(cmd);
        assert_eq!(code(&out), expected, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{args:?}");
    }

    // Deleting down to one group, then the last one is refused.
    let mut cmd = hush_with(&sb, &[&a, &b]);
    cmd.args(["groups", "delete", "-i", "--file"])
        .arg(&path)
        .arg("1");
    ok_stdout(&run(cmd));
    let one = std::fs::read_to_string(&path).unwrap();
    assert!(!one.contains("shamir_threshold"), "{one}");
    assert!(decrypts_with(&sb, &path, &[&a]));
    let mut cmd = hush_with(&sb, &[&a]);
    cmd.args(["groups", "delete", "-i", "--file"])
        .arg(&path)
        .arg("0");
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("only key group"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), one);

    // Without the keys to open the data key: exit 128, file untouched.
    let c = key();
    let mut cmd = hush_with(&sb, &[&c]);
    cmd.args(["groups", "add", "-i", "--file"])
        .arg(&path)
        .args(["--age", &c.recipient]);
    let out = run(cmd);
    assert_eq!(code(&out), 128, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), one);
}
