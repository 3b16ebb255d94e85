//! `hush decrypt`: print or write the plaintext of an encrypted file.

use std::path::PathBuf;

use clap::Args;
use hush_crypto::stores::json;
use hush_crypto::{path, Map, Value};

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
    let opened = ops::open_read_only(&spec, &bytes, &args.decryption)?;
    let config = crate::config::load_for(&spec.name, args.config.config.as_deref()).unwrap_or(None);
    let opts = ops::emit_options(&args.formats, config.as_ref());
    let out = match &args.extract {
        Some(expr) => extract(&spec, &opened.docs, expr, &opts)?,
        None => ops::emit_plain(&spec, &opened.docs, &opts)?,
    };
    ops::deliver(&spec, &args.output, &out, true)
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
