//! `hush scan`: the leak scanner. Arguments and behaviour live in
//! `hush_scan::cli` so the scanner crate can test them end to end; this
//! module is the CLI's entry point for the subcommand.

pub use hush_scan::cli::{run, ScanArgs};
