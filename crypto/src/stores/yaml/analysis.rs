//! Which scalar styles a string allows, by the rules of yaml.v3's emitter
//! (`yaml_emitter_analyze_scalar` and `yaml_emitter_select_scalar_style`).

use super::resolve::string_can_be_plain;

/// Output style of a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// What the emitter's analysis found out about a scalar's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Analysis {
    pub multiline: bool,
    pub flow_plain_allowed: bool,
    pub block_plain_allowed: bool,
    pub single_quoted_allowed: bool,
    pub block_allowed: bool,
}

/// libyaml's printable set (yaml.v3 escapes everything else, including all
/// characters outside the Basic Multilingual Plane).
pub(crate) fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD)
}

pub(crate) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    // Decoding UTF-8 is the slow part; ASCII text (most keys and ENC values) skips it.
    if value.is_ascii() {
        analyze_ascii(value.as_bytes())
    } else {
        analyze_chars(value, value.chars())
    }
}

/// Bytes that affect no flag but reset the "previous" ones: most of every scalar.
const fn ordinary_table() -> [bool; 128] {
    let mut t = [false; 128];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = !matches!(
            b as u8,
            b'#' | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
                | b'?'
                | b':'
                | b'-'
        );
        b += 1;
    }
    t
}

static ORDINARY: [bool; 128] = ordinary_table();

/// [`analyze_chars`] for ASCII text, skipping ordinary bytes quickly.
fn analyze_ascii(bytes: &[u8]) -> Analysis {
    let mut block_indicators = bytes.starts_with(b"---") || bytes.starts_with(b"...");
    let mut flow_indicators = block_indicators;
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;

    let len = bytes.len();
    for (i, &c) in bytes.iter().enumerate() {
        if ORDINARY[c as usize] {
            previous_space = false;
            previous_break = false;
            preceded_by_whitespace = false;
            continue;
        }
        let first = i == 0;
        let last = i + 1 == len;
        let followed_by_whitespace = last || matches!(bytes[i + 1], b' ' | b'\t');
        if first {
            match c {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>'
                | b'\'' | b'"' | b'%' | b'@' | b'`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                b'?' | b':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                b'-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_indicators = true,
                b':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                b'#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if c == b'\t' {
            tabs = true;
        } else if !(c == b'\n' || (0x20..=0x7e).contains(&c)) {
            special = true;
        }
        let is_break = c == b'\r' || c == b'\n';
        if c == b' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == b' ' || c == b'\t' || is_break || c == 0;
    }
    finish(Flags {
        block_indicators,
        flow_indicators,
        line_breaks,
        special,
        tabs,
        leading_space,
        leading_break,
        trailing_space,
        trailing_break,
        break_space,
        space_break,
    })
}

/// What a scan found, before it becomes the allowed styles.
struct Flags {
    block_indicators: bool,
    flow_indicators: bool,
    line_breaks: bool,
    special: bool,
    tabs: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

fn analyze_chars(value: &str, chars: impl Iterator<Item = char>) -> Analysis {
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut flow_indicators = block_indicators;
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;

    let mut chars = chars.peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let followed_by_whitespace = next.is_none_or(is_blank);
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        let last = next.is_none();
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
        first = false;
    }

    finish(Flags {
        block_indicators,
        flow_indicators,
        line_breaks,
        special,
        tabs,
        leading_space,
        leading_break,
        trailing_space,
        trailing_break,
        break_space,
        space_break,
    })
}

fn finish(f: Flags) -> Analysis {
    let Flags {
        block_indicators,
        flow_indicators,
        line_breaks,
        special,
        tabs,
        leading_space,
        leading_break,
        trailing_space,
        trailing_break,
        break_space,
        space_break,
    } = f;
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The style yaml.v3 gives a Go string when sops turns it into a node
/// (`Node.Encode`: the encoder's `stringv`, then the emitter's style selection at
/// the document root).
pub(crate) fn string_node_style(s: &str, a: &Analysis) -> Style {
    // NEL, LS and PS are line breaks to libyaml but not to YAML 1.2 parsers; only
    // double quotes keep them unambiguous (yaml.v3 would use single quotes here).
    if !s.is_ascii() && s.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return Style::DoubleQuoted;
    }
    let requested = if s.contains('\n') {
        Style::Literal
    } else if string_can_be_plain(s) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    select_style(requested, a, false, false)
}

/// `yaml_emitter_select_scalar_style` for untagged scalars in block context.
pub(crate) fn select_style(requested: Style, a: &Analysis, simple_key: bool, empty: bool) -> Style {
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (empty && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !a.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(s: &str) -> Style {
        string_node_style(s, &analyze(s))
    }

    proptest::proptest! {
        #[test]
        fn ascii_scan_matches_char_scan(s in "[ -~\t\n\r\x00\x7f]{0,12}") {
            proptest::prop_assert_eq!(
                analyze_ascii(s.as_bytes()),
                analyze_chars(&s, s.chars())
            );
        }
    }

    #[test]
    fn styles_match_yaml_v3() {
        assert_eq!(style("hello"), Style::Plain);
        assert_eq!(style(""), Style::DoubleQuoted);
        assert_eq!(style("true"), Style::DoubleQuoted);
        assert_eq!(style("yes"), Style::DoubleQuoted);
        assert_eq!(style("1.5"), Style::DoubleQuoted);
        assert_eq!(style("2025-08-06T18:55:05Z"), Style::DoubleQuoted);
        assert_eq!(style(" lead"), Style::SingleQuoted);
        assert_eq!(style("trail "), Style::SingleQuoted);
        assert_eq!(style("a: b"), Style::SingleQuoted);
        assert_eq!(style("a #b"), Style::SingleQuoted);
        assert_eq!(style("a#b"), Style::Plain);
        assert_eq!(style("- x"), Style::SingleQuoted);
        assert_eq!(style("-x"), Style::Plain);
        assert_eq!(style("@x"), Style::SingleQuoted);
        assert_eq!(style("it's"), Style::Plain);
        assert_eq!(style("tab\there"), Style::DoubleQuoted);
        assert_eq!(style("smile 😀"), Style::DoubleQuoted);
        assert_eq!(style("été"), Style::Plain);
        assert_eq!(style("a\nb"), Style::Literal);
        assert_eq!(style("a \nb"), Style::DoubleQuoted);
        assert_eq!(style("a\nb "), Style::DoubleQuoted);
        assert_eq!(style("a\r\nb"), Style::DoubleQuoted);
        assert_eq!(
            style("ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"),
            Style::Plain
        );
    }
}
