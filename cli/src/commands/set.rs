//! `hush set` and `hush unset`: change one value of an encrypted file in place.
//! Values that did not change keep their ciphertext (same IV), so diffs stay small.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use hush_crypto::stores::json;
use hush_crypto::{path, Value};

use crate::args::{ConfigArgs, DecryptArgsCommon, FormatArgs};
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The encrypted file to change
    pub file: PathBuf,
    /// Tree path of the value, e.g. '["data"]["password"]'
    pub path: String,
    /// The new value as JSON, e.g. '"s3cret"' or '{"a": 1}'
    #[arg(required_unless_present_any = ["value_file", "value_stdin"])]
    pub value: Option<String>,
    /// Read the JSON value from this file
    #[arg(long, conflicts_with_all = ["value", "value_stdin"])]
    pub value_file: Option<PathBuf>,
    /// Read the JSON value from standard input
    #[arg(long, conflicts_with = "value")]
    pub value_stdin: bool,
    /// Leave the file untouched when the value is already set to this
    #[arg(long)]
    pub idempotent: bool,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct UnsetArgs {
    /// The encrypted file to change
    pub file: PathBuf,
    /// Tree path of the value to remove, e.g. '["data"]["password"]'
    pub path: String,
    /// Succeed without changes when the path does not exist
    #[arg(long)]
    pub idempotent: bool,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub config: ConfigArgs,
}

fn read_value(args: &SetArgs) -> CliResult<String> {
    let invalid =
        |e: std::io::Error| CliError::new(Code::CouldNotReadInputFile, format!("value: {e}"));
    if let Some(path) = &args.value_file {
        return std::fs::read_to_string(path).map_err(invalid);
    }
    if args.value_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(invalid)?;
        return Ok(s);
    }
    Ok(args.value.clone().unwrap_or_default())
}

pub fn run_set(args: SetArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let steps = path::parse(&args.path).map_err(|e| spec.error(Code::InvalidTreePathFormat, e))?;
    let text = read_value(&args)?;
    // The value is parsed before anything is decrypted; its text is never echoed back.
    let value: Value = json::parse_value(text.trim()).map_err(|e| {
        spec.error(
            Code::ErrorInvalidSetFormat,
            format!("the value is not valid JSON ({e})"),
        )
    })?;
    let bytes = ops::read(&spec)?;
    let mut opened = ops::open(&spec, &bytes, &args.decryption)?;
    let doc = opened
        .docs
        .first_mut()
        .ok_or_else(|| spec.error(Code::Generic, "the file has no document"))?;
    let changed =
        path::set(doc, &steps, value).map_err(|e| spec.error(Code::InvalidTreePathFormat, e))?;
    if !changed && args.idempotent {
        return Ok(());
    }
    write_back(&spec, &args.formats, &args.config, opened)
}

pub fn run_unset(args: UnsetArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let steps = path::parse(&args.path).map_err(|e| spec.error(Code::InvalidTreePathFormat, e))?;
    let bytes = ops::read(&spec)?;
    let mut opened = ops::open(&spec, &bytes, &args.decryption)?;
    let doc = opened
        .docs
        .first_mut()
        .ok_or_else(|| spec.error(Code::Generic, "the file has no document"))?;
    match path::unset(doc, &steps) {
        Ok(()) => {}
        Err(path::PathError::NotFound(_)) if args.idempotent => return Ok(()),
        Err(e) => return Err(spec.error(Code::InvalidTreePathFormat, e)),
    }
    write_back(&spec, &args.formats, &args.config, opened)
}

/// Re-encrypts with the same data key and IV stash and replaces the file atomically.
fn write_back(
    spec: &FileSpec,
    formats: &FormatArgs,
    config: &ConfigArgs,
    mut opened: ops::Opened,
) -> CliResult<()> {
    let config = crate::config::load_for(&spec.name, config.config.as_deref()).unwrap_or(None);
    let opts = ops::emit_options(formats, config.as_ref());
    let out = ops::seal_and_emit(
        spec,
        opened.docs,
        &mut opened.metadata,
        &opened.key,
        Some(&opened.stash),
        &opts,
    )?;
    crate::fileio::write_atomic(&spec.path, &out, 0o644)
}
