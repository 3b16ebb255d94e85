//! The YAML store, byte-compatible with sops 3.13 (which uses go.yaml.in/yaml/v3).
//!
//! Reading: every document of a stream becomes one [`Map`]; a document must be a
//! mapping or empty. Plain scalars are typed as yaml.v3 types them for sops: null,
//! bool (`true`/`True`/`TRUE`, `false`/...; `yes`/`no`/`on`/`off` stay strings),
//! int (decimal, `0x`, `0o`, `0b`, leading-`0` octal, `_` ignored), float (`1e3`,
//! `.inf`, `.nan`, integers beyond 64 bits), timestamp (`2002-12-14`,
//! `2001-12-14t21:59:43.10-05:00`, ...) as [`Value::Time`](crate::Value::Time)
//! holding Go's `time.Time.MarshalText` text (`2002-12-14T00:00:00Z`), which is what
//! sops 3.10+ encrypts with type `time`. A timestamp key is a non-string key.
//! Quoted and block scalars are strings unless an explicit core tag says otherwise;
//! `!!binary` is decoded (to `Str`, or `Bytes` when not UTF-8). Anchors and aliases
//! are expanded, duplicate keys and non-string keys are errors.
//!
//! Comments become [`Comment`](crate::Comment) items in document order, placed as
//! sops 3.13 places them: a comment after a scalar on the same line is `inline` and
//! sits right *before* the entry or item it belongs to; foot comments stay in the
//! innermost collection they are indented into.
//!
//! Writing follows sops' node building and yaml.v3's emitter: block style, lists
//! indented under their key, strings quoted when they would read back as another
//! type, multi-line strings as `|` literals, empty collections as `{}`/`[]`,
//! comments as `#text` lines, inline comments after their value.
//! `Value::Time` is written as its text, unquoted (as yaml.v3 writes a `time.Time`),
//! and `Value::Bytes` as a base64 string.
//!
//! Like yaml.v3, floats are written with Go's `%g` text, so an integral float below
//! 1e6 is written like an integer (`1`) and reads back as `Int`; a `|+` literal at
//! the very end leaves the file ending in a blank line.
//!
//! Known differences from yaml.v3 (each only where yaml.v3's own output is broken
//! or ambiguous):
//! - strings containing NEL, LS or PS are always double-quoted;
//! - a block scalar's indentation hint is the real offset of its content (yaml.v3
//!   always writes its indent setting, which its parser misreads inside list items);
//! - comments in unusual spots (inside flow collections, after a flow `]`) are
//!   placed approximately.

mod analysis;
mod emitter;
mod fast;
mod gaps;
mod nodes;
mod parse;
mod resolve;
mod typing;

use crate::tree::{Item, Map};

pub use parse::{parse_documents, MAX_ALIAS_EXPANSION};

/// The two parsing paths, for differential tests: the saphyr-based general one
/// and the fast one (`None` when the input is outside its subset).
#[doc(hidden)]
pub mod paths {
    use crate::stores::StoreError;
    use crate::tree::Map;

    pub fn general(input: &str) -> Result<Vec<Map>, StoreError> {
        super::parse::parse_documents_general(input)
    }

    pub fn fast(input: &str) -> Option<Vec<Map>> {
        super::fast::parse_documents(input)
    }
}

/// Output options for [`emit_documents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlOptions {
    /// Spaces per level. sops' default (and `0`) is 4; yaml.v3 turns values
    /// outside 2..=9 into 2.
    pub indent: usize,
}

impl Default for YamlOptions {
    fn default() -> Self {
        YamlOptions { indent: 4 }
    }
}

/// Writes the documents as sops does, separated by `---` lines.
pub fn emit_documents(docs: &[Map], opts: &YamlOptions) -> String {
    let indent = if opts.indent == 0 { 4 } else { opts.indent };
    let size: usize = docs.iter().map(|d| nodes::estimated_len(d, indent)).sum();
    let mut emitter = emitter::Emitter::new(indent, size);
    for doc in docs {
        nodes::document_events(doc, &mut emitter);
    }
    emitter.finish()
}

/// [`emit_documents`] with `extra` appended to every document's root mapping
/// (the `sops` metadata), without copying the documents.
pub fn emit_documents_with(docs: &[Map], extra: &Item, opts: &YamlOptions) -> String {
    let indent = if opts.indent == 0 { 4 } else { opts.indent };
    let extra_size = match extra {
        Item::Entry(key, value) => key.len() + nodes::estimated_value_len(value, 1, indent),
        Item::Comment(c) => c.text.len(),
    };
    let size: usize = docs
        .iter()
        .map(|d| nodes::estimated_len(d, indent) + extra_size)
        .sum();
    let mut emitter = emitter::Emitter::new(indent, size);
    for doc in docs {
        nodes::document_events_with(doc, Some(extra), &mut emitter);
    }
    emitter.finish()
}
