//! Keys and certificates: PEM forms, the self-signed certificate's shape
//! (checked with the openssl CLI), the fingerprint, expiry.

use hush_crypto::sealing::cert::{self_signed_certificate_der, CertificateInfo};
use hush_crypto::sealing::keys::KeyError;
use hush_crypto::sealing::{
    generate_sealing_key, key_fingerprint, parse_certificate_pem, SealingKeyMaterial,
    SealingPrivateKey, SealingPublicKey, DEFAULT_KEY_TTL,
};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

fn material() -> &'static SealingKeyMaterial {
    static MATERIAL: OnceLock<SealingKeyMaterial> = OnceLock::new();
    MATERIAL.get_or_init(|| {
        generate_sealing_key(4096, "", SystemTime::now(), DEFAULT_KEY_TTL).expect("generate")
    })
}

fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl CLI is required for these tests (apt-get install -y openssl)");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn generated_certificate_looks_like_the_controllers() {
    let material = material();
    let text = String::from_utf8(openssl(
        &["x509", "-noout", "-text"],
        material.tls_crt().as_bytes(),
    ))
    .unwrap();
    assert!(text.contains("Public-Key: (4096 bit)"), "{text}");
    assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"));
    assert!(text.contains("CA:TRUE"));
    assert!(text.contains("Encipher Only"));
    assert!(text.contains("X509v3 Subject Key Identifier"));
    let info = &material.certificate;
    assert_eq!(
        info.not_after - info.not_before,
        DEFAULT_KEY_TTL.as_secs(),
        "validity is exactly the TTL"
    );
}

#[test]
fn certificate_with_common_name_verifies_as_self_signed() {
    let key = SealingPrivateKey::generate(2048).unwrap();
    let der =
        self_signed_certificate_der(&key, "hush, sealing", SystemTime::now(), DEFAULT_KEY_TTL)
            .unwrap();
    let pem = CertificateInfo::from_der(&der).unwrap().to_pem();
    let subject = String::from_utf8(openssl(
        &["x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        pem.as_bytes(),
    ))
    .unwrap();
    assert_eq!(subject.trim(), "subject=CN=hush\\, sealing");
    // `openssl verify` would refuse it for lacking keyCertSign, exactly like the
    // controller's own certs, so check the self-signature directly.
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info();
    let public = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        spki.subject_public_key.raw_bytes(),
    );
    public
        .verify(&tbs, cert.signature().raw_bytes())
        .expect("self-signature verifies");
}

#[test]
fn fingerprint_is_sha256_of_the_spki_der() {
    let material = material();
    let spki_der = openssl(
        &["x509", "-noout", "-pubkey"],
        material.tls_crt().as_bytes(),
    );
    let spki_der = openssl(&["pkey", "-pubin", "-outform", "DER"], &spki_der);
    let digest = openssl(&["dgst", "-sha256", "-r"], &spki_der);
    let hex = String::from_utf8(digest).unwrap();
    let expected = hex.split_whitespace().next().unwrap();
    assert_eq!(material.private_key.fingerprint(), expected);
    assert_eq!(material.certificate.fingerprint(), expected);
    assert_eq!(expected.len(), 64);
}

#[test]
fn pkcs1_pem_is_what_bitnami_stores_and_reads_back() {
    let material = material();
    let tls_key = material.tls_key().unwrap();
    assert!(tls_key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    // openssl agrees it is the same key as the certificate.
    let from_key = openssl(&["rsa", "-pubout"], tls_key.as_bytes());
    let from_cert = openssl(
        &["x509", "-noout", "-pubkey"],
        material.tls_crt().as_bytes(),
    );
    assert_eq!(from_key, from_cert);

    let again = SealingKeyMaterial::from_tls_pems(&material.tls_crt(), &tls_key).unwrap();
    assert_eq!(
        again.private_key.fingerprint(),
        material.private_key.fingerprint()
    );
}

#[test]
fn pkcs8_private_keys_are_accepted() {
    let material = material();
    let pkcs8 = openssl(
        &["pkcs8", "-topk8", "-nocrypt"],
        material.tls_key().unwrap().as_bytes(),
    );
    let pkcs8 = String::from_utf8(pkcs8).unwrap();
    assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
    let key = SealingPrivateKey::from_pem(&pkcs8).unwrap();
    assert_eq!(key.fingerprint(), material.private_key.fingerprint());
}

#[test]
fn mismatched_tls_pair_is_refused() {
    let other = SealingPrivateKey::generate(2048).unwrap();
    let error =
        SealingKeyMaterial::from_tls_pems(&material().tls_crt(), &other.to_pkcs1_pem().unwrap())
            .unwrap_err();
    assert!(matches!(error, KeyError::Rejected(_)));
}

#[test]
fn expired_certificates_are_refused_like_kubeseal() {
    let key = SealingPrivateKey::generate(2048).unwrap();
    let long_ago = SystemTime::now() - Duration::from_secs(3 * 24 * 3600);
    let der = self_signed_certificate_der(&key, "", long_ago, Duration::from_secs(3600)).unwrap();
    let info = CertificateInfo::from_der(&der).unwrap();
    assert!(matches!(
        info.check_not_expired(SystemTime::now()),
        Err(KeyError::CertificateExpired { .. })
    ));
    assert!(material()
        .certificate
        .check_not_expired(SystemTime::now())
        .is_ok());
}

#[test]
fn first_certificate_wins_and_garbage_is_an_error() {
    let two = format!(
        "{}{}",
        material().tls_crt(),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    );
    let info = parse_certificate_pem(&two).unwrap();
    assert_eq!(info.fingerprint(), material().certificate.fingerprint());
    assert!(parse_certificate_pem("not pem").is_err());
    assert!(parse_certificate_pem(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    .is_err());
    assert!(SealingPrivateKey::from_pem(
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
    )
    .is_err());
}

#[test]
fn public_key_pem_round_trips() {
    let public = material().private_key.public_key();
    let again = SealingPublicKey::from_pem(&public.to_pem()).unwrap();
    assert_eq!(&again, public);
    assert_eq!(
        key_fingerprint(&again),
        material().private_key.fingerprint()
    );
}

#[test]
fn unsupported_key_sizes_are_refused() {
    assert!(matches!(
        SealingPrivateKey::generate(1024),
        Err(KeyError::UnsupportedKeySize(1024))
    ));
}
