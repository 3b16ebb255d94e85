//! Every built-in rule's true-positive examples must be found by that rule,
//! and its false-positive examples must not be.

use hush_scan::rules::default_specs;
use hush_scan::Scanner;

#[test]
fn every_rule_has_examples_and_they_hold() {
    let scanner = Scanner::with_defaults();
    let mut failures = Vec::new();
    for spec in default_specs() {
        assert!(
            !spec.tp.is_empty(),
            "rule {} has no true-positive example",
            spec.id
        );
        assert!(
            !spec.fp.is_empty(),
            "rule {} has no false-positive example",
            spec.id
        );
        for (i, tp) in spec.tp.iter().enumerate() {
            let found = scanner
                .scan_stream("example.txt", None, tp.as_bytes())
                .unwrap()
                .findings;
            if !found.iter().any(|f| f.rule_id == spec.id) {
                let got: Vec<_> = found.iter().map(|f| f.rule_id.as_str()).collect();
                failures.push(format!("{} tp[{i}] not found (got {got:?})", spec.id));
            }
        }
        for (i, fp) in spec.fp.iter().enumerate() {
            let found = scanner
                .scan_stream("example.txt", None, fp.as_bytes())
                .unwrap()
                .findings;
            if let Some(f) = found.iter().find(|f| f.rule_id == spec.id) {
                failures.push(format!("{} fp[{i}] reported: {:?}", spec.id, f.secret));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rule_ids_are_unique() {
    let specs = default_specs();
    let mut ids: Vec<_> = specs.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), specs.len());
}
