//! `hush render` (Argo CD plugin) and `hush kustomize-fn` (Kustomize exec KRM
//! function), including a real `kubectl kustomize --enable-alpha-plugins --enable-exec`
//! over `examples/kustomize/` when the installed kubectl has `--enable-exec`.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: s3cr3t-value\n";
const DEPLOYMENT: &str =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n";

fn encrypted_secret(sb: &Sandbox) -> String {
    let plain = sb.write("plain/secret.yaml", SECRET);
    encrypt_age(sb, &plain, &[])
}

#[test]
fn render_decrypts_sops_manifests_and_passes_the_rest_through() {
    let sb = Sandbox::new();
    let enc = encrypted_secret(&sb);
    assert!(!enc.contains("s3cr3t-value"));
    sb.write("app/secret.enc.yaml", &enc);
    sb.write("app/deploy.yaml", DEPLOYMENT);
    sb.write("app/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deploy.yaml]\n");
    sb.write("app/.sops.yaml", "creation_rules: []\n");
    sb.write("app/notes.txt", "not yaml");
    sb.write("app/values.yaml", "replicas: 3\n");
    let mut cmd = hush(&sb);
    cmd.args(["render", "app"]);
    let out = ok_stdout(&run(cmd));
    assert!(
        out.contains("name: web") && out.contains("replicas: 2"),
        "{out}"
    );
    assert!(out.contains("password: s3cr3t-value"), "{out}");
    assert!(!out.contains("sops:") && !out.contains("ENC["), "{out}");
    assert!(
        !out.contains("Kustomization") && !out.contains("replicas: 3"),
        "{out}"
    );
    assert_eq!(out.matches("---").count(), 1, "two documents: {out}");
}

#[test]
fn render_fails_without_the_key_and_names_the_file() {
    let sb = Sandbox::new();
    sb.write("app/secret.enc.yaml", encrypted_secret(&sb));
    let mut cmd = hush_bare(&sb);
    cmd.args(["render", "app"]);
    let out = run(cmd);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("secret.enc.yaml"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn kustomize_fn_decrypts_items_and_generates_from_files() {
    let sb = Sandbox::new();
    let enc = encrypted_secret(&sb);
    sb.write("k/secrets/db.enc.yaml", &enc);
    let indented: String = enc.lines().map(|l| format!("      {l}\n")).collect();
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: plain\n    data:\n      a: b\n  -\n{indented}functionConfig:\n  apiVersion: hush.dev/v1alpha1\n  kind: SopsGenerator\n  metadata:\n    name: gen\n  files:\n    - secrets/db.enc.yaml\n"
    );
    let mut cmd = hush(&sb);
    cmd.arg("kustomize-fn").current_dir(sb.path("k"));
    let out = run_with_stdin(cmd, list.as_bytes());
    let text = ok_stdout(&out);
    assert!(
        text.contains("kind: ResourceList") && text.contains("name: plain"),
        "{text}"
    );
    assert_eq!(
        text.matches("password: s3cr3t-value").count(),
        2,
        "item and generated file: {text}"
    );
    assert!(!text.contains("ENC["), "{text}");

    let mut bad = hush(&sb);
    bad.arg("kustomize-fn").current_dir(sb.path("k"));
    let out = run_with_stdin(
        bad,
        list.replace("secrets/db.enc.yaml", "../outside.yaml")
            .as_bytes(),
    );
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("inside the kustomization"),
        "{}",
        stderr(&out)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn kubectl() -> Option<PathBuf> {
    ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// PATH with the `hush` under test first: the examples' wrappers run `hush` from PATH.
fn path_with_hush() -> String {
    let bin_dir = Path::new(HUSH).parent().unwrap();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn kubectl_kustomize_runs_the_example_exec_function() {
    let Some(kubectl) = kubectl() else {
        eprintln!("skipped: kubectl is not installed (needed for kubectl kustomize)");
        return;
    };
    let help = std::process::Command::new(&kubectl)
        .args(["kustomize", "--help"])
        .output()
        .unwrap();
    if !String::from_utf8_lossy(&help.stdout).contains("--enable-exec") {
        eprintln!(
            "skipped: this kubectl's kustomize has no --enable-exec (exec KRM functions are off)"
        );
        return;
    }
    let sb = Sandbox::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kustomize");
    let dir = sb.path("kustomize");
    copy_dir(&example, &dir);
    let path = path_with_hush();
    let out = sb
        .command(&kubectl)
        .args(["kustomize", "--enable-alpha-plugins", "--enable-exec"])
        .arg(&dir)
        .env("PATH", path)
        .env("SOPS_AGE_KEY_FILE", age_identity_file())
        .output()
        .unwrap();
    let text = ok_stdout(&out);
    assert!(
        text.contains("kind: Secret") && text.contains("name: demo-db"),
        "{text}"
    );
    assert!(
        text.contains("password: correct-horse-battery-staple"),
        "{text}"
    );
    assert!(text.contains("kind: ConfigMap"), "{text}");
    assert!(!text.contains("ENC[") && !text.contains("sops:"), "{text}");
}

/// The same generator as a legacy exec plugin, which kubectl's own kustomize runs with
/// only `--enable-alpha-plugins`: real kubectl, real plugin lookup, hush from PATH.
#[test]
fn kubectl_kustomize_runs_the_example_legacy_exec_plugin() {
    let Some(kubectl) = kubectl() else {
        eprintln!("skipped: kubectl is not installed (needed for kubectl kustomize)");
        return;
    };
    let sb = Sandbox::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kustomize/plugin");
    let dir = sb.path("plugin");
    copy_dir(&example, &dir);
    let path = path_with_hush();
    let build = |key_file: &Path| {
        sb.command(&kubectl)
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(&dir)
            .env("PATH", &path)
            .env("KUSTOMIZE_PLUGIN_HOME", dir.join("plugins"))
            .env("SOPS_AGE_KEY_FILE", key_file)
            .output()
            .unwrap()
    };
    let text = ok_stdout(&build(&age_identity_file()));
    assert!(
        text.contains("kind: Secret") && text.contains("name: demo-db"),
        "{text}"
    );
    assert!(
        text.contains("password: correct-horse-battery-staple"),
        "{text}"
    );
    assert!(!text.contains("ENC[") && !text.contains("sops:"), "{text}");

    // With another identity the build fails, naming the file, and prints no ciphertext.
    let other = sb.path("other-keys.txt");
    ok_stdout(
        &sb.command(HUSH)
            .args(["keygen", "-o"])
            .arg(&other)
            .output()
            .unwrap(),
    );
    let out = build(&other);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("secrets/db.enc.yaml"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ENC["));
}
