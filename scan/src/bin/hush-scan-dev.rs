//! Development binary: `hush scan` without the rest of the hush CLI, used by
//! this crate's end-to-end tests (pre-commit hook, exit codes) and benchmarks.

use clap::Parser;

#[derive(Parser)]
#[command(name = "hush-scan-dev")]
struct Cli {
    #[command(flatten)]
    scan: hush_scan::cli::ScanArgs,
}

fn main() -> std::process::ExitCode {
    match hush_scan::cli::run(Cli::parse().scan) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hush-scan-dev: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
