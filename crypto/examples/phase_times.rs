//! Times each phase of encrypt + decrypt on one YAML file (CPU profile aid for
//! BENCHMARKS.md). Usage: `phase_times FILE`.

/// The allocator of the `hush` binary, so the comparison is like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use hush_crypto::document::{self, EmitOptions, Format};
use hush_crypto::engine::Stash;
use hush_crypto::metadata::Metadata;
use hush_crypto::sopsfile::{self, MacCheck};
use hush_crypto::{DataKey, KeyKind, MasterKey};

fn main() {
    let path = std::env::args().nth(1).expect("usage: phase_times FILE");
    let bytes = std::fs::read(&path).expect("read");
    let opts = EmitOptions::default();
    let t = Instant::now();
    let mut docs = document::load_plain(Format::Yaml, &bytes).unwrap();
    let parse = t.elapsed();
    let key = DataKey::generate();
    let group = vec![MasterKey {
        kind: KeyKind::Age {
            recipient: "age1example".into(),
        },
        enc: "-----BEGIN AGE ENCRYPTED FILE-----\nx\n-----END AGE ENCRYPTED FILE-----\n".into(),
        created_at: None,
    }];
    let mut meta = Metadata::new(vec![group], None, Default::default(), false);
    let t = Instant::now();
    sopsfile::encrypt_documents(&mut docs, &mut meta, &key, "2026-01-01T00:00:00Z", None).unwrap();
    let encrypt = t.elapsed();
    let t = Instant::now();
    let out = document::emit_encrypted(Format::Yaml, &docs, &meta, &opts).unwrap();
    let emit_enc = t.elapsed();
    let t = Instant::now();
    let (mut docs, meta) = document::load_encrypted(Format::Yaml, &out).unwrap();
    let parse_enc = t.elapsed();
    let t = Instant::now();
    sopsfile::decrypt_documents_with(&mut docs, &meta, &key, MacCheck::Verify, Stash::Skip)
        .unwrap();
    let decrypt = t.elapsed();
    let t = Instant::now();
    let plain = document::emit_plain(Format::Yaml, &docs, &opts).unwrap();
    let emit_plain = t.elapsed();
    assert_eq!(plain, bytes);
    println!(
        "parse {parse:?} encrypt {encrypt:?} emit_enc {emit_enc:?} | parse_enc {parse_enc:?} decrypt {decrypt:?} emit_plain {emit_plain:?}"
    );
}
