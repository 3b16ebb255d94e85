//! The fast YAML path must build exactly the tree the general (saphyr) path builds,
//! or decline. Checked over the sops vectors, every YAML file in the repository,
//! hand-picked edge cases, generated trees and randomly edited texts.

use std::path::{Path, PathBuf};

use hush_crypto::stores::yaml::{emit_documents, paths, YamlOptions};
use hush_crypto::{Map, Value};
use proptest::prelude::*;

/// Compares through `Debug` so that NaN floats compare equal.
fn same(a: &[Map], b: &[Map]) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Returns whether the fast path took the input; panics when it disagrees.
fn check(input: &str) -> bool {
    let Some(fast) = paths::fast(input) else {
        return false;
    };
    let general = paths::general(input)
        .unwrap_or_else(|e| panic!("fast path accepted what saphyr rejects ({e}):\n{input}"));
    assert!(
        same(&fast, &general),
        "trees differ for:\n{input}\nfast: {fast:?}\ngeneral: {general:?}"
    );
    let opts = YamlOptions::default();
    assert_eq!(
        emit_documents(&fast, &opts),
        emit_documents(&general, &opts)
    );
    true
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                yaml_files(&path, out);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
}

#[test]
fn agrees_on_vectors_and_repository_files() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let vectors = std::env::var("HUSH_VECTORS_DIR").unwrap_or("/work/shared/vectors".into());
    let mut files = Vec::new();
    yaml_files(&repo, &mut files);
    yaml_files(Path::new(&vectors), &mut files);
    assert!(files.len() > 10, "too few YAML files found: {files:?}");
    let mut taken = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if check(&text) {
            taken.push(
                file.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
            );
        }
    }
    // Files with comments take the general path; sops output without them does not.
    assert!(taken.len() >= 3, "fast path took only {taken:?}");
    if Path::new(&vectors).join("sops/format.enc.yaml").exists() {
        assert!(taken.iter().any(|n| n == "format.enc.yaml"), "{taken:?}");
    }
}

const CASES: &[&str] = &[
    "a: 1\n",
    "a: 1",
    "",
    "\n",
    "---\n",
    "---\na: 1\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\n---\n",
    "a: 1\n---\n---\nb: 2\n",
    "---\n---\na: 1\n",
    "a: 1\n...\n",
    "--- a\n",
    "a: b\n  c\n",
    "a:\n  b\n",
    "a:\n- x\n- y\nb: 1\n",
    "a:\n  - x\n  -\n  - - y\n",
    "a:\n    - x: 1\n      y: 2\n    - z\n",
    "a:\n  - x: 1\n   y: 2\n",
    "- a\n",
    "  a: 1\n",
    "a: 1\n b: 2\n",
    "a: 1\nb:\n    c: 2\n  d: 3\n",
    "a: |\n  x\n  y\n",
    "a: |-\n  x\n\n  y\n\n",
    "a: |+\n  x\n\n\nb: 1\n",
    "a: |\n\n  x\n",
    "a: |\n   x\n  y\n",
    "a: |\nb: 1\n",
    "a: |\n  x\n  \n  y\n",
    "a: |2\n   x\n",
    "a: >\n  x\n",
    "a: |\n  # not a comment\n  x: y\n",
    "s:\n    - e: |\n        l1\n        l2\n      r: x\n",
    "a: \"x\\ty\\u00e9\\x41\\\"\\\\\\/\"\n",
    "a: \"x\\qy\"\n",
    "a: \"\\ud800\"\n",
    "a: 'it''s'\n",
    "a: 'x' y\n",
    "a: \"x\n  y\"\n",
    "'k': 1\n\"k2\": 2\n",
    "\"k\" : 1\n",
    "a: []\nb: {}\nc: [1]\nd: {x: 1}\n",
    "a: x # c\n",
    "# c\na: 1\n",
    "a: x#y\n",
    "a: x: y\n",
    "a: x:\n",
    "a: x:y\n",
    "a: ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: ~\nb: null\nc: true\nd: 0x1F\ne: 1e3\nf: .inf\ng: .nan\nh: 2002-12-14\n",
    "a: 2001-12-14t21:59:43.10-05:00\n",
    "a: 99999999999999999999\n",
    "a: yes\nb: off\nc: <<\n",
    "<<: 1\n",
    "1: x\n",
    "true: x\n",
    "a: 1\na: 2\n",
    "a:\n  b: 1\n  b: 2\n",
    "a b: 1\n",
    "a  b: 1\n",
    "a : 1\n",
    "a.b/c-d_e: 1\n",
    "a:b: 1\n",
    "a: -1\nb: -x\nc: - x\nd: -\n",
    "a: ---\nb: ...\n",
    "a: 'x'\n  b: 1\n",
    "a:\tb\n",
    "a: b\r\n",
    "a: é\n",
    "a: b   \nc:   \n",
    "a:\n\n\n  b: 1\n\n",
    "a:\n  b:\n    c:\n      d: 1\n  e: 2\nf: 3\n",
    "a:\n- b: 1\n  c: 2\n- d\n",
    "a:\n  -   x: 1\n      y: 2\n",
    "a: ? x\n",
    "? a\n: 1\n",
    "a: @x\nb: `x\nc: %x\nd: ,x\n",
    "a: x,y]z{w}\n",
    "a: x ]\n",
    "a: '\n",
    "a: \"\n",
    "a: \"\"\nb: ''\n",
];

#[test]
fn agrees_on_edge_cases() {
    let mut taken = 0;
    for case in CASES {
        if check(case) {
            taken += 1;
        }
    }
    assert!(taken > 20, "fast path took only {taken} edge cases");
    // The benchmark's shape and sops' own output must take the fast path.
    assert!(check("a:\n    key000: value-00000-000-abcdefghijklmnop\n"));
    assert!(check(
        "a: ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]\nsops:\n    age:\n        - recipient: age1x\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWJj\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]\n    version: 3.13.0\n"
    ));
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.:#'\"\\-\\[\\]{}!&*|>%@`,?~<=\\\\/]{0,12}",
        prop::sample::select(vec![
            "true",
            "False",
            "null",
            "~",
            "yes",
            "123",
            "-1.5",
            "0x1F",
            "1e3",
            ".inf",
            ".nan",
            "2002-12-14",
            "1:20",
            "<<",
            "---",
            "...",
            "- x",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "",
            "a\n",
            "a\n\n",
            " a\nb",
            "x\n y\n",
            "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]",
        ])
        .prop_map(str::to_string),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_.-]{0,8}",
        text().prop_map(|k| k.replace('\n', "_")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        text().prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 0..5).prop_map(|entries| {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k, v);
                }
                Value::Map(map)
            }),
            prop::collection::vec(inner, 0..4).prop_map(Value::List),
        ]
    })
}

fn documents() -> impl Strategy<Value = Vec<Map>> {
    prop::collection::vec(
        prop::collection::vec((key(), value()), 1..5).prop_map(|entries| {
            let mut map = Map::new();
            for (k, v) in entries {
                map.insert(k, v);
            }
            map
        }),
        1..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn agrees_on_emitted_trees(docs in documents(), indent in 2usize..6) {
        let text = emit_documents(&docs, &YamlOptions { indent });
        check(&text);
    }

    /// Edits of valid text: one snippet inserted somewhere, or one byte removed.
    #[test]
    fn agrees_on_edited_text(
        docs in documents(),
        at in any::<prop::sample::Index>(),
        snippet in prop::sample::select(vec![
            " ", "  ", "\n", "\n  ", "- ", ":", ": ", " #", "#", "'", "\"", "|", "|-\n",
            "\n---\n", "x", "\n  x", "\\", "[]", "{}", "&a ", "*a", "!!str ",
        ]),
        delete in any::<bool>(),
    ) {
        let mut text = emit_documents(&docs, &YamlOptions::default());
        let i = at.index(text.len() + 1);
        if delete && i < text.len() {
            text.remove(i);
        } else {
            text.insert_str(i.min(text.len()), snippet);
        }
        check(&text);
    }
}
