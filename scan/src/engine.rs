//! The matching core: one Aho-Corasick pass over the bytes finds keyword
//! hits; each rule's regex runs only on the span (the line, or a bounded
//! window for multi-line rules) around a hit. Input is read in fixed-size
//! chunks with an overlap, so memory stays bounded whatever the file size.

use std::collections::HashSet;
use std::io::{self, Read};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};

use crate::entropy::shannon;
use crate::error::ScanError;
use crate::filter;
use crate::rules::{CompiledAllowlist, Rule};

/// Bytes scanned per step (plus the look-ahead below).
const CHUNK: usize = 1 << 20;
/// Longest span a multi-line match may cover (e.g. a PEM block).
const MULTILINE_SPAN: usize = 48 << 10;
/// Context kept before the processed position when the buffer slides.
const LOOKBEHIND: usize = 4 << 10;
/// On very long lines (minified files) the span around a hit is clamped.
const LINE_BACK: usize = 512;
const LINE_FORWARD: usize = 2048;
/// Files whose first bytes contain NUL are treated as binary.
const BINARY_PROBE: usize = 8000;

/// A rule match that passed every filter.
#[derive(Debug, Clone)]
pub struct RawMatch {
    pub rule: usize,
    /// Absolute byte offsets of the secret in the stream.
    pub start: u64,
    pub end: u64,
    pub line: usize,
    pub end_line: usize,
    pub column: usize,
    pub secret: Vec<u8>,
    pub entropy: f64,
}

/// What scanning one stream produced.
#[derive(Debug, Default)]
pub struct StreamScan {
    pub matches: Vec<RawMatch>,
    pub bytes: u64,
    pub binary: bool,
    /// The whole content, when it fitted in the first chunk (for GitOps checks).
    pub whole: Option<Vec<u8>>,
}

pub struct Engine {
    rules: Vec<Rule>,
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern: (rule index, keyword as written).
    pattern_rules: Vec<Vec<(usize, Vec<u8>)>>,
    longest_keyword: usize,
    /// Rules without keywords run on every window.
    unkeyed: Vec<usize>,
    global_allowlists: Vec<CompiledAllowlist>,
}

/// Per-stream bookkeeping.
struct StreamState<'p> {
    path: &'p str,
    /// Absolute offset up to which each rule's regex has already run.
    scanned_until: Vec<u64>,
    /// Per rule: does the rule's path regex allow this path?
    path_allowed: Vec<bool>,
    /// The path looks like source code (literals there are quoted).
    source_code: bool,
    seen: HashSet<(usize, u64)>,
    /// Line-number cursor inside the current buffer: (relative offset, line).
    cursor: (usize, usize),
    matches: Vec<RawMatch>,
}

impl Engine {
    pub fn new(
        rules: Vec<Rule>,
        global_allowlists: Vec<CompiledAllowlist>,
    ) -> Result<Self, ScanError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<(usize, Vec<u8>)>> = Vec::new();
        let mut unkeyed = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            if rule.regex.is_none() {
                continue;
            }
            if rule.keywords.is_empty() {
                unkeyed.push(ri);
                continue;
            }
            for kw in &rule.keywords {
                let lower = kw.to_ascii_lowercase();
                let slot = match patterns.iter().position(|p| *p == lower) {
                    Some(i) => i,
                    None => {
                        patterns.push(lower);
                        pattern_rules.push(Vec::new());
                        patterns.len() - 1
                    }
                };
                pattern_rules[slot].push((ri, kw.as_bytes().to_vec()));
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&patterns)
                    .map_err(|e| ScanError::Rule {
                        rule_id: "keywords".into(),
                        message: e.to_string(),
                    })?,
            )
        };
        let longest_keyword = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        Ok(Engine {
            rules,
            automaton,
            pattern_rules,
            longest_keyword,
            unkeyed,
            global_allowlists,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn global_allowlists(&self) -> &[CompiledAllowlist] {
        &self.global_allowlists
    }

    /// Scan an in-memory buffer (tests, stdin snippets).
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> Vec<RawMatch> {
        self.scan_reader(path, data)
            .map(|s| s.matches)
            .unwrap_or_default()
    }

    /// Scan a stream in bounded chunks.
    pub fn scan_reader<R: Read>(&self, path: &str, mut reader: R) -> io::Result<StreamScan> {
        let mut state = StreamState {
            path,
            scanned_until: vec![0; self.rules.len()],
            path_allowed: self
                .rules
                .iter()
                .map(|r| r.path.as_ref().is_none_or(|p| p.is_match(path.as_bytes())))
                .collect(),
            source_code: is_source_code(path),
            seen: HashSet::new(),
            cursor: (0, 1),
            matches: Vec::new(),
        };
        let target = CHUNK + MULTILINE_SPAN;
        let mut buf: Vec<u8> = Vec::new();
        let mut base: u64 = 0;
        let mut from = 0usize;
        let mut total: u64 = 0;
        let mut first = true;
        loop {
            let want = target - buf.len();
            let got = (&mut reader).take(want as u64).read_to_end(&mut buf)?;
            total += got as u64;
            let eof = got < want;
            if first {
                first = false;
                let probe = &buf[..buf.len().min(BINARY_PROBE)];
                if memchr::memchr(0, probe).is_some() {
                    return Ok(StreamScan {
                        binary: true,
                        bytes: total,
                        ..StreamScan::default()
                    });
                }
            }
            let until = if eof {
                buf.len()
            } else {
                buf.len() - MULTILINE_SPAN
            };
            self.scan_window(&buf, base, from, until, eof, &mut state);
            if eof {
                let whole = (base == 0).then_some(buf);
                let mut matches = state.matches;
                drop_overlapping_generic(&self.rules, &mut matches);
                return Ok(StreamScan {
                    matches,
                    bytes: total,
                    binary: false,
                    whole,
                });
            }
            let keep_from = until.saturating_sub(LOOKBEHIND);
            let dropped_lines = state.line_at(&buf, keep_from);
            buf.drain(..keep_from);
            base += keep_from as u64;
            state.cursor = (0, dropped_lines);
            from = until - keep_from;
        }
    }

    fn scan_window(
        &self,
        buf: &[u8],
        base: u64,
        from: usize,
        until: usize,
        eof: bool,
        state: &mut StreamState,
    ) {
        if let Some(ac) = &self.automaton {
            let search_end = (until + self.longest_keyword).min(buf.len());
            let input = Input::new(buf).range(from..search_end);
            for hit in ac.find_overlapping_iter(input) {
                let start = hit.start();
                if start >= until {
                    continue;
                }
                for (ri, keyword) in &self.pattern_rules[hit.pattern().as_usize()] {
                    let ri = *ri;
                    if state.scanned_until[ri] > base + start as u64 || !state.path_allowed[ri] {
                        continue;
                    }
                    let rule = &self.rules[ri];
                    if rule.case_sensitive_keywords && buf[start..hit.end()] != keyword[..] {
                        continue;
                    }
                    let (span_start, span_end, clamped) =
                        span_around(buf, start, hit.end(), rule.multiline, eof);
                    let last_end = self.run_rule(ri, buf, base, span_start, span_end, state);
                    let done = if rule.multiline {
                        last_end.unwrap_or(hit.end())
                    } else if clamped {
                        span_end.saturating_sub(LINE_BACK).max(hit.end())
                    } else {
                        span_end
                    };
                    state.scanned_until[ri] = base + done as u64;
                }
            }
        }
        for &ri in &self.unkeyed {
            if !state.path_allowed[ri] {
                continue;
            }
            let start = line_start(buf, from, buf.len());
            let end = if eof {
                buf.len()
            } else {
                line_end(buf, until, buf.len())
            };
            self.run_rule(ri, buf, base, start, end, state);
        }
    }

    /// Run one rule's regex on `buf[span_start..span_end]`; returns the end of the last match.
    fn run_rule(
        &self,
        ri: usize,
        buf: &[u8],
        base: u64,
        span_start: usize,
        span_end: usize,
        state: &mut StreamState,
    ) -> Option<usize> {
        let rule = &self.rules[ri];
        let regex = rule.regex.as_ref()?;
        let span = &buf[span_start..span_end];
        // Most keyword hits do not match: answer that without capture groups.
        if !regex.is_match(span) {
            return None;
        }
        let mut last_end = None;
        for caps in regex.captures_iter(span) {
            let whole = caps.get(0).expect("group 0 always participates");
            last_end = Some(span_start + whole.end());
            let group = match rule.secret_group {
                Some(g) => g,
                None => (1..caps.len())
                    .find(|&g| caps.get(g).is_some())
                    .unwrap_or(0),
            };
            let Some(secret) = caps.get(group) else {
                continue;
            };
            if rule.unquoted_group == Some(group) && state.source_code {
                continue;
            }
            let (s, e) = (span_start + secret.start(), span_start + secret.end());
            if s == e || !state.seen.insert((ri, base + s as u64)) {
                continue;
            }
            let matched = &span[whole.start()..whole.end()];
            if let Some(m) = self.accept(ri, buf, base, s, e, matched, state) {
                state.matches.push(m);
            }
        }
        last_end
    }

    #[allow(clippy::too_many_arguments)]
    fn accept(
        &self,
        ri: usize,
        buf: &[u8],
        base: u64,
        s: usize,
        e: usize,
        matched: &[u8],
        state: &mut StreamState,
    ) -> Option<RawMatch> {
        let rule = &self.rules[ri];
        let secret = &buf[s..e];
        let entropy = shannon(secret);
        if rule.entropy.is_some_and(|min| entropy < min) {
            return None;
        }
        let text = String::from_utf8_lossy(secret);
        if !rule.stopwords.is_empty() {
            let lower = text.to_lowercase();
            if rule.stopwords.iter().any(|w| lower.contains(w.as_str())) {
                return None;
            }
        }
        if rule.placeholders && filter::is_placeholder(&text) {
            return None;
        }
        if rule.identifier_check && filter::looks_like_identifier(&text) {
            return None;
        }
        if rule.generic && filter::is_labelled_hash(&text, &String::from_utf8_lossy(matched)) {
            return None;
        }
        if let Some(v) = rule.validate {
            if !filter::validate(v, secret) {
                return None;
            }
        }
        let ls = line_start(buf, 0, s);
        let le = line_end(buf, e, buf.len());
        let line_text = &buf[ls..le];
        let allowlisted = rule
            .allowlists
            .iter()
            .chain(
                self.global_allowlists
                    .iter()
                    .filter(|a| a.applies_to(&rule.id)),
            )
            .any(|a| a.allows(state.path, secret, matched, line_text));
        if allowlisted || filter::line_has_allow_marker(line_text) {
            return None;
        }
        if ls > 0 {
            let prev = &buf[line_start(buf, 0, ls - 1)..ls - 1];
            if filter::line_allows_next(prev) {
                return None;
            }
        }
        let line = state.line_at(buf, s);
        let end_line = line + memchr::memchr_iter(b'\n', &buf[s..e]).count();
        Some(RawMatch {
            rule: ri,
            start: base + s as u64,
            end: base + e as u64,
            line,
            end_line,
            column: s - ls + 1,
            secret: secret.to_vec(),
            entropy,
        })
    }
}

impl StreamState<'_> {
    /// 1-based line number of relative offset `pos` in the current buffer.
    fn line_at(&mut self, buf: &[u8], pos: usize) -> usize {
        let (cpos, cline) = self.cursor;
        let line = if pos >= cpos {
            cline + memchr::memchr_iter(b'\n', &buf[cpos..pos]).count()
        } else {
            cline - memchr::memchr_iter(b'\n', &buf[pos..cpos]).count()
        };
        self.cursor = (pos, line);
        line
    }
}

fn is_source_code(path: &str) -> bool {
    const CODE: &[&str] = &[
        "rs", "py", "pyi", "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "java", "kt", "kts",
        "scala", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "m", "mm", "dart",
        "lua", "pl", "pm", "r", "jl", "ex", "exs", "erl", "hs", "ml", "fs", "groovy", "zig", "nim",
        "v", "sv", "vhd",
    ];
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| CODE.iter().any(|c| ext.eq_ignore_ascii_case(c)))
}

/// Start of the line containing `pos`, not before `floor`.
fn line_start(buf: &[u8], floor: usize, pos: usize) -> usize {
    memchr::memrchr(b'\n', &buf[floor..pos]).map_or(floor, |i| floor + i + 1)
}

/// End of the line containing `pos` (exclusive, before the newline), not after `ceil`.
fn line_end(buf: &[u8], pos: usize, ceil: usize) -> usize {
    memchr::memchr(b'\n', &buf[pos..ceil]).map_or(ceil, |i| pos + i)
}

/// The span a rule's regex runs on for a keyword hit at `start..end`.
/// Returns (span start, span end, whether the line was clamped).
fn span_around(
    buf: &[u8],
    start: usize,
    end: usize,
    multiline: bool,
    eof: bool,
) -> (usize, usize, bool) {
    let floor = start.saturating_sub(LINE_BACK);
    let ls = line_start(buf, floor, start);
    if multiline {
        let ceil = (start + MULTILINE_SPAN).min(buf.len());
        return (ls, ceil, false);
    }
    let ceil = (end + LINE_FORWARD).min(buf.len());
    let le = line_end(buf, end, ceil);
    let clamped = (le == ceil && (ceil < buf.len() || !eof))
        || (ls == floor && floor > 0 && buf[floor - 1] != b'\n');
    (ls, le, clamped)
}

/// When a generic rule and a specific rule report overlapping secrets, keep the specific one.
fn drop_overlapping_generic(rules: &[Rule], matches: &mut Vec<RawMatch>) {
    if matches.len() < 2 {
        return;
    }
    let specific: Vec<(u64, u64)> = matches
        .iter()
        .filter(|m| !rules[m.rule].generic)
        .map(|m| (m.start, m.end))
        .collect();
    let overlaps = |a: (u64, u64), b: (u64, u64)| a.0 < b.1 && b.0 < a.1;
    matches.retain(|m| {
        !rules[m.rule].generic || !specific.iter().any(|&r| overlaps(r, (m.start, m.end)))
    });
    // Two generic rules on the same secret: keep the first rule.
    matches.sort_by_key(|m| (m.start, m.rule));
    let mut kept: Vec<RawMatch> = Vec::with_capacity(matches.len());
    for m in matches.drain(..) {
        let dup = kept.iter().any(|k| {
            rules[k.rule].generic
                && rules[m.rule].generic
                && overlaps((k.start, k.end), (m.start, m.end))
        });
        if !dup {
            kept.push(m);
        }
    }
    *matches = kept;
}
