//! `hush reseal --all`: offline with backed-up keys, and online against a tiny
//! in-test controller that implements `/v1/rotate` with a known key.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::*;
use hush_crypto::sealing::{
    generate_sealing_key, parse_certificate_pem, scope_label, seal, unseal_with_any,
    SealedSecretManifest, SealingKeyMaterial, SealingPrivateKey,
};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ndata:\n  password: aHVudGVyMg==\n";

fn key(name: &str) -> SealingKeyMaterial {
    generate_sealing_key(2048, name, SystemTime::now(), Duration::from_secs(86_400)).unwrap()
}

fn write_key(sb: &Sandbox, rel: &str, k: &SealingKeyMaterial) -> std::path::PathBuf {
    sb.write(rel, k.tls_key().unwrap().as_bytes())
}

/// Seals SECRET with `hush seal` to `k`'s certificate, at `rel`.
fn sealed_file(sb: &Sandbox, rel: &str, k: &SealingKeyMaterial) -> std::path::PathBuf {
    let cert = sb.write("old.crt", k.tls_crt());
    let secret = sb.write("secret.yaml", SECRET);
    let mut cmd = hush(sb);
    cmd.args(["seal", "--cert"])
        .arg(&cert)
        .args(["-o", "yaml", "-f"])
        .arg(&secret);
    let text = ok_stdout(&run(cmd));
    sb.write(rel, text)
}

/// The password as unsealed with only `key_file`, or None if it does not open.
fn unseal_with(sb: &Sandbox, sealed: &Path, key_file: &Path) -> Option<String> {
    let mut cmd = hush(sb);
    cmd.args([
        "seal",
        "--recovery-unseal",
        "-o",
        "yaml",
        "--recovery-private-key",
    ])
    .arg(key_file)
    .args(["-f"])
    .arg(sealed);
    let out = run(cmd);
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
        .map(|s| {
            s.lines()
                .find(|l| l.contains("password"))
                .unwrap()
                .trim()
                .to_string()
        })
}

#[test]
fn offline_reseal_moves_every_value_to_the_new_key() {
    let sb = Sandbox::new();
    let (old, new) = (key("old"), key("new"));
    let sealed = sealed_file(&sb, "tree/apps/db-sealed.yaml", &old);
    let other = sb.write("tree/apps/config.yaml", "kind: ConfigMap\n");
    let old_key = write_key(&sb, "keys/old.pem", &old);
    let new_key = write_key(&sb, "keys/new.pem", &new);
    let new_cert = sb.write("keys/new.crt", new.tls_crt());
    assert!(unseal_with(&sb, &sealed, &new_key).is_none());
    let password = unseal_with(&sb, &sealed, &old_key).unwrap();

    let reseal = |sb: &Sandbox| {
        let mut cmd = hush(sb);
        cmd.args(["reseal", "--all", "tree", "--recovery-private-key"])
            .arg(format!("{},{}", old_key.display(), new_key.display()))
            .arg("--cert")
            .arg(&new_cert);
        run(cmd)
    };
    let out = reseal(&sb);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 of 1"), "{}", stderr(&out));
    assert_eq!(
        unseal_with(&sb, &sealed, &new_key).as_deref(),
        Some(password.as_str())
    );
    assert!(unseal_with(&sb, &sealed, &old_key).is_none());
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "kind: ConfigMap\n"
    );

    // Already on the newest key: nothing to do, file byte-identical.
    let before = std::fs::read(&sealed).unwrap();
    let out = reseal(&sb);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 of 1"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&sealed).unwrap(), before);
}

/// A controller stand-in: answers one POST /v1/rotate per connection by
/// resealing every value from `old` to `new`.
fn serve_rotate(listener: TcpListener, old_pem: String, new_pem: String, new_cert: String) {
    let keys = [
        SealingPrivateKey::from_pem(&old_pem).unwrap(),
        SealingPrivateKey::from_pem(&new_pem).unwrap(),
    ];
    let new_public = parse_certificate_pem(&new_cert).unwrap().public_key;
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let (status, answer) = if request_line.starts_with("POST /v1/rotate ") {
            let mut sealed =
                SealedSecretManifest::parse_all(std::str::from_utf8(&body).unwrap()).unwrap();
            let mut s = sealed.remove(0);
            let label = scope_label(
                s.scope(),
                s.metadata.namespace.as_deref().unwrap(),
                s.metadata.name.as_deref().unwrap(),
            );
            let b64 = base64::engine::general_purpose::STANDARD;
            for v in s.spec.encrypted_data.values_mut() {
                let ct = b64.decode(v.as_bytes()).unwrap();
                let (_, plain) = unseal_with_any(&keys, &label, &ct).unwrap();
                *v = b64.encode(seal(&new_public, &label, &plain).unwrap());
            }
            (
                "200 OK",
                s.to_document(hush_crypto::sealing::DocumentFormat::Json),
            )
        } else {
            ("404 Not Found", String::new())
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
    }
}

#[test]
fn online_reseal_posts_each_sealed_secret_to_v1_rotate() {
    let sb = Sandbox::new();
    let (old, new) = (key("old"), key("new"));
    let sealed = sealed_file(&sb, "tree/db-sealed.yaml", &old);
    let old_key = write_key(&sb, "keys/old.pem", &old);
    let new_key = write_key(&sb, "keys/new.pem", &new);
    let password = unseal_with(&sb, &sealed, &old_key).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (old_pem, new_pem) = (
        old.tls_key().unwrap().to_string(),
        new.tls_key().unwrap().to_string(),
    );
    let new_cert = new.tls_crt();
    std::thread::spawn(move || serve_rotate(listener, old_pem, new_pem, new_cert));

    let mut cmd = hush(&sb);
    cmd.args(["reseal", "--all", "tree", "--controller-url", &url]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        unseal_with(&sb, &sealed, &new_key).as_deref(),
        Some(password.as_str())
    );
    assert!(unseal_with(&sb, &sealed, &old_key).is_none());
    // Still YAML, as it was.
    assert!(std::fs::read_to_string(&sealed).unwrap().starts_with("---"));
}

#[test]
fn reseal_with_nothing_to_reseal_needs_no_cluster() {
    let sb = Sandbox::new();
    sb.write("tree/app.yaml", "kind: ConfigMap\nmetadata:\n  name: app\n");
    let mut cmd = hush(&sb);
    // No kubeconfig anywhere: the default (service proxy) mode is never reached.
    cmd.args(["reseal", "--all", "tree"])
        .env("KUBECONFIG", sb.path("no-kubeconfig"));
    let out = run(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no SealedSecret under tree"),
        "{}",
        stderr(&out)
    );
}
