//! Scalar types as sops gets them from yaml.v3 (`node.Decode(&interface{})`),
//! including explicit core tags.

use base64::Engine as _;
use saphyr_parser::{ScalarStyle, Tag};

use super::resolve::{is_timestamp, resolve_plain, timestamp_text, Resolved};
use crate::tree::Value;

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// The core-schema tag suffix (`str`, `int`, ...) of an explicit tag, or `Some("")`
/// for a non-core tag (treated as a string, as yaml.v3 does for unknown tags).
fn core_tag(tag: &Tag) -> &str {
    if tag.handle == CORE_TAG_PREFIX {
        &tag.suffix
    } else {
        tag.suffix.strip_prefix(CORE_TAG_PREFIX).unwrap_or_default()
    }
}

/// A scalar in value position, typed as sops sees it after yaml.v3's decoding.
pub(super) fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, String> {
    let quoted = !matches!(style, ScalarStyle::Plain);
    let resolved = match tag.map(core_tag) {
        None if quoted => return Ok(Value::Str(text.to_string())),
        None => resolve_plain(text),
        Some("str") | Some("") => return Ok(Value::Str(text.to_string())),
        Some("binary") => return decode_binary(text),
        Some("timestamp") if is_timestamp(text) => Resolved::Timestamp,
        Some(wanted @ ("null" | "bool" | "int" | "float" | "timestamp")) => {
            let r = resolve_plain(text);
            let ok = matches!(
                (wanted, &r),
                ("null", Resolved::Null)
                    | ("bool", Resolved::Bool(_))
                    | ("int", Resolved::Int(_) | Resolved::Uint(_))
                    | ("float", Resolved::Float(_))
            );
            match (wanted, r) {
                ("float", Resolved::Int(i)) => Resolved::Float(i as f64),
                ("float", Resolved::Uint(u)) => Resolved::Float(u as f64),
                (_, r) if ok => r,
                _ => return Err(format!("cannot decode the value as !!{wanted}")),
            }
        }
        Some(_) => return Ok(Value::Str(text.to_string())),
    };
    Ok(match resolved {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Int(i),
        Resolved::Uint(_) => {
            return Err("integer does not fit in a signed 64-bit value".into());
        }
        Resolved::Float(f) => Value::Float(f),
        // yaml.v3 gives sops a `time.Time`, which sops (3.10+) encrypts as its
        // `MarshalText` form.
        Resolved::Timestamp => match timestamp_text(text) {
            Some(Ok(t)) => Value::Time(t),
            Some(Err(message)) => return Err(message),
            None => Value::Str(text.to_string()),
        },
        Resolved::Merge | Resolved::Str => Value::Str(text.to_string()),
    })
}

/// `!!binary`: yaml.v3 decodes the base64; text that is not UTF-8 stays bytes.
fn decode_binary(text: &str) -> Result<Value, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| "!!binary value contains invalid base64 data".to_string())?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    })
}

/// A mapping key: sops accepts only keys that decode to strings.
pub(super) fn scalar_key(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<String, String> {
    match scalar_value(text, style, tag)? {
        Value::Str(s) => Ok(s),
        other => Err(format!(
            "Tree contains a non-string key ({} key)",
            other.kind_name()
        )),
    }
}
