//! The CronJob's script (`examples/rotation-cronjob/rotate-and-push.sh`) against a
//! local bare repository, with the real `hush` binary on PATH: the rotation
//! lands on a new branch, `main` is untouched.

mod common;

use std::path::Path;

use common::*;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/rotation-cronjob/rotate-and-push.sh"
);

fn git(sb: &Sandbox, dir: &Path, args: &[&str]) -> String {
    let out = sb
        .command("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@localhost"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .expect("git must be installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn cronjob_script_pushes_a_rotation_branch_and_leaves_main_alone() {
    let sb = Sandbox::new();
    let bare = sb.path("origin.git");
    git(
        &sb,
        sb.dir.path(),
        &["init", "--bare", "-q", bare.to_str().unwrap()],
    );
    let seed = sb.path("seed");
    git(&sb, sb.dir.path(), &["init", "-q", seed.to_str().unwrap()]);

    sb.write(
        "seed/secrets/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n",
            age_recipient()
        ),
    );
    let plain = sb.write("plain.yaml", "password: hunter2\n");
    let encrypted = encrypt_age(&sb, &plain, &[]);
    // Backdated so that --older-than 30d picks it up (the stamp is outside the MAC).
    let encrypted = encrypted.replacen(
        "\nsops:\n",
        "\nsops:\n    hush_rotated_at: \"2020-01-01T00:00:00Z\"\n",
        1,
    );
    sb.write("seed/secrets/app.yaml", &encrypted);
    sb.write("seed/README.md", "gitops\n");
    git(&sb, &seed, &["add", "-A"]);
    git(&sb, &seed, &["commit", "-q", "-m", "seed"]);
    git(
        &sb,
        &seed,
        &["push", "-q", bare.to_str().unwrap(), "HEAD:refs/heads/main"],
    );
    let main_before = git(&sb, &bare, &["rev-parse", "refs/heads/main"]);

    // `hush` on PATH is the binary under test.
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(HUSH, bin.join("hush")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut cmd = sb.command("sh");
    cmd.arg(SCRIPT)
        .env("PATH", path)
        .env("REPO_URL", &bare)
        .env("BRANCH", "hush/rotation-test")
        .env("TREE", "secrets")
        .env("WORKDIR", sb.path("work"))
        .env("SOPS_AGE_KEY_FILE", age_identity_file());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    assert_eq!(
        git(&sb, &bare, &["rev-parse", "refs/heads/main"]),
        main_before
    );
    let branch = git(&sb, &bare, &["rev-parse", "refs/heads/hush/rotation-test"]);
    assert_ne!(branch, main_before);
    let changed = git(&sb, &bare, &["diff", "--name-only", &main_before, &branch]);
    assert_eq!(changed, "secrets/app.yaml");
    let message = git(&sb, &bare, &["log", "-1", "--format=%B", &branch]);
    assert!(message.contains("\"rotated\": 1"), "{message}");

    // The rotated file on the branch still decrypts to the same value.
    let rotated = git(&sb, &bare, &["show", &format!("{branch}:secrets/app.yaml")]);
    let file = sb.write("check/app.yaml", rotated + "\n");
    let mut cmd = hush(&sb);
    cmd.arg("decrypt").arg(&file);
    assert_eq!(ok_stdout(&run(cmd)), "password: hunter2\n");

    // A second run right after finds nothing to rotate and pushes nothing.
    let mut cmd = sb.command("sh");
    cmd.arg(SCRIPT)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("REPO_URL", &bare)
        .env("BASE_BRANCH", "hush/rotation-test")
        .env("BRANCH", "hush/rotation-again")
        .env("TREE", "secrets")
        .env("WORKDIR", sb.path("work2"))
        .env("SOPS_AGE_KEY_FILE", age_identity_file());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to rotate"));
}
