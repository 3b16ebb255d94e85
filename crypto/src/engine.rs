//! Walks document trees to encrypt or decrypt every selected value and to compute
//! the MAC, following sops' `Tree.Encrypt` / `Tree.Decrypt` exactly:
//! AAD is the map-key path joined by `:` plus a trailing `:` (list indices are not
//! part of it), and the MAC is SHA-512 over the plaintext of every non-comment,
//! non-null leaf in document order.

use std::collections::HashMap;

use sha2::{Digest, Sha256, Sha512};

use crate::cipher::{plaintext_of, CipherError, ValueCipher};
use crate::rules::Selector;
use crate::{Comment, DataKey, Item, Map, Value};

/// Fed first into the MAC when `mac_only_encrypted` is set (sops' `MACOnlyEncryptedInitialization`).
const MAC_ONLY_ENCRYPTED_SEED: &[u8] = b"sops";

/// A value that failed, with the key path where it sits (`["a"]["b"][0]`).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ValueError {
    pub path: String,
    #[source]
    pub source: CipherError,
}

/// How values are chosen and hashed.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub selector: Selector,
    pub mac_only_encrypted: bool,
}

/// IVs of decrypted values, keyed by a hash of (AAD, type, plaintext), so that
/// re-encrypting an unchanged value reproduces the same ciphertext (sops' "stash").
/// Holds no plaintext.
#[derive(Default, Debug, Clone)]
pub struct IvStash(HashMap<[u8; 32], [u8; 32]>);

impl IvStash {
    fn key(aad: &str, kind: &str, plaintext: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(aad.as_bytes());
        h.update([0]);
        h.update(kind.as_bytes());
        h.update([0]);
        h.update(plaintext);
        h.finalize().into()
    }
}

/// What a decryption produced besides the plaintext tree.
#[derive(Debug, Default)]
pub struct DecryptOutcome {
    /// The MAC computed over the decrypted values (upper-case hex).
    pub computed_mac: String,
    pub stash: IvStash,
    /// Key paths of comments that did not decrypt and were kept as they are
    /// (files from sops < 3.6 have clear comments).
    pub clear_comments: Vec<String>,
}

/// Encrypts every selected value of `branches` in place; returns the MAC (upper-case hex).
pub fn encrypt_branches(
    branches: &mut [Map],
    key: &DataKey,
    policy: &Policy,
    stash: Option<&IvStash>,
) -> Result<String, ValueError> {
    let cipher = ValueCipher::new(key);
    let mut walker = Walker::new(policy);
    for branch in branches.iter_mut() {
        walker.map(branch, &mut |w, value, comment_own| {
            w.encrypt_leaf(&cipher, value, comment_own, stash)
        })?;
    }
    Ok(walker.finish_mac())
}

/// Decrypts every selected value of `branches` in place and recomputes the MAC.
pub fn decrypt_branches(
    branches: &mut [Map],
    key: &DataKey,
    policy: &Policy,
) -> Result<DecryptOutcome, ValueError> {
    let cipher = ValueCipher::new(key);
    let mut walker = Walker::new(policy);
    let mut stash = IvStash::default();
    let mut clear_comments = Vec::new();
    for branch in branches.iter_mut() {
        walker.map(branch, &mut |w, value, own| {
            w.decrypt_leaf(&cipher, value, own, &mut stash, &mut clear_comments)
        })?;
    }
    Ok(DecryptOutcome {
        computed_mac: walker.finish_mac(),
        stash,
        clear_comments,
    })
}

/// Computes the MAC of a plaintext tree without encrypting it.
pub fn compute_mac(branches: &[Map], policy: &Policy) -> String {
    let mut copy = branches.to_vec();
    let mut walker = Walker::new(policy);
    for branch in copy.iter_mut() {
        walker
            .map(branch, &mut |w, value, own| {
                let encrypted = w.selected(own);
                w.hash_leaf(value, encrypted);
                Ok(())
            })
            .expect("hashing cannot fail");
    }
    walker.finish_mac()
}

/// Encrypts the MAC with the `lastmodified` text as AAD.
pub fn encrypt_mac(mac: &str, key: &DataKey, lastmodified: &str) -> String {
    ValueCipher::new(key).encrypt_bytes(mac.as_bytes(), "str", lastmodified, None)
}

/// Decrypts the stored MAC.
pub fn decrypt_mac(enc: &str, key: &DataKey, lastmodified: &str) -> Result<String, CipherError> {
    let (plain, _) = ValueCipher::new(key).decrypt_bytes(enc, lastmodified)?;
    String::from_utf8(plain.to_vec()).map_err(|_| CipherError::BadType("str".into()))
}

/// One step of a display path.
enum Seg {
    Key(String),
    Index(usize),
}

type LeafFn<'f> =
    dyn FnMut(&mut Walker, &mut Value, Option<String>) -> Result<(), CipherError> + 'f;

/// Shared walk state: the key path (for selectors), the AAD prefix, the comment stack
/// and the running MAC.
struct Walker<'p> {
    policy: &'p Policy,
    keys: Vec<String>,
    display: Vec<Seg>,
    aad: String,
    comments: Vec<Vec<String>>,
    mac: Sha512,
}

impl<'p> Walker<'p> {
    fn new(policy: &'p Policy) -> Self {
        let mut mac = Sha512::new();
        if policy.mac_only_encrypted {
            mac.update(Sha256::digest(MAC_ONLY_ENCRYPTED_SEED));
        }
        Walker {
            policy,
            keys: Vec::new(),
            display: Vec::new(),
            aad: String::new(),
            comments: Vec::new(),
            mac,
        }
    }

    fn finish_mac(self) -> String {
        let digest = self.mac.finalize();
        let mut hex = String::with_capacity(128);
        for byte in digest {
            hex.push_str(&format!("{byte:02X}"));
        }
        hex
    }

    /// The AAD of the current position: the path plus `:`, and `:` at the top.
    fn current_aad(&self) -> &str {
        if self.aad.is_empty() {
            ":"
        } else {
            &self.aad
        }
    }

    fn display_path(&self) -> String {
        let mut out = String::new();
        for seg in &self.display {
            match seg {
                Seg::Key(k) => out.push_str(&format!("[{k:?}]")),
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push_str("(top level)");
        }
        out
    }

    fn selected(&self, own_comment: Option<String>) -> bool {
        self.policy
            .selector
            .should_encrypt(&self.keys, &self.comments, own_comment.as_deref())
    }

    fn hash_leaf(&mut self, value: &Value, encrypted: bool) {
        if matches!(value, Value::Comment(_)) {
            return;
        }
        if let Some((_, bytes)) = plaintext_of(value) {
            if !self.policy.mac_only_encrypted || encrypted {
                self.mac.update(&bytes);
            }
        }
    }

    fn encrypt_leaf(
        &mut self,
        cipher: &ValueCipher,
        value: &mut Value,
        own_comment: Option<String>,
        stash: Option<&IvStash>,
    ) -> Result<(), CipherError> {
        let is_comment = own_comment.is_some();
        let encrypted = self.selected(own_comment);
        self.hash_leaf(value, encrypted);
        if !encrypted {
            return Ok(());
        }
        let aad = self.current_aad();
        let iv = stash.and_then(|s| {
            let (kind, bytes) = plaintext_of(value)?;
            s.0.get(&IvStash::key(aad, kind, &bytes)).copied()
        });
        let enc = cipher.encrypt_value(value, aad, iv)?;
        *value = match value {
            Value::Comment(c) if is_comment => Value::Comment(Comment {
                text: enc,
                inline: c.inline,
            }),
            _ => Value::Str(enc),
        };
        Ok(())
    }

    fn decrypt_leaf(
        &mut self,
        cipher: &ValueCipher,
        value: &mut Value,
        own_comment: Option<String>,
        stash: &mut IvStash,
        clear_comments: &mut Vec<String>,
    ) -> Result<(), CipherError> {
        let is_comment = own_comment.is_some();
        let encrypted = self.selected(own_comment);
        if encrypted {
            let aad = self.current_aad().to_string();
            let stored = match value {
                Value::Str(s) => s.as_str(),
                Value::Comment(c) => c.text.as_str(),
                // A typed scalar where an ENC string belongs was added or edited in clear.
                _ => return Err(CipherError::NotEncrypted),
            };
            match cipher.decrypt_value(stored, &aad) {
                Ok((plain, iv)) => {
                    if let (Some(iv), Some((kind, bytes))) = (iv, plaintext_of(&plain)) {
                        stash.0.insert(IvStash::key(&aad, kind, &bytes), iv);
                    }
                    *value = match (plain, &*value) {
                        (Value::Comment(c), Value::Comment(old)) => Value::Comment(Comment {
                            text: c.text,
                            inline: old.inline,
                        }),
                        (Value::Str(s), Value::Comment(old)) if s.is_empty() => {
                            Value::Comment(old.clone())
                        }
                        (plain, _) => plain,
                    };
                }
                // Comments written in clear by sops < 3.6 are kept as they are.
                Err(_) if is_comment => clear_comments.push(self.display_path()),
                Err(e) => return Err(e),
            }
        }
        self.hash_leaf(value, encrypted);
        Ok(())
    }

    fn map(&mut self, map: &mut Map, leaf: &mut LeafFn<'_>) -> Result<(), ValueError> {
        self.comments.push(Vec::new());
        for item in map.items.iter_mut() {
            match item {
                Item::Comment(c) => {
                    let mut value = Value::Comment(c.clone());
                    let text = c.text.clone();
                    self.call_leaf(leaf, &mut value, Some(text.clone()))?;
                    if let Value::Comment(new) = value {
                        *c = new;
                    }
                    self.comments.last_mut().expect("pushed above").push(text);
                }
                Item::Entry(key, value) => {
                    let mark = self.aad.len();
                    self.aad.push_str(key);
                    self.aad.push(':');
                    self.keys.push(key.clone());
                    self.display.push(Seg::Key(key.clone()));
                    let result = self.value(value, leaf);
                    self.display.pop();
                    self.keys.pop();
                    self.aad.truncate(mark);
                    result?;
                    self.comments.last_mut().expect("pushed above").clear();
                }
            }
        }
        self.comments.pop();
        Ok(())
    }

    fn list(&mut self, list: &mut [Value], leaf: &mut LeafFn<'_>) -> Result<(), ValueError> {
        self.comments.push(Vec::new());
        for (i, element) in list.iter_mut().enumerate() {
            self.display.push(Seg::Index(i));
            let result = match element {
                Value::Comment(c) => {
                    let text = c.text.clone();
                    let r = self.call_leaf(leaf, element, Some(text.clone()));
                    self.comments.last_mut().expect("pushed above").push(text);
                    r
                }
                other => {
                    let r = self.value(other, leaf);
                    self.comments.last_mut().expect("pushed above").clear();
                    r
                }
            };
            self.display.pop();
            result?;
        }
        self.comments.pop();
        Ok(())
    }

    fn value(&mut self, value: &mut Value, leaf: &mut LeafFn<'_>) -> Result<(), ValueError> {
        match value {
            Value::Map(m) => self.map(m, leaf),
            Value::List(l) => self.list(l, leaf),
            Value::Null => Ok(()),
            _ => self.call_leaf(leaf, value, None),
        }
    }

    fn call_leaf(
        &mut self,
        leaf: &mut LeafFn<'_>,
        value: &mut Value,
        own: Option<String>,
    ) -> Result<(), ValueError> {
        leaf(self, value, own).map_err(|source| ValueError {
            path: self.display_path(),
            source,
        })
    }
}
