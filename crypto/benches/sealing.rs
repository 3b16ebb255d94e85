//! RSA-4096 OAEP decryption alone vs a full `unseal` of one value. The
//! controller's target: `unseal` within 1.3x of bare RSA decryption.
//!
//! Run: `cargo bench -p hush-crypto --bench sealing`

use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256};
use criterion::{criterion_group, criterion_main, Criterion};
use hush_crypto::sealing::{scope_label, seal, unseal, unseal_with_any, Scope, SealingPrivateKey};
use std::hint::black_box;

fn sealing(c: &mut Criterion) {
    let key = SealingPrivateKey::generate(4096).expect("generate");
    let label = scope_label(Scope::Strict, "prod", "db-credentials");
    let value = vec![0x5a; 64];
    let ciphertext = seal(key.public_key(), &label, &value).expect("seal");
    let rsa_part = &ciphertext[2..2 + 512];

    let bare = OaepPrivateDecryptingKey::new(
        PrivateDecryptingKey::from_pkcs8(&key.to_pkcs8_der().unwrap()).unwrap(),
    )
    .unwrap();
    let mut out = vec![0u8; bare.min_output_size()];

    let mut group = c.benchmark_group("rsa4096");
    group.sample_size(30);
    group.bench_function("oaep_decrypt_bare", |b| {
        b.iter(|| {
            let session_key = bare
                .decrypt(
                    &OAEP_SHA256_MGF1SHA256,
                    black_box(rsa_part),
                    &mut out,
                    Some(&label),
                )
                .unwrap();
            black_box(session_key.len());
        })
    });
    group.bench_function("unseal_one_value", |b| {
        b.iter(|| black_box(unseal(&key, black_box(&label), black_box(&ciphertext)).unwrap()))
    });
    let others = [
        SealingPrivateKey::generate(4096).unwrap(),
        SealingPrivateKey::generate(4096).unwrap(),
    ];
    let keys = [others[0].clone(), others[1].clone(), key.clone()];
    group.bench_function("unseal_with_any_right_key_third", |b| {
        b.iter(|| black_box(unseal_with_any(&keys, &label, black_box(&ciphertext)).unwrap()))
    });
    group.bench_function("seal_one_value", |b| {
        b.iter(|| black_box(seal(key.public_key(), &label, black_box(&value)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, sealing);
criterion_main!(benches);
