//! The engine against files written by real sops, using data keys recovered from
//! the vectors once with GnuPG (`gpg -d` of each file's `pgp[0].enc`), so that the
//! format code is checked independently of any key source.

use hush_crypto::document::{self, Format};
use hush_crypto::sopsfile::{self, DecryptError, MacCheck};
use hush_crypto::{DataKey, Value};

fn vectors() -> std::path::PathBuf {
    if let Ok(d) = std::env::var("HUSH_VECTORS_DIR") {
        return std::path::PathBuf::from(d).join("sops");
    }
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sops");
    if local.is_dir() {
        local
    } else {
        std::path::PathBuf::from("/work/shared/vectors/sops")
    }
}

fn key(hex: &str) -> DataKey {
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    DataKey::from_slice(&bytes).unwrap()
}

const CASES: [(&str, Format, &str); 6] = [
    (
        "example.json",
        Format::Json,
        "faf6a891866fac550ef548b4e5f6fbc98fccc6827cd943cc8d7539747f1d87bd",
    ),
    (
        "format.enc.json",
        Format::Json,
        "9f6aeda6383502c38f7dae6fbbb8cb6890582adb0335effa8952fe590d7a9596",
    ),
    (
        "format.enc.env",
        Format::Dotenv,
        "322d9a97997823fb2bf42f55a6c26100cbaf0520cf88bb7ebee1cf47dd6d318d",
    ),
    (
        "format.enc.ini",
        Format::Ini,
        "ce46fd76883106d55913ff2207e160bbeac65a71d6e1cf84c510614bed6f8ccd",
    ),
    (
        "format.enc.yaml",
        Format::Yaml,
        "af5e68dd342b72c6a0475f81a50da4fde898f4b7742c92cbcf1668211411f4e4",
    ),
    (
        "example.yaml",
        Format::Yaml,
        "8c68886c50b5b72965a3cb99c5172e1d74a8aca27b39ee880b535d6907e59f68",
    ),
];

#[test]
fn real_sops_files_decrypt_with_mac_verified() {
    for (file, format, hex) in CASES {
        let bytes = std::fs::read(vectors().join(file)).unwrap();
        let (mut docs, meta) =
            document::load_encrypted(format, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        sopsfile::decrypt_documents(&mut docs, &meta, &key(hex), MacCheck::Verify)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn dotenv_keeps_untrimmed_key_and_value() {
    let (file, format, hex) = CASES[2];
    let bytes = std::fs::read(vectors().join(file)).unwrap();
    let (mut docs, meta) = document::load_encrypted(format, &bytes).unwrap();
    sopsfile::decrypt_documents(&mut docs, &meta, &key(hex), MacCheck::Verify).unwrap();
    assert_eq!(docs[0].get("foo "), Some(&Value::Str(" bar".into())));
}

#[test]
fn tampering_with_any_value_byte_is_refused() {
    let (file, format, hex) = CASES[0];
    let text = std::fs::read_to_string(vectors().join(file)).unwrap();
    // Flip one base64 character inside every `data:` field in turn.
    let mut positions = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("data:") {
        positions.push(from + i + 5);
        from += i + 5;
    }
    assert!(positions.len() > 5);
    for pos in positions {
        let mut bytes = text.clone().into_bytes();
        bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
        let (mut docs, meta) = match document::load_encrypted(format, &bytes) {
            Ok(x) => x,
            Err(_) => continue, // no longer parses: refused as well
        };
        let result = sopsfile::decrypt_documents(&mut docs, &meta, &key(hex), MacCheck::Verify);
        assert!(result.is_err(), "tampered byte at {pos} was accepted");
    }
}

#[test]
fn mac_tamper_and_missing_mac() {
    let (file, format, hex) = CASES[1];
    let bytes = std::fs::read(vectors().join(file)).unwrap();
    let (docs, meta) = document::load_encrypted(format, &bytes).unwrap();
    // Changing lastmodified changes the MAC's AAD.
    let mut m = meta.clone();
    m.lastmodified = "2026-05-22T20:16:19Z".into();
    let r = sopsfile::decrypt_documents(&mut docs.clone(), &m, &key(hex), MacCheck::Verify);
    assert!(matches!(r, Err(DecryptError::MacUndecryptable(_))), "{r:?}");
    // A missing MAC is refused unless ignored.
    let mut m = meta.clone();
    m.mac.clear();
    assert!(matches!(
        sopsfile::decrypt_documents(&mut docs.clone(), &m, &key(hex), MacCheck::Verify),
        Err(DecryptError::MacMissing)
    ));
    assert!(
        sopsfile::decrypt_documents(&mut docs.clone(), &m, &key(hex), MacCheck::Ignore).is_ok()
    );
    // mac_only_encrypted flipped: the MAC no longer matches.
    let mut m = meta.clone();
    m.mac_only_encrypted = true;
    assert!(matches!(
        sopsfile::decrypt_documents(&mut docs.clone(), &m, &key(hex), MacCheck::Verify),
        Err(DecryptError::MacMismatch)
    ));
}

#[test]
fn metadata_rewrites_byte_for_byte() {
    // Loading and emitting an encrypted 3.13 file without changes gives the same bytes.
    for (file, format, _) in CASES.iter().skip(1).take(4) {
        let bytes = std::fs::read(vectors().join(file)).unwrap();
        let (docs, meta) = document::load_encrypted(*format, &bytes).unwrap();
        let out = document::emit_encrypted(*format, &docs, &meta, &Default::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(bytes).unwrap(),
            "{file}"
        );
    }
}
