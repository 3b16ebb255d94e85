//! RSA key pairs for sealing: parsing and writing their PEM forms, and the
//! fingerprint that names a key.
//!
//! Private keys live inside AWS-LC (`aws_lc_rs::rsa::PrivateDecryptingKey`);
//! every DER/PEM copy that passes through Rust memory is held in `Zeroizing`.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey, PublicEncryptingKey};
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::pem::LineEnding;
use der::{Decode, Encode};
use pkcs8::PrivateKeyInfoRef;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifier;
use std::fmt;
use zeroize::Zeroizing;

/// OID of `rsaEncryption` (PKCS#1), the algorithm of every key we accept.
const RSA_ENCRYPTION_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// PEM label of a PKCS#1 `RSAPrivateKey`, what the Bitnami controller writes to `tls.key`.
pub const PKCS1_PRIVATE_KEY_LABEL: &str = "RSA PRIVATE KEY";
/// PEM label of a PKCS#8 `PrivateKeyInfo`.
pub const PKCS8_PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// PEM label of an X.509 `SubjectPublicKeyInfo`.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// Problems reading or making keys and certificates. Never carries key bytes.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block found")]
    NoPem,
    #[error("malformed PEM: {0}")]
    Pem(String),
    #[error("unsupported PEM block {0:?}")]
    UnsupportedPemLabel(String),
    #[error("malformed DER: {0}")]
    Der(String),
    #[error("not an RSA key")]
    NotRsa,
    #[error("RSA key rejected: {0}")]
    Rejected(String),
    #[error("unsupported RSA key size {0} bits (2048, 3072, 4096 or 8192)")]
    UnsupportedKeySize(usize),
    #[error("RSA key generation failed")]
    Generation,
    #[error("certificate signing failed")]
    Signing,
    #[error("certificate expired at {not_after} (unix time)")]
    CertificateExpired { not_after: u64 },
    #[error("certificate is not valid before {not_before} (unix time)")]
    CertificateNotYetValid { not_before: u64 },
    #[error("invalid certificate validity: {0}")]
    Validity(String),
}

impl From<der::Error> for KeyError {
    fn from(error: der::Error) -> Self {
        KeyError::Der(error.to_string())
    }
}

/// One PEM block: its label and decoded body.
pub struct PemBlock {
    pub label: String,
    pub der: Zeroizing<Vec<u8>>,
}

/// Splits text holding any number of PEM blocks (a cert chain, a key file with
/// comments) into blocks, in order. Text outside blocks is ignored, as Go's
/// `pem.Decode` loop does.
pub fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, KeyError> {
    const BEGIN: &str = "-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = &rest[start + BEGIN.len()..];
        let label_end = after_begin
            .find("-----")
            .ok_or_else(|| KeyError::Pem("unterminated BEGIN line".into()))?;
        let label = &after_begin[..label_end];
        let end_marker = format!("-----END {label}-----");
        let end = rest[start..]
            .find(&end_marker)
            .ok_or_else(|| KeyError::Pem(format!("missing END line for {label:?}")))?;
        let block_text = &rest[start..start + end + end_marker.len()];
        let (decoded_label, der) = der::pem::decode_vec(block_text.as_bytes())
            .map_err(|error| KeyError::Pem(error.to_string()))?;
        blocks.push(PemBlock {
            label: decoded_label.to_string(),
            der: Zeroizing::new(der),
        });
        rest = &rest[start + end + end_marker.len()..];
    }
    if blocks.is_empty() {
        return Err(KeyError::NoPem);
    }
    Ok(blocks)
}

/// The public half of a sealing key: what `seal` encrypts to.
#[derive(Clone)]
pub struct SealingPublicKey {
    key: PublicEncryptingKey,
    spki_der: Vec<u8>,
}

impl SealingPublicKey {
    /// From a DER `SubjectPublicKeyInfo` (the body of a `PUBLIC KEY` PEM block
    /// and of a certificate's key field).
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, KeyError> {
        let info = spki::SubjectPublicKeyInfoRef::from_der(spki_der)?;
        if info.algorithm.oid != RSA_ENCRYPTION_OID {
            return Err(KeyError::NotRsa);
        }
        let key = PublicEncryptingKey::from_der(spki_der)
            .map_err(|error| KeyError::Rejected(error.to_string()))?;
        Ok(SealingPublicKey {
            key,
            spki_der: spki_der.to_vec(),
        })
    }

    /// From a `PUBLIC KEY` PEM block.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem_blocks(text)?
            .into_iter()
            .find(|block| block.label == PUBLIC_KEY_LABEL)
            .ok_or_else(|| KeyError::UnsupportedPemLabel("expected PUBLIC KEY".into()))?;
        Self::from_spki_der(&block.der)
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        der::pem::encode_string(PUBLIC_KEY_LABEL, LineEnding::LF, &self.spki_der)
            .expect("PEM encoding of an in-memory buffer cannot fail")
    }

    /// Modulus size in bytes: the length of every RSA ciphertext for this key.
    pub fn modulus_len(&self) -> usize {
        self.key.key_size_bytes()
    }

    pub(crate) fn aws_key(&self) -> &PublicEncryptingKey {
        &self.key
    }
}

impl PartialEq for SealingPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}
impl Eq for SealingPublicKey {}

impl fmt::Debug for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingPublicKey({})", key_fingerprint(self))
    }
}

/// Names a public key: lowercase hex SHA-256 of its DER `SubjectPublicKeyInfo`
/// (64 characters). The same value `openssl pkey -pubin -outform DER | sha256sum`
/// prints, so operators can match it by hand. Used to annotate which key
/// unsealed a SealedSecret.
pub fn key_fingerprint(public_key: &SealingPublicKey) -> String {
    let digest = Sha256::digest(public_key.spki_der());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A private sealing key (RSA, 2048 to 8192 bits).
#[derive(Clone)]
pub struct SealingPrivateKey {
    key: PrivateDecryptingKey,
    public: SealingPublicKey,
}

impl SealingPrivateKey {
    /// A fresh key. Bitnami's default is 4096 bits.
    pub fn generate(bits: usize) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            other => return Err(KeyError::UnsupportedKeySize(other)),
        };
        let key = PrivateDecryptingKey::generate(size).map_err(|_| KeyError::Generation)?;
        Self::from_aws_key(key)
    }

    fn from_aws_key(key: PrivateDecryptingKey) -> Result<Self, KeyError> {
        let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&key.public_key())
            .map_err(|_| KeyError::Rejected("cannot encode public key".into()))?;
        let public = SealingPublicKey::from_spki_der(spki.as_ref())?;
        Ok(SealingPrivateKey { key, public })
    }

    /// From a DER PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(pkcs8_der: &[u8]) -> Result<Self, KeyError> {
        let info = PrivateKeyInfoRef::from_der(pkcs8_der)?;
        if info.algorithm.oid != RSA_ENCRYPTION_OID {
            return Err(KeyError::NotRsa);
        }
        let key = PrivateDecryptingKey::from_pkcs8(pkcs8_der)
            .map_err(|error| KeyError::Rejected(error.to_string()))?;
        Self::from_aws_key(key)
    }

    /// From a DER PKCS#1 `RSAPrivateKey` (the body of `RSA PRIVATE KEY`), by
    /// wrapping it in PKCS#8, the only form AWS-LC's decrypting key accepts.
    pub fn from_pkcs1_der(pkcs1_der: &[u8]) -> Result<Self, KeyError> {
        let info = PrivateKeyInfoRef::new(
            AlgorithmIdentifier {
                oid: RSA_ENCRYPTION_OID,
                parameters: Some(AnyRef::NULL),
            },
            OctetStringRef::new(pkcs1_der)?,
        );
        let pkcs8 = Zeroizing::new(info.to_der()?);
        Self::from_pkcs8_der(&pkcs8)
    }

    /// From PEM text: the first `RSA PRIVATE KEY` (PKCS#1) or `PRIVATE KEY`
    /// (PKCS#8) block. Other blocks (e.g. a certificate) are skipped.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        for block in pem_blocks(text)? {
            match block.label.as_str() {
                PKCS1_PRIVATE_KEY_LABEL => return Self::from_pkcs1_der(&block.der),
                PKCS8_PRIVATE_KEY_LABEL => return Self::from_pkcs8_der(&block.der),
                _ => continue,
            }
        }
        Err(KeyError::UnsupportedPemLabel(
            "expected RSA PRIVATE KEY or PRIVATE KEY".into(),
        ))
    }

    /// DER PKCS#8 `PrivateKeyInfo`.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der: Pkcs8V1Der<'static> = self
            .key
            .as_der()
            .map_err(|_| KeyError::Rejected("cannot encode private key".into()))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// DER PKCS#1 `RSAPrivateKey`.
    pub fn to_pkcs1_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let pkcs8 = self.to_pkcs8_der()?;
        let info = PrivateKeyInfoRef::from_der(&pkcs8)?;
        Ok(Zeroizing::new(info.private_key.as_bytes().to_vec()))
    }

    /// `RSA PRIVATE KEY` PEM, the form the Bitnami controller stores in `tls.key`.
    pub fn to_pkcs1_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self.to_pkcs1_der()?;
        der::pem::encode_string(PKCS1_PRIVATE_KEY_LABEL, LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(|error| KeyError::Pem(error.to_string()))
    }

    /// The public half.
    pub fn public_key(&self) -> &SealingPublicKey {
        &self.public
    }

    /// [`key_fingerprint`] of the public half.
    pub fn fingerprint(&self) -> String {
        key_fingerprint(&self.public)
    }

    pub(crate) fn aws_key(&self) -> &PrivateDecryptingKey {
        &self.key
    }
}

impl fmt::Debug for SealingPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingPrivateKey({})", self.fingerprint())
    }
}
