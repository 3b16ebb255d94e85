//! The YAML store against files written by real sops: parse and re-emit byte for byte,
//! and plaintext shaped like the vectors' decrypted values resolves to the same types.

use std::path::PathBuf;

use hush_crypto::stores::yaml::{emit_documents, parse_documents, YamlOptions};
use hush_crypto::{Item, Map, Value};

/// `HUSH_VECTORS_DIR`, else `<workspace>/../shared/vectors`, else `/work/shared/vectors`.
fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HUSH_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let beside = workspace.join("../shared/vectors");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared/vectors")
}

fn read_vector(name: &str) -> String {
    let path = vectors_dir().join("sops").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_round_trip(name: &str) -> Vec<Map> {
    let text = read_vector(name);
    let docs = parse_documents(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = emit_documents(&docs, &YamlOptions::default());
    if again != text {
        for (i, (a, b)) in text.lines().zip(again.lines()).enumerate() {
            assert_eq!(a, b, "{name}: first difference on line {}", i + 1);
        }
        assert_eq!(again, text, "{name}: outputs differ in length");
    }
    docs
}

#[test]
fn format_enc_yaml_round_trips_byte_for_byte() {
    let docs = assert_round_trip("format.enc.yaml");
    assert_eq!(docs.len(), 1);
    let sops = docs[0]
        .get("sops")
        .and_then(Value::as_map)
        .expect("sops block");
    assert_eq!(
        sops.get("lastmodified"),
        Some(&Value::Str("2026-05-22T20:16:23Z".into()))
    );
    assert_eq!(sops.get("version"), Some(&Value::Str("3.13.1".into())));
    let Some(Value::List(pgp)) = sops.get("pgp") else {
        panic!("pgp list")
    };
    let enc = pgp[0]
        .as_map()
        .and_then(|m| m.get("enc"))
        .and_then(Value::as_str);
    assert!(
        enc.is_some_and(|e| e.starts_with("-----BEGIN PGP MESSAGE-----\n\n") && !e.ends_with('\n'))
    );
}

#[test]
fn example_yaml_round_trips_byte_for_byte() {
    let docs = assert_round_trip("example.yaml");
    let nested = ["this", "is", "a", "nested"]
        .iter()
        .try_fold(&docs[0], |map, key| map.get(key).and_then(Value::as_map))
        .expect("nested map");
    let comments: Vec<&str> = nested
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Comment(c) => Some(c.text.as_str()),
            Item::Entry(..) => None,
        })
        .collect();
    assert_eq!(comments.len(), 3);
    assert!(comments
        .iter()
        .all(|c| c.starts_with("ENC[AES256_GCM,data:")));
    let Some(Item::Comment(last)) = docs[0]
        .get("app2")
        .and_then(Value::as_map)
        .and_then(|m| m.get("db"))
        .and_then(Value::as_map)
        .and_then(|m| m.items.last())
    else {
        panic!("db ends with its comment")
    };
    assert!(!last.inline);
}

/// Compares a parsed value with the vector's expected JSON plaintext, type by type.
fn assert_same_shape(value: &Value, json: &serde_json::Value, path: &str) {
    match (value, json) {
        (Value::Str(s), serde_json::Value::String(j)) => assert_eq!(s, j, "{path}"),
        (Value::Bool(b), serde_json::Value::Bool(j)) => assert_eq!(b, j, "{path}"),
        (Value::Int(i), serde_json::Value::Number(n)) if n.is_i64() => {
            assert_eq!(Some(*i), n.as_i64(), "{path}")
        }
        (Value::Float(f), serde_json::Value::Number(n)) if n.is_f64() => {
            assert_eq!(Some(*f), n.as_f64(), "{path}")
        }
        (Value::List(items), serde_json::Value::Array(js)) => {
            let items: Vec<&Value> = items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .collect();
            assert_eq!(items.len(), js.len(), "{path}");
            for (i, (v, j)) in items.iter().zip(js).enumerate() {
                assert_same_shape(v, j, &format!("{path}[{i}]"));
            }
        }
        (Value::Map(m), serde_json::Value::Object(obj)) => {
            let entries: Vec<_> = m.entries().collect();
            assert_eq!(entries.len(), obj.len(), "{path}");
            for ((k, v), (jk, jv)) in entries.into_iter().zip(obj) {
                assert_eq!(k, jk, "{path}: key order");
                assert_same_shape(v, jv, &format!("{path}[{k:?}]"));
            }
        }
        _ => panic!("{path}: {value:?} does not match {json}"),
    }
}

/// The plaintext a user would have written for example.yaml (comments included).
const EXAMPLE_PLAINTEXT: &str = r#"myapp1: t00m4nys3cr3tzupdated
app2:
    db:
        user: eve
        password: c4r1b0u
        # the comment in db
    key: |-
        -----BEGIN RSA PRIVATE KEY-----
        MIIBPAIBAAJBAPTMNIyHuZtpLYc7VsHQtwOkWYobkUblmHWRmbXzlAX6K8tMf3Wf
        ImcbNkqAKnELzFAPSBeEMhrBN0PyOC9lYlMCAwEAAQJBALXD4sjuBn1E7Y9aGiMz
        bJEBuZJ4wbhYxomVoQKfaCu+kH80uLFZKoSz85/ySauWE8LgZcMLIBoiXNhDKfQL
        vHECIQD6tCG9NMFWor69kgbX8vK5Y+QL+kRq+9HK6yZ9a+hsLQIhAPn4Ie6HGTjw
        fHSTXWZpGSan7NwTkIu4U5q2SlLjcZh/AiEA78NYRRBwGwAYNUqzutGBqyXKUl4u
        Erb0xAEyVV7e8J0CIQC8VBY8f8yg+Y7Kxbw4zDYGyb3KkXL10YorpeuZR4LuQQIg
        bKGPkMM4w5blyE1tqGN0T7sJwEx+EUOgacRNqM2ljVA=
        -----END RSA PRIVATE KEY-----
number: 1234568000.0
an_array:
    - secretuser1
    - secretuser2
    - somelongvalueAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    - some other value
somebooleans:
    - true
    - false
this:
    is:
        a:
            nested:
                value: with something secret in it
                # one
                # two
                # three
somelist_unencrypted:
    - all elements of this list
    - remain in clear text
    - because of the _unencrypted suffix in the key
nested_unencrypted:
    this:
        is:
            all: going to remain in clear text
"#;

fn expected_document(name: &str) -> serde_json::Value {
    let text = read_vector(&format!("expected/{name}.json"));
    let json: serde_json::Value = serde_json::from_str(&text).expect("expected json");
    json["documents"][0].clone()
}

#[test]
fn example_plaintext_resolves_to_expected_types() {
    let docs = parse_documents(EXAMPLE_PLAINTEXT).expect("parses");
    // The key ends with "\n" in the expected JSON (a `|` literal); `|-` drops it.
    let mut doc = docs[0].clone();
    if let Some(Value::Map(app2)) = doc.get_mut("app2") {
        if let Some(Value::Str(key)) = app2.get_mut("key") {
            key.push('\n');
        }
    }
    assert_same_shape(&Value::Map(doc), &expected_document("example.yaml"), "");
    assert_eq!(docs[0].get("number"), Some(&Value::Float(1234568000.0)));
}

#[test]
fn format_plaintext_resolves_to_expected_types() {
    let docs = parse_documents("foo: bar\n").expect("parses");
    assert_same_shape(
        &Value::Map(docs[0].clone()),
        &expected_document("format.enc.yaml"),
        "",
    );
}
