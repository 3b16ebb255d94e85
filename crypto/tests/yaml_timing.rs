//! Parse + emit of a generated 100k-leaf file: output identical to input, and the
//! time printed (`cargo test --release -p hush-crypto --test yaml_timing -- --nocapture`).

use std::fmt::Write as _;
use std::time::Instant;

use hush_crypto::stores::yaml::{emit_documents, parse_documents, YamlOptions};

/// 1,000 sections of 100 leaves: strings, ENC values, ints, floats, bools, a list,
/// a block literal and comments, already in sops' output style.
fn generated() -> String {
    let mut s = String::new();
    for section in 0..1_000 {
        writeln!(s, "# section {section}").unwrap();
        writeln!(s, "section_{section}:").unwrap();
        for leaf in 0..90 {
            match leaf % 6 {
                0 => writeln!(s, "    key_{leaf}: value number {leaf} of {section}").unwrap(),
                1 => writeln!(
                    s,
                    "    key_{leaf}: ENC[AES256_GCM,data:c2VjcmV0IHZhbHVl,iv:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,tag:dGFndGFndGFndGFndGFnIQ==,type:str]"
                )
                .unwrap(),
                2 => writeln!(s, "    key_{leaf}: {}", section * 1000 + leaf).unwrap(),
                3 => writeln!(s, "    key_{leaf}: {}.25 # inline", leaf).unwrap(),
                4 => writeln!(s, "    key_{leaf}: {}", leaf % 2 == 0).unwrap(),
                _ => writeln!(s, "    key_{leaf}: \"{leaf}\"").unwrap(),
            }
        }
        writeln!(s, "    items:").unwrap();
        for item in 0..9 {
            writeln!(s, "        - item {item}").unwrap();
        }
        writeln!(s, "    text: |-\n        line one\n        line two").unwrap();
        writeln!(
            s,
            "    #ENC[AES256_GCM,data:Zm9vdGVy,iv:aXY=,tag:dGFn,type:comment]"
        )
        .unwrap();
    }
    s
}

/// Time this thread has spent on a CPU (Linux), so a busy machine does not skew it.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

#[test]
fn hundred_thousand_leaves_round_trip() {
    let text = generated();
    let (wall, cpu) = (Instant::now(), thread_cpu_ns());
    let docs = parse_documents(&text).expect("parses");
    let (parse_wall, parse_cpu) = (wall.elapsed(), thread_cpu_ns());
    let again = emit_documents(&docs, &YamlOptions::default());
    let (total_wall, total_cpu) = (wall.elapsed(), thread_cpu_ns());
    let ms = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.1} ms", (b - a) as f64 / 1e6),
        _ => "n/a".into(),
    };
    println!(
        "{} bytes, 100000 leaves: CPU parse {}, emit {}, total {}; wall total {:?} (parse {:?})",
        text.len(),
        ms(cpu, parse_cpu),
        ms(parse_cpu, total_cpu),
        ms(cpu, total_cpu),
        total_wall,
        parse_wall,
    );
    assert!(again == text, "generated file does not round-trip");
}
