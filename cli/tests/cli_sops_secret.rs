//! `hush encrypt` / `hush decrypt` on `kind: SopsSecret`: the spec is sealed as a
//! nested SOPS document (metadata at `spec.sops`), so what Kubernetes and GitOps
//! tools add to the object's root, or a reordering of keys, does not break the MAC.

mod common;
use common::*;

const SOPS_SECRET: &str = "\
apiVersion: hush.dev/v1alpha1
kind: SopsSecret
metadata:
    name: db
    namespace: apps
spec:
    template:
        type: Opaque
        metadata:
            labels:
                app: db
    stringData:
        password: s3cr3t-value
";

fn encrypted(sb: &Sandbox) -> String {
    let plain = sb.write("db.yaml", SOPS_SECRET);
    encrypt_age(sb, &plain, &[])
}

#[test]
fn spec_is_sealed_and_root_stays_clear() {
    let sb = Sandbox::new();
    let enc = encrypted(&sb);
    assert!(!enc.contains("s3cr3t-value"), "{enc}");
    assert!(enc.contains("password: ENC["), "{enc}");
    assert!(enc.contains("type: Opaque"), "template stays clear: {enc}");
    assert!(enc.contains("kind: SopsSecret"));
    assert!(
        !enc.starts_with("sops:") && !enc.contains("\nsops:"),
        "no root metadata: {enc}"
    );
    assert!(enc.contains("    sops:"), "metadata under spec: {enc}");
    // Encrypting again is refused, as for any encrypted file.
    let again = sb.write("again.yaml", &enc);
    let mut cmd = hush(&sb);
    cmd.args(["encrypt", "--age", &age_recipient()]).arg(&again);
    assert_eq!(code(&run(cmd)), 203);
}

#[test]
fn decrypts_after_root_changes_and_refuses_a_tampered_spec() {
    let sb = Sandbox::new();
    let enc = encrypted(&sb);
    // What kubectl/Argo add at the root must not matter.
    let decorated = enc.replace(
        "    namespace: apps\n",
        "    namespace: apps\n    labels:\n        argocd.argoproj.io/instance: apps\n    resourceVersion: \"7\"\n",
    );
    let path = sb.write("decorated.yaml", &decorated);
    let mut cmd = hush(&sb);
    cmd.args(["decrypt"]).arg(&path);
    let out = ok_stdout(&run(cmd));
    assert!(out.contains("password: s3cr3t-value"), "{out}");
    assert!(!out.contains("sops:"), "{out}");

    let tampered = enc.replace("type: Opaque", "type: kubernetes.io/tls");
    let path = sb.write("tampered.yaml", &tampered);
    let mut cmd = hush(&sb);
    cmd.args(["decrypt"]).arg(&path);
    let out = run(cmd);
    assert_eq!(code(&out), 51, "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cr3t"));
}
