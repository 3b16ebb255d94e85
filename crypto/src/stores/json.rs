//! JSON store: key order kept, integers that fit i64 stay ints, output indented
//! like sops (a tab by default) with a final newline.

use super::{StoreError, MAX_DEPTH};
use crate::scalar::format_float_json;
use crate::{Item, Map, Value};

/// Parses a JSON document whose top level must be an object.
pub fn parse(input: &str) -> Result<Map, StoreError> {
    let mut p = Parser {
        s: input.as_bytes(),
        text: input,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return Err(StoreError::Invalid(
            "JSON document must be an object at the top level".into(),
        ));
    }
    let value = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters after the JSON document"));
    }
    match value {
        Value::Map(m) => Ok(m),
        _ => unreachable!("checked for '{{' above"),
    }
}

/// Parses any JSON value (used for `set` values).
pub fn parse_value(input: &str) -> Result<Value, StoreError> {
    let mut p = Parser {
        s: input.as_bytes(),
        text: input,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> StoreError {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        StoreError::Syntax {
            line,
            column,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), StoreError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", byte as char)))
        }
    }

    fn value(&mut self) -> Result<Value, StoreError> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn nested(
        &mut self,
        f: fn(&mut Self) -> Result<Value, StoreError>,
    ) -> Result<Value, StoreError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, StoreError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn object(&mut self) -> Result<Value, StoreError> {
        self.pos += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Map(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            let key_pos = self.pos;
            let key = self.string()?;
            if map.get(&key).is_some() {
                self.pos = key_pos;
                return Err(self.err(&format!("duplicate key {key:?}")));
            }
            self.expect(b':')?;
            let value = self.value()?;
            map.items.push(Item::Entry(key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Map(map));
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, StoreError> {
        self.pos += 1;
        let mut list = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::List(list));
        }
        loop {
            list.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::List(list));
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn string(&mut self) -> Result<String, StoreError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, StoreError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, StoreError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        // Lone surrogates become U+FFFD, as Go's decoder does.
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn number(&mut self) -> Result<Value, StoreError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            p.pos - s
        };
        if digits(self) == 0 {
            return Err(self.err("invalid number"));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            is_float = true;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            is_float = true;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        let text = &self.text[start..self.pos];
        // sops 3.13.2: an integer that fits int64 is an int, anything else a float64.
        if !is_float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.err("invalid number"))
    }
}

/// How to indent JSON output: sops' default is one tab per level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JsonIndent {
    #[default]
    Tab,
    Spaces(usize),
}

/// Emits `map` as indented JSON with a trailing newline. Comments are dropped (JSON has none).
pub fn emit(map: &Map, indent: JsonIndent) -> String {
    let mut out = String::new();
    let unit = match indent {
        JsonIndent::Tab => "\t".to_string(),
        JsonIndent::Spaces(n) => " ".repeat(n),
    };
    emit_map(map, &unit, 0, &mut out);
    out.push('\n');
    out
}

/// Emits any value (a list, a scalar) as indented JSON with a trailing newline.
pub fn emit_value_text(value: &Value, indent: JsonIndent) -> String {
    let unit = match indent {
        JsonIndent::Tab => "\t".to_string(),
        JsonIndent::Spaces(n) => " ".repeat(n),
    };
    let mut out = String::new();
    emit_value(value, &unit, 0, &mut out);
    out.push('\n');
    out
}

fn pad(out: &mut String, unit: &str, level: usize) {
    for _ in 0..level {
        out.push_str(unit);
    }
}

fn emit_map(map: &Map, unit: &str, level: usize, out: &mut String) {
    let entries: Vec<_> = map.entries().collect();
    if entries.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for (i, (k, v)) in entries.iter().enumerate() {
        pad(out, unit, level + 1);
        write_string(k, out);
        out.push_str(": ");
        emit_value(v, unit, level + 1, out);
        if i + 1 < entries.len() {
            out.push(',');
        }
        out.push('\n');
    }
    pad(out, unit, level);
    out.push('}');
}

fn emit_value(v: &Value, unit: &str, level: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Str(s) | Value::Time(s) => write_string(s, out),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_finite() => out.push_str(&format_float_json(*f)),
        // JSON has no NaN or infinity: keep Go's text as a string rather than write invalid JSON.
        Value::Float(f) => write_string(&crate::scalar::format_float_f(*f), out),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Bytes(b) => write_string(&String::from_utf8_lossy(b), out),
        Value::Map(m) => emit_map(m, unit, level, out),
        Value::List(l) => {
            let elements: Vec<_> = l
                .iter()
                .filter(|e| !matches!(e, Value::Comment(_)))
                .collect();
            if elements.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, e) in elements.iter().enumerate() {
                pad(out, unit, level + 1);
                emit_value(e, unit, level + 1, out);
                if i + 1 < elements.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            pad(out, unit, level);
            out.push(']');
        }
        Value::Comment(_) => {}
    }
}

/// JSON string escaping as Go's encoder does, without HTML escaping.
pub(crate) fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_types_and_layout() {
        let text = "{\"b\": 1, \"a\": [1.5, true, null, \"x\\n\"], \"big\": 12345678901234567890, \"e\": {}}";
        let map = parse(text).unwrap();
        let keys: Vec<_> = map.entries().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "big", "e"]);
        assert_eq!(map.get("b"), Some(&Value::Int(1)));
        assert!(matches!(map.get("big"), Some(Value::Float(_))));
        assert_eq!(
            emit(&map, JsonIndent::Tab),
            "{\n\t\"b\": 1,\n\t\"a\": [\n\t\t1.5,\n\t\ttrue,\n\t\tnull,\n\t\t\"x\\n\"\n\t],\n\t\"big\": 12345678901234567000,\n\t\"e\": {}\n}\n"
        );
    }

    #[test]
    fn errors_have_positions() {
        match parse("{\n  \"a\": tru }") {
            Err(StoreError::Syntax { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        assert!(parse("[1]").is_err());
        assert!(parse("{\"a\":1,\"a\":2}").is_err());
        assert!(parse("{\"a\":1} x").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn surrogates_and_escapes() {
        let m = parse(r#"{"s":"\ud83d\ude00 \u00e9 \/"}"#).unwrap();
        assert_eq!(m.get("s"), Some(&Value::Str("😀 é /".into())));
    }
}
