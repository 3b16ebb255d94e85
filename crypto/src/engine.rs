//! Walks document trees to encrypt or decrypt every selected value and to compute
//! the MAC, following sops' `Tree.Encrypt` / `Tree.Decrypt` exactly:
//! AAD is the map-key path joined by `:` plus a trailing `:` (list indices are not
//! part of it), and the MAC is SHA-512 over the plaintext of every non-comment,
//! non-null leaf in document order.

use std::collections::HashMap;

use sha2::{Digest, Sha256, Sha512};

use crate::cipher::{plaintext_of, CipherError, ValueCipher};
use crate::parallel;
use crate::rules::Selector;
use crate::{Comment, DataKey, Item, Map, Value};

/// Each thread gets at least this many leaves. A second thread pays off only from
/// ~30,000 values: besides starting, it maps and zeroes memory of its own, which
/// made `hush` enc+dec of 10,000 values slower and far less steady (median 20.4 vs
/// 19.8 ms, p90 39 vs 20 ms side by side); at 30,000 both took 48 ms, at 100,000
/// two threads 129 ms and one 155 ms (hyperfine, `benches/gen_yaml.py` files).
const LEAVES_PER_THREAD: usize = 16_000;

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
///
/// The walk collects the leaves in document order (paths, AADs, selection), the MAC
/// is fed in that order, and the AES-GCM work of a large file runs on all cores.
pub fn encrypt_branches(
    branches: &mut [Map],
    key: &DataKey,
    policy: &Policy,
    stash: Option<&IvStash>,
) -> Result<String, ValueError> {
    let cipher = ValueCipher::new(key);
    let mut leaves = collect_leaves(branches, policy);
    let mut mac = Mac::new(policy);
    for leaf in &leaves {
        mac.feed(leaf.value_ref(), leaf.selected);
    }
    let encrypt_one = |leaf: &mut Leaf<'_>| -> Result<(), LeafError> {
        if !leaf.selected {
            return Ok(());
        }
        let value = leaf.value_ref();
        let iv = stash.and_then(|s| {
            let (kind, bytes) = plaintext_of(&value)?;
            s.0.get(&IvStash::key(&leaf.aad, kind, &bytes)).copied()
        });
        let enc = cipher
            .encrypt_value(&value, &leaf.aad, iv)
            .map_err(|source| LeafError {
                index: leaf.index,
                source,
            })?;
        leaf.store_encrypted(enc);
        Ok(())
    };
    let result = parallel::try_map(&mut leaves, LEAVES_PER_THREAD, encrypt_one);
    drop(leaves);
    result.map_err(|e| e.into_value_error(branches, policy))?;
    Ok(mac.finish())
}

/// Decrypts every selected value of `branches` in place and recomputes the MAC.
pub fn decrypt_branches(
    branches: &mut [Map],
    key: &DataKey,
    policy: &Policy,
) -> Result<DecryptOutcome, ValueError> {
    decrypt_branches_with(branches, key, policy, Stash::Keep)
}

/// Whether a decryption records the IV stash (needed only to write the file back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stash {
    Keep,
    Skip,
}

/// [`decrypt_branches`], with the IV stash left empty when `stash` is [`Stash::Skip`].
pub fn decrypt_branches_with(
    branches: &mut [Map],
    key: &DataKey,
    policy: &Policy,
    stash_mode: Stash,
) -> Result<DecryptOutcome, ValueError> {
    let cipher = ValueCipher::new(key);
    let mut leaves = collect_leaves(branches, policy);
    // Each selected leaf decrypts independently; the result says what to record.
    let decrypt_one = |leaf: &mut Leaf<'_>| -> Result<LeafOutcome, LeafError> {
        if !leaf.selected {
            return Ok(LeafOutcome::Untouched);
        }
        let index = leaf.index;
        let fail = |source| LeafError { index, source };
        let stored: &str = match (&leaf.slot, leaf.comment()) {
            (_, Some(c)) => &c.text,
            (Slot::Value(Value::Str(s)), None) => s,
            // A typed scalar where an ENC string belongs was added or edited in clear.
            _ => return Err(fail(CipherError::NotEncrypted)),
        };
        match cipher.decrypt_value(stored, &leaf.aad) {
            Ok((plain, iv)) => {
                let remembered = match (stash_mode, iv) {
                    (Stash::Keep, Some(iv)) => plaintext_of(&plain)
                        .map(|(kind, bytes)| (IvStash::key(&leaf.aad, kind, &bytes), iv)),
                    _ => None,
                };
                leaf.store_decrypted(plain);
                Ok(remembered.map_or(LeafOutcome::Decrypted, LeafOutcome::Remember))
            }
            // Comments written in clear by sops < 3.6 are kept as they are.
            Err(_) if leaf.is_comment() => Ok(LeafOutcome::ClearComment),
            Err(e) => Err(fail(e)),
        }
    };
    let outcomes = parallel::try_map(&mut leaves, LEAVES_PER_THREAD, decrypt_one);
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => {
            drop(leaves);
            return Err(e.into_value_error(branches, policy));
        }
    };
    let mut clear_comment_leaves = Vec::new();
    let mut mac = Mac::new(policy);
    let mut stash = IvStash::default();
    let mut clear_comments = Vec::new();
    for (leaf, outcome) in leaves.iter().zip(outcomes) {
        mac.feed(leaf.value_ref(), leaf.selected);
        match outcome {
            LeafOutcome::Remember((k, iv)) => {
                stash.0.insert(k, iv);
            }
            LeafOutcome::ClearComment => clear_comment_leaves.push(leaf.index),
            LeafOutcome::Decrypted | LeafOutcome::Untouched => {}
        }
    }
    let computed_mac = mac.finish();
    drop(leaves);
    for index in clear_comment_leaves {
        clear_comments.push(path_of_leaf(branches, policy, index));
    }
    Ok(DecryptOutcome {
        computed_mac,
        stash,
        clear_comments,
    })
}

enum LeafOutcome {
    Untouched,
    Decrypted,
    Remember(([u8; 32], [u8; 32])),
    ClearComment,
}

/// Encrypts the MAC with the `lastmodified` text as AAD.
pub fn encrypt_mac(mac: &str, key: &DataKey, lastmodified: &str) -> String {
    ValueCipher::new(key).encrypt_bytes(mac.as_bytes(), "str", lastmodified, None)
}

/// Decrypts the stored MAC.
pub fn decrypt_mac(enc: &str, key: &DataKey, lastmodified: &str) -> Result<String, CipherError> {
    let plain = ValueCipher::new(key)
        .decrypt_bytes(enc, lastmodified)?
        .plaintext;
    String::from_utf8(plain.to_vec()).map_err(|_| CipherError::BadType("str".into()))
}

/// The running SHA-512 over leaf plaintexts.
struct Mac {
    hash: Sha512,
    only_encrypted: bool,
}

impl Mac {
    fn new(policy: &Policy) -> Self {
        let mut hash = Sha512::new();
        if policy.mac_only_encrypted {
            hash.update(Sha256::digest(MAC_ONLY_ENCRYPTED_SEED));
        }
        Mac {
            hash,
            only_encrypted: policy.mac_only_encrypted,
        }
    }

    /// Comments and nulls are not part of the MAC; with `mac_only_encrypted`,
    /// neither are values left in clear.
    fn feed(&mut self, value: std::borrow::Cow<'_, Value>, selected: bool) {
        if matches!(*value, Value::Comment(_)) || (self.only_encrypted && !selected) {
            return;
        }
        if let Some((_, bytes)) = plaintext_of(&value) {
            self.hash.update(&*bytes);
        }
    }

    fn finish(self) -> String {
        let digest = self.hash.finalize();
        let mut hex = String::with_capacity(128);
        for byte in digest {
            hex.push_str(&format!("{byte:02X}"));
        }
        hex
    }
}

/// Where a leaf lives: a value (scalar or list comment) or a comment item of a map.
enum Slot<'t> {
    Value(&'t mut Value),
    Comment(&'t mut Comment),
}

/// One scalar or comment of the tree, with everything its encryption depends on.
struct Leaf<'t> {
    slot: Slot<'t>,
    /// The map-key path joined by `:` plus `:` (sops' AAD).
    aad: String,
    /// Position in document order; the display path is rebuilt from it on error.
    index: usize,
    selected: bool,
}

impl Leaf<'_> {
    fn is_comment(&self) -> bool {
        self.comment().is_some()
    }

    fn comment(&self) -> Option<&Comment> {
        match &self.slot {
            Slot::Comment(c) => Some(c),
            Slot::Value(Value::Comment(c)) => Some(c),
            Slot::Value(_) => None,
        }
    }

    fn comment_mut(&mut self) -> Option<&mut Comment> {
        match &mut self.slot {
            Slot::Comment(c) => Some(c),
            Slot::Value(Value::Comment(c)) => Some(c),
            Slot::Value(_) => None,
        }
    }

    /// The leaf as a value (map comments viewed as `Value::Comment`).
    fn value_ref(&self) -> std::borrow::Cow<'_, Value> {
        match &self.slot {
            Slot::Value(v) => std::borrow::Cow::Borrowed(&**v),
            Slot::Comment(c) => std::borrow::Cow::Owned(Value::Comment((**c).clone())),
        }
    }

    fn store_encrypted(&mut self, enc: String) {
        if let Some(c) = self.comment_mut() {
            c.text = enc;
        } else if let Slot::Value(v) = &mut self.slot {
            **v = Value::Str(enc);
        }
    }

    fn store_decrypted(&mut self, plain: Value) {
        if let Some(c) = self.comment_mut() {
            // An empty ENC comment decrypts to "": the comment is kept as it is.
            if let Value::Comment(p) = plain {
                c.text = p.text;
            }
        } else if let Slot::Value(v) = &mut self.slot {
            **v = plain;
        }
    }
}

/// One step of a display path.
enum Seg<'t> {
    Key(&'t str),
    Index(usize),
}

/// Walks the documents in order, recording each leaf with its AAD, display path
/// and whether the selector picks it (sops' comment stack included).
struct Collector<'p, 't> {
    policy: &'p Policy,
    /// Keys borrowed from the tree: no copy per entry.
    keys: Vec<&'t str>,
    display: Vec<Seg<'t>>,
    aad: String,
    comments: Vec<Vec<String>>,
    count: usize,
    /// Display paths cost an allocation per leaf, so they are only built for the
    /// one leaf an error message needs.
    wanted_path: Option<usize>,
    found_path: Option<String>,
}

fn collector<'t>(policy: &Policy, wanted_path: Option<usize>) -> Collector<'_, 't> {
    Collector {
        policy,
        keys: Vec::new(),
        display: Vec::new(),
        aad: String::new(),
        comments: Vec::new(),
        count: 0,
        wanted_path,
        found_path: None,
    }
}

fn collect_leaves<'t>(branches: &'t mut [Map], policy: &Policy) -> Vec<Leaf<'t>> {
    let mut c = collector(policy, None);
    let mut out = Vec::new();
    for branch in branches.iter_mut() {
        c.map(branch, &mut out);
    }
    out
}

/// The display path of the leaf at `index` (document order).
fn path_of_leaf(branches: &mut [Map], policy: &Policy, index: usize) -> String {
    let mut c = collector(policy, Some(index));
    let mut out = Vec::new();
    for branch in branches.iter_mut() {
        c.map(branch, &mut out);
    }
    c.found_path.unwrap_or_else(|| "(unknown)".to_string())
}

/// A failure at one leaf, before its path is known.
struct LeafError {
    index: usize,
    source: CipherError,
}

impl LeafError {
    fn into_value_error(self, branches: &mut [Map], policy: &Policy) -> ValueError {
        ValueError {
            path: path_of_leaf(branches, policy, self.index),
            source: self.source,
        }
    }
}

impl<'t> Collector<'_, 't> {
    /// The AAD of the current position: the path plus `:`, and `:` at the top.
    fn current_aad(&self) -> String {
        if self.aad.is_empty() {
            ":".to_string()
        } else {
            self.aad.clone()
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

    fn leaf(&mut self, slot: Slot<'t>, own_comment: Option<&str>) -> Leaf<'t> {
        let index = self.count;
        self.count += 1;
        if self.wanted_path == Some(index) {
            self.found_path = Some(self.display_path());
        }
        Leaf {
            slot,
            aad: self.current_aad(),
            index,
            selected: self
                .policy
                .selector
                .should_encrypt(&self.keys, &self.comments, own_comment),
        }
    }

    fn map(&mut self, map: &'t mut Map, out: &mut Vec<Leaf<'t>>) {
        self.comments.push(Vec::new());
        for item in map.items.iter_mut() {
            match item {
                Item::Comment(c) => {
                    let text = c.text.clone();
                    out.push(self.leaf(Slot::Comment(c), Some(&text)));
                    self.comments.last_mut().expect("pushed above").push(text);
                }
                Item::Entry(key, value) => {
                    let key: &'t String = key;
                    let mark = self.aad.len();
                    self.aad.push_str(key);
                    self.aad.push(':');
                    self.keys.push(key);
                    self.display.push(Seg::Key(key));
                    self.value(value, out);
                    self.display.pop();
                    self.keys.pop();
                    self.aad.truncate(mark);
                    self.comments.last_mut().expect("pushed above").clear();
                }
            }
        }
        self.comments.pop();
    }

    fn list(&mut self, list: &'t mut [Value], out: &mut Vec<Leaf<'t>>) {
        self.comments.push(Vec::new());
        for (i, element) in list.iter_mut().enumerate() {
            self.display.push(Seg::Index(i));
            if let Value::Comment(c) = element {
                let text = c.text.clone();
                out.push(self.leaf(Slot::Value(element), Some(&text)));
                self.comments.last_mut().expect("pushed above").push(text);
            } else {
                self.value(element, out);
                self.comments.last_mut().expect("pushed above").clear();
            }
            self.display.pop();
        }
        self.comments.pop();
    }

    fn value(&mut self, value: &'t mut Value, out: &mut Vec<Leaf<'t>>) {
        match value {
            Value::Map(m) => self.map(m, out),
            Value::List(l) => self.list(l, out),
            Value::Null => {}
            other => out.push(self.leaf(Slot::Value(other), None)),
        }
    }
}
