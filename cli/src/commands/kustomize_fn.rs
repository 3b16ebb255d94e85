//! `hush kustomize-fn`: a Kustomize exec KRM function (ResourceList on stdin, on
//! stdout). As a generator, its functionConfig lists SOPS files to decrypt
//! (`files:`, relative to the kustomization); as a transformer, SOPS-encrypted
//! resources among `items` are decrypted in place. MACs are always verified, and any
//! failure fails the build rather than emitting ciphertext or a partial set.
//!
//! ```yaml
//! apiVersion: hush.dev/v1alpha1
//! kind: SopsGenerator
//! metadata:
//!   name: secrets
//!   annotations:
//!     config.kubernetes.io/function: |
//!       exec:
//!         path: ./hush-kustomize-fn
//! files:
//!   - secrets/db.enc.yaml
//! ```
//!
//! The same generator also runs as a legacy Kustomize exec plugin, which is what
//! `kubectl kustomize --enable-alpha-plugins` runs (kubectl has no `--enable-exec`):
//! an executable at `$KUSTOMIZE_PLUGIN_HOME/hush.dev/v1alpha1/sopsgenerator/SopsGenerator`
//! that runs `hush kustomize-fn "$@"`. Kustomize passes the generator's config file
//! (the same YAML, without the function annotation) as the argument, runs it in the
//! kustomization's directory, and reads the generated resources from stdout.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use hush_crypto::document::{Format, SOPS_KEY};
use hush_crypto::stores::yaml::{self, YamlOptions};
use hush_crypto::{Map, Value};
use hush_providers::gitops::{decrypt_documents, RepoFile};

use crate::args::DecryptArgsCommon;
use crate::exit::{CliError, CliResult, Code};

#[derive(Args, Debug)]
pub struct KustomizeFnArgs {
    /// Comma-separated key types to try first (default: age,pgp)
    #[arg(long, env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
    /// Legacy exec-plugin mode: the generator config file kustomize passes; the
    /// decrypted resources are printed as YAML instead of a ResourceList
    pub plugin_config: Option<PathBuf>,
}

fn invalid(message: impl Into<String>) -> CliError {
    CliError::new(
        Code::CouldNotReadInputFile,
        format!("kustomize-fn: {}", message.into()),
    )
}

pub fn run(args: KustomizeFnArgs) -> CliResult<()> {
    let ring = crate::ops::decryption_ring(&DecryptArgsCommon {
        decryption_order: args.decryption_order.clone(),
        ignore_mac: false,
    })?;
    if let Some(config) = &args.plugin_config {
        return run_plugin(config, &ring);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| invalid(format!("reading stdin: {e}")))?;
    let mut list = yaml::parse_documents(&input)
        .map_err(|e| invalid(format!("ResourceList: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| invalid("empty input"))?;
    if list.get("kind").and_then(Value::as_str) != Some("ResourceList") {
        return Err(invalid("input is not a ResourceList"));
    }

    let mut items = Vec::new();
    if let Some(Value::List(existing)) = list.get("items") {
        for (i, item) in existing.iter().enumerate() {
            let Value::Map(map) = item else { continue };
            items.push(decrypt_item(map, i, &ring)?);
        }
    }
    let config = list
        .get("functionConfig")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    items.extend(generate(&config, &ring)?.into_iter().map(Value::Map));
    list.insert("items", Value::List(items));
    let out = yaml::emit_documents(std::slice::from_ref(&list), &YamlOptions { indent: 2 });
    crate::fileio::write_stdout(out.as_bytes())
}

/// Legacy exec plugin: the config from a file, the resources as a YAML stream.
fn run_plugin(config: &std::path::Path, ring: &hush_providers::KeyRing) -> CliResult<()> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| invalid(format!("{}: {e}", config.display())))?;
    let config = yaml::parse_documents(&text)
        .map_err(|e| invalid(format!("{}: {e}", config.display())))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let docs = generate(&config, ring)?;
    let out = yaml::emit_documents(&docs, &YamlOptions { indent: 2 });
    crate::fileio::write_stdout(out.as_bytes())
}

/// Every document of every file the generator config lists, decrypted; the first
/// failure fails the whole build.
fn generate(config: &Map, ring: &hush_providers::KeyRing) -> CliResult<Vec<Map>> {
    let mut out = Vec::new();
    for file in generator_files(config)? {
        let bytes =
            std::fs::read(&file).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
        let repo_file = RepoFile {
            path: file.display().to_string(),
            blob_id: String::new(),
            bytes,
        };
        out.extend(decrypt_documents(&repo_file, ring).map_err(|e| invalid(e.to_string()))?);
    }
    Ok(out)
}

/// An item with a top-level `sops` block is decrypted; others pass through unchanged.
fn decrypt_item(item: &Map, index: usize, ring: &hush_providers::KeyRing) -> CliResult<Value> {
    if item.get(SOPS_KEY).and_then(Value::as_map).is_none() {
        return Ok(Value::Map(item.clone()));
    }
    let name = item
        .get("metadata")
        .and_then(Value::as_map)
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    // Decrypt through the same path as files: the item's own YAML is a SOPS YAML document.
    let text = yaml::emit_documents(std::slice::from_ref(item), &YamlOptions { indent: 4 });
    let file = RepoFile {
        path: format!("items[{index}] ({name})"),
        blob_id: String::new(),
        bytes: text.into_bytes(),
    };
    let mut docs = decrypt_documents(&file, ring).map_err(|e| invalid(e.to_string()))?;
    Ok(Value::Map(docs.remove(0)))
}

/// `files:` (or `spec.files:`) of the functionConfig, relative to the working
/// directory, which kustomize sets to the kustomization's directory.
fn generator_files(config: &Map) -> CliResult<Vec<PathBuf>> {
    let list = config.get("files").or_else(|| {
        config
            .get("spec")
            .and_then(Value::as_map)
            .and_then(|s| s.get("files"))
    });
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let Value::List(entries) = list else {
        return Err(invalid("functionConfig files: must be a list"));
    };
    entries
        .iter()
        .map(|v| {
            let path = v
                .as_str()
                .ok_or_else(|| invalid("functionConfig files: entries must be strings"))?;
            if path.split('/').any(|p| p == "..") || path.starts_with('/') {
                return Err(invalid(format!(
                    "{path}: files must stay inside the kustomization"
                )));
            }
            if !matches!(Format::from_path(path), Format::Yaml | Format::Json) {
                return Err(invalid(format!(
                    "{path}: only YAML and JSON files can become resources"
                )));
            }
            Ok(PathBuf::from(path))
        })
        .collect()
}
