//! `hush exec-env` and `hush exec-file`: run a command with the plaintext in its
//! environment or in a FIFO/private temp file, never in the working tree.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use clap::Args;
use hush_crypto::stores::{json, scalar_text};
use hush_crypto::{Map, Value};

use crate::args::{DecryptArgsCommon, FormatArgs};
use crate::exit::{CliError, CliResult, Code};
use crate::ops::{self, FileSpec};

#[derive(Args, Debug)]
pub struct ExecEnvArgs {
    /// The encrypted file
    pub file: PathBuf,
    /// The command to run (through sh -c)
    pub command: String,
    /// Start the command with only the file's variables
    #[arg(long)]
    pub pristine: bool,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
}

#[derive(Args, Debug)]
pub struct ExecFileArgs {
    /// The encrypted file
    pub file: PathBuf,
    /// The command to run (through sh -c); {} is replaced by the plaintext file's path
    pub command: String,
    /// Write a private temporary file instead of a FIFO
    #[arg(long)]
    pub no_fifo: bool,
    /// Name of the plaintext file inside the private directory
    #[arg(long, default_value = "tmp-file")]
    pub filename: String,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub decryption: DecryptArgsCommon,
}

/// The environment variables a decrypted document defines (top-level keys).
pub fn env_pairs(doc: &Map) -> Vec<(String, String)> {
    doc.entries()
        .map(|(k, v)| {
            let text = match v {
                Value::Map(_) | Value::List(_) => {
                    json::emit_value_text(v, json::JsonIndent::Spaces(0))
                        .trim_end()
                        .to_string()
                }
                other => scalar_text(other).unwrap_or_default(),
            };
            (k.clone(), text)
        })
        .collect()
}

fn exit_with(status: ExitStatus) -> CliResult<()> {
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => std::process::exit(code),
        // Killed by a signal: report it the shell way.
        None => std::process::exit(
            128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(1),
        ),
    }
}

fn spawn_err(e: std::io::Error) -> CliError {
    CliError::new(Code::Generic, format!("could not run the command: {e}"))
}

pub fn run_env(args: ExecEnvArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let bytes = ops::read(&spec)?;
    let opened = ops::open(&spec, &bytes, &args.decryption)?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&args.command);
    if args.pristine {
        cmd.env_clear();
    }
    for doc in &opened.docs {
        cmd.envs(env_pairs(doc));
    }
    drop(opened);
    let status = cmd.status().map_err(spawn_err)?;
    exit_with(status)
}

pub fn run_file(args: ExecFileArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let bytes = ops::read(&spec)?;
    let opened = ops::open(&spec, &bytes, &args.decryption)?;
    let plaintext = zeroize::Zeroizing::new(ops::emit_plain(
        &spec,
        &opened.docs,
        &ops::emit_options(&args.formats, None),
    )?);
    drop(opened);
    if args.filename.contains('/') || args.filename.is_empty() || args.filename == ".." {
        return Err(CliError::new(
            Code::Generic,
            "--filename must be a plain file name",
        ));
    }
    // A private directory (0700) that is removed on every exit path by TempDir's drop.
    let dir = tempfile::Builder::new()
        .prefix("hush-exec-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| CliError::new(Code::CouldNotWriteOutputFile, e.to_string()))?;
    let path = dir.path().join(&args.filename);
    let command = args.command.replace("{}", &path.to_string_lossy());
    let status = if args.no_fifo {
        write_private_file(&path, &plaintext)?;
        Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
            .map_err(spawn_err)?
    } else {
        run_with_fifo(&path, plaintext, &command)?
    };
    drop(dir);
    exit_with(status)
}

fn write_private_file(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let err = |e: std::io::Error| {
        CliError::new(
            Code::CouldNotWriteOutputFile,
            format!("{}: {e}", path.display()),
        )
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)
}

/// Serves the plaintext through a FIFO: it never exists as a file on disk.
fn run_with_fifo(
    path: &Path,
    plaintext: zeroize::Zeroizing<Vec<u8>>,
    command: &str,
) -> CliResult<ExitStatus> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| CliError::new(Code::CouldNotWriteOutputFile, format!("mkfifo: {e}")))?;
    let fifo = path.to_path_buf();
    // Opening a FIFO for writing blocks until a reader appears, so write from a thread.
    let writer = std::thread::spawn(move || {
        if let Ok(mut f) = OpenOptions::new().write(true).open(&fifo) {
            let _ = f.write_all(&plaintext);
        }
    });
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .map_err(spawn_err)?;
    // If the command never read the FIFO, the writer is blocked opening it (or has not
    // even started): keep offering it a reader until it finishes, then drop the reader.
    while !writer.is_finished() {
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(path);
        std::thread::sleep(std::time::Duration::from_millis(5));
        drop(reader);
    }
    let _ = writer.join();
    Ok(status)
}
