//! `hush seal keys list` and `hush seal keys prune`: which sealing keys the
//! controller holds and which SealedSecrets each one opens.
//!
//! Usage is found by trial decryption, not from annotations: the key Secrets
//! (`tls.crt`/`tls.key`, labelled `sealedsecrets.bitnami.com/sealed-secrets-key`)
//! are read from the controller's namespace, and every value of every SealedSecret
//! in the cluster is opened with each key until one works. That is exact for
//! SealedSecrets sealed by kubeseal or hush alike and needs no controller
//! cooperation, but it needs read access to the key Secrets and costs one RSA
//! decryption per value per key tried. Plaintext is dropped as soon as a value opens.
//!
//! `prune` deletes only key Secrets that open no SealedSecret, never the newest
//! (active) key, and refuses when any SealedSecret could not be read. A running
//! controller keeps deleted keys in memory until it restarts.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use base64::Engine as _;
use hush_crypto::sealing::{
    scope_label, unseal_with_any, SealError, SealedSecretManifest, SealingKeyMaterial,
    SealingPrivateKey,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{DeleteParams, ListParams, Preconditions},
    Api, Client, ResourceExt,
};

use super::{cluster, ClusterArgs};

/// The label Bitnami and hush-controller put on key Secrets.
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// Bitnami's default key Secret name (also the legacy single-key Secret).
const LEGACY_KEY_NAME: &str = "sealed-secrets-key";

#[derive(clap::Args, Debug, Clone)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum KeysCommand {
    /// Each sealing key: fingerprint, created, active, and how many SealedSecrets it opens
    List(ListArgs),
    /// Delete key Secrets no SealedSecret uses (never the active key); prints the plan
    Prune(PruneArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    /// table or json
    #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PruneArgs {
    /// Print the plan, delete nothing
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Delete the unused key Secrets
    #[arg(long)]
    pub yes: bool,
    /// table or json
    #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
}

/// One sealing key and what it opens.
struct KeyUsage {
    secret: String,
    resource_version: Option<String>,
    fingerprint: String,
    created: SystemTime,
    active: bool,
    /// `namespace/name` of every SealedSecret with a value this key opens.
    opens: BTreeSet<String>,
}

/// The cluster's keys and SealedSecrets, matched.
struct Usage {
    namespace: String,
    keys: Vec<KeyUsage>,
    /// SealedSecrets with a value no key opens.
    unopened: Vec<String>,
    /// SealedSecrets that could not be read at all (bad manifest or base64).
    unreadable: Vec<String>,
    sealed_secrets: usize,
}

pub fn run(args: &KeysArgs, cluster_args: &ClusterArgs, out: &mut dyn Write) -> Result<()> {
    cluster::block_on(async {
        let client = cluster::connect(cluster_args).await?;
        let usage = usage(&client, &cluster_args.controller_namespace).await?;
        match &args.command {
            KeysCommand::List(list) => {
                let text = if list.output == "json" {
                    json_report(&usage, None)
                } else {
                    table(&usage)
                };
                out.write_all(text.as_bytes())?;
                Ok(())
            }
            KeysCommand::Prune(prune) => run_prune(&client, &usage, prune, out).await,
        }
    })
}

async fn usage(client: &Client, namespace: &str) -> Result<Usage> {
    let (private, mut keys) = load_keys(client, namespace).await?;
    let sealed = list_sealed_secrets(client).await?;
    let sealed_secrets = sealed.len();
    let mut unopened = Vec::new();
    let mut unreadable = Vec::new();
    let results = std::thread::scope(|scope| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = sealed.len().div_ceil(workers).max(1);
        let handles: Vec<_> = sealed
            .chunks(chunk)
            .map(|part| {
                let private = &private;
                scope.spawn(move || {
                    part.iter()
                        .map(|s| keys_opening(private, s))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
    });
    for (object, opened) in results {
        match opened {
            Opened::Keys(indices, complete) => {
                for index in indices {
                    keys[index].opens.insert(object.clone());
                }
                if !complete {
                    unopened.push(object);
                }
            }
            Opened::Unreadable(reason) => unreadable.push(format!("{object}: {reason}")),
        }
    }
    Ok(Usage {
        namespace: namespace.to_string(),
        keys,
        unopened,
        unreadable,
        sealed_secrets,
    })
}

/// Key Secrets, oldest first (certificate notBefore, then name); the last is active.
async fn load_keys(
    client: &Client,
    namespace: &str,
) -> Result<(Vec<SealingPrivateKey>, Vec<KeyUsage>)> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secrets = api
        .list(&ListParams::default())
        .await
        .with_context(|| format!("listing key Secrets in namespace {namespace}"))?;
    let mut entries = Vec::new();
    for secret in secrets {
        let name = secret.name_any();
        let label = secret.labels().get(KEY_LABEL).map(String::as_str);
        let is_key = match label {
            Some("compromised") => false,
            Some(_) => true,
            None => name == LEGACY_KEY_NAME,
        };
        if !is_key {
            continue;
        }
        let Some(material) = material(&secret) else {
            eprintln!("hush: key Secret {namespace}/{name} has no valid tls.crt/tls.key; skipped");
            continue;
        };
        let usage = KeyUsage {
            secret: name,
            resource_version: secret.resource_version(),
            fingerprint: material.private_key.fingerprint(),
            created: UNIX_EPOCH + Duration::from_secs(material.certificate.not_before),
            active: false,
            opens: BTreeSet::new(),
        };
        entries.push((material.private_key, usage));
    }
    entries.sort_by(|a, b| (a.1.created, &a.1.secret).cmp(&(b.1.created, &b.1.secret)));
    if let Some(last) = entries.last_mut() {
        last.1.active = true;
    }
    Ok(entries.into_iter().unzip())
}

fn material(secret: &Secret) -> Option<SealingKeyMaterial> {
    let data = secret.data.as_ref()?;
    let crt = std::str::from_utf8(&data.get("tls.crt")?.0).ok()?;
    let key = zeroize::Zeroizing::new(
        std::str::from_utf8(&data.get("tls.key")?.0)
            .ok()?
            .to_string(),
    );
    SealingKeyMaterial::from_tls_pems(crt, &key).ok()
}

/// Every SealedSecret in every namespace, read as plain JSON (no CRD type needed).
async fn list_sealed_secrets(client: &Client) -> Result<Vec<Result<SealedSecretManifest, String>>> {
    let request = http::Request::get("/apis/bitnami.com/v1alpha1/sealedsecrets")
        .body(Vec::new())
        .context("building the list request")?;
    let text = client
        .request_text(request)
        .await
        .context("listing SealedSecrets in all namespaces")?;
    let list: serde_json::Value =
        serde_json::from_str(&text).context("reading the SealedSecret list")?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    Ok(items
        .into_iter()
        .map(|item| {
            let name = format!(
                "{}/{}",
                item["metadata"]["namespace"].as_str().unwrap_or_default(),
                item["metadata"]["name"].as_str().unwrap_or_default()
            );
            SealedSecretManifest::from_value(item).map_err(|e| format!("{name}: {e}"))
        })
        .collect())
}

enum Opened {
    /// Indices of the keys that opened some value; false when a value opened with none.
    Keys(BTreeSet<usize>, bool),
    Unreadable(String),
}

fn keys_opening(
    keys: &[SealingPrivateKey],
    sealed: &Result<SealedSecretManifest, String>,
) -> (String, Opened) {
    let sealed = match sealed {
        Ok(s) => s,
        Err(message) => {
            return (
                message.clone(),
                Opened::Unreadable("not a SealedSecret".into()),
            )
        }
    };
    let object = sealed.display_name();
    let name = sealed.metadata.name.clone().unwrap_or_default();
    let namespace = sealed.metadata.namespace.clone().unwrap_or_default();
    let label = scope_label(sealed.scope(), &namespace, &name);
    let mut used = BTreeSet::new();
    let mut complete = true;
    for (data_key, encoded) in &sealed.spec.encrypted_data {
        let Ok(ciphertext) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return (
                object,
                Opened::Unreadable(format!("{data_key:?} is not base64")),
            );
        };
        match unseal_with_any(keys, &label, &ciphertext) {
            Ok((index, _plaintext)) => {
                used.insert(index);
            }
            Err(SealError::NoKeyCouldDecrypt | SealError::NoKeys) => complete = false,
            Err(error) => return (object, Opened::Unreadable(format!("{data_key:?}: {error}"))),
        }
    }
    (object, Opened::Keys(used, complete))
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn age_days(time: SystemTime) -> u64 {
    SystemTime::now()
        .duration_since(time)
        .unwrap_or_default()
        .as_secs()
        / 86_400
}

/// Keys prune may delete: unused and not active. Empty when anything was unreadable.
fn prunable(usage: &Usage) -> Vec<&KeyUsage> {
    usage
        .keys
        .iter()
        .filter(|k| !k.active && k.opens.is_empty())
        .collect()
}

fn json_report(usage: &Usage, plan: Option<(&[&KeyUsage], bool)>) -> String {
    let keys: Vec<serde_json::Value> = usage
        .keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "secret": k.secret,
                "fingerprint": k.fingerprint,
                "created": rfc3339(k.created),
                "age_days": age_days(k.created),
                "active": k.active,
                "sealed_secrets": k.opens.len(),
            })
        })
        .collect();
    let mut report = serde_json::json!({
        "namespace": usage.namespace,
        "usage_source": "trial-decryption",
        "sealed_secrets": usage.sealed_secrets,
        "keys": keys,
        "unopened": usage.unopened,
        "unreadable": usage.unreadable,
    });
    if let Some((delete, applied)) = plan {
        report["prune"] = serde_json::json!({
            "delete": delete.iter().map(|k| k.secret.clone()).collect::<Vec<_>>(),
            "applied": applied,
        });
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    )
}

fn table(usage: &Usage) -> String {
    let mut rows = vec![[
        "SECRET".to_string(),
        "FINGERPRINT".into(),
        "CREATED".into(),
        "ACTIVE".into(),
        "SEALEDSECRETS".into(),
    ]];
    for k in &usage.keys {
        rows.push([
            k.secret.clone(),
            k.fingerprint.clone(),
            rfc3339(k.created),
            (if k.active { "yes" } else { "no" }).to_string(),
            k.opens.len().to_string(),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} SealedSecret(s) in the cluster (usage by trial decryption)\n",
        usage.sealed_secrets
    ));
    for object in &usage.unopened {
        out.push_str(&format!(
            "warning: {object}: a value opens with none of these keys\n"
        ));
    }
    for object in &usage.unreadable {
        out.push_str(&format!("warning: unreadable SealedSecret {object}\n"));
    }
    out
}

async fn run_prune(
    client: &Client,
    usage: &Usage,
    args: &PruneArgs,
    out: &mut dyn Write,
) -> Result<()> {
    if !usage.unreadable.is_empty() {
        bail!(
            "not pruning: {} SealedSecret(s) could not be read, so key usage is unknown: {}",
            usage.unreadable.len(),
            usage.unreadable.join("; ")
        );
    }
    let delete = prunable(usage);
    let apply = args.yes && !args.dry_run;
    if args.output == "json" {
        out.write_all(json_report(usage, Some((delete.as_slice(), apply))).as_bytes())?;
    } else {
        for key in &usage.keys {
            let action = if delete.iter().any(|d| d.secret == key.secret) {
                if apply {
                    "delete"
                } else {
                    "would delete"
                }
            } else if key.active {
                "keep (active)"
            } else {
                "keep (in use)"
            };
            writeln!(
                out,
                "{action}: {}/{} {} ({} SealedSecret(s))",
                usage.namespace,
                key.secret,
                key.fingerprint,
                key.opens.len()
            )?;
        }
    }
    if !apply {
        if !args.dry_run {
            bail!("nothing deleted: pass --yes to delete the key Secrets above, or --dry-run");
        }
        return Ok(());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &usage.namespace);
    for key in delete {
        // Conditional on the version read: a key Secret changed since is left alone.
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: key.resource_version.clone(),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        api.delete(&key.secret, &params)
            .await
            .with_context(|| format!("deleting key Secret {}/{}", usage.namespace, key.secret))?;
    }
    Ok(())
}
