//! INI store (as go-ini reads and writes it for sops): each section is a top-level
//! map of strings; `;`/`#` comment lines are kept as comments; keys are aligned
//! within a section on output.

use super::StoreError;
use crate::{Comment, Item, Map, Value};

/// go-ini's name for keys that precede every section header.
const DEFAULT_SECTION: &str = "DEFAULT";

/// Parses INI text into a map of sections.
pub fn parse(input: &str) -> Result<Map, StoreError> {
    let mut root = Map::new();
    let mut section: Option<(String, Map)> = None;
    let mut pending_comments: Vec<Comment> = Vec::new();
    let mut lines = input.lines().enumerate();
    let syntax = |n: usize, message: &str| StoreError::Syntax {
        line: n + 1,
        column: 1,
        message: message.to_string(),
    };
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(text) = line.strip_prefix(';').or_else(|| line.strip_prefix('#')) {
            pending_comments.push(Comment::new(text));
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| syntax(n, "unclosed section header"))?
                .trim();
            finish_section(&mut root, section.take());
            if root.get(name).is_some() {
                return Err(syntax(n, &format!("duplicate section [{name}]")));
            }
            for c in pending_comments.drain(..) {
                root.items.push(Item::Comment(c));
            }
            section = Some((name.to_string(), Map::new()));
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .or_else(|| line.split_once(':'))
            .ok_or_else(|| syntax(n, "expected key = value"))?;
        let key = key.trim().to_string();
        let mut value = value.trim().to_string();
        if let Some(start) = value.strip_prefix("\"\"\"") {
            // Multi-line value up to the closing triple quote (sops 3.13.0/3.13.1 metadata).
            let mut text = start.to_string();
            loop {
                if let Some(end) = text.find("\"\"\"") {
                    text.truncate(end);
                    break;
                }
                let (_, next) = lines
                    .next()
                    .ok_or_else(|| syntax(n, "unterminated \"\"\" value"))?;
                text.push('\n');
                text.push_str(next);
            }
            value = text;
        } else {
            value = unquote(&value);
        }
        let current = section.get_or_insert_with(|| (DEFAULT_SECTION.to_string(), Map::new()));
        if current.1.get(&key).is_some() {
            return Err(syntax(
                n,
                &format!("duplicate key {key:?} in [{}]", current.0),
            ));
        }
        for c in pending_comments.drain(..) {
            current.1.items.push(Item::Comment(c));
        }
        current.1.push(key, Value::Str(value));
    }
    finish_section(&mut root, section);
    for c in pending_comments {
        root.items.push(Item::Comment(c));
    }
    Ok(root)
}

fn finish_section(root: &mut Map, section: Option<(String, Map)>) {
    if let Some((name, map)) = section {
        root.push(name, Value::Map(map));
    }
}

/// Removes go-ini's quoting, or an inline comment from an unquoted value.
fn unquote(value: &str) -> String {
    for q in ['`', '"'] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return value[1..value.len() - 1].to_string();
        }
    }
    // An unquoted value ends at ` #` or ` ;` (go-ini's inline comments).
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'#' || bytes[i] == b';') && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end().to_string();
        }
    }
    value.to_string()
}

/// Quotes a value the way go-ini does when it could not be read back plainly.
fn quote(value: &str) -> String {
    if value.contains('\n') || value.contains('`') {
        format!("\"\"\"{value}\"\"\"")
    } else if value.contains('#') || value.contains(';') {
        format!("`{value}`")
    } else if value.trim() != value {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

/// Emits INI text. Top-level entries must be maps (sections) of scalars.
pub fn emit(map: &Map) -> Result<String, StoreError> {
    let mut out = String::new();
    let mut first = true;
    for item in &map.items {
        match item {
            Item::Comment(c) => {
                out.push(';');
                out.push_str(&c.text);
                out.push('\n');
            }
            Item::Entry(name, value) => {
                let section = value.as_map().ok_or_else(|| StoreError::Shape {
                    path: format!("[{name:?}]"),
                    message: "INI files hold sections of key = value pairs at the top level".into(),
                })?;
                if !first {
                    out.push('\n');
                }
                first = false;
                emit_section(name, section, &mut out)?;
            }
        }
    }
    Ok(out)
}

fn emit_section(name: &str, section: &Map, out: &mut String) -> Result<(), StoreError> {
    out.push_str(&format!("[{name}]\n"));
    let width = section
        .entries()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for item in &section.items {
        match item {
            Item::Comment(c) => {
                out.push(';');
                out.push_str(&c.text);
                out.push('\n');
            }
            Item::Entry(k, v) => {
                let text = super::dotenv::scalar_text(v).ok_or_else(|| StoreError::Shape {
                    path: format!("[{name:?}][{k:?}]"),
                    message: format!("a {} cannot be written to an INI file", v.kind_name()),
                })?;
                let pad = width - k.chars().count();
                out.push_str(&format!("{k}{} = {}\n", " ".repeat(pad), quote(&text)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_comments_alignment() {
        let text =
            "; top\n[db]\n# the host\nhost = example.org\nport=5432\n\n[app]\nname = `a;b`\n";
        let m = parse(text).unwrap();
        let db = m.get("db").unwrap().as_map().unwrap();
        assert_eq!(db.get("port"), Some(&Value::Str("5432".into())));
        assert!(matches!(&db.items[0], Item::Comment(c) if c.text == " the host"));
        assert_eq!(
            m.get("app").unwrap().as_map().unwrap().get("name"),
            Some(&Value::Str("a;b".into()))
        );
        let out = emit(&m).unwrap();
        assert_eq!(
            out,
            "; top\n[db]\n; the host\nhost = example.org\nport = 5432\n\n[app]\nname = `a;b`\n"
        );
        assert_eq!(parse(&out).unwrap(), m);
    }

    #[test]
    fn multiline_values() {
        let m = parse("[s]\nk = \"\"\"a\nb\"\"\"\n").unwrap();
        assert_eq!(
            m.get("s").unwrap().as_map().unwrap().get("k"),
            Some(&Value::Str("a\nb".into()))
        );
        assert!(parse("[s]\nk = \"\"\"a\n").is_err());
        assert!(parse("[s\n").is_err());
    }
}
