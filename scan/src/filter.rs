//! Cheap checks that turn a regex match into a finding or drop it:
//! placeholders, identifiers, hashes/UUIDs, structural validators and inline
//! allow markers.

use crate::rules::Validator;

/// Inline markers that allow a line (hush, gitleaks, detect-secrets, ggshield, trufflehog).
const INLINE_ALLOW: &[&[u8]] = &[
    b"hush:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
    b"ggignore",
    b"trufflehog:ignore",
];
/// detect-secrets' marker that allows the following line.
const INLINE_ALLOW_NEXT: &[u8] = b"pragma: allowlist nextline secret";

pub fn line_has_allow_marker(line: &[u8]) -> bool {
    INLINE_ALLOW
        .iter()
        .any(|m| memchr::memmem::find(line, m).is_some())
}

pub fn line_allows_next(line: &[u8]) -> bool {
    memchr::memmem::find(line, INLINE_ALLOW_NEXT).is_some()
}

/// Values that are templates or placeholders rather than secrets.
pub fn is_placeholder(secret: &str) -> bool {
    let s = secret.trim();
    if s.is_empty() {
        return true;
    }
    const TEMPLATE_STARTS: &[&str] = &["$", "%", "<", "{", "#{", "(", "["];
    if TEMPLATE_STARTS.iter().any(|p| s.starts_with(p)) {
        return true;
    }
    const TEMPLATE_PARTS: &[&str] = &["${", "{{", "$(", "%(", "<%", "#{", "}}"];
    if TEMPLATE_PARTS.iter().any(|p| s.contains(p)) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if s.chars().all(|c| c == first) {
        return true;
    }
    // Masked values such as `xxxx-xxxx` or `****`.
    let masked = s
        .chars()
        .filter(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-' | '_' | '0' | '#'))
        .count();
    if masked * 10 >= s.chars().count() * 8 {
        return true;
    }
    is_uuid(s)
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Hex digests (MD5, SHA-1, SHA-256, SHA-512) next to a word that says so.
pub fn is_labelled_hash(secret: &str, matched: &str) -> bool {
    let hexlen =
        matches!(secret.len(), 32 | 40 | 64 | 128) && secret.bytes().all(|c| c.is_ascii_hexdigit());
    if !hexlen {
        return false;
    }
    let lower = matched.to_ascii_lowercase();
    [
        "hash",
        "sha",
        "md5",
        "digest",
        "checksum",
        "commit",
        "etag",
        "integrity",
        "fingerprint",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Code references rather than literals: `user_password_input`,
/// `SOME_CONSTANT_2`, `config.db.password`, `token::Brace`, `TokenStream`.
pub fn looks_like_identifier(secret: &str) -> bool {
    let s = secret
        .trim_start_matches(['&', '*'])
        .trim_end_matches(['(', ')', ',', ';']);
    if s.is_empty() {
        return true;
    }
    let word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    // Paths: obj.attr.attr, module::Type, node.dot2_token.
    let parts: Vec<&str> = s.split("::").flat_map(|p| p.split('.')).collect();
    if parts.len() > 1 && parts.iter().all(|p| word(p)) {
        return true;
    }
    // Letters only (with _ or -): words and CamelCase names, not passwords with digits or symbols.
    if s.chars()
        .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
    {
        return true;
    }
    // snake_case / SCREAMING_CASE / kebab-case with numeric segments:
    // `SECRET_0`, `token_v2`, `render-97`.
    (s.contains('_') || s.contains('-'))
        && s.split(['_', '-']).all(|seg| {
            seg.chars().all(|c| c.is_ascii_digit())
                || (seg.chars().all(|c| c.is_ascii_alphanumeric())
                    && seg.chars().filter(|c| c.is_ascii_digit()).count() <= 1
                    && (seg.chars().all(|c| !c.is_ascii_uppercase())
                        || seg.chars().all(|c| !c.is_ascii_lowercase())))
        })
}

pub fn validate(validator: Validator, secret: &[u8]) -> bool {
    match validator {
        Validator::Base64UserPassword => match base64_decode(secret, false) {
            Some(decoded) => match decoded.iter().position(|&b| b == b':') {
                Some(colon) => {
                    colon > 0
                        && colon + 1 < decoded.len()
                        && decoded.iter().all(|&b| (0x20..0x7f).contains(&b))
                }
                None => false,
            },
            None => false,
        },
        Validator::JwtHeader => {
            let header = secret.split(|&b| b == b'.').next().unwrap_or_default();
            match base64_decode(header, true) {
                Some(decoded) => {
                    let text = String::from_utf8_lossy(&decoded);
                    text.trim_start().starts_with('{') && text.contains("\"alg\"")
                }
                None => false,
            }
        }
    }
}

/// Minimal base64 decoder (standard or URL alphabet, padding optional).
pub fn base64_decode(input: &[u8], url: bool) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' if !url => 62,
            b'/' if !url => 63,
            b'-' if url => 62,
            b'_' if url => 63,
            _ => return None,
        })
    };
    let trimmed: &[u8] = {
        let mut end = input.len();
        while end > 0 && input[end - 1] == b'=' {
            end -= 1;
        }
        &input[..end]
    };
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in trimmed {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "${DB_PASSWORD}",
            "<your-token>",
            "xxxxxxxxxxxx",
            "********",
            "{{ .Values.x }}",
            "0c6a1f5e-3b2d-4c9a-8e7f-1a2b3c4d5e6f",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for s in ["Kq7#vL9p!xR2mT4w", "6w8ZniqT3Ul4ffqkQ2x9"] {
            assert!(!is_placeholder(s), "{s}");
        }
    }

    #[test]
    fn identifiers_are_recognised() {
        assert!(looks_like_identifier("user_password_input"));
        assert!(looks_like_identifier("config.db.password"));
        assert!(looks_like_identifier("DB_PASSWORD"));
        assert!(looks_like_identifier("token::Brace"));
        assert!(looks_like_identifier("&ConnectionSecrets"));
        assert!(looks_like_identifier("SERVER_TRAFFIC_SECRET_0"));
        assert!(looks_like_identifier("render-97"));
        assert!(!looks_like_identifier("6w8ZniqT3Ul4ffqkQ2x9"));
        assert!(!looks_like_identifier("r8Fv2QpL0xZt7MwK3nYb"));
        assert!(!looks_like_identifier("Kq7#vL9p!xR2mT4w"));
    }

    #[test]
    fn base64_and_validators() {
        assert_eq!(base64_decode(b"dXNlcjpwdw==", false).unwrap(), b"user:pw");
        assert!(validate(Validator::Base64UserPassword, b"dXNlcjpwdw=="));
        assert!(!validate(Validator::Base64UserPassword, b"dXNlcjo="));
        assert!(validate(
            Validator::JwtHeader,
            b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"
        ));
        assert!(!validate(
            Validator::JwtHeader,
            b"eyJzb21lIjoianNvbiJ9.eyJub3QiOiJhIGp3dCJ9.x"
        ));
    }

    #[test]
    fn inline_markers() {
        assert!(line_has_allow_marker(b"key = 'x' # hush:allow"));
        assert!(line_has_allow_marker(b"key = 'x' // gitleaks:allow"));
        assert!(line_has_allow_marker(
            b"key = 'x' # pragma: allowlist secret"
        ));
        assert!(line_allows_next(b"# pragma: allowlist nextline secret"));
        assert!(!line_has_allow_marker(b"key = 'x'"));
    }
}
