//! `hush decrypt`: print or write the plaintext of an encrypted file.

use std::path::PathBuf;

use clap::Args;
use hush_crypto::document::{self, Format};
use hush_crypto::engine::Stash;
use hush_crypto::stores::json;
use hush_crypto::{nested, path, Map, Value};

use crate::args::{ConfigArgs, DecryptArgsCommon, FormatArgs, OutputArgs};
use crate::exit::{CliResult, Code};
use crate::ops::{self, FileSpec};

#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// The file to decrypt (- for standard input)
    pub file: PathBuf,
    /// Print only the value at this tree path, e.g. '["data"]["password"]'
    #[arg(long)]
    pub extract: Option<String>,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: DecryptArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let bytes = ops::read(&spec)?;
    // One parse for the common case; only a file without top-level metadata is
    // looked at again as SopsSecrets.
    let docs = match document::load_encrypted(spec.input, &bytes) {
        Ok((docs, metadata)) => {
            ops::open_loaded(&spec, docs, metadata, &args.decryption, Stash::Skip)?.docs
        }
        Err(_) if is_sealed_sops_secret(&spec, &bytes) => {
            open_sops_secrets(&spec, &bytes, &args.decryption)?
        }
        Err(_) => ops::open_read_only(&spec, &bytes, &args.decryption)?.docs,
    };
    let config = crate::config::load_for(&spec.name, args.config.config.as_deref()).unwrap_or(None);
    let opts = ops::emit_options(&args.formats, config.as_ref());
    let out = match &args.extract {
        Some(expr) => extract(&spec, &docs, expr, &opts)?,
        None => ops::emit_plain(&spec, &docs, &opts)?,
    };
    ops::deliver(&spec, &args.output, &out, true)
}

/// True when the file is one or more hush `SopsSecret`s whose `spec` is a nested
/// SOPS document (and the file has no top-level `sops` block).
pub fn is_sealed_sops_secret(spec: &FileSpec, bytes: &[u8]) -> bool {
    if !matches!(spec.input, Format::Yaml | Format::Json)
        || document::is_encrypted(spec.input, bytes)
    {
        return false;
    }
    document::load_plain(spec.input, bytes).is_ok_and(|docs| are_sealed_sops_secrets(&docs))
}

/// True when every loaded document is a `SopsSecret` whose `spec` is already sealed.
pub fn are_sealed_sops_secrets(docs: &[Map]) -> bool {
    !docs.is_empty()
        && docs.iter().all(|d| {
            nested::is_sops_secret(d) && nested::is_encrypted(d, nested::SOPS_SECRET_SUBTREE)
        })
}

/// Decrypts each SopsSecret's `spec` (MAC checked unless `--ignore-mac`) and puts the
/// plaintext spec, without its metadata, back in place.
fn open_sops_secrets(
    spec: &FileSpec,
    bytes: &[u8],
    args: &DecryptArgsCommon,
) -> CliResult<Vec<Map>> {
    let mut docs = document::load_plain(spec.input, bytes)
        .map_err(|e| spec.error(Code::CouldNotReadInputFile, e))?;
    let ring = ops::decryption_ring(args)?;
    for doc in &mut docs {
        let (mut sub, metadata) = nested::open(doc, nested::SOPS_SECRET_SUBTREE)
            .map_err(|e| spec.error(Code::CouldNotReadInputFile, e))?;
        let key = ops::data_key(spec, &metadata, &ring)?;
        ops::decrypt_docs(
            spec,
            std::slice::from_mut(&mut sub),
            &metadata,
            &key,
            args.ignore_mac,
        )?;
        doc.insert(nested::SOPS_SECRET_SUBTREE, Value::Map(sub));
    }
    Ok(docs)
}

/// The value at a tree path: scalars as raw text (as sops prints them), trees in the output format.
fn extract(
    spec: &FileSpec,
    docs: &[Map],
    expr: &str,
    opts: &hush_crypto::document::EmitOptions,
) -> CliResult<Vec<u8>> {
    let steps = path::parse(expr).map_err(|e| spec.error(Code::InvalidTreePathFormat, e))?;
    let first = docs.first().cloned().unwrap_or_default();
    let value =
        path::get(&first, &steps).map_err(|e| spec.error(Code::InvalidTreePathFormat, e))?;
    match value {
        Value::Map(m) => ops::emit_plain(spec, std::slice::from_ref(m), opts),
        // A list has no document form in every store; JSON is also valid YAML.
        Value::List(_) => Ok(json::emit_value_text(value, opts.json_indent).into_bytes()),
        Value::Bytes(b) => Ok(b.clone()),
        other => Ok(hush_crypto::stores::scalar_text(other)
            .unwrap_or_default()
            .into_bytes()),
    }
}
