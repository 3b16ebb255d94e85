//! `hush keygen`: a new age identity, written with mode 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use clap::Args;

use crate::exit::{CliError, CliResult, Code};

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Write the identity here (created 0600; never overwritten) instead of standard output
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: KeygenArgs) -> CliResult<()> {
    let (identity, recipient) = hush_providers::age::generate_identity();
    match &args.output {
        Some(path) => {
            let write_err = |e: std::io::Error| {
                CliError::new(
                    Code::CouldNotWriteOutputFile,
                    format!("{}: {e}", path.display()),
                )
            };
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(write_err)?;
            file.write_all(identity.as_bytes()).map_err(write_err)?;
            file.sync_all().map_err(write_err)?;
        }
        None => crate::fileio::write_stdout(identity.as_bytes())?,
    }
    eprintln!("Public key: {recipient}");
    Ok(())
}
