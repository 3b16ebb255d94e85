//! Reading and printing Kubernetes documents as kubeseal does: multi-document
//! YAML or JSON in, `v1.List` expanded; YAML out with sorted keys and a leading
//! `---`, JSON out pretty-printed with Go's HTML escaping.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Output (and detected input) format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocumentFormat {
    /// kubeseal's default.
    #[default]
    Json,
    Yaml,
}

impl std::str::FromStr for DocumentFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "json" => Ok(DocumentFormat::Json),
            "yaml" => Ok(DocumentFormat::Yaml),
            other => Err(format!("unknown format {other:?}: expected json or yaml")),
        }
    }
}

impl DocumentFormat {
    /// JSON if the text's first non-blank character opens an object.
    pub fn detect(text: &str) -> DocumentFormat {
        if text.trim_start().starts_with('{') {
            DocumentFormat::Json
        } else {
            DocumentFormat::Yaml
        }
    }
}

/// The document could not be read as YAML or JSON. Carries the parser's
/// position message only; parsers here do not echo values.
#[derive(Debug, thiserror::Error)]
#[error("document {index}: {message}")]
pub struct DocumentError {
    pub index: usize,
    pub message: String,
}

/// Every non-empty document in `text`, with `kind: List` items expanded.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, DocumentError> {
    let mut documents = Vec::new();
    let mut push = |value: Value| {
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            if let Some(items) = value.get("items").and_then(Value::as_array) {
                documents.extend(items.iter().cloned());
            }
        } else if !value.is_null() {
            documents.push(value);
        }
    };
    if DocumentFormat::detect(text) == DocumentFormat::Json {
        // A stream of JSON objects, as `kubectl get -o json` pipelines produce.
        let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        for (index, value) in stream.enumerate() {
            push(value.map_err(|error| DocumentError {
                index,
                message: strip_json_error(&error),
            })?);
        }
    } else {
        for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let value = Value::deserialize(document).map_err(|error| DocumentError {
                index,
                message: yaml_error_location(&error),
            })?;
            push(value);
        }
    }
    Ok(documents)
}

/// Prints one object as kubeseal does.
pub fn print_document(value: &Value, format: DocumentFormat) -> String {
    match format {
        DocumentFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(value).expect("a JSON value always serialises");
            text = go_html_escape(&text);
            text.push('\n');
            text
        }
        DocumentFormat::Yaml => {
            let body = serde_yaml_ng::to_string(&sorted(value.clone()))
                .expect("a JSON value always serialises as YAML");
            format!("---\n{body}")
        }
    }
}

/// sigs.k8s.io/yaml goes through a Go map, so YAML keys come out sorted.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Go's encoding/json escapes `<`, `>` and `&` inside strings. Those characters
/// can only occur inside strings in JSON text, so a plain replace is exact.
fn go_html_escape(text: &str) -> String {
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// serde_json messages name only a line and column.
fn strip_json_error(error: &serde_json::Error) -> String {
    format!(
        "invalid JSON at line {} column {}",
        error.line(),
        error.column()
    )
}

/// serde_yaml_ng messages can quote input; keep only the location.
fn yaml_error_location(error: &serde_yaml_ng::Error) -> String {
    match error.location() {
        Some(location) => format!(
            "invalid YAML at line {} column {}",
            location.line(),
            location.column()
        ),
        None => "invalid YAML".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_document_yaml_and_lists() {
        let text = "---\nkind: Secret\n---\n---\nkind: List\nitems:\n- kind: A\n- kind: B\n";
        let kinds: Vec<String> = parse_documents(text)
            .unwrap()
            .iter()
            .map(|doc| doc["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["Secret", "A", "B"]);
    }

    #[test]
    fn reads_json_streams() {
        let docs = parse_documents("{\"kind\":\"A\"}\n{\"kind\":\"B\"}").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn yaml_output_is_sorted_with_leading_marker() {
        let value: Value = serde_json::from_str(r#"{"kind":"K","apiVersion":"v"}"#).unwrap();
        assert_eq!(
            print_document(&value, DocumentFormat::Yaml),
            "---\napiVersion: v\nkind: K\n"
        );
    }

    #[test]
    fn json_output_escapes_like_go() {
        let value: Value = serde_json::from_str(r#"{"a":"<&>"}"#).unwrap();
        assert_eq!(
            print_document(&value, DocumentFormat::Json),
            "{\n  \"a\": \"\\u003c\\u0026\\u003e\"\n}\n"
        );
    }

    #[test]
    fn yaml_errors_do_not_echo_input() {
        let error = parse_documents("a: [secret-value").unwrap_err();
        assert!(!error.to_string().contains("secret-value"));
    }
}
