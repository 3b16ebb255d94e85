//! `hush edit`: decrypt into a private temporary file, open `$SOPS_EDITOR` /
//! `$EDITOR`, and re-encrypt what was saved. The plaintext lives in a 0700
//! directory that is removed on every exit, including SIGINT/SIGTERM/SIGHUP.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use hush_crypto::document::{self, Format};
use hush_crypto::metadata::Metadata;
use hush_crypto::{DataKey, Map};
use zeroize::Zeroizing;

use crate::args::{ConfigArgs, DecryptArgsCommon, FormatArgs, KeyArgs, SelectorArgs};
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};
use crate::{config, keys};

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The file to edit (created if it does not exist)
    pub file: PathBuf,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub selectors: SelectorArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// What a new file starts with, per format.
fn template(format: Format) -> &'static str {
    match format {
        Format::Yaml => "# Write your secrets here; values are encrypted when you save and quit.\nexample_key: example_value\n",
        Format::Json => "{\n\t\"example_key\": \"example_value\"\n}\n",
        Format::Dotenv => "EXAMPLE_KEY=example_value\n",
        Format::Ini => "[section]\nexample_key = example_value\n",
        Format::Binary => "",
    }
}

pub fn run(args: EditArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let cfg = config::load_for(&spec.name, args.config.config.as_deref())?;
    let opts = ops::emit_options(&args.formats, cfg.as_ref());
    let exists = spec.path.exists();
    let (metadata, key, stash, plaintext) = if exists {
        let bytes = ops::read(&spec)?;
        let opened = ops::open(&spec, &bytes, &args.decryption)?;
        let plain = Zeroizing::new(ops::emit_plain(
            &FileSpec {
                output: spec.input,
                ..spec.clone()
            },
            &opened.docs,
            &opts,
        )?);
        (opened.metadata, opened.key, Some(opened.stash), plain)
    } else {
        let rule = cfg.as_ref().and_then(|c| c.rule_for(&spec.name));
        let (mut groups, threshold) = keys::resolve(&args.keys, rule, &spec.display())?;
        let template_docs =
            document::load_plain(spec.input, template(spec.input).as_bytes()).unwrap_or_default();
        let selector =
            super::encrypt::choose_selector(&spec, &args.selectors, rule, &template_docs)?;
        let key = DataKey::generate();
        keys::ring_for_wrapping()?
            .wrap(&mut groups, threshold, &key, &ops::now_rfc3339())
            .map_err(|e| spec.error(Code::CouldNotRetrieveKey, e))?;
        let mac_only =
            args.selectors.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted);
        let metadata = Metadata::new(groups, threshold, selector, mac_only);
        (
            metadata,
            key,
            None,
            Zeroizing::new(template(spec.input).as_bytes().to_vec()),
        )
    };
    let docs = edit_loop(&spec, &plaintext)?;
    let Some(docs) = docs else {
        return Err(spec.error(
            Code::FileHasNotBeenModified,
            "file has not changed, exiting",
        ));
    };
    let mut metadata = metadata;
    let out_spec = FileSpec {
        output: spec.input,
        ..spec.clone()
    };
    let out = ops::seal_and_emit(&out_spec, docs, &mut metadata, &key, stash.as_ref(), &opts)?;
    crate::fileio::write_atomic(&spec.path, &out, 0o644)
}

/// Signals that must not kill hush while the editor runs (the temp dir must go).
const GUARDED: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Runs the editor until the content parses; `None` when nothing changed.
fn edit_loop(spec: &FileSpec, plaintext: &[u8]) -> CliResult<Option<Vec<Map>>> {
    let dir = tempfile::Builder::new()
        .prefix("hush-edit-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| {
            CliError::new(
                Code::CouldNotWriteOutputFile,
                format!("temporary directory: {e}"),
            )
        })?;
    let name = spec
        .name
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.path().join(name);
    write_0600(&tmp, plaintext)?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut ids = Vec::new();
    for sig in GUARDED {
        if let Ok(id) = signal_hook::flag::register(sig, interrupted.clone()) {
            ids.push(id);
        }
    }
    let result = (|| loop {
        run_editor(&tmp)?;
        if interrupted.load(Ordering::SeqCst) {
            return Err(CliError::new(
                Code::Generic,
                "interrupted; the file was not changed",
            ));
        }
        let edited = Zeroizing::new(
            std::fs::read(&tmp)
                .map_err(|e| CliError::new(Code::CouldNotReadInputFile, e.to_string()))?,
        );
        if edited.as_slice() == plaintext {
            return Ok(None);
        }
        match document::load_plain(spec.input, &edited) {
            Ok(docs) => return Ok(Some(docs)),
            Err(e) => {
                eprintln!(
                    "hush: {}: could not parse the edited file: {e}",
                    spec.display()
                );
                if !ask_reedit() {
                    return Err(spec.error(
                        Code::CouldNotReadInputFile,
                        "edited content is invalid; the file was not changed",
                    ));
                }
            }
        }
    })();
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    // Overwrite before removal so the plaintext does not linger in freed blocks of the page cache.
    if let Ok(len) = std::fs::metadata(&tmp).map(|m| m.len()) {
        let _ = std::fs::write(&tmp, vec![0u8; len as usize]);
    }
    drop(dir);
    result
}

fn write_0600(path: &Path, bytes: &[u8]) -> CliResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| {
        CliError::new(
            Code::CouldNotWriteOutputFile,
            format!("{}: {e}", path.display()),
        )
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)
}

fn editor_command() -> String {
    for var in ["SOPS_EDITOR", "EDITOR"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return v;
            }
        }
    }
    "vi".to_string()
}

fn run_editor(path: &Path) -> CliResult<()> {
    // The editor variable may carry arguments ("code --wait"): let the shell split it.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{} \"$1\"", editor_command()))
        .arg("hush-editor")
        .arg(path)
        .status()
        .map_err(|e| CliError::new(Code::Generic, format!("could not start the editor: {e}")))?;
    if !status.success() {
        return Err(CliError::new(
            Code::Generic,
            format!("the editor exited with {status}; the file was not changed"),
        ));
    }
    Ok(())
}

fn ask_reedit() -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("Press Enter to return to the editor, or Ctrl+C to give up: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok()
}
