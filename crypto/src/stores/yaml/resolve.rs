//! Plain-scalar type resolution as go.yaml.in/yaml/v3 does it (`resolve.go`), plus
//! the extra checks its encoder uses to decide whether a string may be written unquoted.
//!
//! sops decodes every scalar into `interface{}`, where yaml.v3 turns timestamps back
//! into their original text, so a timestamp resolves to [`Resolved::Timestamp`] and
//! the tree keeps it as a string.

/// What a plain scalar (or a scalar with an explicit core tag) means to yaml.v3.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` that still fits `u64` (yaml.v3 gives a `uint64`,
    /// which sops cannot encrypt).
    Uint(u64),
    Float(f64),
    Timestamp,
    /// The merge key `<<`.
    Merge,
    Str,
}

/// Resolves an untagged plain scalar the way yaml.v3's `resolve("", s)` does.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            resolve_keyword(s).unwrap_or(Resolved::Str)
        }
        b'.' => {
            if let Some(r) = resolve_keyword(s) {
                return r;
            }
            if is_dot_float(s) {
                if let Some(f) = parse_finite_float(s) {
                    return Resolved::Float(f);
                }
            }
            Resolved::Str
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if let Some(r) = resolve_keyword(s) {
                return r;
            }
            resolve_number_like(s)
        }
        b'<' if s == "<<" => Resolved::Merge,
        _ => Resolved::Str,
    }
}

/// The fixed words yaml.v3 looks up in its resolve map.
fn resolve_keyword(s: &str) -> Option<Resolved> {
    Some(match s {
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Scalars starting with a digit or sign: timestamp, int, uint, float, else string.
fn resolve_number_like(s: &str) -> Resolved {
    if is_timestamp(s) {
        return Resolved::Timestamp;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Resolved::Int(i);
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Resolved::Uint(u);
    }
    if is_yaml_style_float(&plain) {
        if let Some(f) = parse_finite_float(&plain) {
            return Resolved::Float(f);
        }
    }
    // The explicit 0b/0o branches of yaml.v3 only repeat what base-0 parsing already
    // accepted, so nothing else can match here.
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(rest)?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` on text without underscores (no sign allowed).
pub(crate) fn go_parse_uint(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (radix, digits) = if b[0] == b'0' {
        if b.len() >= 3 {
            match b[1].to_ascii_lowercase() {
                b'b' => (2, &s[2..]),
                b'o' => (8, &s[2..]),
                b'x' => (16, &s[2..]),
                _ => (8, &s[1..]),
            }
        } else {
            (8, &s[1..])
        }
    } else {
        (10, s)
    };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// yaml.v3's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        // `\.[0-9]+`
        if i >= b.len() || b[i] != b'.' {
            return false;
        }
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return false;
        }
    } else if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    exponent_then_end(b, i)
}

/// `([eE][-+]?[0-9]+)?$` from position `i`.
fn exponent_then_end(b: &[u8], mut i: usize) -> bool {
    if i == b.len() {
        return true;
    }
    if b[i] != b'e' && b[i] != b'E' {
        return false;
    }
    i += 1;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i > start && i == b.len()
}

/// What Go's `ParseFloat` accepts for text starting with `.`: `.digits[exp]`.
fn is_dot_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i > 1 && exponent_then_end(b, i)
}

/// Go's `ParseFloat` fails on overflow where Rust returns infinity.
fn parse_finite_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// yaml.v3's `parseTimestamp`: `YYYY-` then one of the four layouts it tries with
/// Go's `time.Parse`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_some()
}

/// A timestamp as Go's `time.Parse` reads it with yaml.v3's layouts.
struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Zone offset in minutes east of UTC (0 for `Z` and for layouts without a zone).
    offset_minutes: i32,
}

fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || b.len() == 4 || b[4] != b'-' {
        return None;
    }
    let (year, month, day, rest) = parse_date(b)?;
    if day < 1 || day > days_in_month(month, year) {
        return None;
    }
    let mut t = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset_minutes: 0,
    };
    if rest.is_empty() {
        return Some(t);
    }
    let clock = match rest[0] {
        // RFC 3339 layouts: the zone is required.
        b'T' | b't' => {
            let (clock, zone) = parse_clock(&rest[1..])?;
            t.offset_minutes = parse_zone(zone)?;
            clock
        }
        // Space-separated layout: no zone, UTC.
        b' ' => {
            let after_spaces = rest.iter().position(|&c| c != b' ').unwrap_or(rest.len());
            parse_clock(&rest[after_spaces..])
                .filter(|(_, r)| r.is_empty())?
                .0
        }
        _ => return None,
    };
    (t.hour, t.minute, t.second, t.nanos) = clock;
    Some(t)
}

/// Go's `time.Time.MarshalText` (RFC 3339 with nanoseconds) of a plain scalar that
/// yaml.v3 reads as a timestamp. `Err` when Go would refuse to marshal it (a zone
/// offset of 24 hours or more).
pub(crate) fn timestamp_text(s: &str) -> Option<Result<String, String>> {
    let t = parse_timestamp(s)?;
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    if t.nanos != 0 {
        let frac = format!("{:09}", t.nanos);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.offset_minutes;
    if offset == 0 {
        out.push('Z');
    } else if offset.abs() / 60 >= 24 {
        return Some(Err("timestamp zone offset is 24 hours or more".into()));
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.abs();
        out.push_str(&format!("{sign}{:02}:{:02}", abs / 60, abs % 60));
    }
    Some(Ok(out))
}

/// `2006-1-2`: returns year, month, day and the unparsed rest.
fn parse_date(b: &[u8]) -> Option<(u32, u32, u32, &[u8])> {
    let year: u32 = std::str::from_utf8(&b[..4]).ok()?.parse().ok()?;
    let rest = b.get(4..)?.strip_prefix(b"-")?;
    let (month, rest) = go_getnum(rest)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let rest = rest.strip_prefix(b"-")?;
    let (day, rest) = go_getnum(rest)?;
    Some((year, month, day, rest))
}

type Clock = (u32, u32, u32, u32);

/// `15:4:5` plus an optional fraction (Go keeps at most 9 digits); returns the
/// clock and the unparsed rest.
fn parse_clock(b: &[u8]) -> Option<(Clock, &[u8])> {
    let (hour, rest) = go_getnum(b)?;
    let rest = rest.strip_prefix(b":")?;
    let (minute, rest) = go_getnum(rest)?;
    let rest = rest.strip_prefix(b":")?;
    let (second, mut rest) = go_getnum(rest)?;
    if hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    let mut nanos = 0;
    if rest.len() >= 2 && (rest[0] == b'.' || rest[0] == b',') && rest[1].is_ascii_digit() {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let digits = &rest[1..1 + n.min(9)];
        nanos = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
            * 10u32.pow(9 - digits.len() as u32);
        rest = &rest[1 + n..];
    }
    Some(((hour, minute, second, nanos), rest))
}

/// `Z07:00`: `Z` or `±hh:mm`, then nothing; the offset in minutes.
fn parse_zone(b: &[u8]) -> Option<i32> {
    if b == b"Z" {
        return Some(0);
    }
    if b.len() != 6 || b[3] != b':' || !(b[0] == b'+' || b[0] == b'-') {
        return None;
    }
    let two = |p: &[u8]| -> Option<i32> {
        (p[0].is_ascii_digit() && p[1].is_ascii_digit())
            .then(|| i32::from(p[0] - b'0') * 10 + i32::from(p[1] - b'0'))
    };
    let (hours, minutes) = (two(&b[1..3])?, two(&b[4..6])?);
    if hours > 24 || minutes > 60 {
        return None;
    }
    let total = hours * 60 + minutes;
    Some(if b[0] == b'-' { -total } else { total })
}

/// Go's `getnum(s, false)`: one or two digits.
fn go_getnum(b: &[u8]) -> Option<(u32, &[u8])> {
    let first = *b.first()?;
    if !first.is_ascii_digit() {
        return None;
    }
    match b.get(1) {
        Some(&second) if second.is_ascii_digit() => Some((
            u32::from(first - b'0') * 10 + u32::from(second - b'0'),
            &b[2..],
        )),
        _ => Some((u32::from(first - b'0'), &b[1..])),
    }
}

fn days_in_month(month: u32, year: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// YAML 1.1 base-60 floats (`1:20`): yaml.v3 still quotes them on output.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&c) = b.first() else { return false };
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let mut i = usize::from(c == b'+' || c == b'-');
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        match i - start {
            1 => {}
            2 if b[start] <= b'5' => {}
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// YAML 1.1 booleans that yaml.v3 reads as strings but still quotes on output.
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// yaml.v3's `canUsePlain` for an untagged string: it would read back as the same string.
pub(crate) fn string_can_be_plain(s: &str) -> bool {
    resolve_plain(s) == Resolved::Str && !is_base60_float(s) && !is_old_bool(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords() {
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("NULL"), Resolved::Null);
        assert_eq!(resolve_plain("nULL"), Resolved::Str);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("off"), Resolved::Str);
        assert_eq!(resolve_plain("<<"), Resolved::Merge);
    }

    #[test]
    fn integers() {
        assert_eq!(resolve_plain("12"), Resolved::Int(12));
        assert_eq!(resolve_plain("-12"), Resolved::Int(-12));
        assert_eq!(resolve_plain("+12"), Resolved::Int(12));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("-0b101"), Resolved::Int(-5));
        assert_eq!(resolve_plain("0777"), Resolved::Int(511));
        assert_eq!(resolve_plain("0"), Resolved::Int(0));
        assert_eq!(
            resolve_plain("-9223372036854775808"),
            Resolved::Int(i64::MIN)
        );
        assert_eq!(
            resolve_plain("9223372036854775808"),
            Resolved::Uint(1 << 63)
        );
        assert_eq!(resolve_plain("0x"), Resolved::Str);
    }

    #[test]
    fn floats() {
        assert_eq!(resolve_plain("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1."), Resolved::Float(1.0));
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("-.inf"), Resolved::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".nan"), Resolved::Float(f) if f.is_nan()));
        assert_eq!(resolve_plain("99999999999999999999"), Resolved::Float(1e20));
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str);
        assert_eq!(resolve_plain("."), Resolved::Str);
    }

    #[test]
    fn timestamps() {
        for t in [
            "2002-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14T21:59:43Z",
            "2001-12-14 21:59:43.10",
            "2001-1-2",
            "2024-02-29",
            "2026-05-22T20:16:23Z",
        ] {
            assert!(is_timestamp(t), "{t}");
        }
        for t in [
            "2002-12-32",
            "2023-02-29",
            "2002-13-01",
            "20021-12-14",
            "2002-12-14x",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-14T21:59:43",
            "2001-12-14T25:59:43Z",
        ] {
            assert!(!is_timestamp(t), "{t}");
        }
    }

    #[test]
    fn timestamps_marshal_like_go() {
        let text = |s: &str| timestamp_text(s).map(|r| r.expect("marshals"));
        assert_eq!(text("2002-12-14").as_deref(), Some("2002-12-14T00:00:00Z"));
        assert_eq!(
            text("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            text("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(
            text("2001-1-2T3:4:5+00:00").as_deref(),
            Some("2001-01-02T03:04:05Z")
        );
        assert_eq!(
            text("2001-01-02T03:04:05.1234567891Z").as_deref(),
            Some("2001-01-02T03:04:05.123456789Z")
        );
        assert_eq!(
            text("2001-01-02T03:04:05.000Z").as_deref(),
            Some("2001-01-02T03:04:05Z")
        );
        assert!(matches!(
            timestamp_text("2001-01-02T03:04:05+24:00"),
            Some(Err(_))
        ));
        assert!(timestamp_text("2001-01-02x").is_none());
    }

    #[test]
    fn plain_strings() {
        assert!(string_can_be_plain("hello world"));
        assert!(!string_can_be_plain("1:20"));
        assert!(!string_can_be_plain("yes"));
        assert!(!string_can_be_plain("123"));
        assert!(!string_can_be_plain("2002-12-14"));
        assert!(string_can_be_plain("1:2:3:x"));
    }
}
