//! GitOps pull: keep a local mirror of a Git repository, read the files under some
//! paths at a commit, find the SOPS-encrypted Kubernetes Secrets and SealedSecrets in
//! them, and decrypt the Secrets into [`DesiredSecret`]s.
//!
//! The flow every caller follows (`hush agent`, hush-controller's `SecretRepository`):
//!
//! 1. [`Mirror::open`] once per repository (a bare mirror under a cache directory).
//! 2. Each interval, [`Mirror::remote_revision`]: one ref lookup on the remote, no fetch.
//!    When it equals the revision last applied there is nothing to do.
//! 3. Otherwise [`Mirror::fetch`] (force-pushes are followed), then
//!    [`Mirror::files_under`] at the fetched commit.
//! 4. [`discover`] classifies the files; [`decrypt_secret`] turns each SOPS file into
//!    Secrets. A file that fails yields a [`FileError`] naming the file and the reason
//!    (never a value), and the caller keeps that file's last good output.
//!
//! The API is blocking; async callers wrap it in `spawn_blocking`. Transports are
//! gitoxide's: `file://` and plain paths (through `git upload-pack`), `git://`,
//! `https://` (rustls) with a token, and `ssh://` / scp-like URLs through the `ssh`
//! program with a private key and `known_hosts` given by the caller.

mod auth;
mod discover;
mod error;
mod mirror;
mod secret;
mod spec;

pub use discover::{discover, Found};
pub use error::{FileError, FileErrorKind, GitError};
pub use mirror::{Mirror, PathListing, RepoFile};
pub use secret::{decrypt_documents, decrypt_secret, DesiredSecret};
pub use spec::{GitAuth, GitRef, RepoSpec};
