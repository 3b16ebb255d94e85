//! One reconcile of a SecretRepository:
//!
//! 1. one ref lookup on the remote;
//! 2. one LIST of the namespace's Secrets and SealedSecrets: drift (an object from Git
//!    missing, or a Secret whose data no longer matches what hush wrote);
//! 3. nothing new and no drift: done (no fetch, no decryption, no write);
//! 4. otherwise fetch, read the files, decrypt only changed or drifted files, apply
//!    only objects that differ, prune what left Git (only from the inventory), and
//!    report per-file errors, keeping a failed file's last good objects.
//!
//! Objects go into the SecretRepository's own namespace; a manifest naming another
//! namespace is a file error (a repository cannot write across namespaces).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use futures::{stream, StreamExt, TryStreamExt};
use hush_providers::{
    gitops::{
        decrypt_secret, discover, DesiredSecret, FileError, Found, GitAuth, GitRef, Mirror,
        PathListing, RepoFile, RepoSpec,
    },
    KeyRing,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{DeleteParams, ListParams, Patch, PatchParams},
    runtime::controller::Action,
    Api, Resource, ResourceExt,
};
use sha2::{Digest, Sha256};

use super::{
    state::{FileMemo, Output, RepoState},
    Context, Error, SOURCE_FILE, SOURCE_REPOSITORY, SOURCE_REVISION,
};
use crate::{
    crd::{
        FileErrorStatus, InventoryEntry, SealedSecret, SecretRepository, SecretRepositoryStatus,
    },
    duration,
    kube_util::{
        self,
        conditions::{self, Desired, READY},
        ownership, rfc3339,
    },
    notifier::NotificationKind,
    sops::{
        keys::{self, KeySecretRef},
        secret::{self, Shape},
    },
};

const KIND: &str = "SecretRepository";
const API_VERSION: &str = "hush.dev/v1alpha1";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
const SECRET: &str = "Secret";
const SEALED: &str = "SealedSecret";

/// A failure of the whole reconcile (Git, spec, keys), reported in Ready.
struct Failure {
    reason: &'static str,
    message: String,
    retry: bool,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            retry: true,
        }
    }
}

/// What one file yields after decryption.
enum Decrypted {
    Secrets(Vec<DesiredSecret>),
    Sealed(Box<serde_json::Value>),
    Failed(FileError),
}

pub async fn reconcile(obj: Arc<SecretRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let name = obj.name_any();
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let key = (namespace.clone(), name.clone());
    if obj.spec.suspend {
        tracing::debug!(%namespace, %name, "suspended");
        let mut status = obj.status.clone().unwrap_or_default();
        conditions::set(
            &mut status.conditions,
            Desired {
                type_: "Suspended",
                status: true,
                reason: "Suspended",
                message: "spec.suspend is true: no pull, apply, prune or drift revert".into(),
                observed_generation: obj.meta().generation,
            },
            &rfc3339(jiff::Timestamp::now()),
        );
        patch_status(&obj, &ctx, &status).await?;
        return Ok(Action::await_change());
    }
    let interval = match obj.spec.interval.as_deref().map(duration::parse) {
        None => DEFAULT_INTERVAL,
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => DEFAULT_INTERVAL,
        Some(Err(e)) => {
            let f = Failure {
                retry: false,
                ..Failure::new("InvalidSpec", format!("interval: {e}"))
            };
            return report_failure(&obj, &ctx, &key, f).await;
        }
    };
    let state_lock = ctx.repo_state(&key);
    let mut state = state_lock.lock().await;
    match sync(&obj, &ctx, &namespace, &name, interval, &mut state).await? {
        Ok(()) => {
            ctx.failures.reset(&key);
            Ok(Action::requeue(interval))
        }
        Err(f) => report_failure(&obj, &ctx, &key, f).await,
    }
}

async fn sync(
    obj: &SecretRepository,
    ctx: &Context,
    namespace: &str,
    name: &str,
    interval: Duration,
    state: &mut RepoState,
) -> Result<Result<(), Failure>, Error> {
    let repo_spec = match repo_spec(obj, ctx, namespace).await? {
        Ok(s) => s,
        Err(f) => return Ok(Err(f)),
    };
    let identity = format!("{} {}", repo_spec.url, repo_spec.reference);
    if state.mirror.as_ref().is_none_or(|(_, id)| *id != identity) {
        let dir = ctx.settings.cache_dir.clone();
        let spec = repo_spec.clone();
        let opened = tokio::task::spawn_blocking(move || Mirror::open(&dir, spec))
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        match opened {
            Ok(m) => {
                state.mirror = Some((m, identity.clone()));
                state.applied_revision = None;
                state.last_lookup = None;
            }
            Err(e) => return Ok(Err(Failure::new("GitError", e.to_string()))),
        }
    }
    // 1. One ref lookup, unless one was made recently (reconciles triggered by our own
    //    writes, by drift or by status updates must not hit the remote each time).
    let status = obj.status.clone().unwrap_or_default();
    let generation_changed = state.applied_generation != obj.meta().generation;
    let recent = state
        .last_lookup
        .as_ref()
        .filter(|(at, _)| !generation_changed && at.elapsed() < interval / 2)
        .map(|(_, rev)| rev.clone());
    let remote = match recent {
        Some(r) => r,
        None => {
            let (mirror, id) = state.mirror.take().expect("opened above");
            let (mirror, remote) = tokio::task::spawn_blocking(move || {
                let r = mirror.remote_revision();
                (mirror, r)
            })
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
            state.mirror = Some((mirror, id));
            ctx.counters.ref_lookups.inc();
            match remote {
                Ok(r) => {
                    state.last_lookup = Some((std::time::Instant::now(), r.clone()));
                    r
                }
                Err(e) => return Ok(Err(Failure::new("GitError", e.to_string()))),
            }
        }
    };

    // 2. Drift, from one LIST per kind.
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let sealed: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), namespace);
    let live_secrets: HashMap<String, Secret> = secrets
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|s| (s.name_any(), s))
        .collect();
    let live_sealed: HashMap<String, SealedSecret> = sealed
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|s| (s.name_any(), s))
        .collect();
    let drifted = drifted_files(state, &live_secrets, &live_sealed);
    let up_to_date = state.applied_revision.as_deref() == Some(remote.as_str())
        && !generation_changed
        && (status.file_errors.is_empty()
            || state
                .last_pass
                .is_some_and(|at| at.elapsed() < interval / 2))
        && drifted.is_empty();
    if up_to_date {
        return Ok(Ok(()));
    }

    // 3. Fetch (only when the mirror lacks the commit) and read the files.
    let paths = if obj.spec.paths.is_empty() {
        vec![String::new()]
    } else {
        obj.spec.paths.clone()
    };
    let (mirror, id) = state.mirror.take().expect("opened above");
    let fetched_before = mirror.last_fetched();
    let need_fetch = fetched_before.as_deref() != Some(remote.as_str());
    let (mirror, read) = tokio::task::spawn_blocking(move || {
        let mut mirror = mirror;
        let commit = if need_fetch {
            mirror.fetch()
        } else {
            Ok(fetched_before.unwrap_or_default())
        };
        let listing = commit.and_then(|c| mirror.list_paths(&c, &paths).map(|l| (c, l)));
        (mirror, listing)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    state.mirror = Some((mirror, id));
    if need_fetch {
        ctx.counters.fetches.inc();
    }
    let (commit, PathListing { files, missing }) = match read {
        Ok(r) => r,
        Err(e) => return Ok(Err(Failure::new("GitError", e.to_string()))),
    };
    let found = discover(files);
    // A path gone at this commit is reported, and what was applied from it is kept:
    // a typo or a moved directory must not prune every Secret that came from it.
    let mut file_errors: Vec<FileErrorStatus> = missing
        .iter()
        .map(|path| FileErrorStatus {
            path: path.clone(),
            reason: "PathNotFound".into(),
            message: format!(
                "path {path:?} does not exist at revision {}; objects applied from it are kept",
                short(&commit)
            ),
        })
        .collect();

    // 4. Decrypt what changed (or drifted, or failed before, or after a spec change).
    let failed_before: HashSet<&str> = status.file_errors.iter().map(|e| e.path.as_str()).collect();
    let mut work: Vec<(String, String, WorkItem)> = Vec::new(); // (path, blob, item)
    let mut seen_paths: BTreeSet<String> = BTreeSet::new();
    let mut sealed_by_path: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for item in found {
        match item {
            Found::SopsSecret(file) => {
                seen_paths.insert(file.path.clone());
                work.push((
                    file.path.clone(),
                    file.blob_id.clone(),
                    WorkItem::Sops(file),
                ));
            }
            Found::SealedSecret {
                source_path,
                manifest,
            } => {
                seen_paths.insert(source_path.clone());
                sealed_by_path
                    .entry(source_path)
                    .or_default()
                    .push(manifest);
            }
        }
    }
    for (path, manifests) in sealed_by_path {
        let blob = manifest_hash(&manifests);
        work.push((path, blob, WorkItem::Sealed(manifests)));
    }
    work.retain(|(path, blob, _)| {
        generation_changed
            || drifted.contains(path)
            || failed_before.contains(path.as_str())
            || state.files.get(path).is_none_or(|m| m.blob_id != *blob)
    });

    let ring = if work.iter().any(|(_, _, w)| matches!(w, WorkItem::Sops(_))) {
        match key_ring(obj, ctx, namespace).await? {
            Ok(r) => Some(r),
            Err(f) => return Ok(Err(f)),
        }
    } else {
        None
    };
    let decrypted = decrypt_all(work, ring, ctx).await?;

    // 5. Apply what differs, file by file; collect per-file errors.
    let uid = obj.uid().unwrap_or_default();
    let mut new_files: HashMap<String, FileMemo> = HashMap::new();
    let mut writes: Vec<(Secret, bool)> = Vec::new();
    let mut sealed_writes: Vec<SealedSecret> = Vec::new();
    for (path, blob, result) in decrypted {
        match result {
            Decrypted::Failed(err) => {
                file_errors.push(FileErrorStatus {
                    path: path.clone(),
                    reason: err.reason().to_string(),
                    message: err.to_string(),
                });
            }
            Decrypted::Secrets(list) => {
                let mut outputs = Vec::new();
                let mut problem = None;
                for desired in &list {
                    if let Some(ns) = desired.namespace.as_deref().filter(|ns| *ns != namespace) {
                        problem = Some(format!(
                            "{path}: Secret {} is for namespace {ns:?}; a SecretRepository applies only to its own namespace",
                            desired.name
                        ));
                        break;
                    }
                    if let Some(live) = live_secrets.get(&desired.name) {
                        if !ownership::may_manage(&live.metadata, KIND, name, Some(&uid)) {
                            problem = Some(format!(
                                "{path}: Secret {:?} belongs to {}; hush does not overwrite it",
                                desired.name,
                                ownership::describe_owner(&live.metadata)
                            ));
                            break;
                        }
                    }
                }
                if let Some(message) = problem {
                    file_errors.push(FileErrorStatus {
                        path: path.clone(),
                        reason: "SecretNotOwned".into(),
                        message,
                    });
                    continue;
                }
                for desired in list {
                    let shape = Shape {
                        name: &desired.name,
                        namespace,
                        type_: Some(&desired.type_),
                        immutable: None,
                        labels: Some(&desired.labels),
                        annotations: Some(&desired.annotations),
                        managed_by: ownership::managed_by_value(KIND, name),
                        hush_annotations: vec![
                            (SOURCE_REPOSITORY, name.to_string()),
                            (SOURCE_FILE, path.clone()),
                        ],
                        owner: Some(ownership::controller_ref(API_VERSION, KIND, name, &uid)),
                    };
                    let mut want = secret::desired(&shape, &desired.data);
                    outputs.push(Output {
                        kind: SECRET,
                        name: desired.name.clone(),
                        hash: secret::data_hash(&desired.data),
                    });
                    let live = live_secrets.get(&desired.name);
                    if live.is_some_and(|l| secret::up_to_date(l, &want)) {
                        continue;
                    }
                    let reverted = state.files.get(&path).is_some_and(|m| m.blob_id == blob)
                        && drifted.contains(&path);
                    want.metadata
                        .annotations
                        .get_or_insert_with(Default::default)
                        .insert(SOURCE_REVISION.into(), commit.clone());
                    writes.push((want, reverted));
                }
                new_files.insert(
                    path,
                    FileMemo {
                        blob_id: blob,
                        outputs,
                    },
                );
            }
            Decrypted::Sealed(manifest) => {
                let mut outputs = Vec::new();
                let manifests: Vec<serde_json::Value> =
                    serde_json::from_value(*manifest).unwrap_or_default();
                let mut problem = None;
                let mut wants = Vec::new();
                for m in manifests {
                    match sealed_object(m, namespace, name, &uid, &path) {
                        Ok(s) => wants.push(s),
                        Err(e) => {
                            problem = Some(e);
                            break;
                        }
                    }
                }
                if let Some(message) = problem {
                    file_errors.push(FileErrorStatus {
                        path: path.clone(),
                        reason: "InvalidSealedSecret".into(),
                        message,
                    });
                    continue;
                }
                for mut want in wants {
                    let sname = want.name_any();
                    outputs.push(Output {
                        kind: SEALED,
                        name: sname.clone(),
                        hash: String::new(),
                    });
                    let same = live_sealed.get(&sname).is_some_and(|l| {
                        serde_json::to_value(&l.spec).ok() == serde_json::to_value(&want.spec).ok()
                    });
                    if same {
                        continue;
                    }
                    want.annotations_mut()
                        .insert(SOURCE_REVISION.into(), commit.clone());
                    sealed_writes.push(want);
                }
                new_files.insert(
                    path,
                    FileMemo {
                        blob_id: blob,
                        outputs,
                    },
                );
            }
        }
    }
    // Files not re-decrypted keep their memo; failed files keep their last good objects.
    let under_missing = |path: &str| {
        missing.iter().any(|m| {
            path == m
                || path
                    .strip_prefix(m.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    };
    for (path, memo) in &state.files {
        if (seen_paths.contains(path) || under_missing(path)) && !new_files.contains_key(path) {
            new_files.insert(path.clone(), memo.clone());
        }
    }
    let drift_reverted = writes.iter().filter(|(_, reverted)| *reverted).count();
    let write_count = writes.len() + sealed_writes.len();
    stream::iter(writes.into_iter().map(|(s, _)| {
        let api = secrets.clone();
        async move {
            let n = s.name_any();
            kube_util::apply(&api, &n, &s).await.map(|_| ())
        }
    }))
    .buffer_unordered(ctx.settings.apply_concurrency.max(1))
    .try_collect::<Vec<()>>()
    .await?;
    for s in sealed_writes {
        let n = s.name_any();
        kube_util::apply(&sealed, &n, &s).await?;
    }
    ctx.counters.writes.inc_by(write_count as u64);
    ctx.counters.drift_reverted.inc_by(drift_reverted as u64);

    // 6. Prune what left Git (only objects in the old inventory that we still own).
    let mut inventory: BTreeSet<InventoryEntry> = new_files
        .iter()
        .flat_map(|(path, memo)| {
            memo.outputs.iter().map(|o| InventoryEntry {
                kind: o.kind.to_string(),
                name: o.name.clone(),
                file: path.clone(),
            })
        })
        .collect();
    // After a restart the memory above is empty: what status says came from a missing
    // path is kept (and stays in the inventory) all the same.
    inventory.extend(
        status
            .inventory
            .iter()
            .filter(|e| under_missing(&e.file))
            .cloned(),
    );
    let keep: BTreeSet<(String, String)> = inventory
        .iter()
        .map(|e| (e.kind.clone(), e.name.clone()))
        .collect();
    let mut pruned = Vec::new();
    if obj.spec.prune.unwrap_or(true) {
        // The previous inventory: status (survives restarts) and memory (status in the
        // watch cache can lag behind our last write).
        let mut previous: BTreeSet<(String, String)> = status
            .inventory
            .iter()
            .map(|e| (e.kind.clone(), e.name.clone()))
            .collect();
        previous.extend(state.files.values().flat_map(|memo| {
            memo.outputs
                .iter()
                .map(|o| (o.kind.to_string(), o.name.clone()))
        }));
        for (kind, old_name) in previous.difference(&keep) {
            let ours = match kind.as_str() {
                SECRET => live_secrets
                    .get(old_name)
                    .map(|l| ownership::may_manage(&l.metadata, KIND, name, Some(&uid))),
                SEALED => live_sealed
                    .get(old_name)
                    .map(|l| ownership::may_manage(&l.metadata, KIND, name, Some(&uid))),
                _ => None,
            };
            if ours != Some(true) {
                continue;
            }
            match kind.as_str() {
                SECRET => {
                    secrets.delete(old_name, &DeleteParams::default()).await?;
                }
                _ => {
                    sealed.delete(old_name, &DeleteParams::default()).await?;
                }
            }
            pruned.push(format!("{kind}/{old_name}"));
        }
    }
    ctx.counters.prunes.inc_by(pruned.len() as u64);
    state.files = new_files;
    state.applied_revision = Some(commit.clone());
    state.last_pass = Some(std::time::Instant::now());
    state.applied_generation = obj.meta().generation;

    // 7. Status, events, notifications.
    let new_errors: Vec<&FileErrorStatus> = file_errors
        .iter()
        .filter(|e| {
            !status
                .file_errors
                .iter()
                .any(|o| o.path == e.path && o.reason == e.reason)
        })
        .collect();
    let object = format!("{KIND}/{namespace}/{name}");
    for e in &new_errors {
        tracing::warn!(%namespace, %name, path = %e.path, reason = %e.reason, "file skipped");
        publish(obj, ctx, true, &e.reason, e.message.clone()).await;
        ctx.notifier.send(
            NotificationKind::Failure,
            object.clone(),
            &e.reason,
            format!("{} (its last good Secrets are kept)", e.message),
        );
    }
    if drift_reverted > 0 {
        let note =
            format!("{drift_reverted} object(s) edited or deleted outside Git were restored");
        publish(obj, ctx, false, "DriftReverted", note.clone()).await;
        ctx.notifier.send(
            NotificationKind::DriftReverted,
            object.clone(),
            "DriftReverted",
            note,
        );
    }
    if write_count > drift_reverted || !pruned.is_empty() {
        let note = format!(
            "revision {}: {} object(s) applied, {} pruned",
            short(&commit),
            write_count - drift_reverted,
            pruned.len()
        );
        publish(obj, ctx, false, "Applied", note.clone()).await;
        ctx.notifier
            .send(NotificationKind::Rotated, object.clone(), "Applied", note);
    }
    tracing::info!(%namespace, %name, revision = %commit, writes = write_count, pruned = pruned.len(), file_errors = file_errors.len(), "applied");
    let mut next = status.clone();
    next.last_applied_revision = Some(commit.clone());
    next.inventory = inventory.into_iter().collect();
    next.observed_generation = obj.meta().generation;
    let ok = file_errors.is_empty();
    let message = if ok {
        format!(
            "revision {}: {} object(s) from Git",
            short(&commit),
            next.inventory.len()
        )
    } else {
        format!(
            "revision {}: {} file(s) failed and were skipped (their last good objects are kept): {}",
            short(&commit),
            file_errors.len(),
            file_errors
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    next.file_errors = file_errors;
    conditions::remove(&mut next.conditions, "Suspended");
    conditions::set(
        &mut next.conditions,
        Desired {
            type_: READY,
            status: ok,
            reason: if ok { "Applied" } else { "FilesFailed" },
            message,
            observed_generation: obj.meta().generation,
        },
        &rfc3339(jiff::Timestamp::now()),
    );
    if next != status {
        patch_status(obj, ctx, &next).await?;
    }
    Ok(Ok(()))
}

enum WorkItem {
    Sops(RepoFile),
    Sealed(Vec<serde_json::Value>),
}

/// Decrypt SOPS files on the blocking pool, split across the cores.
async fn decrypt_all(
    work: Vec<(String, String, WorkItem)>,
    ring: Option<KeyRing>,
    ctx: &Context,
) -> Result<Vec<(String, String, Decrypted)>, Error> {
    let files = work
        .iter()
        .filter(|(_, _, w)| matches!(w, WorkItem::Sops(_)))
        .count();
    let result = tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = work.len().div_ceil(threads).max(1);
        let ring = ring.unwrap_or_default();
        let mut chunks: Vec<Vec<(String, String, WorkItem)>> = Vec::new();
        let mut it = work.into_iter().peekable();
        while it.peek().is_some() {
            chunks.push(it.by_ref().take(chunk).collect());
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|part| {
                    let ring = &ring;
                    scope.spawn(move || {
                        part.into_iter()
                            .map(|(path, blob, item)| {
                                let out = match item {
                                    WorkItem::Sops(file) => match decrypt_secret(&file, ring) {
                                        Ok(list) => Decrypted::Secrets(list),
                                        Err(e) => Decrypted::Failed(e),
                                    },
                                    WorkItem::Sealed(m) => {
                                        Decrypted::Sealed(Box::new(serde_json::Value::Array(m)))
                                    }
                                };
                                (path, blob, out)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect::<Vec<_>>()
        })
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    ctx.counters.files_decrypted.inc_by(files as u64);
    Ok(result)
}

/// Files whose objects are missing, or whose Secrets were edited outside hush.
fn drifted_files(
    state: &RepoState,
    live_secrets: &HashMap<String, Secret>,
    live_sealed: &HashMap<String, SealedSecret>,
) -> HashSet<String> {
    let mut drifted = HashSet::new();
    for (path, memo) in &state.files {
        let drift = memo.outputs.iter().any(|o| match o.kind {
            SECRET => match live_secrets.get(&o.name) {
                None => true,
                Some(l) => {
                    let recorded = l
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(secret::DATA_HASH));
                    recorded != Some(&o.hash) || secret::edited_outside_hush(l)
                }
            },
            _ => !live_sealed.contains_key(&o.name),
        });
        if drift {
            drifted.insert(path.clone());
        }
    }
    drifted
}

/// The SealedSecret to apply: the manifest in our namespace, marked and owned.
fn sealed_object(
    manifest: serde_json::Value,
    namespace: &str,
    repo: &str,
    uid: &str,
    path: &str,
) -> Result<SealedSecret, String> {
    let mut s: SealedSecret = serde_json::from_value(manifest)
        .map_err(|e| format!("{path}: not a valid SealedSecret: {e}"))?;
    if let Some(ns) = s
        .metadata
        .namespace
        .as_deref()
        .filter(|ns| *ns != namespace)
    {
        return Err(format!(
            "{path}: SealedSecret {} is for namespace {ns:?}; a SecretRepository applies only to its own namespace",
            s.name_any()
        ));
    }
    let name = s
        .metadata
        .name
        .clone()
        .ok_or_else(|| format!("{path}: SealedSecret without metadata.name"))?;
    s.metadata = kube::api::ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.into()),
        labels: s.metadata.labels.take(),
        annotations: Some({
            let mut a = s.metadata.annotations.take().unwrap_or_default();
            a.insert(
                ownership::MANAGED_BY.into(),
                ownership::managed_by_value(KIND, repo),
            );
            a.insert(SOURCE_REPOSITORY.into(), repo.into());
            a.insert(SOURCE_FILE.into(), path.into());
            a
        }),
        owner_references: Some(vec![ownership::controller_ref(
            API_VERSION,
            KIND,
            repo,
            uid,
        )]),
        ..Default::default()
    };
    s.status = None;
    Ok(s)
}

fn manifest_hash(manifests: &[serde_json::Value]) -> String {
    let mut h = Sha256::new();
    for m in manifests {
        h.update(m.to_string().as_bytes());
    }
    hex::encode(h.finalize())
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The repository spec with credentials from `spec.secretRef`.
async fn repo_spec(
    obj: &SecretRepository,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<RepoSpec, Failure>, Error> {
    let r = obj.spec.reference.clone().unwrap_or_default();
    let reference = match (r.commit, r.tag, r.branch) {
        (Some(c), _, _) => GitRef::Commit(c),
        (None, Some(t), _) => GitRef::Tag(t),
        (None, None, Some(b)) => GitRef::Branch(b),
        (None, None, None) => GitRef::Branch("main".into()),
    };
    let auth = match &obj.spec.secret_ref {
        None => GitAuth::None,
        Some(r) => {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
            let Some(s) = api.get_opt(&r.name).await? else {
                return Ok(Err(Failure::new(
                    "GitCredentialsMissing",
                    format!("Secret {namespace}/{} (spec.secretRef) not found", r.name),
                )));
            };
            let data = s.data.unwrap_or_default();
            let text = |k: &str| {
                data.get(k)
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            };
            if let Some(key) = text("identity") {
                GitAuth::Ssh {
                    private_key: key.into(),
                    known_hosts: text("known_hosts").unwrap_or_default(),
                }
            } else if let Some(token) = text("token").or_else(|| text("password")) {
                GitAuth::Token {
                    username: text("username").unwrap_or_else(|| "git".into()),
                    token: token.into(),
                }
            } else {
                return Ok(Err(Failure::new(
                    "GitCredentialsMissing",
                    format!(
                        "Secret {namespace}/{} has neither `identity` (ssh) nor `token`/`password` (https)",
                        r.name
                    ),
                )));
            }
        }
    };
    Ok(Ok(RepoSpec {
        url: obj.spec.url.clone(),
        reference,
        auth,
    }))
}

async fn key_ring(
    obj: &SecretRepository,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<KeyRing, Failure>, Error> {
    let key_secret = obj
        .spec
        .decryption
        .as_ref()
        .and_then(|d| d.secret_ref.as_ref())
        .map(|r| KeySecretRef {
            namespace: namespace.to_string(),
            name: r.name.clone(),
        })
        .or_else(|| ctx.settings.default_key_secret.clone());
    match keys::load(&ctx.client, key_secret.as_ref()).await {
        Ok(k) => Ok(Ok(k.ring)),
        Err(keys::KeysError::Kube(e)) => Err(e.into()),
        Err(e) => Ok(Err(Failure::new("DecryptionKeyMissing", e.to_string()))),
    }
}

async fn report_failure(
    obj: &SecretRepository,
    ctx: &Context,
    key: &(String, String),
    failure: Failure,
) -> Result<Action, Error> {
    let status = obj.status.clone().unwrap_or_default();
    let mut next = status.clone();
    let previous = conditions::get(&status.conditions, READY).map(|c| c.reason.clone());
    conditions::set(
        &mut next.conditions,
        Desired {
            type_: READY,
            status: false,
            reason: failure.reason,
            message: failure.message.clone(),
            observed_generation: obj.meta().generation,
        },
        &rfc3339(jiff::Timestamp::now()),
    );
    tracing::warn!(namespace = %key.0, name = %key.1, reason = failure.reason, message = %failure.message, "secret repository failed");
    if previous.as_deref() != Some(failure.reason) {
        publish(obj, ctx, true, failure.reason, failure.message.clone()).await;
        ctx.notifier.send(
            NotificationKind::Failure,
            format!("{KIND}/{}/{}", key.0, key.1),
            failure.reason,
            failure.message.clone(),
        );
    }
    if next != status {
        patch_status(obj, ctx, &next).await?;
    }
    if failure.retry {
        Ok(Action::requeue(ctx.failures.next(key)))
    } else {
        Ok(Action::await_change())
    }
}

async fn patch_status(
    obj: &SecretRepository,
    ctx: &Context,
    status: &SecretRepositoryStatus,
) -> Result<(), Error> {
    if obj.status.as_ref() == Some(status) {
        return Ok(());
    }
    let api: Api<SecretRepository> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&kube_util::status_merge_patch(obj.status.as_ref(), status)),
    )
    .await?;
    Ok(())
}

async fn publish(obj: &SecretRepository, ctx: &Context, warning: bool, reason: &str, note: String) {
    ctx.events
        .publish(&obj.object_ref(&()), warning, reason, "Pull", note)
        .await;
}
