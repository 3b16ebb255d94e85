//! `hush filestatus`: `{"encrypted":true|false}`, as sops prints it.

use std::path::PathBuf;

use clap::Args;
use hush_crypto::document;

use crate::args::FormatArgs;
use crate::exit::CliResult;
use crate::ops::{self, FileSpec};

#[derive(Args, Debug)]
pub struct FilestatusArgs {
    /// The file to inspect
    pub file: PathBuf,
    #[command(flatten)]
    pub formats: FormatArgs,
}

pub fn run(args: FilestatusArgs) -> CliResult<()> {
    let spec = FileSpec::new(&args.file, &args.formats);
    let bytes = ops::read(&spec)?;
    let encrypted = document::is_encrypted(spec.input, &bytes);
    crate::fileio::write_stdout(format!("{{\"encrypted\":{encrypted}}}\n").as_bytes())
}
