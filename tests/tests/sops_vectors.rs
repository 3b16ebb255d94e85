//! Every file in shared/vectors/sops (written by real sops 3.5–3.13) decrypts with
//! its PGP key to the plaintext in expected/, with the MAC verified.

use std::sync::Arc;

use hush_crypto::document::{self, Format};
use hush_crypto::sopsfile::{self, MacCheck};
use hush_crypto::{Map, Value};
use hush_providers::pgp::PgpSource;
use hush_providers::KeyRing;
use hush_tests::vector;

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Str(s) | Value::Time(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Into::into)
            .unwrap_or(serde_json::Value::Null),
        Value::Bool(b) => (*b).into(),
        Value::Bytes(b) => serde_json::Value::String(String::from_utf8_lossy(b).into()),
        Value::Map(m) => map_to_json(m),
        Value::List(l) => l
            .iter()
            .filter(|e| !matches!(e, Value::Comment(_)))
            .map(to_json)
            .collect(),
        Value::Comment(_) => unreachable!("filtered"),
    }
}

fn map_to_json(m: &Map) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for (k, v) in m.entries() {
        obj.insert(k.clone(), to_json(v));
    }
    serde_json::Value::Object(obj)
}

fn ring() -> KeyRing {
    let keys = std::fs::read(vector("keys/sops_functional_tests_key.asc")).unwrap();
    let mut ring = KeyRing::new();
    ring.add_source(Arc::new(
        PgpSource::from_armored_keys(&keys).expect("load test keys"),
    ));
    ring
}

fn check_vector(file: &str, format: Format) {
    let bytes = std::fs::read(vector(file)).unwrap();
    let (mut docs, metadata) =
        document::load_encrypted(format, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    let key = ring()
        .unwrap(&metadata)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    sopsfile::decrypt_documents(&mut docs, &metadata, &key, MacCheck::Verify)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vector(&format!("expected/{file}.json"))).unwrap())
            .unwrap();
    let got: Vec<serde_json::Value> = docs.iter().map(map_to_json).collect();
    assert_eq!(
        serde_json::Value::Array(got),
        expected["documents"],
        "{file}: plaintext differs"
    );
    assert_eq!(expected["mac_ok"], serde_json::Value::Bool(true));
}

#[test]
fn yaml_3_13_vector() {
    check_vector("format.enc.yaml", Format::Yaml);
}

#[test]
fn json_3_13_vector() {
    check_vector("format.enc.json", Format::Json);
}

#[test]
fn dotenv_3_13_vector_keeps_spaces() {
    check_vector("format.enc.env", Format::Dotenv);
}

#[test]
fn ini_3_13_2_vector_with_escaped_newlines() {
    check_vector("format.enc.ini", Format::Ini);
}

#[test]
fn yaml_3_10_vector_with_comments_lists_and_unencrypted_keys() {
    check_vector("example.yaml", Format::Yaml);
}

#[test]
fn json_3_5_vector_with_null_key_lists() {
    check_vector("example.json", Format::Json);
}

#[test]
fn every_vector_file_is_covered() {
    let covered = [
        "format.enc.yaml",
        "format.enc.json",
        "format.enc.env",
        "format.enc.ini",
        "example.yaml",
        "example.json",
    ];
    for entry in std::fs::read_dir(vector("")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "README.md" {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                covered.contains(&name.as_str()),
                "vector {name} has no test"
            );
        }
    }
}

/// Each vector re-emitted after decrypt → encrypt with the same key still opens
/// and keeps unchanged values byte-identical (IV reuse, as sops does).
#[test]
fn reencrypting_unchanged_values_keeps_ciphertext() {
    let bytes = std::fs::read(vector("format.enc.json")).unwrap();
    let (mut docs, mut metadata) = document::load_encrypted(Format::Json, &bytes).unwrap();
    let key = ring().unwrap(&metadata).unwrap();
    let outcome =
        sopsfile::decrypt_documents(&mut docs, &metadata, &key, MacCheck::Verify).unwrap();
    let original = document::load_encrypted(Format::Json, &bytes).unwrap().0;
    sopsfile::encrypt_documents(
        &mut docs,
        &mut metadata,
        &key,
        "2026-01-01T00:00:00Z",
        Some(&outcome.stash),
    )
    .unwrap();
    assert_eq!(
        docs, original,
        "unchanged values must keep their IV and ciphertext"
    );
}
