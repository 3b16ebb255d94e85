//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` values: AES-256-GCM with 32-byte IVs
//! and the key path as additional authenticated data.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{AeadInPlace, KeyInit};
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

/// The fields of an `ENC[...]` string, still base64, borrowed from the text.
struct EncFields<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    kind: &'a str,
}

/// True when `s` looks like an `ENC[AES256_GCM,...]` value (sops' regex is anchored at the start only).
pub fn is_enc(s: &str) -> bool {
    s.starts_with(PREFIX)
}

impl<'a> EncFields<'a> {
    /// Splits `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`.
    fn parse(s: &'a str) -> Result<Self, CipherError> {
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
        Ok(EncFields {
            data: field("", "no data")?,
            iv: field("iv:", "no iv")?,
            tag: field("tag:", "no tag")?,
            kind: field("type:", "no type")?,
        })
    }
}

/// Decodes a short base64 field (IV or tag) into `buf`, returning the bytes written.
fn decode_short<'b>(
    field: &str,
    buf: &'b mut [u8; 64],
    what: &'static str,
) -> Result<&'b [u8], CipherError> {
    // 84 base64 characters can decode to 63 bytes: the estimate must fit the buffer.
    if field.len() > 84 {
        return Err(CipherError::Malformed("unsupported iv length"));
    }
    let n = B64
        .decode_slice(field, buf)
        .map_err(|_| CipherError::Malformed(what))?;
    Ok(&buf[..n])
}

/// Renders `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` into one allocation.
fn render_enc(data: &[u8], iv: &[u8], tag: &[u8], kind: &str) -> String {
    let b64_len = |n: usize| n.div_ceil(3) * 4;
    let mut out = String::with_capacity(
        PREFIX.len()
            + b64_len(data.len())
            + 4
            + b64_len(iv.len())
            + 5
            + b64_len(tag.len())
            + 6
            + kind.len()
            + 1,
    );
    out.push_str(PREFIX);
    B64.encode_string(data, &mut out);
    out.push_str(",iv:");
    B64.encode_string(iv, &mut out);
    out.push_str(",tag:");
    B64.encode_string(tag, &mut out);
    out.push_str(",type:");
    out.push_str(kind);
    out.push(']');
    out
}

/// A scalar's plaintext as sops encrypts and hashes it: the text itself for string
/// values, rendered bytes (zeroized on drop) for numbers and booleans.
pub enum PlainBytes<'a> {
    Borrowed(&'a [u8]),
    Rendered(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for PlainBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            PlainBytes::Borrowed(b) => b,
            PlainBytes::Rendered(v) => v,
        }
    }
}

/// The sops type tag and plaintext bytes of a scalar, as sops encrypts and hashes it
/// (`ToBytes` in sops). `None` for values that are never encrypted (null, collections).
pub fn plaintext_of(value: &Value) -> Option<(&'static str, PlainBytes<'_>)> {
    let rendered = |text: String| PlainBytes::Rendered(Zeroizing::new(text.into_bytes()));
    Some(match value {
        Value::Str(s) => ("str", PlainBytes::Borrowed(s.as_bytes())),
        Value::Int(i) => ("int", rendered(i.to_string())),
        Value::Float(f) => ("float", rendered(scalar::format_float_f(*f))),
        Value::Bool(b) => (
            "bool",
            PlainBytes::Borrowed(scalar::format_bool(*b).as_bytes()),
        ),
        Value::Time(t) => ("time", PlainBytes::Borrowed(t.as_bytes())),
        Value::Bytes(b) => ("bytes", PlainBytes::Borrowed(b)),
        Value::Comment(c) => ("comment", PlainBytes::Borrowed(c.text.as_bytes())),
        Value::Null | Value::Map(_) | Value::List(_) => return None,
    })
}

/// Rebuilds a typed value from decrypted bytes and its sops type tag.
fn typed_value(kind: &str, mut bytes: Zeroizing<Vec<u8>>) -> Result<Value, CipherError> {
    let bad = || CipherError::BadType(kind.to_string());
    // Text values take the buffer over instead of copying it (the tree holds the
    // plaintext from here on either way); bytes that are not UTF-8 are zeroized.
    fn owned_text(bytes: &mut Zeroizing<Vec<u8>>) -> Option<String> {
        String::from_utf8(std::mem::take(&mut **bytes))
            .map_err(|e| drop(Zeroizing::new(e.into_bytes())))
            .ok()
    }
    fn number_text(bytes: &[u8]) -> Option<&str> {
        std::str::from_utf8(bytes).ok()
    }
    Ok(match kind {
        "str" => Value::Str(owned_text(&mut bytes).ok_or_else(bad)?),
        "time" => Value::Time(owned_text(&mut bytes).ok_or_else(bad)?),
        "comment" => Value::Comment(Comment::new(owned_text(&mut bytes).ok_or_else(bad)?)),
        "int" => Value::Int(
            number_text(&bytes)
                .and_then(|t| t.parse().ok())
                .ok_or_else(bad)?,
        ),
        "float" => Value::Float(
            number_text(&bytes)
                .and_then(parse_go_float)
                .ok_or_else(bad)?,
        ),
        "bool" => Value::Bool(
            number_text(&bytes)
                .and_then(scalar::parse_go_bool)
                .ok_or_else(bad)?,
        ),
        "bytes" => Value::Bytes(std::mem::take(&mut *bytes)),
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

/// What [`ValueCipher::decrypt_bytes`] found in an `ENC[...]` string.
pub struct Decrypted<'e> {
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The sops type tag (`str`, `int`, …), borrowed from the string.
    pub kind: &'e str,
    /// The IV, when it has sops' 32 bytes (kept to re-encrypt an unchanged value alike).
    pub iv: Option<[u8; IV_LEN]>,
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
        // Encrypted in place in a buffer of its own, which is wiped when dropped.
        let mut data = Zeroizing::new(plaintext.to_vec());
        let tag = self
            .gcm
            .encrypt_in_place_detached(Nonce::<U32>::from_slice(&iv), aad.as_bytes(), &mut data)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        render_enc(&data, &iv, &tag, kind)
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

    /// Decrypts an `ENC[...]` string to its raw bytes, with its type tag and IV.
    pub fn decrypt_bytes<'e>(&self, enc: &'e str, aad: &str) -> Result<Decrypted<'e>, CipherError> {
        let fields = EncFields::parse(enc)?;
        let mut data = Zeroizing::new(
            B64.decode(fields.data)
                .map_err(|_| CipherError::Malformed("data is not base64"))?,
        );
        let (mut iv_buf, mut tag_buf) = ([0u8; 64], [0u8; 64]);
        let iv = decode_short(fields.iv, &mut iv_buf, "iv is not base64")?;
        let tag = decode_short(fields.tag, &mut tag_buf, "tag is not base64")?;
        if iv.is_empty() || tag.len() != TAG_LEN {
            return Err(CipherError::Malformed("bad iv or tag length"));
        }
        let tag = aes_gcm::Tag::from_slice(tag);
        let aad = aad.as_bytes();
        // sops writes 32-byte IVs but accepts any length; 12 bytes is the other one seen in the wild.
        match iv.len() {
            IV_LEN => self.gcm.decrypt_in_place_detached(
                Nonce::<U32>::from_slice(iv),
                aad,
                &mut data,
                tag,
            ),
            12 => aes_gcm::Aes256Gcm::new(self.key.as_bytes().into()).decrypt_in_place_detached(
                Nonce::<aes_gcm::aead::consts::U12>::from_slice(iv),
                aad,
                &mut data,
                tag,
            ),
            _ => return Err(CipherError::Malformed("unsupported iv length")),
        }
        .map_err(|_| CipherError::Authentication)?;
        Ok(Decrypted {
            plaintext: data,
            kind: fields.kind,
            iv: iv.try_into().ok(),
        })
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
        let opened = self.decrypt_bytes(enc, aad)?;
        Ok((typed_value(opened.kind, opened.plaintext)?, opened.iv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> ValueCipher {
        ValueCipher::new(&DataKey::from_slice(&[7u8; 32]).expect("32 bytes"))
    }

    #[test]
    fn every_type_round_trips_and_keeps_its_tag() {
        let c = cipher();
        let values = [
            (Value::Str("pässwörd".into()), "str"),
            (Value::Int(-42), "int"),
            (Value::Float(1.5), "float"),
            (Value::Bool(true), "bool"),
            (Value::Time("2024-01-02T03:04:05Z".into()), "time"),
            (Value::Bytes(vec![0, 255, 1]), "bytes"),
            (Value::Comment(Comment::new(" a comment")), "comment"),
        ];
        for (value, kind) in values {
            let enc = c.encrypt_value(&value, "a:b:", None).unwrap();
            assert!(enc.starts_with(PREFIX) && enc.ends_with(&format!(",type:{kind}]")));
            let (back, iv) = c.decrypt_value(&enc, "a:b:").unwrap();
            assert_eq!(back, value);
            // The IV comes back so that an unchanged value re-encrypts to the same text.
            assert_eq!(c.encrypt_value(&value, "a:b:", iv).unwrap(), enc);
        }
    }

    #[test]
    fn rendered_layout_has_sops_field_lengths() {
        let enc = cipher().encrypt_bytes(b"hello", "str", "k:", None);
        let fields = EncFields::parse(&enc).unwrap();
        assert_eq!(B64.decode(fields.data).unwrap().len(), 5);
        assert_eq!(B64.decode(fields.iv).unwrap().len(), IV_LEN);
        assert_eq!(B64.decode(fields.tag).unwrap().len(), TAG_LEN);
        assert_eq!(fields.kind, "str");
    }

    #[test]
    fn twelve_byte_ivs_decrypt() {
        let key = [7u8; 32];
        let iv = [3u8; 12];
        let mut data = b"legacy".to_vec();
        let tag = aes_gcm::Aes256Gcm::new(&key.into())
            .encrypt_in_place_detached(
                Nonce::<aes_gcm::aead::consts::U12>::from_slice(&iv),
                b"x:",
                &mut data,
            )
            .unwrap();
        let enc = render_enc(&data, &iv, &tag, "str");
        let (value, stashed_iv) = cipher().decrypt_value(&enc, "x:").unwrap();
        assert_eq!(value, Value::Str("legacy".into()));
        assert_eq!(stashed_iv, None, "only sops' 32-byte IVs are stashed");
    }

    #[test]
    fn wrong_aad_or_tampered_text_is_refused() {
        let c = cipher();
        let enc = c.encrypt_bytes(b"secret", "str", "a:", None);
        assert_eq!(
            c.decrypt_value(&enc, "b:").unwrap_err(),
            CipherError::Authentication
        );
        let flipped = {
            let mut bytes = enc.into_bytes();
            let at = PREFIX.len();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        };
        assert_eq!(
            c.decrypt_value(&flipped, "a:").unwrap_err(),
            CipherError::Authentication
        );
    }

    #[test]
    fn malformed_values_name_what_is_wrong() {
        let c = cipher();
        let good = c.encrypt_bytes(b"v", "str", "a:", None);
        let fields = EncFields::parse(&good).unwrap();
        let with =
            |data: &str, iv: &str, tag: &str| format!("{PREFIX}{data},iv:{iv},tag:{tag},type:str]");
        let cases = [
            ("plain text".to_string(), CipherError::NotEncrypted),
            (
                format!("{PREFIX}{}", fields.data),
                CipherError::Malformed("no closing ]"),
            ),
            (
                format!("{PREFIX}{},iv:{}]", fields.data, fields.iv),
                CipherError::Malformed("no tag"),
            ),
            (
                with("%%%", fields.iv, fields.tag),
                CipherError::Malformed("data is not base64"),
            ),
            (
                with(fields.data, "%%%", fields.tag),
                CipherError::Malformed("iv is not base64"),
            ),
            (
                with(fields.data, fields.iv, "%%%"),
                CipherError::Malformed("tag is not base64"),
            ),
            (
                with(fields.data, "", fields.tag),
                CipherError::Malformed("bad iv or tag length"),
            ),
            (
                with(fields.data, fields.iv, "AAAA"),
                CipherError::Malformed("bad iv or tag length"),
            ),
            (
                with(fields.data, &B64.encode([0u8; 16]), fields.tag),
                CipherError::Malformed("unsupported iv length"),
            ),
            (
                with(fields.data, &"A".repeat(88), fields.tag),
                CipherError::Malformed("unsupported iv length"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                c.decrypt_value(&text, "a:").unwrap_err(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn a_str_that_is_not_utf8_is_a_type_error() {
        let c = cipher();
        let enc = c.encrypt_bytes(&[0xff, 0xfe], "str", "a:", None);
        assert_eq!(
            c.decrypt_value(&enc, "a:").unwrap_err(),
            CipherError::BadType("str".into())
        );
        let enc = c.encrypt_bytes(b"12x", "int", "a:", None);
        assert_eq!(
            c.decrypt_value(&enc, "a:").unwrap_err(),
            CipherError::BadType("int".into())
        );
        let enc = c.encrypt_bytes(b"v", "weird", "a:", None);
        assert_eq!(
            c.decrypt_value(&enc, "a:").unwrap_err(),
            CipherError::UnknownType("weird".into())
        );
    }
}
