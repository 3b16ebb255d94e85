//! Hostile YAML: deep nesting and alias bombs fail with an error, never a crash.

use hush_crypto::stores::yaml::{parse_documents, MAX_ALIAS_EXPANSION};
use hush_crypto::stores::{StoreError, MAX_DEPTH};

fn assert_too_deep(text: &str) {
    match parse_documents(text) {
        // Either our depth check or saphyr-parser's own recursion guard fires first.
        Err(StoreError::Syntax { message, .. }) => assert!(
            message.contains("nesting") || message.contains("recursion"),
            "{message}"
        ),
        other => panic!("expected a nesting error, got {other:?}"),
    }
}

#[test]
fn hundred_thousand_flow_sequences() {
    assert_too_deep(&format!("a: {}", "[".repeat(100_000)));
}

#[test]
fn hundred_thousand_flow_mappings() {
    assert_too_deep(&format!("a: {}", "{a: ".repeat(100_000)));
}

#[test]
fn hundred_thousand_block_sequences_on_one_line() {
    assert_too_deep(&format!("a:\n{}x\n", "- ".repeat(100_000)));
}

#[test]
fn deep_block_mappings() {
    let mut text = String::new();
    for level in 0..MAX_DEPTH + 10 {
        text.push_str(&" ".repeat(level));
        text.push_str("a:\n");
    }
    assert_too_deep(&text);
}

#[test]
fn nesting_up_to_the_limit_is_fine() {
    let text = format!(
        "a: {}1{}\n",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert!(parse_documents(&text).is_ok());
}

#[test]
fn billion_laughs_is_refused() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    match parse_documents(&text) {
        Err(StoreError::Invalid(message)) => {
            assert!(
                message.contains(&MAX_ALIAS_EXPANSION.to_string()),
                "{message}"
            )
        }
        other => panic!("expected the alias limit, got {other:?}"),
    }
}

#[test]
fn recursive_alias_is_an_error() {
    assert!(parse_documents("a: &x [*x]\n").is_err());
}
