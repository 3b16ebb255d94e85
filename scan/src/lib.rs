//! hush-scan: a leak scanner for source trees, Git history and GitOps repositories.
//!
//! The pipeline is: a [`source`] yields byte streams (files, staged blobs,
//! history blobs, stdin) → the [`engine::Engine`] finds keyword hits with one
//! Aho-Corasick pass and runs each rule's regex only on the span around a hit
//! → [`gitops`] adds SOPS/Kubernetes checks for whole small files → [`filter`]
//! drops inline-allowed, ignored and baselined findings → a [`report`] writes
//! human, JSON or SARIF output.

pub mod baseline;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod engine;
pub mod entropy;
pub mod error;
pub mod filter;
pub mod finding;
pub mod gitops;
pub mod hook;
pub mod ignore_file;
pub mod report;
pub mod rules;
pub mod scanner;
pub mod source;

pub use error::ScanError;
pub use finding::{Finding, Issue, IssueKind, ScanOutcome};
pub use scanner::{ScanOptions, Scanner};
