//! File stores: bytes <-> document trees, one module per format.

pub mod yaml;

/// Why a file could not be read as its format. Positions are 1-based.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The text is not valid for the format.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// The text parses but its shape is not allowed, at a key path such as `["a"]["b"]`.
    #[error("at {path}: {message}")]
    Shape { path: String, message: String },
    /// A whole-document problem (not UTF-8, no mapping at the top, ...).
    #[error("{0}")]
    Invalid(String),
}

/// Deepest nesting accepted by every store: parsers refuse deeper input instead of
/// recursing without bound.
pub const MAX_DEPTH: usize = 256;

pub mod dotenv;
pub mod flatten;
pub mod ini;
pub mod json;

/// The text of a scalar in flat formats (dotenv, INI, environment variables);
/// `None` for maps, lists and comments.
pub fn scalar_text(value: &crate::Value) -> Option<String> {
    dotenv::scalar_text(value)
}
