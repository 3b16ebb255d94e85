//! YAML store behaviour: typing, comment placement, sops-style output, errors.

use hush_crypto::stores::yaml::{emit_documents, parse_documents, YamlOptions};
use hush_crypto::stores::StoreError;
use hush_crypto::{Comment, Item, Map, Value};

fn parse_one(text: &str) -> Map {
    let mut docs = parse_documents(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(docs.len(), 1, "{text}");
    docs.remove(0)
}

fn emit_one(doc: &Map) -> String {
    emit_documents(std::slice::from_ref(doc), &YamlOptions::default())
}

/// Parsing then emitting gives exactly `expected`.
fn reformat(text: &str) -> String {
    emit_documents(
        &parse_documents(text).unwrap_or_else(|e| panic!("{e}")),
        &YamlOptions::default(),
    )
}

fn comment(text: &str, inline: bool) -> Item {
    Item::Comment(Comment {
        text: text.into(),
        inline,
    })
}

#[test]
fn plain_scalars_resolve_like_yaml_v3() {
    let doc = parse_one(
        "n1: ~\nn2: null\nn3:\nb1: true\nb2: False\ns1: yes\ns2: off\ni1: 42\ni2: -0x1F\n\
         i3: 0o17\ni4: 1_000\nf1: 1.5\nf2: 1e3\nf3: .inf\nf4: -.inf\nf5: 99999999999999999999\n\
         t1: 2002-12-14\nt2: 2001-12-14t21:59:43.10-05:00\nq1: \"true\"\nq2: '12'\n\
         tag1: !!str 12\ntag2: !!float 3\ntag3: !!int \"7\"\nbin: !!binary aGVsbG8=\n",
    );
    let get = |k: &str| doc.get(k).unwrap_or_else(|| panic!("{k}")).clone();
    assert_eq!(get("n1"), Value::Null);
    assert_eq!(get("n2"), Value::Null);
    assert_eq!(get("n3"), Value::Null);
    assert_eq!(get("b1"), Value::Bool(true));
    assert_eq!(get("b2"), Value::Bool(false));
    assert_eq!(get("s1"), Value::Str("yes".into()));
    assert_eq!(get("s2"), Value::Str("off".into()));
    assert_eq!(get("i1"), Value::Int(42));
    assert_eq!(get("i2"), Value::Int(-31));
    assert_eq!(get("i3"), Value::Int(15));
    assert_eq!(get("i4"), Value::Int(1000));
    assert_eq!(get("f1"), Value::Float(1.5));
    assert_eq!(get("f2"), Value::Float(1000.0));
    assert_eq!(get("f3"), Value::Float(f64::INFINITY));
    assert_eq!(get("f4"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(get("f5"), Value::Float(1e20));
    // yaml.v3 gives sops a time.Time; sops 3.10+ encrypts its MarshalText form.
    assert_eq!(get("t1"), Value::Time("2002-12-14T00:00:00Z".into()));
    assert_eq!(get("t2"), Value::Time("2001-12-14T21:59:43.1-05:00".into()));
    assert_eq!(get("q1"), Value::Str("true".into()));
    assert_eq!(get("q2"), Value::Str("12".into()));
    assert_eq!(get("tag1"), Value::Str("12".into()));
    assert_eq!(get("tag2"), Value::Float(3.0));
    assert_eq!(get("tag3"), Value::Int(7));
    assert_eq!(get("bin"), Value::Str("hello".into()));
}

#[test]
fn strings_are_quoted_as_yaml_v3_quotes_them() {
    let mut doc = Map::new();
    for (k, v) in [
        ("plain", "hello world"),
        ("empty", ""),
        ("bool", "true"),
        ("oldbool", "yes"),
        ("null", "null"),
        ("int", "123"),
        ("float", "1.5"),
        ("time", "2002-12-14"),
        ("lead", " lead"),
        ("trail", "trail "),
        ("colon", "a: b"),
        ("hash", "a #b"),
        ("dash", "- x"),
        ("quote", "it's: x"),
        ("tab", "tab\there"),
        ("emoji", "smile 😀"),
        ("accent", "été"),
        ("enc", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"),
    ] {
        doc.push(k, Value::Str(v.into()));
    }
    let expected = "plain: hello world\nempty: \"\"\nbool: \"true\"\noldbool: \"yes\"\n\
        \"null\": \"null\"\nint: \"123\"\nfloat: \"1.5\"\ntime: \"2002-12-14\"\nlead: ' lead'\n\
        trail: 'trail '\ncolon: 'a: b'\nhash: 'a #b'\ndash: '- x'\nquote: 'it''s: x'\n\
        tab: \"tab\\there\"\nemoji: \"smile \\U0001F600\"\naccent: été\n\
        enc: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n";
    assert_eq!(emit_one(&doc), expected);
    assert_eq!(parse_one(expected), doc);
}

#[test]
fn other_scalars_use_yaml_v3_text() {
    let mut doc = Map::new();
    doc.push("i", Value::Int(-7));
    doc.push("f", Value::Float(1234568000.0));
    doc.push("g", Value::Float(0.5));
    doc.push("inf", Value::Float(f64::INFINITY));
    doc.push("nan", Value::Float(f64::NAN));
    doc.push("b", Value::Bool(false));
    doc.push("n", Value::Null); // "n" is a YAML 1.1 bool, so the key is quoted
    doc.push("t", Value::Time("2002-12-14T00:00:00Z".into()));
    doc.push("bytes", Value::Bytes(b"hi".to_vec()));
    doc.push("m", Value::Map(Map::new()));
    doc.push("l", Value::List(Vec::new()));
    assert_eq!(
        emit_one(&doc),
        "i: -7\nf: 1.234568e+09\ng: 0.5\ninf: .inf\nnan: .nan\nb: false\n\"n\": null\n\
         t: 2002-12-14T00:00:00Z\nbytes: aGk=\nm: {}\nl: []\n"
    );
}

#[test]
fn block_literals_keep_their_chomping() {
    let mut doc = Map::new();
    doc.push("strip", Value::Str("a\nb".into()));
    doc.push("clip", Value::Str("a\nb\n".into()));
    doc.push("keep", Value::Str("a\n\n".into()));
    doc.push("lead", Value::Str("  a\nb".into()));
    doc.push("spacebreak", Value::Str("a \nb".into()));
    let text = emit_one(&doc);
    assert_eq!(
        text,
        "strip: |-\n    a\n    b\nclip: |\n    a\n    b\nkeep: |+\n    a\n\n\
         lead: |4-\n      a\n    b\nspacebreak: \"a \\nb\"\n"
    );
    assert_eq!(parse_one(&text), doc);
}

#[test]
fn nesting_and_indentation_follow_sops() {
    let text =
        "a:\n    b:\n        c: 1\n    l:\n        - x\n        - - yy\n          - z\n        \
                - k: v\n          k2:\n            - w\n";
    assert_eq!(reformat(text), text);
    // Flow style is not preserved; lists are indented under their key.
    assert_eq!(
        reformat("a: {b: [1, 2], c: []}\nd:\n- x\n"),
        "a:\n    b:\n        - 1\n        - 2\n    c: []\nd:\n    - x\n"
    );
    let two = emit_documents(
        &parse_documents(text).expect("parses"),
        &YamlOptions { indent: 2 },
    );
    assert_eq!(
        two,
        "a:\n  b:\n    c: 1\n  l:\n    - x\n    - - yy\n      - z\n    - k: v\n      k2:\n        - w\n"
    );
}

#[test]
fn long_keys_use_explicit_key_syntax() {
    let long = "k".repeat(130);
    let mut doc = Map::new();
    doc.push(long.clone(), Value::Int(1));
    let text = emit_one(&doc);
    assert_eq!(text, format!("? {long}\n: 1\n"));
    assert_eq!(parse_one(&text), doc);
}

#[test]
fn multi_document_streams() {
    let docs = parse_documents("a: 1\n---\n---\nb: 2\n").expect("parses");
    assert_eq!(docs.len(), 3);
    assert!(docs[1].is_empty());
    assert_eq!(
        emit_documents(&docs, &YamlOptions::default()),
        "a: 1\n---\n{}\n---\nb: 2\n"
    );
    assert!(parse_documents("").expect("empty input").is_empty());
}

#[test]
fn comments_are_placed_like_sops_3_13() {
    let text = "# top\na: 1 # after a\n# before b\nb:\n    c: x # after c\n    # foot of b\n\
                l:\n    - one # after one\n    # between\n    - two\n    # foot of l\n# end\n";
    let doc = parse_one(text);
    assert_eq!(doc.items[0], comment(" top", false));
    // The inline comment comes right before the entry it follows.
    assert_eq!(doc.items[1], comment(" after a", true));
    assert!(matches!(&doc.items[2], Item::Entry(k, Value::Int(1)) if k == "a"));
    assert_eq!(doc.items[3], comment(" before b", false));
    let b = doc.get("b").and_then(Value::as_map).expect("b");
    assert_eq!(b.items[0], comment(" after c", true));
    assert_eq!(b.items[2], comment(" foot of b", false));
    let Some(Value::List(l)) = doc.get("l") else {
        panic!("l")
    };
    assert_eq!(
        l,
        &vec![
            Value::Comment(Comment {
                text: " after one".into(),
                inline: true
            }),
            Value::Str("one".into()),
            Value::Comment(Comment::new(" between")),
            Value::Str("two".into()),
            Value::Comment(Comment::new(" foot of l")),
        ]
    );
    assert_eq!(doc.items.last(), Some(&comment(" end", false)));
    assert_eq!(reformat(text), text);
}

#[test]
fn key_line_comments_become_head_comments() {
    assert_eq!(
        reformat("a: # on key\n    b: 1\n"),
        "# on key\na:\n    b: 1\n"
    );
    assert_eq!(
        reformat("a: | # on literal\n    x\n    y\n"),
        "a: | # on literal\n    x\n    y\n"
    );
}

#[test]
fn hash_inside_scalars_is_not_a_comment() {
    let doc = parse_one("a: \"x # y\" # real\nb: x#y\nc: |\n    # text\n");
    assert_eq!(doc.get("a"), Some(&Value::Str("x # y".into())));
    assert_eq!(doc.get("b"), Some(&Value::Str("x#y".into())));
    assert_eq!(doc.get("c"), Some(&Value::Str("# text\n".into())));
    let comments: Vec<_> = doc
        .items
        .iter()
        .filter(|i| matches!(i, Item::Comment(_)))
        .collect();
    assert_eq!(comments, vec![&comment(" real", true)]);
}

#[test]
fn unicode_positions_are_handled() {
    let text = "ключ: значение # комментарий\nemoji: \"😀\" # ok\n";
    let doc = parse_one(text);
    assert_eq!(doc.items[0], comment(" комментарий", true));
    assert_eq!(doc.get("emoji"), Some(&Value::Str("😀".into())));
    assert_eq!(
        reformat(text),
        "ключ: значение # комментарий\nemoji: \"\\U0001F600\" # ok\n"
    );
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let doc = parse_one("base: &b\n    x: 1\ncopy: *b\nv: &s str\nw: *s\n");
    assert_eq!(doc.get("copy"), doc.get("base"));
    assert_eq!(doc.get("w"), Some(&Value::Str("str".into())));
}

fn expect_syntax(text: &str) {
    match parse_documents(text) {
        Err(StoreError::Syntax { line, column, .. }) => assert!(line >= 1 && column >= 1),
        other => panic!("{text:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn syntax_errors_have_positions() {
    expect_syntax("a: [1, 2\n");
    expect_syntax("a: b: c\n");
    expect_syntax("a:\n  - x\n y: 1\n");
    expect_syntax("a: *missing\n");
}

#[test]
fn shape_errors_name_the_key_path() {
    match parse_documents("x:\n    a: 1\n    a: 2\n") {
        Err(StoreError::Shape { path, message }) => {
            assert_eq!(path, "[\"x\"][\"a\"]");
            assert!(message.contains("duplicate"));
        }
        other => panic!("{other:?}"),
    }
    for text in [
        "1: a\n",
        "true: a\n",
        "~: a\n",
        "[a]: b\n",
        "a:\n    1.5: x\n",
    ] {
        match parse_documents(text) {
            Err(StoreError::Shape { message, .. }) => {
                assert!(message.contains("non-string key"), "{text}: {message}")
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(matches!(
        parse_documents("big: 18446744073709551615\n"),
        Err(StoreError::Shape { .. })
    ));
}

#[test]
fn top_level_lists_and_scalars_are_rejected() {
    for text in ["- a\n- b\n", "just text\n", "a: 1\n---\n- x\n"] {
        assert!(
            matches!(parse_documents(text), Err(StoreError::Invalid(_))),
            "{text}"
        );
    }
}

#[test]
fn crlf_bom_and_document_markers() {
    let doc = parse_one("\u{feff}---\r\na: 1 # c\r\nb: |\r\n    x\r\n...\r\n");
    assert_eq!(doc.items[0], comment(" c", true));
    assert_eq!(doc.get("a"), Some(&Value::Int(1)));
    assert_eq!(doc.get("b"), Some(&Value::Str("x\n".into())));
    assert_eq!(emit_one(&doc), "a: 1 # c\nb: |\n    x\n");
}

#[test]
fn comments_outside_documents_are_kept() {
    let docs = parse_documents("a: 1\n...\n# after the end\n").expect("parses");
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].items.last(),
        Some(&comment(" after the end", false))
    );
    let only = parse_documents("# just a comment\n").expect("parses");
    assert_eq!(
        only,
        vec![Map {
            items: vec![comment(" just a comment", false)]
        }]
    );
    assert_eq!(
        emit_documents(&only, &YamlOptions::default()),
        "# just a comment\n{}\n"
    );
}

#[test]
fn comment_after_a_dash_stays_in_the_list() {
    assert_eq!(
        reformat("l:\n- # dash comment\n  a: 1\n"),
        "l:\n    # dash comment\n    - a: 1\n"
    );
}

#[test]
fn timestamps_round_trip_as_time_values() {
    let doc = parse_one("t: 2001-12-14 21:59:43.10\nq: \"2001-12-14\"\n");
    assert_eq!(
        doc.get("t"),
        Some(&Value::Time("2001-12-14T21:59:43.1Z".into()))
    );
    assert_eq!(doc.get("q"), Some(&Value::Str("2001-12-14".into())));
    let text = emit_one(&doc);
    assert_eq!(text, "t: 2001-12-14T21:59:43.1Z\nq: \"2001-12-14\"\n");
    assert_eq!(parse_one(&text), doc);
}
