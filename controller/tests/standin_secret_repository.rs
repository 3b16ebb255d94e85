//! SecretRepository controller against the Kubernetes API stand-in (kmock + hush's
//! shim, not a real API server) and real Git repositories (`git` CLI commits, served
//! over file:// and by `git daemon` on 127.0.0.1): apply, prune, drift reverted
//! (edited and deleted), a bad file isolated (others applied, last good kept),
//! suspend, and an interval without a new commit that decrypts and writes nothing.

mod common;

use std::{path::PathBuf, process::Command, sync::Arc, time::Duration};

use common::{annotation, client_for, eventually, value, NS};
use hush_controller::{
    crd::{SealedSecret, SecretRepository},
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
use hush_providers::{age::generate_identity, age::parse_recipient, flux_keys};
use hush_tests::{git_daemon::GitDaemon, standins::KubeStandin};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{DeleteParams, Patch, PatchParams, PostParams},
    Api, Client,
};

const WAIT: Duration = Duration::from_secs(30);

struct Setup {
    _kube: KubeStandin,
    client: Client,
    ctx: Arc<Context>,
    controller: tokio::task::JoinHandle<()>,
    _cache: tempfile::TempDir,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

async fn start(identity: &str) -> Setup {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::DEBUG)
        .try_init();
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let client = client_for(&kube).await;
    let keys = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("sops-keys".into()),
            namespace: Some(NS.into()),
            ..Default::default()
        },
        data: Some(
            [(
                "cluster.agekey".to_string(),
                k8s_openapi::ByteString(identity.as_bytes().to_vec()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &keys)
        .await
        .expect("create key secret");
    let cache = tempfile::tempdir().unwrap();
    let ctx = Arc::new(Context::new(
        client.clone(),
        Notifier::none(),
        Settings {
            min_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(2),
            concurrency: 2,
            apply_concurrency: 8,
            cache_dir: cache.path().to_path_buf(),
            default_key_secret: Some(KeySecretRef {
                namespace: NS.into(),
                name: "sops-keys".into(),
            }),
        },
    ));
    let controller = tokio::spawn(gitrepo::run(ctx.clone()));
    Setup {
        _kube: kube,
        client,
        ctx,
        controller,
        _cache: cache,
    }
}

/// A `kind: Secret` manifest SOPS-encrypted to `recipient` the way `hush encrypt`
/// does it (only data/stringData encrypted, MAC over the document).
fn sops_secret(recipient: &str, name: &str, password: &str) -> String {
    let plain = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    labels:\n        app: {name}\ntype: Opaque\nstringData:\n    password: {password}\n"
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
    let ring = flux_keys::keyring_from_entries(&Default::default(), false)
        .unwrap()
        .ring;
    ring.wrap(&mut metadata.key_groups, None, &key, now)
        .unwrap();
    sopsfile::encrypt_documents(&mut docs, &mut metadata, &key, now, None).unwrap();
    String::from_utf8(
        document::emit_encrypted(Format::Yaml, &docs, &metadata, &EmitOptions::default()).unwrap(),
    )
    .unwrap()
}

const SEALED: &str = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: sealed-one\nspec:\n  encryptedData:\n    key: AgBy3i4OJSWK+PiTySYZZA==\n  template:\n    type: Opaque\n";

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main", "repo"]);
        repo
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn git(&self, args: &[&str]) -> String {
        let cwd = if args.first() == Some(&"init") {
            self.dir.path().to_path_buf()
        } else {
            self.path()
        };
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(cwd)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }
}

fn repository(name: &str, url: &str, interval: &str) -> SecretRepository {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1",
        "kind": "SecretRepository",
        "metadata": { "name": name, "namespace": NS },
        "spec": {
            "url": url,
            "ref": { "branch": "main" },
            "paths": ["secrets", "sealed"],
            "interval": interval
        }
    }))
    .unwrap()
}

async fn secret(client: &Client, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(client.clone(), NS)
        .get_opt(name)
        .await
        .unwrap()
}

async fn password_is(client: &Client, name: &str, want: &str) -> Option<Secret> {
    secret(client, name)
        .await
        .filter(|s| value(s, "password").as_deref() == Some(want))
}

async fn repo_status(
    client: &Client,
    name: &str,
) -> Option<hush_controller::crd::SecretRepositoryStatus> {
    Api::<SecretRepository>::namespaced(client.clone(), NS)
        .get_opt(name)
        .await
        .unwrap()?
        .status
}

#[tokio::test]
async fn standin_secret_repository_apply_prune_drift_bad_file_suspend() {
    let (identity, recipient) = generate_identity();
    let (_, foreign_recipient) = generate_identity();
    let repo = Repo::new();
    repo.write("secrets/a.yaml", &sops_secret(&recipient, "a", "pw-a1"));
    repo.write("secrets/b.yaml", &sops_secret(&recipient, "b", "pw-b1"));
    repo.write("secrets/c.yaml", &sops_secret(&recipient, "c", "pw-c1"));
    repo.write("secrets/README.md", "not a manifest\n");
    repo.write("sealed/one.yaml", SEALED);
    repo.write("elsewhere/d.yaml", &sops_secret(&recipient, "d", "pw-d1"));
    let first = repo.commit("first");

    let s = start(&identity).await;
    Api::<SecretRepository>::namespaced(s.client.clone(), NS)
        .create(
            &PostParams::default(),
            &repository("main", &repo.url(), "2s"),
        )
        .await
        .unwrap();

    // Apply: every Secret under the paths, recorded with commit and file.
    let a = eventually("a applied", WAIT, || password_is(&s.client, "a", "pw-a1")).await;
    assert_eq!(
        annotation(&a, "hush.dev/source-file").as_deref(),
        Some("secrets/a.yaml")
    );
    assert_eq!(
        annotation(&a, "hush.dev/source-revision").as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        a.metadata
            .labels
            .as_ref()
            .unwrap()
            .get("app")
            .map(String::as_str),
        Some("a")
    );
    assert_eq!(
        a.metadata.owner_references.as_ref().unwrap()[0].kind,
        "SecretRepository"
    );
    eventually("b applied", WAIT, || password_is(&s.client, "b", "pw-b1")).await;
    eventually("c applied", WAIT, || password_is(&s.client, "c", "pw-c1")).await;
    let sealed = eventually("SealedSecret applied", WAIT, || async {
        Api::<SealedSecret>::namespaced(s.client.clone(), NS)
            .get_opt("sealed-one")
            .await
            .unwrap()
    })
    .await;
    assert_eq!(sealed.spec.encrypted_data.len(), 1);
    assert!(secret(&s.client, "d").await.is_none(), "outside the paths");
    let status = eventually("status", WAIT, || async {
        repo_status(&s.client, "main")
            .await
            .filter(|st| st.last_applied_revision.as_deref() == Some(first.as_str()))
    })
    .await;
    assert_eq!(status.inventory.len(), 4, "{:?}", status.inventory);
    assert!(status.file_errors.is_empty());

    // A new commit: a changes, c leaves Git, b is encrypted to a key the cluster lacks.
    repo.write("secrets/a.yaml", &sops_secret(&recipient, "a", "pw-a2"));
    repo.remove("secrets/c.yaml");
    repo.write(
        "secrets/b.yaml",
        &sops_secret(&foreign_recipient, "b", "pw-b2"),
    );
    let second = repo.commit("second");
    let a = eventually("a updated", WAIT, || password_is(&s.client, "a", "pw-a2")).await;
    assert_eq!(
        annotation(&a, "hush.dev/source-revision").as_deref(),
        Some(second.as_str())
    );
    eventually("c pruned", WAIT, || async {
        secret(&s.client, "c").await.is_none().then_some(())
    })
    .await;
    let status = eventually("file error reported", WAIT, || async {
        repo_status(&s.client, "main")
            .await
            .filter(|st| st.last_applied_revision.as_deref() == Some(second.as_str()))
    })
    .await;
    assert_eq!(status.file_errors.len(), 1, "{:?}", status.file_errors);
    assert_eq!(status.file_errors[0].path, "secrets/b.yaml");
    assert_eq!(status.file_errors[0].reason, "NoKey");
    assert!(!status.file_errors[0].message.contains("pw-b"));
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "FilesFailed")
    );
    assert!(
        password_is(&s.client, "b", "pw-b1").await.is_some(),
        "the failed file's last good Secret is kept"
    );
    assert!(
        status.inventory.iter().any(|e| e.name == "b"),
        "b stays in the inventory"
    );

    // Fix b; everything converges, Ready again.
    repo.write("secrets/b.yaml", &sops_secret(&recipient, "b", "pw-b3"));
    repo.commit("fix b");
    eventually("b fixed", WAIT, || password_is(&s.client, "b", "pw-b3")).await;
    eventually("Ready", WAIT, || async {
        repo_status(&s.client, "main").await.filter(|st| {
            st.file_errors.is_empty()
                && st
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await;

    // Drift: an edited Secret and a deleted Secret are put back from Git.
    Api::<Secret>::namespaced(s.client.clone(), NS)
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "data": { "password": "aGFja2Vk" } })),
        )
        .await
        .unwrap();
    eventually("edited a restored", WAIT, || {
        password_is(&s.client, "a", "pw-a2")
    })
    .await;
    Api::<Secret>::namespaced(s.client.clone(), NS)
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    eventually("deleted a recreated", WAIT, || {
        password_is(&s.client, "a", "pw-a2")
    })
    .await;
    assert!(s.ctx.counters.drift_reverted.get() >= 2);

    // An interval without a new commit: ref lookups, but no decryption and no write.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (lookups, decrypted, writes) = (
        s.ctx.counters.ref_lookups.get(),
        s.ctx.counters.files_decrypted.get(),
        s.ctx.counters.writes.get(),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        s.ctx.counters.ref_lookups.get() > lookups,
        "the remote is still polled"
    );
    assert_eq!(
        s.ctx.counters.files_decrypted.get(),
        decrypted,
        "no decryption"
    );
    assert_eq!(s.ctx.counters.writes.get(), writes, "no write");

    // Suspend: a new commit is not applied until resumed.
    Api::<SecretRepository>::namespaced(s.client.clone(), NS)
        .patch(
            "main",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "spec": { "suspend": true } })),
        )
        .await
        .unwrap();
    eventually("Suspended condition", WAIT, || async {
        repo_status(&s.client, "main")
            .await
            .filter(|st| st.conditions.iter().any(|c| c.type_ == "Suspended"))
    })
    .await;
    repo.write("secrets/a.yaml", &sops_secret(&recipient, "a", "pw-a3"));
    repo.commit("while suspended");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        password_is(&s.client, "a", "pw-a2").await.is_some(),
        "suspended: not applied"
    );
    Api::<SecretRepository>::namespaced(s.client.clone(), NS)
        .patch(
            "main",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "spec": { "suspend": false } })),
        )
        .await
        .unwrap();
    eventually("resumed", WAIT, || password_is(&s.client, "a", "pw-a3")).await;
}

#[tokio::test]
async fn standin_secret_repository_over_git_daemon() {
    let (identity, recipient) = generate_identity();
    let repo = Repo::new();
    repo.write("secrets/a.yaml", &sops_secret(&recipient, "a", "over-git"));
    repo.commit("first");
    let daemon = GitDaemon::start(repo.dir.path());
    let s = start(&identity).await;
    let url = format!("git://127.0.0.1:{}/repo", daemon.port);
    Api::<SecretRepository>::namespaced(s.client.clone(), NS)
        .create(&PostParams::default(), &repository("daemon", &url, "2s"))
        .await
        .unwrap();
    eventually("applied over git://", WAIT, || {
        password_is(&s.client, "a", "over-git")
    })
    .await;
    // `sealed` (one of the two paths) does not exist: reported, the rest applied.
    let status = eventually("missing path reported", WAIT, || async {
        repo_status(&s.client, "daemon")
            .await
            .filter(|st| !st.file_errors.is_empty())
    })
    .await;
    assert_eq!(status.file_errors.len(), 1, "{:?}", status.file_errors);
    assert_eq!(
        (
            status.file_errors[0].path.as_str(),
            status.file_errors[0].reason.as_str()
        ),
        ("sealed", "PathNotFound")
    );

    // The whole `secrets` directory moves away: what came from it is kept, not pruned,
    // and both missing paths are reported.
    repo.git(&["mv", "secrets", "moved"]);
    let moved = repo.commit("move secrets");
    let status = eventually("both paths missing", WAIT, || async {
        repo_status(&s.client, "daemon")
            .await
            .filter(|st| st.last_applied_revision.as_deref() == Some(moved.as_str()))
    })
    .await;
    let mut missing: Vec<(&str, &str)> = status
        .file_errors
        .iter()
        .map(|e| (e.path.as_str(), e.reason.as_str()))
        .collect();
    missing.sort();
    assert_eq!(
        missing,
        vec![("sealed", "PathNotFound"), ("secrets", "PathNotFound")]
    );
    assert!(
        status.inventory.iter().any(|e| e.name == "a"),
        "{:?}",
        status.inventory
    );
    assert!(
        password_is(&s.client, "a", "over-git").await.is_some(),
        "a Secret from a path gone missing is kept"
    );

    // After a controller restart (nothing in memory) it is still kept: status says where
    // it came from.
    let mut s = s;
    s.controller.abort();
    let settings = s.ctx.settings.clone();
    s.ctx = Arc::new(Context::new(s.client.clone(), Notifier::none(), settings));
    s.controller = tokio::spawn(gitrepo::run(s.ctx.clone()));
    let fresh = s.ctx.clone();
    eventually("a pass after the restart", WAIT, || {
        let fresh = fresh.clone();
        async move { (fresh.counters.ref_lookups.get() >= 1).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        password_is(&s.client, "a", "over-git").await.is_some(),
        "kept after a restart"
    );
    let status = repo_status(&s.client, "daemon").await.unwrap();
    assert!(
        status.inventory.iter().any(|e| e.name == "a"),
        "{:?}",
        status.inventory
    );
    assert_eq!(s.ctx.counters.prunes.get(), 0);
}
