//! Finding comments in the text between parser events.
//!
//! `saphyr-parser` drops comments, but every event carries a span. Text between two
//! events holds only whitespace, indicators, properties and comments, so a `#` there
//! that starts a line or follows whitespace opens a comment. Quoted scalars and flow
//! collection ends are special: their spans run on over a trailing `# comment`.

/// A comment found in the source.
#[derive(Debug, Clone)]
pub(crate) struct FoundComment {
    /// Text after the `#`, without the line break.
    pub text: String,
    /// Column of the `#`, in characters (0-based), comparable to event columns.
    pub column: usize,
    /// Byte offset of the `#`.
    pub offset: usize,
    /// Something other than whitespace precedes the `#` on its line.
    pub trailing: bool,
}

/// Converts the parser's character positions to byte offsets.
pub(crate) struct Positions<'a> {
    input: &'a str,
    /// Byte offset of every character, or `None` when the input is ASCII.
    offsets: Option<Vec<usize>>,
}

impl<'a> Positions<'a> {
    pub fn new(input: &'a str) -> Self {
        let offsets = (!input.is_ascii()).then(|| {
            let mut v: Vec<usize> = input.char_indices().map(|(b, _)| b).collect();
            v.push(input.len());
            v
        });
        Positions { input, offsets }
    }

    pub fn byte(&self, char_index: usize) -> usize {
        match &self.offsets {
            None => char_index.min(self.input.len()),
            Some(v) => v[char_index.min(v.len() - 1)],
        }
    }
}

/// Scans `input[from..to]` for comments and appends them to `out`. Returns the byte
/// offset where scanning stopped (past the last comment's line if it ran beyond `to`).
pub(crate) fn scan_gap(input: &str, from: usize, to: usize, out: &mut Vec<FoundComment>) -> usize {
    let bytes = input.as_bytes();
    let mut i = from;
    let mut end = to;
    while i < end.min(bytes.len()) {
        if bytes[i] == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r')) {
            let line_end = memchr_newline(bytes, i);
            let mut text = &input[i + 1..line_end];
            if let Some(stripped) = text.strip_suffix('\r') {
                text = stripped;
            }
            let line_start = bytes[..i]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            let before = &input[line_start..i];
            out.push(FoundComment {
                text: text.to_string(),
                column: before.chars().count(),
                offset: i,
                trailing: before.bytes().any(|c| !matches!(c, b' ' | b'\t')),
            });
            i = line_end;
            end = end.max(line_end);
        } else {
            i += 1;
        }
    }
    end
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Byte offset just past the closing quote of the quoted scalar that starts at or
/// after `from` (after any `&anchor` / `!tag` properties).
pub(crate) fn quoted_scalar_end(input: &str, from: usize, to: usize) -> usize {
    let bytes = input.as_bytes();
    let mut i = from;
    while i < to && bytes[i] != b'"' && bytes[i] != b'\'' {
        i += 1;
    }
    if i >= to {
        return to;
    }
    let quote = bytes[i];
    i += 1;
    while i < bytes.len() {
        let c = bytes[i];
        if quote == b'"' && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments(s: &str) -> Vec<(String, usize, bool)> {
        let mut out = Vec::new();
        scan_gap(s, 0, s.len(), &mut out);
        out.into_iter()
            .map(|c| (c.text, c.column, c.trailing))
            .collect()
    }

    #[test]
    fn finds_own_line_and_trailing_comments() {
        let found = comments(": 1 # x\n    # y\r\n a#b\n#");
        assert_eq!(
            found,
            vec![
                (" x".to_string(), 4, true),
                (" y".to_string(), 4, false),
                (String::new(), 0, false)
            ]
        );
    }

    #[test]
    fn quoted_end_skips_escapes() {
        let s = r#"&a "x\" # y" # z"#;
        let end = quoted_scalar_end(s, 0, s.len());
        assert_eq!(&s[end..], " # z");
        let s = "'it''s' # c";
        assert_eq!(&s[quoted_scalar_end(s, 0, s.len())..], " # c");
    }
}
