//! `hush reseal --all [PATH]`: re-encrypt every SealedSecret under a tree to the
//! controller's newest sealing key, either
//! - online: POST each SealedSecret to `{controller}/v1/rotate` (the controller
//!   unseals and reseals it; Bitnami's endpoint), or
//! - offline: unseal each value with backed-up keys (`--recovery-private-key`) and
//!   seal it again to the new certificate (`--cert`), keeping the rest of the
//!   manifest as it was.
//!
//! Online is the default, as with `kubeseal --re-encrypt`: the controller is found
//! through the Kubernetes API service proxy (kubeconfig, `--controller-namespace`,
//! `--controller-name`); `--controller-url` talks to it directly instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use hush_crypto::sealing::{
    key_fingerprint, parse_certificate_pem, parse_recovery_keys, scope_label, seal,
    unseal_with_any, DocumentFormat, SealedSecretManifest, SealingPrivateKey, SealingPublicKey,
};

use crate::exit::{CliError, CliResult, Code};
use crate::fileio;
#[cfg(feature = "k8s")]
use crate::seal::cluster::BlockingController;
use crate::seal::ClusterArgs;
use crate::tree_walk::{self, FileKind, Progress};

const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Args, Debug)]
pub struct ResealArgs {
    /// Reseal every SealedSecret under PATH (required: the tree mode is the only mode)
    #[arg(long, required = true)]
    pub all: bool,
    /// Directory (or file) to reseal
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Online: the controller's base URL; each SealedSecret goes to {URL}/v1/rotate
    #[arg(long, conflicts_with_all = ["recovery_private_key", "cert"])]
    pub controller_url: Option<String>,
    /// Offline: backed-up private keys (PEM files, comma-separated or repeated)
    #[arg(long, value_delimiter = ',', requires = "cert")]
    pub recovery_private_key: Vec<PathBuf>,
    /// Offline: the newest sealing certificate (file or http(s) URL)
    #[arg(long, requires = "recovery_private_key")]
    pub cert: Option<String>,
    /// Report what would be resealed; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Worker threads (default: four per core)
    #[arg(long)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// How values are re-encrypted.
enum Resealer {
    Online {
        agent: ureq::Agent,
        rotate_url: String,
    },
    /// Through the API server's service proxy to the controller's `/v1/rotate`.
    #[cfg(feature = "k8s")]
    Proxy {
        controller: BlockingController,
        name: String,
    },
    Offline {
        keys: Vec<SealingPrivateKey>,
        public_key: SealingPublicKey,
    },
}

pub fn run(args: ResealArgs) -> CliResult<()> {
    let files: Vec<PathBuf> = tree_walk::find(&args.path)
        .map_err(|e| generic(format!("{}: {e}", args.path.display())))?
        .into_iter()
        .filter(|(_, k)| *k == FileKind::SealedSecret)
        .map(|(p, _)| p)
        .collect();
    if files.is_empty() {
        // Nothing to reseal: no reason to need a controller, a cluster or keys.
        eprintln!(
            "hush: reseal --all: no SealedSecret under {}",
            args.path.display()
        );
        return Ok(());
    }
    let resealer = resealer(&args)?;
    let progress = Progress::new("resealing", files.len(), true);
    let results = tree_walk::parallel_map(&files, args.jobs, |path| {
        let r = reseal_file(&resealer, path, args.dry_run);
        progress.tick(path);
        r
    });
    progress.finish();
    let mut failed = 0;
    let mut changed = 0;
    for (path, result) in files.iter().zip(results) {
        match result {
            Ok(true) => {
                changed += 1;
                let verb = if args.dry_run {
                    "would reseal"
                } else {
                    "resealed"
                };
                eprintln!("hush: {}: {verb}", path.display());
            }
            Ok(false) => {}
            Err(e) => {
                failed += 1;
                eprintln!("hush: {e}");
            }
        }
    }
    eprintln!(
        "hush: reseal --all: {changed} of {} file(s) {}, {failed} failed",
        files.len(),
        if args.dry_run {
            "to reseal"
        } else {
            "resealed"
        }
    );
    if failed > 0 {
        return Err(generic(format!("reseal --all: {failed} file(s) failed")));
    }
    Ok(())
}

fn generic(message: String) -> CliError {
    CliError::new(Code::Generic, message)
}

fn resealer(args: &ResealArgs) -> CliResult<Resealer> {
    if let Some(url) = &args.controller_url {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(HTTP_TIMEOUT))
            .build()
            .into();
        return Ok(Resealer::Online {
            agent,
            rotate_url: format!("{}/v1/rotate", url.trim_end_matches('/')),
        });
    }
    let Some(cert) = &args.cert else {
        return proxy_resealer(&args.cluster);
    };
    let mut keys = Vec::new();
    for path in &args.recovery_private_key {
        let text = std::fs::read_to_string(path)
            .map_err(|e| generic(format!("{}: {e}", path.display())))?;
        keys.extend(
            parse_recovery_keys(&text).map_err(|e| generic(format!("{}: {e}", path.display())))?,
        );
    }
    let pem = if cert.starts_with("http://") || cert.starts_with("https://") {
        ureq::get(cert)
            .call()
            .and_then(|mut r| r.body_mut().read_to_string())
            .map_err(|e| generic(format!("fetching certificate from {cert}: {e}")))?
    } else {
        std::fs::read_to_string(cert).map_err(|e| generic(format!("{cert}: {e}")))?
    };
    let info = parse_certificate_pem(&pem).map_err(|e| generic(format!("{cert}: {e}")))?;
    info.check_not_expired(std::time::SystemTime::now())
        .map_err(|e| generic(format!("{cert}: {e}")))?;
    Ok(Resealer::Offline {
        keys,
        public_key: info.public_key,
    })
}

#[cfg(feature = "k8s")]
fn proxy_resealer(cluster: &ClusterArgs) -> CliResult<Resealer> {
    let name = cluster.controller();
    let controller = BlockingController::connect(cluster)
        .map_err(|e| generic(format!("reaching the controller {name}: {e:#}")))?;
    Ok(Resealer::Proxy { controller, name })
}

#[cfg(not(feature = "k8s"))]
fn proxy_resealer(_cluster: &ClusterArgs) -> CliResult<Resealer> {
    Err(generic(
        "this hush was built without the `k8s` feature: reseal needs --controller-url URL, \
         or --recovery-private-key FILE and --cert FILE"
            .into(),
    ))
}

/// Reseals one file; `Ok(false)` when it is already sealed to the newest key.
fn reseal_file(resealer: &Resealer, path: &Path, dry_run: bool) -> CliResult<bool> {
    let fail = |what: String| generic(format!("{}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let format = DocumentFormat::detect(&text);
    let manifests = SealedSecretManifest::parse_all(&text).map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::with_capacity(manifests.len());
    let mut changed = false;
    for sealed in manifests {
        let (new, differs) = match resealer {
            Resealer::Online { .. } if dry_run => (sealed, true),
            Resealer::Online { agent, rotate_url } => {
                let rotated = rotate_online(&sealed, rotate_url, |body| {
                    agent
                        .post(rotate_url)
                        .header("Content-Type", "application/json")
                        .send(body.as_bytes())
                        .and_then(|mut r| r.body_mut().read_to_string())
                        .map_err(|e| e.to_string())
                })
                .map_err(fail)?;
                let differs = rotated != sealed;
                (rotated, differs)
            }
            #[cfg(feature = "k8s")]
            Resealer::Proxy { .. } if dry_run => (sealed, true),
            #[cfg(feature = "k8s")]
            Resealer::Proxy { controller, name } => {
                let via = format!("the controller {name}");
                let rotated = rotate_online(&sealed, &via, |body| {
                    controller
                        .post("/v1/rotate", body)
                        .map_err(|f| format!("{} ({})", f.message, f.code))
                })
                .map_err(fail)?;
                let differs = rotated != sealed;
                (rotated, differs)
            }
            Resealer::Offline { keys, public_key } => {
                reseal_offline(keys, public_key, sealed, dry_run).map_err(fail)?
            }
        };
        changed |= differs;
        out.push(new);
    }
    if changed && !dry_run {
        let body: String = out.iter().map(|m| m.to_document(format)).collect();
        fileio::write_atomic(path, body.as_bytes(), 0o644)?;
    }
    Ok(changed)
}

/// Sends one SealedSecret (as JSON) to a `/v1/rotate` endpoint through `post` and
/// reads back the resealed one; `via` names the endpoint in errors.
fn rotate_online(
    sealed: &SealedSecretManifest,
    via: &str,
    post: impl FnOnce(&str) -> Result<String, String>,
) -> Result<SealedSecretManifest, String> {
    let body = sealed.to_document(DocumentFormat::Json);
    let text = post(&body).map_err(|e| format!("{} via {via}: {e}", sealed.display_name()))?;
    let mut list = SealedSecretManifest::parse_all(&text)
        .map_err(|e| format!("{via} answered with no SealedSecret: {e}"))?;
    if list.len() != 1 {
        return Err(format!("{via} answered with {} documents", list.len()));
    }
    Ok(list.remove(0))
}

/// Unseals every value with the backed-up keys and seals it to `public_key`
/// under the same label. Values that already open with the key matching
/// `public_key` are left as they are.
fn reseal_offline(
    keys: &[SealingPrivateKey],
    public_key: &SealingPublicKey,
    mut sealed: SealedSecretManifest,
    dry_run: bool,
) -> Result<(SealedSecretManifest, bool), String> {
    let object = sealed.display_name();
    let name = sealed.metadata.name.clone().unwrap_or_default();
    let namespace = sealed.metadata.namespace.clone().unwrap_or_default();
    let label = scope_label(sealed.scope(), &namespace, &name);
    let newest = key_fingerprint(public_key);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut changed = false;
    for (key, value) in sealed.spec.encrypted_data.iter_mut() {
        let ciphertext = b64
            .decode(value.as_bytes())
            .map_err(|_| format!("{object}: {key}: not base64"))?;
        let (index, plaintext) = unseal_with_any(keys, &label, &ciphertext)
            .map_err(|e| format!("{object}: {key}: {e}"))?;
        if keys[index].fingerprint() == newest {
            continue;
        }
        changed = true;
        if !dry_run {
            let resealed = seal(public_key, &label, &plaintext)
                .map_err(|e| format!("{object}: {key}: {e}"))?;
            *value = b64.encode(resealed);
        }
    }
    Ok((sealed, changed))
}
