//! Reading inputs and writing outputs without ever leaving a half-written file:
//! every write goes to a temporary file in the target's directory, is synced,
//! and is renamed over the target, keeping the target's permissions.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::exit::{CliError, CliResult, Code};

/// Inputs larger than this are refused rather than exhausting memory.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Reads a file, or standard input for `-` / `/dev/stdin`.
pub fn read_input(path: &Path) -> CliResult<Vec<u8>> {
    let read_err = |e: std::io::Error| {
        CliError::new(
            Code::CouldNotReadInputFile,
            format!("{}: {e}", path.display()),
        )
    };
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
    } else {
        let meta = fs::metadata(path).map_err(read_err)?;
        if meta.is_dir() {
            return Err(CliError::new(
                Code::CouldNotReadInputFile,
                format!("{}: is a directory", path.display()),
            ));
        }
        fs::File::open(path)
            .map_err(read_err)?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(CliError::new(
            Code::CouldNotReadInputFile,
            format!("{}: larger than {} bytes", path.display(), MAX_INPUT_BYTES),
        ));
    }
    Ok(bytes)
}

/// Atomically replaces `path` with `bytes`. An existing file keeps its mode;
/// a new file gets `new_mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> CliResult<()> {
    let write_err = |e: std::io::Error| {
        CliError::new(
            Code::CouldNotWriteOutputFile,
            format!("{}: {e}", path.display()),
        )
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(new_mode);
    // The temp file is created 0600, so plaintext never sits world-readable, even briefly.
    let mut tmp = tempfile::Builder::new()
        .prefix(".hush-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(write_err)?;
    // On failure the NamedTempFile is dropped and removed: nothing half-written remains.
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes to standard output, treating a closed pipe as success.
pub fn write_stdout(bytes: &[u8]) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(
            Code::CouldNotWriteOutputFile,
            format!("stdout: {e}"),
        )),
    }
}
