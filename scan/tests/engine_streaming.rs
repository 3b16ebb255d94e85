//! The chunked reader must find secrets anywhere in large inputs, with the
//! right line numbers, and cope with hostile input.

use std::io::{self, Read};

use hush_scan::source::scan_reader;
use hush_scan::Scanner;

const GH: &str = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACCgKBvBRQ0hOGND+5NUcSGzhFGljOlJgvVqhnmjvhJlXQAAAJgoCgbwUUNI\n-----END OPENSSH PRIVATE KEY-----";

/// Filler lines of 64 bytes without secrets.
fn filler(lines: usize) -> String {
    "let value = compute_something(alpha, beta, gamma); // filler ok\n".repeat(lines)
}

#[test]
fn secrets_across_chunk_boundaries_are_found_once_with_lines() {
    let scanner = Scanner::with_defaults();
    // 1 MiB chunks: place secrets just before, across and after several boundaries.
    let mut text = String::new();
    let mut expected = Vec::new();
    for block in 0..5 {
        let lines = 16_380 + block * 3; // about 1 MiB of filler
        text.push_str(&filler(lines));
        let line = text.matches('\n').count() + 1;
        text.push_str(&format!("token = {GH}\n"));
        expected.push(("github-token", line));
        let key_line = text.matches('\n').count() + 1;
        text.push_str(KEY);
        text.push('\n');
        expected.push(("private-key-openssh", key_line));
    }
    let found = scanner
        .scan_stream("big.txt", None, text.as_bytes())
        .unwrap()
        .findings;
    let mut got: Vec<(&str, usize)> = found.iter().map(|f| (f.rule_id.as_str(), f.line)).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

/// A reader that hands out data in small irregular pieces.
struct Trickle<'a>(&'a [u8], usize);
impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1 = self.1 % 7 + 1;
        let n = self.0.len().min(buf.len()).min(self.1 * 997);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_do_not_change_results() {
    let scanner = Scanner::with_defaults();
    let text = format!(
        "{}password = \"Kq7#vL9p!xR2mT4w\"\n{}",
        filler(20_000),
        filler(100)
    );
    let direct = scanner
        .scan_stream("a", None, text.as_bytes())
        .unwrap()
        .findings;
    let trickled = scanner
        .scan_stream("a", None, Trickle(text.as_bytes(), 0))
        .unwrap()
        .findings;
    assert_eq!(direct.len(), 1);
    assert_eq!(direct, trickled);
    assert_eq!(direct[0].line, 20_001);
}

#[test]
fn minified_line_and_invalid_utf8_are_scanned() {
    let scanner = Scanner::with_defaults();
    let mut data = Vec::new();
    for i in 0..200_000 {
        data.extend_from_slice(format!("var a{i}=function(t){{return t+{i}}};").as_bytes());
    }
    data.extend_from_slice(format!("var k=\"{GH}\";").as_bytes());
    data.extend_from_slice(&[0xff, 0xfe, b'x', 0xc3]);
    data.extend_from_slice(b"\nsecret_key = \"r8Fv2QpL0xZt7MwK3nYb\"\n");
    let found = scanner
        .scan_stream("app.min.js", None, data.as_slice())
        .unwrap()
        .findings;
    let ids: Vec<_> = found.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["github-token", "generic-secret-assignment"]);
    assert_eq!(found[1].line, 2);
}

#[test]
fn binary_input_is_skipped() {
    let scanner = Scanner::with_defaults();
    let mut data = vec![0u8, 1, 2, 3];
    data.extend_from_slice(GH.as_bytes());
    let r = scanner
        .scan_stream("blob.bin", None, data.as_slice())
        .unwrap();
    assert!(r.binary);
    assert!(r.findings.is_empty());
}

struct Broken;
impl Read for Broken {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("device gone"))
    }
}

#[test]
fn read_errors_make_the_scan_incomplete() {
    let scanner = Scanner::with_defaults();
    let outcome = scan_reader(&scanner, "broken", Broken);
    assert!(!outcome.complete());
    assert_eq!(outcome.exit_code(), 2);
    let clean = scan_reader(&scanner, "-", "nothing here\n".as_bytes());
    assert_eq!(clean.exit_code(), 0);
    let dirty = scan_reader(&scanner, "-", format!("x={GH}\n").as_bytes());
    assert_eq!(dirty.exit_code(), 1);
}

#[test]
fn inline_markers_and_known_safe_values() {
    let scanner = Scanner::with_defaults();
    let text = format!(
        "a = \"{GH}\" # hush:allow\nb = \"{GH}\" // gitleaks:allow\n# pragma: allowlist nextline secret\nc = \"{GH}\"\nd = \"{GH}\"\n"
    );
    let found = scanner
        .scan_stream("x.py", None, text.as_bytes())
        .unwrap()
        .findings;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 5);
    // A SealedSecret's encrypted value never trips the generic rule.
    let sealed = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWKPiTySYZZAq8Vt2mZr5LkX9b7Qw1e\n";
    assert!(scanner
        .scan_stream("sealed.yaml", None, sealed.as_bytes())
        .unwrap()
        .findings
        .is_empty());
}

#[test]
fn unquoted_generic_values_count_only_outside_source_code() {
    let scanner = Scanner::with_defaults();
    let line = "let api_key: Xk29Lq8Zr4Vb7Nm1 = build();\n";
    assert!(scanner
        .scan_stream("src/lib.rs", None, line.as_bytes())
        .unwrap()
        .findings
        .is_empty());
    let env = "API_KEY=Xk29Lq8Zr4Vb7Nm1\n";
    assert_eq!(
        scanner
            .scan_stream("deploy/.env", None, env.as_bytes())
            .unwrap()
            .findings
            .len(),
        1
    );
    let quoted = "let api_key = \"Xk29Lq8Zr4Vb7Nm1\";\n";
    assert_eq!(
        scanner
            .scan_stream("src/lib.rs", None, quoted.as_bytes())
            .unwrap()
            .findings
            .len(),
        1
    );
}
