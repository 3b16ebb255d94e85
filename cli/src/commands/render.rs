//! `hush render [DIR]`: every Kubernetes manifest under a directory as one multi-document
//! YAML stream on stdout, SOPS-encrypted ones decrypted (MAC verified). This is the
//! `generate` command of an Argo CD Config Management Plugin (`examples/argocd/`).

use std::path::{Path, PathBuf};

use clap::Args;
use hush_crypto::document::Format;
use hush_crypto::stores::json;
use hush_crypto::stores::yaml::{self, YamlOptions};
use hush_crypto::{Map, Value};
use hush_providers::gitops::{decrypt_documents, RepoFile};

use crate::args::DecryptArgsCommon;
use crate::exit::{CliError, CliResult, Code};

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Directory (or single file) to render [default: .]
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Comma-separated key types to try first (default: age,pgp)
    #[arg(long, env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
}

pub fn run(args: RenderArgs) -> CliResult<()> {
    let ring = crate::ops::decryption_ring(&DecryptArgsCommon {
        decryption_order: args.decryption_order.clone(),
        ignore_mac: false,
    })?;
    let mut files = Vec::new();
    collect(&args.dir, &mut files).map_err(|e| {
        CliError::new(
            Code::CouldNotReadInputFile,
            format!("{}: {e}", args.dir.display()),
        )
    })?;
    files.sort();
    let mut manifests = Vec::new();
    for path in files {
        let bytes = crate::fileio::read_input(&path)?;
        let format = Format::from_path(&path.to_string_lossy());
        let docs = if hush_crypto::document::is_encrypted(format, &bytes) {
            let file = RepoFile {
                path: path.display().to_string(),
                blob_id: String::new(),
                bytes,
            };
            // Any failure stops the render: Argo CD must not apply a partial set.
            decrypt_documents(&file, &ring)
                .map_err(|e| CliError::new(Code::CouldNotRetrieveKey, e.to_string()))?
        } else {
            match parse(format, &bytes) {
                Some(docs) => docs,
                None => continue, // not YAML/JSON manifests: not ours to render
            }
        };
        manifests.extend(docs.into_iter().filter(is_manifest));
    }
    let out = yaml::emit_documents(&manifests, &YamlOptions { indent: 2 });
    crate::fileio::write_stdout(out.as_bytes())
}

fn parse(format: Format, bytes: &[u8]) -> Option<Vec<Map>> {
    let text = std::str::from_utf8(bytes).ok()?;
    match format {
        Format::Yaml => yaml::parse_documents(text).ok(),
        Format::Json => json::parse(text).ok().map(|d| vec![d]),
        _ => None,
    }
}

/// A Kubernetes object: `apiVersion` and `kind` set, and not kustomize's own config.
fn is_manifest(doc: &Map) -> bool {
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    !api.is_empty() && !kind.is_empty() && !api.starts_with("kustomize.config.k8s.io/")
}

/// YAML and JSON files, skipping hidden entries (`.git`, `.sops.yaml`) and symlinks.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        if matches!(
            Format::from_path(&path.to_string_lossy()),
            Format::Yaml | Format::Json
        ) {
            out.push(path.to_path_buf());
        }
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        collect(&entry.path(), out)?;
    }
    Ok(())
}
