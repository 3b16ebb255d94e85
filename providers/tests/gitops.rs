//! The GitOps pull library against real repositories made by the `git` CLI, served
//! over file:// and by a real `git daemon` on 127.0.0.1.
#![cfg(feature = "gitops")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hush_crypto::document::{self, EmitOptions, Format};
use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{sopsfile, DataKey, KeyKind, MasterKey};
use hush_providers::age::generate_identity;
use hush_providers::gitops::{
    decrypt_secret, discover, Found, GitAuth, GitError, GitRef, Mirror, RepoSpec,
};
use hush_providers::{AgeSource, KeyRing};
use hush_tests::git::git;
use hush_tests::git_daemon::GitDaemon;
use zeroize::Zeroizing;

/// An age key pair, a key ring that can open files for it, and an encrypter.
struct Keys {
    recipient: String,
    ring: KeyRing,
}

impl Keys {
    fn new() -> Keys {
        let (identity, recipient) = generate_identity();
        let mut ring = KeyRing::new();
        ring.add_source(Arc::new(
            AgeSource::from_identities_text(&identity).unwrap(),
        ));
        Keys { recipient, ring }
    }

    /// A SOPS-encrypted Secret manifest (data and stringData encrypted, as Flux users do).
    fn secret(&self, name: &str, value: &str) -> String {
        let yaml = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: apps\ntype: Opaque\nstringData:\n    password: {value}\n"
        );
        self.encrypt(&yaml)
    }

    fn encrypt(&self, yaml: &str) -> String {
        let mut docs = document::load_plain(Format::Yaml, yaml.as_bytes()).unwrap();
        let selector = Selector::from_field("encrypted_regex", "^(data|stringData)$")
            .unwrap()
            .unwrap();
        let group = vec![MasterKey {
            kind: KeyKind::Age {
                recipient: self.recipient.clone(),
            },
            enc: String::new(),
            created_at: None,
        }];
        let mut metadata = Metadata::new(vec![group], None, selector, false);
        let key = DataKey::generate();
        let mut wrapping = KeyRing::new();
        wrapping.add_source(Arc::new(AgeSource::recipients_only()));
        wrapping
            .wrap(&mut metadata.key_groups, None, &key, "2026-01-01T00:00:00Z")
            .unwrap();
        sopsfile::encrypt_documents(&mut docs, &mut metadata, &key, "2026-01-01T00:00:00Z", None)
            .unwrap();
        String::from_utf8(
            document::emit_encrypted(Format::Yaml, &docs, &metadata, &EmitOptions::default())
                .unwrap(),
        )
        .unwrap()
    }
}

/// A work repository with a commit helper.
struct Work {
    dir: PathBuf,
}

impl Work {
    fn new(root: &Path) -> Work {
        let dir = root.join("work");
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        Work { dir }
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        git(&self.dir, &["add", "-A"]);
        git(&self.dir, &["commit", "-q", "--allow-empty", "-m", message]);
        git(&self.dir, &["rev-parse", "HEAD"])
    }
}

fn spec(url: &str, reference: GitRef) -> RepoSpec {
    RepoSpec {
        url: url.into(),
        reference,
        auth: GitAuth::None,
    }
}

fn paths(files: &[hush_providers::gitops::RepoFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

const SEALED: &str = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: sealed\n  namespace: apps\nspec:\n  encryptedData:\n    token: AgBy3i4OJSWK+PiTySYZZA==\n";

#[test]
fn file_url_follows_commits_that_add_change_and_remove_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let work = Work::new(tmp.path());
    work.write("apps/db.yaml", &keys.secret("db", "one"));
    work.write("apps/api.yaml", &keys.secret("api", "alpha"));
    work.write("apps/sealed.yaml", SEALED);
    work.write(
        "apps/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
    );
    work.write("other/ignored.yaml", &keys.secret("elsewhere", "zzz"));
    let first = work.commit("first");

    // A plain path is accepted and becomes file://.
    let mut mirror = Mirror::open(
        &tmp.path().join("cache"),
        spec(work.dir.to_str().unwrap(), GitRef::Branch("main".into())),
    )
    .unwrap();
    assert!(mirror.url().starts_with("file:///"));
    assert_eq!(mirror.last_fetched(), None);
    assert_eq!(mirror.remote_revision().unwrap(), first);
    assert_eq!(mirror.fetch().unwrap(), first);
    assert_eq!(mirror.last_fetched().as_deref(), Some(first.as_str()));

    let files = mirror.files_under(&first, &["apps".into()]).unwrap();
    assert_eq!(
        paths(&files),
        [
            "apps/api.yaml",
            "apps/db.yaml",
            "apps/deploy.yaml",
            "apps/sealed.yaml"
        ]
    );
    let found = discover(files);
    assert_eq!(found.len(), 3, "{found:?}");
    let mut secrets = Vec::new();
    for f in &found {
        match f {
            Found::SopsSecret(file) => secrets.extend(decrypt_secret(file, &keys.ring).unwrap()),
            Found::SealedSecret {
                manifest,
                source_path,
            } => {
                assert_eq!(source_path, "apps/sealed.yaml");
                assert_eq!(
                    manifest["spec"]["encryptedData"]["token"],
                    "AgBy3i4OJSWK+PiTySYZZA=="
                );
            }
        }
    }
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(secrets[0].name, "api");
    assert_eq!(secrets[1].data["password"].as_slice(), b"one");
    assert_eq!(secrets[1].namespace.as_deref(), Some("apps"));
    assert_eq!(secrets[1].source_path, "apps/db.yaml");

    // Change one, remove one.
    work.write("apps/db.yaml", &keys.secret("db", "two"));
    std::fs::remove_file(work.dir.join("apps/api.yaml")).unwrap();
    let second = work.commit("second");
    assert_eq!(mirror.remote_revision().unwrap(), second);
    assert_eq!(mirror.fetch().unwrap(), second);
    let files = mirror
        .files_under(&second, &["./apps/".into(), "apps/db.yaml".into()])
        .unwrap();
    assert_eq!(
        paths(&files),
        ["apps/db.yaml", "apps/deploy.yaml", "apps/sealed.yaml"]
    );
    let db = files.iter().find(|f| f.path == "apps/db.yaml").unwrap();
    assert_eq!(
        decrypt_secret(db, &keys.ring).unwrap()[0].data["password"].as_slice(),
        b"two"
    );
    // The old commit stays readable.
    assert_eq!(
        mirror.files_under(&first, &["apps".into()]).unwrap().len(),
        4
    );
    // The whole tree.
    assert_eq!(mirror.files_under(&second, &[]).unwrap().len(), 4);

    // Reopening the mirror (a restart) remembers the last fetch.
    let reopened = Mirror::open(
        &tmp.path().join("cache"),
        spec(work.dir.to_str().unwrap(), GitRef::Branch("main".into())),
    )
    .unwrap();
    assert_eq!(reopened.last_fetched().as_deref(), Some(second.as_str()));
}

#[test]
fn paths_outside_the_root_and_missing_paths_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let work = Work::new(tmp.path());
    work.write("a/x.yaml", "k: v\n");
    let head = work.commit("c");
    let url = format!("file://{}", work.dir.display());
    let mut mirror = Mirror::open(tmp.path(), spec(&url, GitRef::Branch("main".into()))).unwrap();
    mirror.fetch().unwrap();
    assert!(matches!(
        mirror.files_under(&head, &["../etc".into()]),
        Err(GitError::PathEscapesRoot(_))
    ));
    assert!(matches!(
        mirror.files_under(&head, &["a/../../x".into()]),
        Err(GitError::PathEscapesRoot(_))
    ));
    assert!(matches!(
        mirror.files_under(&head, &["nope".into()]),
        Err(GitError::PathNotFound { .. })
    ));
    assert!(matches!(
        mirror.files_under(&"0".repeat(40), &[]),
        Err(GitError::CommitNotFound(_))
    ));
}

#[test]
fn missing_branch_is_ref_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let work = Work::new(tmp.path());
    work.commit("c");
    let mut mirror = Mirror::open(
        tmp.path(),
        spec(work.dir.to_str().unwrap(), GitRef::Branch("nope".into())),
    )
    .unwrap();
    assert!(
        matches!(mirror.remote_revision(), Err(GitError::RefNotFound { .. })),
        "{:?}",
        mirror.remote_revision()
    );
    assert!(matches!(mirror.fetch(), Err(GitError::RefNotFound { .. })));
}

#[test]
fn tags_and_pinned_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let work = Work::new(tmp.path());
    work.write("s.yaml", "v: 1\n");
    let first = work.commit("one");
    git(&work.dir, &["tag", "-a", "v1", "-m", "release one"]);
    work.write("s.yaml", "v: 2\n");
    let second = work.commit("two");
    let cache = tmp.path().join("cache");

    let mut tagged = Mirror::open(
        &cache,
        spec(work.dir.to_str().unwrap(), GitRef::Tag("v1".into())),
    )
    .unwrap();
    // Annotated tags are peeled to their commit, remotely and locally.
    assert_eq!(tagged.remote_revision().unwrap(), first);
    assert_eq!(tagged.fetch().unwrap(), first);

    let mut pinned = Mirror::open(
        &cache,
        spec(work.dir.to_str().unwrap(), GitRef::Commit(second.clone())),
    )
    .unwrap();
    assert_eq!(pinned.remote_revision().unwrap(), second);
    assert_eq!(pinned.fetch().unwrap(), second);
    assert_eq!(
        pinned.files_under(&second, &[]).unwrap()[0].bytes,
        b"v: 2\n"
    );

    let mut unknown = Mirror::open(
        &cache,
        spec(work.dir.to_str().unwrap(), GitRef::Commit("1".repeat(40))),
    )
    .unwrap();
    assert!(matches!(unknown.fetch(), Err(GitError::CommitNotFound(_))));
}

#[test]
fn bad_mac_and_unknown_key_fail_one_file_by_name() {
    let keys = Keys::new();
    let other = Keys::new();
    let good = keys.secret("good", "fine");
    // Swap one encrypted value for another file's: decrypts, but the MAC no longer matches.
    let tampered = {
        let donor = keys.secret("good", "other");
        let value = |t: &str| {
            t.lines()
                .find(|l| l.contains("password: ENC["))
                .unwrap()
                .to_string()
        };
        good.replace(&value(&good), &value(&donor))
    };
    let file = |path: &str, text: &str| hush_providers::gitops::RepoFile {
        path: path.into(),
        blob_id: String::new(),
        bytes: text.as_bytes().to_vec(),
    };
    assert_eq!(
        decrypt_secret(&file("ok.yaml", &good), &keys.ring)
            .unwrap()
            .len(),
        1
    );
    // The tampered value was encrypted under another data key: decryption of the value
    // itself fails (AES-GCM tag) before the MAC is reached.
    let err = decrypt_secret(&file("bad.yaml", &tampered), &keys.ring).unwrap_err();
    assert_eq!(err.path, "bad.yaml");
    assert!(
        !err.to_string().contains("fine") && !err.to_string().contains("other"),
        "{err}"
    );

    // A clear value changed (the MAC covers it too): MAC mismatch.
    let mac_broken = good.replace("type: Opaque", "type: Other");
    assert_ne!(mac_broken, good);
    let err = decrypt_secret(&file("mac.yaml", &mac_broken), &keys.ring).unwrap_err();
    assert_eq!(err.reason(), "MacMismatch", "{err}");

    let err = decrypt_secret(&file("nokey.yaml", &good), &other.ring).unwrap_err();
    assert_eq!(err.reason(), "NoKey");
    assert!(err.to_string().starts_with("nokey.yaml: "), "{err}");
}

/// A bare origin pushed to from a work clone, so history can be rewritten and force-pushed.
fn origin_with_work(root: &Path) -> (PathBuf, Work) {
    let origin = root.join("served/origin.git");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "--bare", "-b", "main"]);
    let work = Work::new(root);
    git(
        &work.dir,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    (origin, work)
}

#[test]
fn force_push_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (origin, work) = origin_with_work(tmp.path());
    work.write("a.yaml", "v: 1\n");
    work.commit("one");
    work.write("a.yaml", "v: 2\n");
    let two = work.commit("two");
    git(&work.dir, &["push", "-q", "origin", "main"]);
    let mut mirror = Mirror::open(
        &tmp.path().join("cache"),
        spec(
            &format!("file://{}", origin.display()),
            GitRef::Branch("main".into()),
        ),
    )
    .unwrap();
    assert_eq!(mirror.fetch().unwrap(), two);

    git(&work.dir, &["reset", "-q", "--hard", "HEAD~1"]);
    work.write("a.yaml", "v: rewritten\n");
    let rewritten = work.commit("rewritten");
    git(&work.dir, &["push", "-q", "--force", "origin", "main"]);
    assert_eq!(mirror.remote_revision().unwrap(), rewritten);
    assert_eq!(mirror.fetch().unwrap(), rewritten);
    assert_eq!(
        mirror.files_under(&rewritten, &[]).unwrap()[0].bytes,
        b"v: rewritten\n"
    );
}

#[test]
fn git_daemon_then_unreachable_remote_keeps_the_last_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (_origin, work) = origin_with_work(tmp.path());
    work.write("apps/db.yaml", &keys.secret("db", "one"));
    let one = work.commit("one");
    git(&work.dir, &["push", "-q", "origin", "main"]);
    let mut daemon = GitDaemon::start(&tmp.path().join("served"));
    let url = format!("git://127.0.0.1:{}/origin.git", daemon.port);
    let mut mirror = Mirror::open(
        &tmp.path().join("cache"),
        spec(&url, GitRef::Branch("main".into())),
    )
    .unwrap();
    assert_eq!(mirror.remote_revision().unwrap(), one);
    assert_eq!(mirror.fetch().unwrap(), one);

    work.write("apps/db.yaml", &keys.secret("db", "two"));
    let two = work.commit("two");
    git(&work.dir, &["push", "-q", "origin", "main"]);
    assert_eq!(mirror.remote_revision().unwrap(), two);
    assert_eq!(mirror.fetch().unwrap(), two);

    daemon.stop();
    assert!(matches!(
        mirror.remote_revision(),
        Err(GitError::Remote { .. })
    ));
    let err = mirror.fetch().unwrap_err();
    assert!(matches!(err, GitError::Remote { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert_eq!(mirror.last_fetched().as_deref(), Some(two.as_str()));
    let files = mirror.files_under(&two, &["apps".into()]).unwrap();
    let Found::SopsSecret(file) = &discover(files)[0] else {
        panic!()
    };
    assert_eq!(
        decrypt_secret(file, &keys.ring).unwrap()[0].data["password"].as_slice(),
        b"two"
    );
}

#[test]
fn token_auth_is_not_in_errors() {
    // Nothing listens on this port: the error names the URL and never the token.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::open(
        tmp.path(),
        RepoSpec {
            url: format!("http://127.0.0.1:{port}/r.git"),
            reference: GitRef::Branch("main".into()),
            auth: GitAuth::Token {
                username: "git".into(),
                token: Zeroizing::new("tok-SECRET-123".into()),
            },
        },
    )
    .unwrap();
    let err = mirror.fetch().unwrap_err().to_string();
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && !err.contains("tok-SECRET"),
        "{err}"
    );
}

/// ssh:// against a real OpenSSH server on 127.0.0.1: the key and known_hosts from the
/// spec are the only ones used; a wrong host key is refused; no key text in errors.
#[test]
fn ssh_with_key_and_known_hosts_on_a_real_sshd() {
    let sshd = match hush_tests::sshd::Sshd::start() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (origin, work) = origin_with_work(tmp.path());
    work.write("apps/db.yaml", &keys.secret("db", "over-ssh"));
    let one = work.commit("one");
    git(&work.dir, &["push", "-q", "origin", "main"]);
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        sshd.user,
        sshd.port,
        origin.display()
    );
    let ssh_spec = |known_hosts: &str| RepoSpec {
        url: url.clone(),
        reference: GitRef::Branch("main".into()),
        auth: GitAuth::Ssh {
            private_key: Zeroizing::new(sshd.client_key.clone()),
            known_hosts: known_hosts.to_string(),
        },
    };

    let mut mirror = Mirror::open(&tmp.path().join("cache"), ssh_spec(&sshd.known_hosts)).unwrap();
    assert_eq!(mirror.remote_revision().unwrap(), one);
    assert_eq!(mirror.fetch().unwrap(), one);
    let files = mirror.files_under(&one, &["apps".into()]).unwrap();
    let Found::SopsSecret(file) = &discover(files)[0] else {
        panic!("a SOPS Secret")
    };
    assert_eq!(
        decrypt_secret(file, &keys.ring).unwrap()[0].data["password"].as_slice(),
        b"over-ssh"
    );
    // The key files live only for the connection.
    let leftovers: Vec<_> = walk(&tmp.path().join("cache"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "id"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Another host key under the same name: StrictHostKeyChecking refuses it.
    let wrong = sshd.known_hosts.replace(
        sshd.known_hosts.split_whitespace().nth(2).unwrap(),
        "AAAAC3NzaC1lZDI1NTE5AAAAIHn0UqKXy0Jm0QqB0q2wqz5t3mYb3m0wGZ8d3G8sM9lb",
    );
    let mut refused = Mirror::open(&tmp.path().join("cache2"), ssh_spec(&wrong)).unwrap();
    let err = refused.fetch().unwrap_err().to_string();
    assert!(
        !err.contains("PRIVATE KEY") && !err.contains(sshd.client_key.lines().nth(1).unwrap()),
        "{err}"
    );
    assert!(refused.last_fetched().is_none(), "{err}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// A token is never sent in clear text: against `git http-backend` on plain http://
/// that demands Basic auth (401 first), the client refuses to answer with the token,
/// and the error says why without showing it. (https with a token uses the same
/// credential callback; no TLS Git server with a trusted certificate is set up here.)
#[test]
fn token_is_never_sent_over_plain_http() {
    let tmp = tempfile::tempdir().unwrap();
    let (_origin, work) = origin_with_work(tmp.path());
    work.write("apps/db.yaml", "kind: ConfigMap\n");
    work.commit("one");
    git(&work.dir, &["push", "-q", "origin", "main"]);
    let server = hush_tests::git_http::GitHttp::start(
        &tmp.path().join("served"),
        "deploy-bot",
        "tok-RIGHT-123",
    );
    let url = format!("http://127.0.0.1:{}/origin.git", server.port);
    let mut mirror = Mirror::open(
        &tmp.path().join("cache"),
        RepoSpec {
            url: url.clone(),
            reference: GitRef::Branch("main".into()),
            auth: GitAuth::Token {
                username: "deploy-bot".into(),
                token: Zeroizing::new("tok-RIGHT-123".into()),
            },
        },
    )
    .unwrap();
    let err = mirror.fetch().unwrap_err().to_string();
    assert!(err.contains("clear text"), "{err}");
    assert!(!err.contains("tok-RIGHT"), "{err}");
    assert!(mirror.last_fetched().is_none());
    // Without credentials the server's 401 is what the user sees.
    let mut anonymous = Mirror::open(
        &tmp.path().join("cache2"),
        spec(&url, GitRef::Branch("main".into())),
    )
    .unwrap();
    assert!(anonymous.fetch().is_err());
}
