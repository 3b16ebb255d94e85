//! `hush` with an age plugin recipient (`age1hushtest1…`) and identity
//! (`AGE-PLUGIN-HUSHTEST-1…`), served by the `age-plugin-hushtest` stand-in program
//! of the hush-tests crate (a real plugin-protocol program with toy cryptography,
//! standing in for plugins such as age-plugin-yubikey).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

const PLAIN: &str = "user: admin\npassword: hunter2\n";

/// The plugin program, built next to `hush` (`cargo test --workspace` builds it;
/// a run of this package alone builds it here).
fn plugin_dir() -> PathBuf {
    let dir = std::path::Path::new(HUSH).parent().unwrap().to_path_buf();
    if !dir.join("age-plugin-hushtest").exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "hush-tests",
                "--bin",
                "age-plugin-hushtest",
            ])
            .status()
            .expect("run cargo");
        assert!(status.success(), "building age-plugin-hushtest failed");
    }
    assert!(
        dir.join("age-plugin-hushtest").exists(),
        "{}",
        dir.display()
    );
    dir
}

fn with_plugin(sb: &Sandbox, dir: &std::path::Path) -> Command {
    let mut cmd = hush_bare(sb);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", dir.display()));
    cmd
}

#[test]
fn encrypt_and_decrypt_with_an_age_plugin() {
    let dir = plugin_dir();
    let sb = Sandbox::new();
    let out = Command::new(dir.join("age-plugin-hushtest"))
        .arg("--generate")
        .output()
        .unwrap();
    let identity = String::from_utf8(out.stdout).unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .unwrap()
        .to_string();
    let keys = sb.write("keys.txt", &identity);
    let plain = sb.write("s.yaml", PLAIN);

    let mut cmd = with_plugin(&sb, &dir);
    cmd.args(["encrypt", "-i", "--age", &recipient]).arg(&plain);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(text.contains(&format!("recipient: {recipient}")), "{text}");
    assert!(!text.contains("hunter2"));

    let mut cmd = with_plugin(&sb, &dir);
    cmd.env("SOPS_AGE_KEY_FILE", &keys)
        .arg("decrypt")
        .arg(&plain);
    let out = run(cmd);
    assert_eq!(ok_stdout(&out), PLAIN);
    // The plugin's message reaches the user on stderr.
    assert!(
        stderr(&out).contains("hush: age plugin: touch your test key"),
        "{}",
        stderr(&out)
    );

    // Without the plugin program: a one-line error naming it, exit code 128.
    let mut cmd = hush_bare(&sb);
    cmd.env("PATH", "/usr/bin:/bin")
        .env("SOPS_AGE_KEY_FILE", &keys)
        .arg("decrypt")
        .arg(&plain);
    let out = run(cmd);
    assert_eq!(code(&out), 128, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("age-plugin-hushtest was not found on PATH"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("AGE-PLUGIN-"),
        "identity in an error"
    );
}
