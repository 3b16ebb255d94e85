//! The small subset of Go `text/template` that `spec.template.data` uses in
//! practice: literal text, `{{ .key }}` and `{{ index . "key" }}` (with optional
//! `-` trim markers). Anything else is refused with an error naming the key, so
//! a template is never silently rendered wrong.

use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Why a template could not be rendered. Names the template key and the
/// missing or unsupported reference, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template {template_key:?}: unclosed action")]
    Unclosed { template_key: String },
    #[error("template {template_key:?}: unsupported action (only .key and index . \"key\")")]
    Unsupported { template_key: String },
    #[error("template {template_key:?}: refers to missing key {missing:?}")]
    MissingKey {
        template_key: String,
        missing: String,
    },
}

/// Renders `body` against the decrypted `values`.
pub fn render(
    template_key: &str,
    body: &str,
    values: &BTreeMap<String, Zeroizing<Vec<u8>>>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let mut out = Zeroizing::new(Vec::with_capacity(body.len()));
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let mut literal = &rest[..open];
        let after_open = &rest[open + 2..];
        let close = after_open
            .find("}}")
            .ok_or_else(|| TemplateError::Unclosed {
                template_key: template_key.to_string(),
            })?;
        let mut action = &after_open[..close];
        let mut next = &after_open[close + 2..];
        if let Some(trimmed) = action.strip_prefix("- ") {
            literal = literal.trim_end();
            action = trimmed;
        }
        if let Some(trimmed) = action.strip_suffix(" -") {
            next = next.trim_start();
            action = trimmed;
        }
        out.extend_from_slice(literal.as_bytes());
        let reference =
            referenced_key(action.trim()).ok_or_else(|| TemplateError::Unsupported {
                template_key: template_key.to_string(),
            })?;
        let value = values
            .get(reference)
            .ok_or_else(|| TemplateError::MissingKey {
                template_key: template_key.to_string(),
                missing: reference.to_string(),
            })?;
        out.extend_from_slice(value);
        rest = next;
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// `.name` (a Go identifier) or `index . "name"` -> `name`.
fn referenced_key(action: &str) -> Option<&str> {
    if let Some(field) = action.strip_prefix('.') {
        let is_identifier = !field.is_empty()
            && field.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !field.starts_with(|c: char| c.is_ascii_digit());
        return is_identifier.then_some(field);
    }
    let argument = action.strip_prefix("index")?.trim_start();
    let argument = argument.strip_prefix('.')?.trim_start();
    let quoted = argument.strip_prefix('"')?.strip_suffix('"')?;
    (!quoted.contains('"') && !quoted.contains('\\')).then_some(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, Zeroizing<Vec<u8>>> {
        let mut values = BTreeMap::new();
        values.insert("user".to_string(), Zeroizing::new(b"alice".to_vec()));
        values.insert("pass.word".to_string(), Zeroizing::new(b"pw".to_vec()));
        values
    }

    #[test]
    fn renders_fields_and_index() {
        let out = render("t", "u={{ .user }};p={{index . \"pass.word\"}}", &values()).unwrap();
        assert_eq!(out.as_slice(), b"u=alice;p=pw");
    }

    #[test]
    fn honours_trim_markers() {
        let out = render("t", "a  {{- .user -}}  b", &values()).unwrap();
        assert_eq!(out.as_slice(), b"aaliceb");
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(matches!(
            render("t", "{{ .user | upper }}", &values()),
            Err(TemplateError::Unsupported { .. })
        ));
        assert!(matches!(
            render("t", "{{ .nope }}", &values()),
            Err(TemplateError::MissingKey { .. })
        ));
        assert!(matches!(
            render("t", "{{ .user ", &values()),
            Err(TemplateError::Unclosed { .. })
        ));
    }
}
