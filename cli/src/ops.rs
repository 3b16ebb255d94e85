//! The steps every command shares: load, unwrap the data key, decrypt, encrypt,
//! emit and deliver, each failing with sops' exit code and a one-line message
//! that names the file (and the key path where there is one).

use std::path::{Path, PathBuf};

use hush_crypto::document::{self, EmitOptions, Format, LoadError};
use hush_crypto::engine::{DecryptOutcome, IvStash, Stash};
use hush_crypto::metadata::Metadata;
use hush_crypto::sopsfile::{self, DecryptError, MacCheck};
use hush_crypto::stores::json::JsonIndent;
use hush_crypto::{DataKey, KeyType, Map};
use hush_providers::KeyRing;

use crate::args::{DecryptArgsCommon, FormatArgs, OutputArgs};
use crate::config::Config;
use crate::exit::{CliError, CliResult, Code};
use crate::fileio;

/// The file a command works on and the formats it is read and written in.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub path: PathBuf,
    /// The name used for format detection and creation rules (`--filename-override`).
    pub name: PathBuf,
    pub input: Format,
    pub output: Format,
}

impl FileSpec {
    pub fn new(path: &Path, formats: &FormatArgs) -> Self {
        let name = formats
            .filename_override
            .clone()
            .unwrap_or_else(|| path.to_path_buf());
        let detected = Format::from_path(&name.to_string_lossy());
        let input = formats.input_type.unwrap_or(detected);
        FileSpec {
            path: path.to_path_buf(),
            name,
            input,
            output: formats.output_type.unwrap_or(input),
        }
    }

    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// An error about this file, with sops' exit code.
    pub fn error(&self, code: Code, what: impl std::fmt::Display) -> CliError {
        CliError::new(code, format!("{}: {what}", self.display()))
    }
}

/// Output layout from `--indent` and the config's `stores` section.
pub fn emit_options(formats: &FormatArgs, config: Option<&Config>) -> EmitOptions {
    let mut opts = EmitOptions::default();
    if let Some(i) = formats.indent.or(config.and_then(|c| c.yaml_indent)) {
        opts.yaml.indent = i.max(1);
    }
    if let Some(i) = formats.indent.or(config.and_then(|c| c.json_indent)) {
        opts.json_indent = JsonIndent::Spaces(i);
    }
    opts
}

/// The current time as sops writes it: RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

pub fn read(spec: &FileSpec) -> CliResult<Vec<u8>> {
    fileio::read_input(&spec.path)
}

/// Loads an encrypted file: its documents and metadata.
pub fn load_encrypted(spec: &FileSpec, bytes: &[u8]) -> CliResult<(Vec<Map>, Metadata)> {
    document::load_encrypted(spec.input, bytes).map_err(|e| match e {
        LoadError::NoMetadata => spec.error(
            Code::CouldNotReadInputFile,
            "sops metadata not found: the file is not encrypted (or the input type is wrong)",
        ),
        other => spec.error(Code::CouldNotReadInputFile, other),
    })
}

/// Builds the key ring for decryption (identities from the environment) and applies
/// `--decryption-order`.
pub fn decryption_ring(args: &DecryptArgsCommon) -> CliResult<KeyRing> {
    let mut ring = crate::keys::ring_from_env()?;
    if let Some(order) = &args.decryption_order {
        let mut types = Vec::new();
        for name in hush_crypto::keyspec::split_list(order) {
            let t = KeyType::from_list_name(&name)
                .or(match name.as_str() {
                    "aws_kms" | "awskms" => Some(KeyType::AwsKms),
                    "gcpkms" => Some(KeyType::GcpKms),
                    "azkv" | "azure_keyvault" => Some(KeyType::AzureKv),
                    "hcvault" | "vault" => Some(KeyType::HcVault),
                    _ => None,
                })
                .ok_or_else(|| {
                    CliError::new(
                        Code::Generic,
                        format!("--decryption-order: unknown key type {name:?}"),
                    )
                })?;
            types.push(t);
        }
        ring.set_decryption_order(types);
    }
    Ok(ring)
}

/// Recovers the data key.
pub fn data_key(spec: &FileSpec, metadata: &Metadata, ring: &KeyRing) -> CliResult<DataKey> {
    ring.unwrap(metadata)
        .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))
}

/// Decrypts documents in place and checks the MAC unless `ignore_mac`.
pub fn decrypt_docs(
    spec: &FileSpec,
    docs: &mut [Map],
    metadata: &Metadata,
    key: &DataKey,
    ignore_mac: bool,
) -> CliResult<DecryptOutcome> {
    decrypt_docs_with(spec, docs, metadata, key, ignore_mac, Stash::Keep)
}

fn decrypt_docs_with(
    spec: &FileSpec,
    docs: &mut [Map],
    metadata: &Metadata,
    key: &DataKey,
    ignore_mac: bool,
    stash: Stash,
) -> CliResult<DecryptOutcome> {
    let check = if ignore_mac {
        MacCheck::Ignore
    } else {
        MacCheck::Verify
    };
    let outcome =
        sopsfile::decrypt_documents_with(docs, metadata, key, check, stash).map_err(|e| {
            let code = match &e {
                DecryptError::Value(_) => Code::ErrorDecryptingTree,
                DecryptError::MacMissing => Code::MacNotFound,
                DecryptError::MacMismatch => Code::MacMismatch,
                DecryptError::MacUndecryptable(_) => Code::ErrorDecryptingMac,
                _ => Code::Generic,
            };
            spec.error(code, e)
        })?;
    for path in &outcome.clear_comments {
        eprintln!(
            "hush: warning: {}: comment at {path} is not encrypted (expected for files from sops < 3.6)",
            spec.display()
        );
    }
    Ok(outcome)
}

/// Loads, unwraps and decrypts in one go.
pub fn open(spec: &FileSpec, bytes: &[u8], args: &DecryptArgsCommon) -> CliResult<Opened> {
    open_with(spec, bytes, args, Stash::Keep)
}

/// [`open`] for output that is never encrypted again: no IV stash is recorded.
pub fn open_read_only(
    spec: &FileSpec,
    bytes: &[u8],
    args: &DecryptArgsCommon,
) -> CliResult<Opened> {
    open_with(spec, bytes, args, Stash::Skip)
}

fn open_with(
    spec: &FileSpec,
    bytes: &[u8],
    args: &DecryptArgsCommon,
    stash: Stash,
) -> CliResult<Opened> {
    let (docs, metadata) = load_encrypted(spec, bytes)?;
    open_loaded(spec, docs, metadata, args, stash)
}

/// [`open_with`] for a file already loaded with [`load_encrypted`].
pub fn open_loaded(
    spec: &FileSpec,
    mut docs: Vec<Map>,
    metadata: Metadata,
    args: &DecryptArgsCommon,
    stash: Stash,
) -> CliResult<Opened> {
    let ring = decryption_ring(args)?;
    let key = data_key(spec, &metadata, &ring)?;
    let outcome = decrypt_docs_with(spec, &mut docs, &metadata, &key, args.ignore_mac, stash)?;
    Ok(Opened {
        docs,
        metadata,
        key,
        stash: outcome.stash,
        ring,
    })
}

/// A decrypted file with what is needed to write it back.
pub struct Opened {
    pub docs: Vec<Map>,
    pub metadata: Metadata,
    pub key: DataKey,
    pub stash: IvStash,
    pub ring: KeyRing,
}

/// Encrypts documents and renders them with their metadata.
pub fn seal_and_emit(
    spec: &FileSpec,
    mut docs: Vec<Map>,
    metadata: &mut Metadata,
    key: &DataKey,
    stash: Option<&IvStash>,
    opts: &EmitOptions,
) -> CliResult<Vec<u8>> {
    sopsfile::encrypt_documents(&mut docs, metadata, key, &now_rfc3339(), stash).map_err(|e| {
        spec.error(
            Code::ErrorEncryptingTree,
            format!("could not encrypt value at {e}"),
        )
    })?;
    document::emit_encrypted(spec.output, &docs, metadata, opts)
        .map_err(|e| spec.error(Code::ErrorDumpingTree, e))
}

/// Renders plaintext documents in the output format.
pub fn emit_plain(spec: &FileSpec, docs: &[Map], opts: &EmitOptions) -> CliResult<Vec<u8>> {
    document::emit_plain(spec.output, docs, opts).map_err(|e| spec.error(Code::ErrorDumpingTree, e))
}

/// Sends output where the user asked: in place, to `--output`, or to stdout.
/// `plaintext` output files are created 0600.
pub fn deliver(spec: &FileSpec, out: &OutputArgs, bytes: &[u8], plaintext: bool) -> CliResult<()> {
    let new_mode = if plaintext { 0o600 } else { 0o644 };
    if out.in_place {
        if spec.path == Path::new("-") {
            return Err(spec.error(
                Code::CouldNotWriteOutputFile,
                "cannot write standard input in place",
            ));
        }
        fileio::write_atomic(&spec.path, bytes, new_mode)
    } else if let Some(path) = &out.output {
        fileio::write_atomic(path, bytes, new_mode)
    } else {
        fileio::write_stdout(bytes)
    }
}
