//! hush's format engine: the SOPS v3 tree, `ENC[...]` values, the MAC, the
//! `sops:` metadata block, file stores and Shamir key splitting.
//!
//! Pure computation: no file or network I/O and no async, so every part can be
//! tested on bytes alone and reused by the CLI and the controller.

pub mod cipher;
pub mod datakey;
pub mod document;
pub mod engine;
pub mod keys;
pub mod keyspec;
pub mod metadata;
pub mod nested;
mod parallel;
pub mod path;
pub mod rules;
pub mod scalar;
pub mod sealing;
pub mod shamir;
pub mod sopsfile;
pub mod stores;
pub mod tree;

pub use datakey::DataKey;
pub use keys::{KeyGroup, KeyKind, KeyType, MasterKey};
pub use tree::{Branch, Comment, Item, Map, Value};
