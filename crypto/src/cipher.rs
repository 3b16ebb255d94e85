//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` values: AES-256-GCM with 32-byte IVs
//! and the key path as additional authenticated data.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::scalar;
use crate::{Comment, DataKey, Value};

/// sops uses 32-byte GCM nonces (`aes/cipher.go`, `nonceSize = 32`).
type SopsGcm = AesGcm<Aes256, U32>;
const IV_LEN: usize = 32;
const TAG_LEN: usize = 16;
const PREFIX: &str = "ENC[AES256_GCM,data:";

/// Why a value could not be encrypted or decrypted. Never carries plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CipherError {
    #[error("value is not in sops' ENC[AES256_GCM,...] format")]
    NotEncrypted,
    #[error("malformed ENC value: {0}")]
    Malformed(&'static str),
    #[error("authentication failed (wrong key, wrong key path, or tampered value)")]
    Authentication,
    #[error("decrypted value is not valid for type {0:?}")]
    BadType(String),
    #[error("unknown value type {0:?}")]
    UnknownType(String),
    #[error("cannot encrypt a {0} value")]
    Unsupported(&'static str),
}

/// The parts of an `ENC[...]` string, base64-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncValue {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub kind: String,
}

/// True when `s` looks like an `ENC[AES256_GCM,...]` value (sops' regex is anchored at the start only).
pub fn is_enc(s: &str) -> bool {
    s.starts_with(PREFIX)
}

impl EncValue {
    /// Parses `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`.
    pub fn parse(s: &str) -> Result<Self, CipherError> {
        let rest = s.strip_prefix(PREFIX).ok_or(CipherError::NotEncrypted)?;
        let end = rest
            .rfind(']')
            .ok_or(CipherError::Malformed("no closing ]"))?;
        let body = &rest[..end];
        // Base64 has no ',', so each field ends at the next one (a byte search, where
        // a substring search would cost more than the decryption of a short value).
        let mut fields = body.splitn(4, ',');
        let mut field = |name: &str, missing| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .ok_or(CipherError::Malformed(missing))
        };
        let data = field("", "no data")?;
        let iv = field("iv:", "no iv")?;
        let tag = field("tag:", "no tag")?;
        let kind = field("type:", "no type")?;
        let decode =
            |field: &str, what| B64.decode(field).map_err(|_| CipherError::Malformed(what));
        let value = EncValue {
            data: decode(data, "data is not base64")?,
            iv: decode(iv, "iv is not base64")?,
            tag: decode(tag, "tag is not base64")?,
            kind: kind.to_string(),
        };
        if value.iv.is_empty() || value.tag.len() != TAG_LEN {
            return Err(CipherError::Malformed("bad iv or tag length"));
        }
        Ok(value)
    }

    pub fn render(&self) -> String {
        format!(
            "{PREFIX}{},iv:{},tag:{},type:{}]",
            B64.encode(&self.data),
            B64.encode(&self.iv),
            B64.encode(&self.tag),
            self.kind
        )
    }
}

/// The sops type tag and plaintext bytes of a scalar, as sops encrypts and hashes it
/// (`ToBytes` in sops). `None` for values that are never encrypted (null, collections).
pub fn plaintext_of(value: &Value) -> Option<(&'static str, Zeroizing<Vec<u8>>)> {
    let (kind, bytes) = match value {
        Value::Str(s) => ("str", s.as_bytes().to_vec()),
        Value::Int(i) => ("int", i.to_string().into_bytes()),
        Value::Float(f) => ("float", scalar::format_float_f(*f).into_bytes()),
        Value::Bool(b) => ("bool", scalar::format_bool(*b).as_bytes().to_vec()),
        Value::Time(t) => ("time", t.as_bytes().to_vec()),
        Value::Bytes(b) => ("bytes", b.clone()),
        Value::Comment(c) => ("comment", c.text.as_bytes().to_vec()),
        Value::Null | Value::Map(_) | Value::List(_) => return None,
    };
    Some((kind, Zeroizing::new(bytes)))
}

/// Rebuilds a typed value from decrypted bytes and its sops type tag.
fn typed_value(kind: &str, bytes: Zeroizing<Vec<u8>>) -> Result<Value, CipherError> {
    let text = || {
        std::str::from_utf8(&bytes)
            .map(str::to_owned)
            .map_err(|_| CipherError::BadType(kind.to_string()))
    };
    let bad = || CipherError::BadType(kind.to_string());
    Ok(match kind {
        "str" => Value::Str(text()?),
        "int" => Value::Int(text()?.parse().map_err(|_| bad())?),
        "float" => Value::Float(parse_go_float(&text()?).ok_or_else(bad)?),
        "bool" => Value::Bool(scalar::parse_go_bool(&text()?).ok_or_else(bad)?),
        "time" => Value::Time(text()?),
        "bytes" => Value::Bytes(bytes.to_vec()),
        "comment" => Value::Comment(Comment::new(text()?)),
        other => return Err(CipherError::UnknownType(other.to_string())),
    })
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Encrypts and decrypts values under one data key.
pub struct ValueCipher {
    gcm: SopsGcm,
    key: DataKey,
}

impl ValueCipher {
    pub fn new(key: &DataKey) -> Self {
        ValueCipher {
            gcm: SopsGcm::new(key.as_bytes().into()),
            key: key.clone(),
        }
    }

    /// Encrypts raw bytes with type tag `kind`; a fresh random IV unless `iv` is given
    /// (sops reuses the IV of an unchanged value so re-encryption gives the same text).
    pub fn encrypt_bytes(
        &self,
        plaintext: &[u8],
        kind: &str,
        aad: &str,
        iv: Option<[u8; IV_LEN]>,
    ) -> String {
        let iv = iv.unwrap_or_else(|| {
            let mut fresh = [0u8; IV_LEN];
            // ThreadRng is a CSPRNG seeded (and periodically reseeded) from the OS: one
            // getrandom call per value would dominate the cost of encrypting many values.
            rand::thread_rng().fill_bytes(&mut fresh);
            fresh
        });
        let mut sealed = self
            .gcm
            .encrypt(
                Nonce::<U32>::from_slice(&iv),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let tag = sealed.split_off(sealed.len() - TAG_LEN);
        EncValue {
            data: sealed,
            iv: iv.to_vec(),
            tag,
            kind: kind.to_string(),
        }
        .render()
    }

    /// Encrypts a scalar value. Empty strings, bytes and comments stay empty, as in sops.
    pub fn encrypt_value(
        &self,
        value: &Value,
        aad: &str,
        iv: Option<[u8; IV_LEN]>,
    ) -> Result<String, CipherError> {
        let (kind, bytes) =
            plaintext_of(value).ok_or(CipherError::Unsupported(value.kind_name()))?;
        if bytes.is_empty() && matches!(kind, "str" | "bytes" | "comment") {
            return Ok(String::new());
        }
        Ok(self.encrypt_bytes(&bytes, kind, aad, iv))
    }

    /// Decrypts an `ENC[...]` string to its raw bytes, returning the type tag and IV too.
    pub fn decrypt_bytes(
        &self,
        enc: &str,
        aad: &str,
    ) -> Result<(Zeroizing<Vec<u8>>, EncValue), CipherError> {
        let parsed = EncValue::parse(enc)?;
        let mut sealed = Vec::with_capacity(parsed.data.len() + TAG_LEN);
        sealed.extend_from_slice(&parsed.data);
        sealed.extend_from_slice(&parsed.tag);
        let payload = Payload {
            msg: &sealed,
            aad: aad.as_bytes(),
        };
        // sops writes 32-byte IVs but accepts any length; 12 bytes is the other one seen in the wild.
        let plain = match parsed.iv.len() {
            IV_LEN => self
                .gcm
                .decrypt(Nonce::<U32>::from_slice(&parsed.iv), payload),
            12 => aes_gcm::Aes256Gcm::new(self.key.as_bytes().into()).decrypt(
                Nonce::<aes_gcm::aead::consts::U12>::from_slice(&parsed.iv),
                payload,
            ),
            _ => return Err(CipherError::Malformed("unsupported iv length")),
        }
        .map_err(|_| CipherError::Authentication)?;
        Ok((Zeroizing::new(plain), parsed))
    }

    /// Decrypts an `ENC[...]` string into a typed value. An empty string decrypts to `""`.
    pub fn decrypt_value(
        &self,
        enc: &str,
        aad: &str,
    ) -> Result<(Value, Option<[u8; IV_LEN]>), CipherError> {
        if enc.is_empty() {
            return Ok((Value::Str(String::new()), None));
        }
        let (plain, parsed) = self.decrypt_bytes(enc, aad)?;
        let iv = parsed.iv.as_slice().try_into().ok();
        Ok((typed_value(&parsed.kind, plain)?, iv))
    }
}
