//! Benchmark: a SecretRepository with N SOPS-encrypted Secret manifests, the
//! SecretRepository controller in-process against the Kubernetes API stand-in.
//! Run through `benches/gitops/controller.sh`.
//!
//! Reports: first apply (N files), a new commit changing every file -> all Secrets
//! applied, a new commit changing 10 files, and what an interval without a new commit
//! costs (ref lookups, decryptions, writes). Writes the repository and the age identity
//! under BENCH_DIR so the script can time `hush decrypt` on the same files.
//! Settings (env): BENCH_FILES (1000), BENCH_DIR (required).

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use hush_controller::{
    crd::SecretRepository,
    gitrepo::{self, Context, Settings},
    notifier::Notifier,
    sops::keys::KeySecretRef,
};
use hush_crypto::{
    document::{self, EmitOptions, Format},
    metadata::Metadata,
    rules::Selector,
    sopsfile, DataKey, KeyGroup, MasterKey,
};
use hush_providers::{age::generate_identity, age::parse_recipient, flux_keys, KeyRing};
use hush_tests::standins::KubeStandin;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{ListParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    Api, Client, Config,
};

const NS: &str = "default";

fn sops_secret(ring: &KeyRing, recipient: &str, name: &str, password: &str) -> String {
    let plain = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\ntype: Opaque\nstringData:\n    password: {password}\n    user: app-{name}\n"
    );
    let mut docs = document::load_plain(Format::Yaml, plain.as_bytes()).unwrap();
    let groups: Vec<KeyGroup> = vec![vec![MasterKey {
        kind: parse_recipient(recipient).unwrap(),
        enc: String::new(),
        created_at: None,
    }]];
    let selector = Selector::from_field("encrypted_regex", "^(data|stringData)$")
        .unwrap()
        .unwrap();
    let mut metadata = Metadata::new(groups, None, selector, false);
    let key = DataKey::generate();
    let now = "2026-01-01T00:00:00Z";
    ring.wrap(&mut metadata.key_groups, None, &key, now)
        .unwrap();
    sopsfile::encrypt_documents(&mut docs, &mut metadata, &key, now, None).unwrap();
    String::from_utf8(
        document::emit_encrypted(Format::Yaml, &docs, &metadata, &EmitOptions::default()).unwrap(),
    )
    .unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=b", "-c", "user.email=b@example.org"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write_files(repo: &Path, ring: &KeyRing, recipient: &str, names: &[usize], round: usize) {
    for i in names {
        let name = format!("s{i:04}");
        let text = sops_secret(ring, recipient, &name, &format!("pw-{round}-{i}"));
        std::fs::write(repo.join("secrets").join(format!("{name}.yaml")), text).unwrap();
    }
}

async fn applied(client: &Client, round: usize, names: &[usize]) -> usize {
    let list = Api::<Secret>::namespaced(client.clone(), NS)
        .list(&ListParams::default())
        .await
        .unwrap();
    let want: std::collections::HashSet<String> =
        names.iter().map(|i| format!("s{i:04}")).collect();
    list.items
        .iter()
        .filter(|s| {
            let n = s.metadata.name.clone().unwrap_or_default();
            want.contains(&n)
                && s.data
                    .as_ref()
                    .and_then(|d| d.get("password"))
                    .is_some_and(|v| v.0.starts_with(format!("pw-{round}-").as_bytes()))
        })
        .count()
}

async fn wait_applied(client: &Client, round: usize, names: &[usize]) -> Duration {
    let start = Instant::now();
    while applied(client, round, names).await < names.len() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(start.elapsed() < Duration::from_secs(900), "timed out");
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = PathBuf::from(std::env::var("BENCH_DIR").expect("BENCH_DIR"));
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("secrets")).unwrap();
    let (identity, recipient) = generate_identity();
    std::fs::write(dir.join("key.txt"), identity.as_bytes()).unwrap();
    let ring = flux_keys::keyring_from_entries(&Default::default(), false)
        .unwrap()
        .ring;
    git(&dir, &["init", "-q", "-b", "main", "repo"]);
    let all: Vec<usize> = (0..n).collect();
    write_files(&repo, &ring, &recipient, &all, 1);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "first"]);

    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = KubeStandin::start().expect("stand-in");
    let kc = Kubeconfig::read_from(&kube.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    let keys = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("sops-keys".into()),
            namespace: Some(NS.into()),
            ..Default::default()
        },
        data: Some(
            [(
                "bench.agekey".to_string(),
                k8s_openapi::ByteString(identity.as_bytes().to_vec()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &keys)
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let ctx = Arc::new(Context::new(
        client.clone(),
        Notifier::none(),
        Settings {
            cache_dir: cache.path().to_path_buf(),
            apply_concurrency: 16,
            default_key_secret: Some(KeySecretRef {
                namespace: NS.into(),
                name: "sops-keys".into(),
            }),
            ..Settings::default()
        },
    ));
    let controller = tokio::spawn(gitrepo::run(ctx.clone()));
    let interval_secs = 1;
    let obj: SecretRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1", "kind": "SecretRepository",
        "metadata": { "name": "bench", "namespace": NS },
        "spec": { "url": format!("file://{}", repo.display()), "ref": { "branch": "main" },
                  "paths": ["secrets"], "interval": format!("{interval_secs}s") }
    }))
    .unwrap();
    let created = Instant::now();
    Api::<SecretRepository>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
    wait_applied(&client, 1, &all).await;
    println!(
        "first apply: {n} files in {:.2} s",
        created.elapsed().as_secs_f64()
    );

    // A new commit changing every file.
    write_files(&repo, &ring, &recipient, &all, 2);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "all"]);
    let t = wait_applied(&client, 2, &all).await;
    println!(
        "new commit changing {n} files -> all applied: {:.2} s (includes up to {interval_secs} s until the next poll)",
        t.as_secs_f64()
    );
    // A new commit changing 10 files.
    let some: Vec<usize> = (0..n.min(10)).collect();
    write_files(&repo, &ring, &recipient, &some, 3);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "some"]);
    let t = wait_applied(&client, 3, &some).await;
    println!(
        "new commit changing {} files -> applied: {:.2} s (includes up to {interval_secs} s until the next poll)",
        some.len(),
        t.as_secs_f64()
    );
    // Intervals without a new commit.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = &ctx.counters;
    let before = (
        c.ref_lookups.get(),
        c.fetches.get(),
        c.files_decrypted.get(),
        c.writes.get(),
    );
    let idle = 5u64;
    tokio::time::sleep(Duration::from_secs(idle * interval_secs)).await;
    println!(
        "{idle} intervals without a new commit: {} ref lookups, {} fetches, {} files decrypted, {} writes",
        c.ref_lookups.get() - before.0,
        c.fetches.get() - before.1,
        c.files_decrypted.get() - before.2,
        c.writes.get() - before.3
    );
    controller.abort();
}
