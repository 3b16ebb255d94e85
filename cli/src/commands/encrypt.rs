//! `hush encrypt`: encrypt the values of a plaintext file.

use std::path::PathBuf;

use clap::Args;
use hush_crypto::document::{self, Format};
use hush_crypto::metadata::Metadata;
use hush_crypto::rules::Selector;
use hush_crypto::{nested, DataKey, Map, Value};

use crate::args::{ConfigArgs, FormatArgs, KeyArgs, OutputArgs, SelectorArgs};
use crate::commands::decrypt;
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};
use crate::{config, keys};

#[derive(Args, Debug)]
pub struct EncryptArgs {
    /// The file to encrypt (- for standard input)
    pub file: PathBuf,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub selectors: SelectorArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// The Kubernetes idiom sops users write by hand: encrypt only the Secret's payload.
pub const K8S_SECRET_REGEX: &str = "^(data|stringData)$";

pub fn run(args: EncryptArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let bytes = ops::read(&spec)?;
    let docs = match document::load_plain(spec.input, &bytes) {
        // One parse serves both "already encrypted" checks and the encryption.
        Ok(docs)
            if document::is_encrypted_loaded(spec.input, &bytes, &docs)
                || decrypt::are_sealed_sops_secrets(&docs) =>
        {
            return Err(spec.error(Code::FileAlreadyEncrypted, "the file is already encrypted"))
        }
        Ok(docs) => docs,
        Err(_) if document::is_encrypted(spec.input, &bytes) => {
            return Err(spec.error(Code::FileAlreadyEncrypted, "the file is already encrypted"));
        }
        Err(e) => return Err(spec.error(Code::CouldNotReadInputFile, e)),
    };
    let config = config::load_for(&spec.name, args.config.config.as_deref())?;
    let rule = config.as_ref().and_then(|c| c.rule_for(&spec.name));
    let (groups, threshold) = keys::resolve(&args.keys, rule, &spec.display())?;
    check_threshold(&spec, groups.len(), threshold)?;
    let selector = choose_selector(&spec, &args.selectors, rule, &docs)?;
    let mac_only = args.selectors.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted);
    let mut metadata = Metadata::new(groups, threshold, selector, mac_only);
    let key = DataKey::generate();
    let ring = keys::ring_for_wrapping()?;
    ring.wrap(
        &mut metadata.key_groups,
        threshold,
        &key,
        &ops::now_rfc3339(),
    )
    .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))?;
    let opts = ops::emit_options(&args.formats, config.as_ref());
    let out = if all_sops_secrets(&docs) {
        seal_sops_secrets(&spec, docs, &metadata, &key, &opts)?
    } else {
        ops::seal_and_emit(&spec, docs, &mut metadata, &key, None, &opts)?
    };
    ops::deliver(&spec, &args.output, &out, false)
}

/// True when every document is a hush `SopsSecret` (its `spec` is sealed on its own).
pub fn all_sops_secrets(docs: &[Map]) -> bool {
    !docs.is_empty() && docs.iter().all(nested::is_sops_secret)
}

/// Seal each SopsSecret's `spec` as a nested SOPS document (metadata at `spec.sops`),
/// so fields that Kubernetes and GitOps tools add to the object do not break the MAC.
fn seal_sops_secrets(
    spec: &FileSpec,
    mut docs: Vec<Map>,
    metadata: &Metadata,
    key: &DataKey,
    opts: &hush_crypto::document::EmitOptions,
) -> CliResult<Vec<u8>> {
    let now = ops::now_rfc3339();
    for doc in &mut docs {
        let mut meta = metadata.clone();
        nested::seal(doc, nested::SOPS_SECRET_SUBTREE, &mut meta, key, &now)
            .map_err(|e| spec.error(Code::ErrorEncryptingTree, e))?;
    }
    ops::emit_plain(spec, &docs, opts)
}

pub fn check_threshold(spec: &FileSpec, groups: usize, threshold: Option<usize>) -> CliResult<()> {
    match threshold {
        Some(t) if t == 0 || (groups > 1 && t > groups) => Err(spec.error(
            Code::Generic,
            format!(
                "Shamir threshold {t} must be between 1 and the number of key groups ({groups})"
            ),
        )),
        _ => Ok(()),
    }
}

/// Flags win, then the creation rule; with neither, a Kubernetes Secret gets
/// `encrypted_regex: ^(data|stringData)$` and anything else sops' default suffix.
pub fn choose_selector(
    spec: &FileSpec,
    flags: &SelectorArgs,
    rule: Option<&config::CreationRule>,
    docs: &[Map],
) -> CliResult<Selector> {
    let given: Vec<(&'static str, &String)> = [
        ("unencrypted_suffix", &flags.unencrypted_suffix),
        ("encrypted_suffix", &flags.encrypted_suffix),
        ("unencrypted_regex", &flags.unencrypted_regex),
        ("encrypted_regex", &flags.encrypted_regex),
        (
            "unencrypted_comment_regex",
            &flags.unencrypted_comment_regex,
        ),
        ("encrypted_comment_regex", &flags.encrypted_comment_regex),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.as_ref().map(|v| (f, v)))
    .collect();
    if given.len() > 1 {
        return Err(spec.error(
            Code::Generic,
            "only one of the --[un]encrypted-[comment-]suffix/regex options may be given",
        ));
    }
    // Binary files are one value: selectors do not apply (sops 3.11).
    if spec.input == Format::Binary {
        return Ok(Selector::default());
    }
    if let Some((field, text)) = given.first() {
        return Selector::from_field(field, text)
            .map_err(|e| {
                CliError::new(Code::Generic, format!("--{}: {e}", field.replace('_', "-")))
            })
            .map(|s| s.expect("known field"));
    }
    if let Some(s) = rule.and_then(|r| r.selector.clone()) {
        return Ok(s);
    }
    if !docs.is_empty() && docs.iter().all(is_kubernetes_secret) || all_sops_secrets(docs) {
        eprintln!(
            "hush: {}: Kubernetes Secret: encrypting only data and stringData (pass a selector flag or set one in .sops.yaml to change this)",
            spec.display()
        );
        return Ok(Selector::from_field("encrypted_regex", K8S_SECRET_REGEX)
            .expect("valid regex")
            .expect("known field"));
    }
    Ok(Selector::default())
}

fn is_kubernetes_secret(doc: &Map) -> bool {
    doc.get("kind") == Some(&Value::Str("Secret".into()))
        && doc.get("apiVersion") == Some(&Value::Str("v1".into()))
}
