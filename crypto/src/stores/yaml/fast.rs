//! A fast path for the plain block-style YAML that sops writes and most hand-written
//! secrets use: block mappings and sequences, plain and single-line quoted scalars,
//! `|` literals, empty `{}`/`[]`, `---` between documents. It works on bytes, line by
//! line, and builds the same tree as the general (saphyr) path.
//!
//! Anything it does not handle exactly returns `None`, and the general path runs:
//! comments, anchors, aliases, tags, flow collections, folded scalars, multi-line
//! plain or quoted scalars, tabs, CR, non-ASCII text, unusual indentation, complex or
//! non-string keys, duplicate keys, and every syntax error (so error messages always
//! come from the general path).

use saphyr_parser::ScalarStyle;

use super::typing::{scalar_key, scalar_value};
use crate::tree::{Map, Value};

/// Deeper nesting is left to the general path (which enforces `MAX_DEPTH`).
const MAX_FAST_DEPTH: usize = 64;
/// Longer plain keys are left to the general path (YAML limits implicit keys to 1024).
const MAX_KEY_LEN: usize = 512;

/// Parses `input` if it is in the handled subset.
pub(crate) fn parse_documents(input: &str) -> Option<Vec<Map>> {
    let bytes = input.as_bytes();
    // Printable ASCII and '\n' only; the file ends with a line break.
    // Checked in blocks without an early exit, so the loop vectorizes: sops files are
    // mostly long ENC[...] lines and this runs over every byte.
    if !bytes.ends_with(b"\n")
        || !bytes.chunks(256).all(|block| {
            block.iter().fold(true, |ok, &b| {
                ok & ((b == b'\n') | (0x20..0x7f).contains(&b))
            })
        })
    {
        return None;
    }
    let mut lines = Vec::with_capacity(bytes.len() / 24 + 1);
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        lines.push(&input[start..i]);
        start = i + 1;
    }
    let mut p = Reader {
        lines,
        pos: 0,
        pending: None,
        depth: 0,
    };
    p.stream()
}

/// A line's content after its indentation, with trailing spaces removed.
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

struct Reader<'a> {
    lines: Vec<&'a str>,
    /// Index of the next raw line.
    pos: usize,
    /// The rest of a `- ` line that holds a mapping, read as a line of its own.
    pending: Option<Line<'a>>,
    depth: usize,
}

fn is_seq_item(text: &str) -> bool {
    let b = text.as_bytes();
    b.first() == Some(&b'-') && (b.len() == 1 || b[1] == b' ')
}

fn is_document_marker(line: Line<'_>) -> bool {
    line.indent == 0 && (line.text.starts_with("---") || line.text.starts_with("..."))
}

impl<'a> Reader<'a> {
    fn stream(&mut self) -> Option<Vec<Map>> {
        let mut docs = Vec::new();
        let mut explicit_start = false;
        while let Some(line) = self.peek()? {
            if is_document_marker(line) {
                // `---` right after `---` is an empty document.
                if line.text != "---" || explicit_start {
                    return None;
                }
                self.advance();
                explicit_start = true;
                continue;
            }
            // The root is a mapping starting in column 0.
            if line.indent != 0 || is_seq_item(line.text) {
                return None;
            }
            let map = self.map(0)?;
            docs.push(map);
            explicit_start = false;
            match self.peek()? {
                None => break,
                Some(next) if next.indent == 0 && next.text == "---" => {}
                Some(_) => return None,
            }
        }
        // Empty documents (an empty file, `---` with nothing after it) take the general path.
        if docs.is_empty() || explicit_start {
            return None;
        }
        Some(docs)
    }

    /// The next non-blank line, without consuming it. `Err`-like `None` on a comment.
    fn peek(&mut self) -> Option<Option<Line<'a>>> {
        if let Some(line) = self.pending {
            return Some(Some(line));
        }
        while let Some(raw) = self.lines.get(self.pos) {
            let trimmed = raw.trim_end_matches(' ');
            if trimmed.is_empty() {
                self.pos += 1;
                continue;
            }
            let text = trimmed.trim_start_matches(' ');
            if text.starts_with('#') {
                return None;
            }
            return Some(Some(Line {
                indent: trimmed.len() - text.len(),
                text,
            }));
        }
        Some(None)
    }

    fn advance(&mut self) {
        if self.pending.take().is_none() {
            self.pos += 1;
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_FAST_DEPTH).then_some(())
    }

    /// A block mapping whose keys sit in column `col`.
    fn map(&mut self, col: usize) -> Option<Map> {
        self.enter()?;
        let mut map = Map::new();
        while let Some(line) = self.peek()? {
            if line.indent < col || is_document_marker(line) {
                break;
            }
            if line.indent > col || is_seq_item(line.text) {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            self.advance();
            let value = self.value_after_key(col, rest)?;
            map.push(key, value);
        }
        self.depth -= 1;
        no_duplicate_keys(&map)?;
        Some(map)
    }

    /// The value of a key in a mapping at `col`; `rest` is the text after the `:`.
    fn value_after_key(&mut self, col: usize, rest: &'a str) -> Option<Value> {
        let rest = rest.trim_start_matches(' ');
        if !rest.is_empty() {
            return self.inline_value(rest, col, true);
        }
        match self.peek()? {
            Some(next) if next.indent > col && !is_document_marker(next) => self.nested(next),
            // A sequence may sit in its key's column (indentless).
            Some(next) if next.indent == col && is_seq_item(next.text) => {
                Some(Value::List(self.seq(col)?))
            }
            _ => Some(Value::Null),
        }
    }

    /// A collection starting on its own line.
    fn nested(&mut self, first: Line<'a>) -> Option<Value> {
        if is_seq_item(first.text) {
            Some(Value::List(self.seq(first.indent)?))
        } else {
            Some(Value::Map(self.map(first.indent)?))
        }
    }

    /// A block sequence whose `-` sit in column `col`.
    fn seq(&mut self, col: usize) -> Option<Vec<Value>> {
        self.enter()?;
        let mut list = Vec::new();
        while let Some(line) = self.peek()? {
            if line.indent < col || is_document_marker(line) || !is_seq_item(line.text) {
                break;
            }
            if line.indent > col {
                return None;
            }
            self.advance();
            let rest = line.text[1..].trim_start_matches(' ');
            let value = if rest.is_empty() {
                match self.peek()? {
                    Some(next) if next.indent > col && !is_document_marker(next) => {
                        self.nested(next)?
                    }
                    _ => Value::Null,
                }
            } else if is_seq_item(rest) {
                return None;
            } else if starts_mapping(rest) {
                let content_col = col + line.text.len() - rest.len();
                self.pending = Some(Line {
                    indent: content_col,
                    text: rest,
                });
                Value::Map(self.map(content_col)?)
            } else {
                if rest.starts_with('|') {
                    return None;
                }
                self.inline_value(rest, col, false)?
            };
            list.push(value);
        }
        self.depth -= 1;
        Some(list)
    }

    /// A value written on the line of its key or `-`; `parent_col` is the column
    /// of that key or `-`, which the next line may not go beyond.
    fn inline_value(&mut self, text: &'a str, parent_col: usize, in_map: bool) -> Option<Value> {
        let value = match text.as_bytes()[0] {
            b'"' => {
                let (s, after) = double_quoted(text)?;
                if !after.is_empty() {
                    return None;
                }
                Value::Str(s)
            }
            b'\'' => {
                let (s, after) = single_quoted(text)?;
                if !after.is_empty() {
                    return None;
                }
                Value::Str(s)
            }
            b'|' if in_map => Value::Str(self.literal(text, parent_col)?),
            b'[' if text == "[]" => Value::List(Vec::new()),
            b'{' if text == "{}" => Value::Map(Map::new()),
            b'|' | b'[' | b'{' | b'>' | b'#' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b','
            | b']' | b'}' | b'?' | b':' => return None,
            b'-' if text.len() == 1 || text.as_bytes()[1] == b' ' => return None,
            _ => {
                if !plain_value_ok(text) {
                    return None;
                }
                scalar_value(text, ScalarStyle::Plain, None).ok()?
            }
        };
        // A more indented line after a scalar would continue it (multi-line scalar).
        if let Some(next) = self.peek()? {
            if next.indent > parent_col {
                return None;
            }
        }
        Some(value)
    }

    /// A `|`, `|-` or `|+` literal whose key sits in column `parent_col`; the header
    /// line has been consumed.
    fn literal(&mut self, header: &str, parent_col: usize) -> Option<String> {
        let chomp = match header {
            "|" => Chomp::Clip,
            "|-" => Chomp::Strip,
            "|+" => Chomp::Keep,
            _ => return None,
        };
        let mut indent = None;
        let mut text = String::new();
        let mut blanks = 0usize;
        let mut any_content = false;
        while let Some(raw) = self.lines.get(self.pos) {
            if raw.is_empty() {
                blanks += 1;
                self.pos += 1;
                continue;
            }
            let spaces = raw.len() - raw.trim_start_matches(' ').len();
            if spaces == raw.len() {
                // Whitespace-only lines inside a literal: left to the general path.
                return None;
            }
            let n = *indent.get_or_insert(spaces);
            if n <= parent_col {
                // An empty literal: left to the general path.
                return None;
            }
            if spaces < n {
                break;
            }
            if any_content {
                text.push('\n');
            }
            for _ in 0..blanks {
                text.push('\n');
            }
            blanks = 0;
            text.push_str(&raw[n..]);
            any_content = true;
            self.pos += 1;
        }
        if !any_content {
            return None;
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => text.push('\n'),
            Chomp::Keep => {
                for _ in 0..=blanks {
                    text.push('\n');
                }
            }
        }
        Some(text)
    }
}

enum Chomp {
    Clip,
    Strip,
    Keep,
}

/// Whether a `- ` item's text is a `key: value` entry.
fn starts_mapping(text: &str) -> bool {
    match text.as_bytes()[0] {
        b'"' => double_quoted(text).is_some_and(|(_, after)| key_colon(after).is_some()),
        b'\'' => single_quoted(text).is_some_and(|(_, after)| key_colon(after).is_some()),
        _ => text.contains(": ") || text.ends_with(':'),
    }
}

/// After a key: `:` then a space or the line end; returns what follows the `:`.
fn key_colon(after: &str) -> Option<&str> {
    let rest = after.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with(' ')).then_some(rest)
}

/// Splits `key: rest`; `None` for anything but a simple plain or quoted key.
fn split_key(text: &str) -> Option<(String, &str)> {
    match text.as_bytes()[0] {
        b'"' => {
            let (key, after) = double_quoted(text)?;
            Some((key, key_colon(after)?))
        }
        b'\'' => {
            let (key, after) = single_quoted(text)?;
            Some((key, key_colon(after)?))
        }
        first if first.is_ascii_alphanumeric() || first == b'_' => {
            let bytes = text.as_bytes();
            let mut end = None;
            for (i, &b) in bytes.iter().enumerate() {
                match b {
                    b':' if i + 1 == bytes.len() || bytes[i + 1] == b' ' => {
                        end = Some(i);
                        break;
                    }
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'/' => {}
                    b' ' if bytes.get(i + 1) != Some(&b'#') => {}
                    _ => return None,
                }
            }
            let end = end?;
            let plain = &text[..end];
            if plain.ends_with(' ') || plain.len() > MAX_KEY_LEN {
                return None;
            }
            let key = scalar_key(plain, ScalarStyle::Plain, None).ok()?;
            Some((key, &text[end + 1..]))
        }
        _ => None,
    }
}

/// A plain value the general path reads as the same single-line scalar: no
/// comment, no `: ` (an error there), no trailing `:`.
fn plain_value_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.last() == Some(&b':') {
        return false;
    }
    // `#` after a space opens a comment; `: ` is a mapping indicator. Only the (few)
    // `#` and `:` bytes are looked at.
    !memchr::memchr2_iter(b'#', b':', bytes).any(|i| match bytes[i] {
        b'#' => i > 0 && bytes[i - 1] == b' ',
        _ => bytes.get(i + 1) == Some(&b' '),
    })
}

/// A double-quoted scalar on one line: its value and the text after the quote.
fn double_quoted(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 1;
    let mut run = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                out.push_str(&text[run..i]);
                return Some((out, &text[i + 1..]));
            }
            b'\\' => {
                out.push_str(&text[run..i]);
                let (c, len) = escape(&bytes[i + 1..])?;
                out.push(c);
                i += 1 + len;
                run = i;
            }
            _ => i += 1,
        }
    }
    None
}

/// One escape after a `\`: the character and how many bytes it used.
fn escape(rest: &[u8]) -> Option<(char, usize)> {
    let hex = |n: usize| -> Option<char> {
        let digits = rest.get(1..=n)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let v = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
        char::from_u32(v)
    };
    Some(match *rest.first()? {
        b'"' => ('"', 1),
        b'\\' => ('\\', 1),
        b'/' => ('/', 1),
        b'n' => ('\n', 1),
        b't' => ('\t', 1),
        b'r' => ('\r', 1),
        b'0' => ('\0', 1),
        b'x' => (hex(2)?, 3),
        b'u' => (hex(4)?, 5),
        _ => return None,
    })
}

/// A single-quoted scalar on one line: its value and the text after the quote.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 1;
    let mut run = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            out.push_str(&text[run..i]);
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                run = i;
                continue;
            }
            return Some((out, &text[i + 1..]));
        }
        i += 1;
    }
    None
}

/// Duplicate keys are an error, which the general path reports.
fn no_duplicate_keys(map: &Map) -> Option<()> {
    let mut keys: Vec<&str> = map.entries().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).all(|w| w[0] != w[1]).then_some(())
}
