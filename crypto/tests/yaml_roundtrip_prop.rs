//! Property: emitting a tree and parsing the text gives the tree back.
//!
//! Trees are generated in the shape the parser produces, since sops' writer moves
//! some comments: inline comments only right before a scalar, and collections that
//! are list items do not start with a comment (sops would write it before the `-`),
//! and a list ends with comments only after a scalar item.
//! Floats are compared as yaml.v3 writes them: an integral float below 1e6 is
//! written like an integer (`1`), so it reads back as an int.

use hush_crypto::stores::yaml::{emit_documents, parse_documents, YamlOptions};
use hush_crypto::{Comment, Item, Map, Value};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.:#'\"\\-\\[\\]{}!&*|>%@`,?~<=\t\n\r\\\\/éü€😀\u{a0}\u{85}\u{2028}\u{feff}\u{0}\u{7f}]{0,16}",
        prop::sample::select(vec![
            "true", "False", "null", "~", "yes", "off", "y", "123", "-1.5", "0x1F", "1e3",
            ".inf", "2002-12-14", "2001-12-14t21:59:43.10-05:00", "1:20", "<<", "---", "...",
            "- x", " lead", "trail ", "a: b", "a #b", "", "\n", "a\n", "a\n\n", " a\nb",
            "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]",
        ])
        .prop_map(str::to_string),
    ]
}

/// Keys without line breaks: a multi-line key becomes a `? ` key, after which
/// yaml.v3 writes a list's head comment on the `:` line.
fn key_text() -> impl Strategy<Value = String> {
    text().prop_map(|k| k.replace(['\n', '\r', '\u{85}', '\u{2028}'], "_"))
}

fn comment_text() -> impl Strategy<Value = String> {
    "[ a-zA-Z0-9#:'\"é😀\t\\[\\]]{0,12}"
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        prop::sample::select(vec![0.5, 1.0, -0.0, 1e21, 1e-7, 123456.0, 1234567.0])
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            "2002-12-14T00:00:00Z",
            "2001-12-14T21:59:43.1-05:00",
            "1999-01-02T03:04:05.123456789+14:00",
        ])
        .prop_map(|t| Value::Time(t.into())),
        Just(Value::Null),
        text().prop_map(Value::Str),
    ]
}

/// A raw node: collections carry per-child comments and trailing comments.
#[derive(Debug, Clone)]
enum Raw {
    Scalar(Value),
    Map(Vec<(String, Vec<String>, Option<String>, Raw)>, Vec<String>),
    List(Vec<(Vec<String>, Option<String>, Raw)>, Vec<String>),
}

fn raw() -> impl Strategy<Value = Raw> {
    let comments = || prop::collection::vec(comment_text(), 0..2);
    scalar()
        .prop_map(Raw::Scalar)
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                (
                    prop::collection::vec(
                        (
                            key_text(),
                            comments(),
                            prop::option::of(comment_text()),
                            inner.clone()
                        ),
                        0..6
                    ),
                    comments()
                )
                    .prop_map(|(entries, trailing)| Raw::Map(entries, trailing)),
                (
                    prop::collection::vec(
                        (comments(), prop::option::of(comment_text()), inner),
                        0..6
                    ),
                    comments()
                )
                    .prop_map(|(items, trailing)| Raw::List(items, trailing)),
            ]
        })
}

fn build(raw: Raw, list_item: bool) -> Value {
    let head = |comments: Vec<String>, first: bool| -> Vec<Comment> {
        if first && list_item {
            return Vec::new();
        }
        comments.into_iter().map(Comment::new).collect()
    };
    match raw {
        Raw::Scalar(v) => v,
        Raw::Map(entries, trailing) => {
            let mut map = Map::new();
            let mut seen = std::collections::HashSet::new();
            for (key, comments, inline, value) in entries {
                if !seen.insert(key.clone()) {
                    continue;
                }
                let first = map.items.is_empty();
                map.items
                    .extend(head(comments, first).into_iter().map(Item::Comment));
                let value = build(value, false);
                if let (Some(text), false) = (inline, is_collection(&value)) {
                    map.items
                        .push(Item::Comment(Comment { text, inline: true }));
                }
                map.items.push(Item::Entry(key, value));
            }
            if !map.items.is_empty() {
                map.items
                    .extend(trailing.into_iter().map(|t| Item::Comment(Comment::new(t))));
            }
            Value::Map(map)
        }
        Raw::List(items, trailing) => {
            let mut list = Vec::new();
            for (comments, inline, value) in items {
                let first = list.is_empty();
                list.extend(head(comments, first).into_iter().map(Value::Comment));
                let value = build(value, true);
                if let (Some(text), false) = (inline, is_collection(&value)) {
                    list.push(Value::Comment(Comment { text, inline: true }));
                }
                list.push(value);
            }
            // sops hangs a list's trailing comments on its last item; yaml.v3 only
            // writes a collection item's foot comment at the end of the document.
            if list.last().is_some_and(|v| !is_collection(v)) {
                list.extend(
                    trailing
                        .into_iter()
                        .map(|t| Value::Comment(Comment::new(t))),
                );
            }
            Value::List(list)
        }
    }
}

fn is_collection(v: &Value) -> bool {
    matches!(v, Value::Map(_) | Value::List(_))
}

/// What the tree looks like after yaml.v3 wrote it: integral floats below 1e6 become ints.
fn as_written(v: &Value) -> Value {
    match v {
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e6 => {
            Value::Int(*f as i64)
        }
        Value::Map(m) => Value::Map(Map {
            items: m
                .items
                .iter()
                .map(|i| match i {
                    Item::Entry(k, v) => Item::Entry(k.clone(), as_written(v)),
                    c => c.clone(),
                })
                .collect(),
        }),
        Value::List(l) => Value::List(l.iter().map(as_written).collect()),
        other => other.clone(),
    }
}

/// Equality with floats compared by bits (NaN equals NaN).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Map(x), Value::Map(y)) => {
            x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|pair| match pair {
                    (Item::Entry(k1, v1), Item::Entry(k2, v2)) => k1 == k2 && same(v1, v2),
                    (i1, i2) => i1 == i2,
                })
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v1, v2)| same(v1, v2))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn emit_then_parse_gives_the_tree_back(raws in prop::collection::vec(raw(), 1..3), indent in 2usize..6) {
        let docs: Vec<Map> = raws
            .into_iter()
            .map(|r| match build(Raw::Map(vec![("root".into(), vec![], None, r)], vec![]), false) {
                Value::Map(m) => m,
                _ => unreachable!(),
            })
            .collect();
        let text = emit_documents(&docs, &YamlOptions { indent });
        let parsed = parse_documents(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- text ---\n{text}")))?;
        prop_assert_eq!(parsed.len(), docs.len(), "{}", text);
        for (got, want) in parsed.iter().zip(&docs) {
            let want = as_written(&Value::Map(want.clone()));
            prop_assert!(same(&Value::Map(got.clone()), &want),
                "--- text ---\n{}\n--- got ---\n{:#?}\n--- want ---\n{:#?}", text, got, want);
        }
        // From the parsed tree on, emit and parse are a fixed point.
        let again = emit_documents(&parsed, &YamlOptions { indent });
        let reparsed = parse_documents(&again).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(emit_documents(&reparsed, &YamlOptions { indent }), again);
    }
}
