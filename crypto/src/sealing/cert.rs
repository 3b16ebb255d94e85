//! The controller's self-signed certificates, as Bitnami's `pkg/crypto/keys.go`
//! (`SignKey`) makes them, and reading certificates the way kubeseal does.
//!
//! Shape of a generated certificate: X.509 v3, random positive 128-bit serial,
//! subject = issuer = `CN=<common name>` (empty name when the CN is empty, the
//! controller's default `--my-cn ""`), validity `now .. now + ttl` (default ten
//! years), `keyUsage = encipherOnly` (critical), `basicConstraints CA:TRUE`
//! (critical), a SHA-1 subject key identifier (Go adds one to CA certs),
//! signed sha256WithRSAEncryption.

use super::keys::{key_fingerprint, pem_blocks, KeyError, SealingPrivateKey, SealingPublicKey};
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::pem::LineEnding;
use der::{Any, DateTime, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;
use zeroize::Zeroizing;

/// Bitnami's `--key-ttl` default: ten years (87600h).
pub const DEFAULT_KEY_TTL: Duration = Duration::from_secs(87_600 * 3600);
/// Bitnami's `--key-size` default.
pub const DEFAULT_KEY_BITS: usize = 4096;
/// PEM label of a certificate.
pub const CERTIFICATE_LABEL: &str = "CERTIFICATE";

const SHA256_WITH_RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const KEY_USAGE_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const BASIC_CONSTRAINTS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const SUBJECT_KEY_ID_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// What we need from a sealing certificate.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    pub public_key: SealingPublicKey,
    /// Seconds since the Unix epoch.
    pub not_before: u64,
    /// Seconds since the Unix epoch.
    pub not_after: u64,
    /// The DER certificate.
    pub der: Vec<u8>,
}

impl CertificateInfo {
    /// kubeseal refuses a certificate whose NotAfter has passed; so do we.
    pub fn check_not_expired(&self, now: SystemTime) -> Result<(), KeyError> {
        if unix_seconds(now) > self.not_after {
            return Err(KeyError::CertificateExpired {
                not_after: self.not_after,
            });
        }
        Ok(())
    }

    /// PEM form (`CERTIFICATE`), as `/v1/cert.pem` serves it.
    pub fn to_pem(&self) -> String {
        der::pem::encode_string(CERTIFICATE_LABEL, LineEnding::LF, &self.der)
            .expect("PEM encoding of an in-memory buffer cannot fail")
    }

    /// [`key_fingerprint`] of the certified key.
    pub fn fingerprint(&self) -> String {
        key_fingerprint(&self.public_key)
    }

    /// From one DER certificate. The key must be RSA.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let cert = Certificate::from_der(der)?;
        let tbs = cert.tbs_certificate();
        let spki_der = tbs.subject_public_key_info().to_der()?;
        Ok(CertificateInfo {
            public_key: SealingPublicKey::from_spki_der(&spki_der)?,
            not_before: tbs.validity().not_before.to_unix_duration().as_secs(),
            not_after: tbs.validity().not_after.to_unix_duration().as_secs(),
            der: der.to_vec(),
        })
    }
}

/// Reads the first certificate in PEM text, like kubeseal's `ParseKey` (other
/// blocks are ignored). Does not check expiry: call
/// [`CertificateInfo::check_not_expired`] when sealing.
pub fn parse_certificate_pem(text: &str) -> Result<CertificateInfo, KeyError> {
    let block = pem_blocks(text)?
        .into_iter()
        .find(|block| block.label == CERTIFICATE_LABEL)
        .ok_or_else(|| KeyError::UnsupportedPemLabel("expected CERTIFICATE".into()))?;
    CertificateInfo::from_der(&block.der)
}

/// A private key with its certificate: the content of one key Secret.
#[derive(Debug, Clone)]
pub struct SealingKeyMaterial {
    pub private_key: SealingPrivateKey,
    pub certificate: CertificateInfo,
}

impl SealingKeyMaterial {
    /// `tls.crt` content.
    pub fn tls_crt(&self) -> String {
        self.certificate.to_pem()
    }

    /// `tls.key` content: PKCS#1 PEM, as the Bitnami controller writes it.
    pub fn tls_key(&self) -> Result<Zeroizing<String>, KeyError> {
        self.private_key.to_pkcs1_pem()
    }

    /// Reads a key Secret's `tls.crt` and `tls.key` (PKCS#1 or PKCS#8) and checks
    /// that they belong together.
    pub fn from_tls_pems(tls_crt: &str, tls_key: &str) -> Result<Self, KeyError> {
        let certificate = parse_certificate_pem(tls_crt)?;
        let private_key = SealingPrivateKey::from_pem(tls_key)?;
        if &certificate.public_key != private_key.public_key() {
            return Err(KeyError::Rejected(
                "tls.crt does not certify the key in tls.key".into(),
            ));
        }
        Ok(SealingKeyMaterial {
            private_key,
            certificate,
        })
    }
}

/// Makes a new key pair and its self-signed certificate, valid from `now` for `ttl`.
pub fn generate_sealing_key(
    bits: usize,
    common_name: &str,
    now: SystemTime,
    ttl: Duration,
) -> Result<SealingKeyMaterial, KeyError> {
    let private_key = SealingPrivateKey::generate(bits)?;
    let der = self_signed_certificate_der(&private_key, common_name, now, ttl)?;
    let certificate = CertificateInfo::from_der(&der)?;
    Ok(SealingKeyMaterial {
        private_key,
        certificate,
    })
}

/// Signs a certificate for `private_key`'s own public key.
pub fn self_signed_certificate_der(
    private_key: &SealingPrivateKey,
    common_name: &str,
    now: SystemTime,
    ttl: Duration,
) -> Result<Vec<u8>, KeyError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(private_key.public_key().spki_der())?;
    let name = subject_name(common_name)?;
    let signature_algorithm = AlgorithmIdentifierOwned {
        oid: SHA256_WITH_RSA_OID,
        parameters: Some(Any::null()),
    };
    let tbs = TbsCertificateToSign {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: signature_algorithm.clone(),
        issuer: name.clone(),
        validity: Validity::new(to_time(now)?, to_time(now + ttl)?),
        subject: name,
        extensions: extensions(&spki)?,
        subject_public_key_info: spki,
    };
    let tbs_der = tbs.to_der()?;

    let pkcs8 = private_key.to_pkcs8_der()?;
    let signer =
        RsaKeyPair::from_pkcs8(&pkcs8).map_err(|error| KeyError::Rejected(error.to_string()))?;
    let mut signature = vec![0u8; signer.public_modulus_len()];
    signer
        .sign(
            &RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            &tbs_der,
            &mut signature,
        )
        .map_err(|_| KeyError::Signing)?;

    let certificate = CertificateToSign {
        tbs_certificate: tbs,
        signature_algorithm,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(certificate.to_der()?)
}

/// `TBSCertificate` with exactly the fields we emit (x509-cert 0.3 keeps its
/// own struct's fields private to its builder).
#[derive(Sequence)]
struct TbsCertificateToSign {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

#[derive(Sequence)]
struct CertificateToSign {
    tbs_certificate: TbsCertificateToSign,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

fn extensions(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<Extension>, KeyError> {
    let key_usage = KeyUsage(KeyUsages::EncipherOnly.into());
    let basic_constraints = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    // Go (crypto/x509) derives a CA's key id as SHA-1 of the subjectPublicKey bits.
    let key_id = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    );
    let subject_key_id = SubjectKeyIdentifier(OctetString::new(key_id.as_ref())?);
    Ok(vec![
        extension(KEY_USAGE_OID, true, &key_usage)?,
        extension(BASIC_CONSTRAINTS_OID, true, &basic_constraints)?,
        extension(SUBJECT_KEY_ID_OID, false, &subject_key_id)?,
    ])
}

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, KeyError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// `CN=<common_name>`, or an empty name for an empty CN (Go omits empty fields).
fn subject_name(common_name: &str) -> Result<Name, KeyError> {
    if common_name.is_empty() {
        return Ok(Name::default());
    }
    Ok(Name::from_str(&format!(
        "CN={}",
        escape_rfc4514(common_name)
    ))?)
}

fn escape_rfc4514(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, character) in value.chars().enumerate() {
        let edge_space = character == ' ' && (index == 0 || index == last);
        if matches!(character, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || edge_space
            || (index == 0 && character == '#')
        {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// A random positive serial below 2^128, as Go's `rand.Int(r, 1<<128)`. The top
/// byte is forced into 0x40..0x7f so the DER encoding stays 16 bytes and positive.
fn random_serial() -> Result<SerialNumber, KeyError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KeyError::Generation)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

fn to_time(at: SystemTime) -> Result<Time, KeyError> {
    let since_epoch = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| KeyError::Validity("time before 1970".into()))?;
    // Whole seconds: X.509 times carry no fractions.
    let whole = Duration::from_secs(since_epoch.as_secs());
    Ok(Time::from(DateTime::from_unix_duration(whole)?))
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_special_characters() {
        assert_eq!(escape_rfc4514("a,b"), "a\\,b");
        assert_eq!(escape_rfc4514(" x "), "\\ x\\ ");
        assert_eq!(escape_rfc4514("#x"), "\\#x");
        assert_eq!(escape_rfc4514("plain"), "plain");
    }
}
