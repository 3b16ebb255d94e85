//! dotenv store: `KEY=value` lines split on the first `=`, nothing trimmed,
//! `#` lines kept as comments, `\n` in values meaning a newline (as sops does).

use super::StoreError;
use crate::{Comment, Item, Map, Value};

/// Parses dotenv text. Blank lines are dropped.
pub fn parse(input: &str) -> Result<Map, StoreError> {
    let mut map = Map::new();
    for (n, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            map.items.push(Item::Comment(Comment::new(comment)));
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| StoreError::Syntax {
            line: n + 1,
            column: 1,
            message: "expected KEY=value".into(),
        })?;
        if key.is_empty() {
            return Err(StoreError::Syntax {
                line: n + 1,
                column: 1,
                message: "empty key".into(),
            });
        }
        if map.get(key).is_some() {
            return Err(StoreError::Syntax {
                line: n + 1,
                column: 1,
                message: format!("duplicate key {key:?}"),
            });
        }
        map.push(key, Value::Str(value.replace("\\n", "\n")));
    }
    Ok(map)
}

/// Emits dotenv text; every value must be a scalar.
pub fn emit(map: &Map) -> Result<String, StoreError> {
    let mut out = String::new();
    for item in &map.items {
        match item {
            Item::Comment(c) => {
                out.push('#');
                out.push_str(&c.text);
                out.push('\n');
            }
            Item::Entry(k, v) => {
                let text = scalar_text(v).ok_or_else(|| StoreError::Shape {
                    path: format!("[{k:?}]"),
                    message: format!("a {} cannot be written to a dotenv file", v.kind_name()),
                })?;
                out.push_str(k);
                out.push('=');
                out.push_str(&text.replace('\n', "\\n"));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// The text of a scalar for flat formats; `None` for maps and lists.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => String::new(),
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::scalar::format_float_f(*f),
        Value::Bool(b) => b.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Map(_) | Value::List(_) | Value::Comment(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_trimming_and_first_equals() {
        let m = parse("foo = bar\n\n#c\nURL=a=b\nML=x\\ny\n").unwrap();
        assert_eq!(m.get("foo "), Some(&Value::Str(" bar".into())));
        assert_eq!(m.get("URL"), Some(&Value::Str("a=b".into())));
        assert_eq!(m.get("ML"), Some(&Value::Str("x\ny".into())));
        assert_eq!(emit(&m).unwrap(), "foo = bar\n#c\nURL=a=b\nML=x\\ny\n");
    }

    #[test]
    fn bad_lines() {
        assert!(matches!(
            parse("A=1\nnoequals\n"),
            Err(StoreError::Syntax { line: 2, .. })
        ));
        assert!(parse("=x\n").is_err());
        let mut nested = Map::new();
        nested.push("a", Value::Map(Map::new()));
        assert!(emit(&nested).is_err());
    }
}
