//! The key ring: wraps a data key for every key group (splitting it with Shamir
//! when there are several) and recovers it from whichever keys this machine can use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hush_crypto::metadata::Metadata;
use hush_crypto::shamir;
use hush_crypto::{DataKey, KeyGroup, KeyKind, KeyType, MasterKey};
use zeroize::Zeroizing;

use crate::source::{KeyError, KeySource};

/// Why no data key could be recovered or wrapped. Lists every key that was tried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    #[error("could not retrieve the data key; tried: {}", format_failures(.0))]
    NoKeyWorked(Vec<KeyError>),
    #[error("the file has no master keys")]
    NoKeys,
    #[error("only {got} of {needed} key groups could be opened; tried: {}", format_failures(.failures))]
    NotEnoughShares {
        got: usize,
        needed: usize,
        failures: Vec<KeyError>,
    },
    #[error("could not wrap the data key for {0}")]
    Wrap(KeyError),
    #[error("Shamir: {0}")]
    Shamir(#[from] shamir::ShamirError),
    #[error("the recovered data key has {0} bytes, expected 32")]
    BadKeyLength(usize),
}

fn format_failures(failures: &[KeyError]) -> String {
    failures
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The default `--decryption-order`: age, then PGP, then the rest in file order.
pub const DEFAULT_DECRYPTION_ORDER: [KeyType; 2] = [KeyType::Age, KeyType::Pgp];

/// Unwrapped secrets by (key, wrapped text).
type UnwrapCache = HashMap<(KeyKind, String), Zeroizing<Vec<u8>>>;

/// All key sources available to this process, and a cache of unwrapped keys.
#[derive(Default, Clone)]
pub struct KeyRing {
    sources: HashMap<KeyType, Arc<dyn KeySource>>,
    order: Vec<KeyType>,
    /// Unwrapped data keys (or shares) by (key, enc): one unwrap per distinct data key.
    cache: Arc<Mutex<UnwrapCache>>,
    /// Keys this process holds no identity for; not asked again.
    unavailable: Arc<Mutex<std::collections::HashSet<KeyKind>>>,
}

impl KeyRing {
    pub fn new() -> Self {
        KeyRing {
            order: DEFAULT_DECRYPTION_ORDER.to_vec(),
            ..KeyRing::default()
        }
    }

    /// Adds (or replaces) the source for its key type.
    pub fn add_source(&mut self, source: Arc<dyn KeySource>) {
        self.sources.insert(source.key_type(), source);
    }

    /// Key types tried first, in this order (`--decryption-order`).
    pub fn set_decryption_order(&mut self, order: Vec<KeyType>) {
        self.order = order;
    }

    fn source(&self, t: KeyType) -> Result<&Arc<dyn KeySource>, KeyError> {
        self.sources.get(&t).ok_or(KeyError::Unsupported(t))
    }

    /// Wraps `data_key` for every key of every group, setting `enc` and `created_at`.
    pub fn wrap(
        &self,
        groups: &mut [KeyGroup],
        threshold: Option<usize>,
        data_key: &DataKey,
        now: &str,
    ) -> Result<(), KeyRingError> {
        if groups.iter().all(|g| g.is_empty()) {
            return Err(KeyRingError::NoKeys);
        }
        let shares: Vec<Zeroizing<Vec<u8>>> = if groups.len() <= 1 {
            vec![Zeroizing::new(data_key.as_bytes().to_vec())]
        } else {
            shamir::split(
                data_key.as_bytes(),
                groups.len(),
                threshold.unwrap_or(groups.len()),
            )?
        };
        for (group, share) in groups.iter_mut().zip(&shares) {
            for key in group.iter_mut() {
                let source = self
                    .source(key.kind.key_type())
                    .map_err(KeyRingError::Wrap)?;
                if let Some(resolved) = source.resolve(&key.kind).map_err(KeyRingError::Wrap)? {
                    key.kind = resolved;
                }
                key.enc = source.wrap(&key.kind, share).map_err(KeyRingError::Wrap)?;
                key.created_at = Some(now.to_string());
                self.remember(key, share.clone());
            }
        }
        Ok(())
    }

    /// `groups` as a wrap would record them: each key through its source's
    /// [`KeySource::resolve`] (an Azure key without a version becomes its latest),
    /// so that a plan compares like with like. Keys this build has no source for
    /// are kept as given.
    pub fn resolve_groups(
        &self,
        groups: &[Vec<KeyKind>],
    ) -> Result<Vec<Vec<KeyKind>>, KeyRingError> {
        groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|kind| match self.source(kind.key_type()) {
                        Ok(source) => Ok(source
                            .resolve(kind)
                            .map_err(KeyRingError::Wrap)?
                            .unwrap_or_else(|| kind.clone())),
                        Err(_) => Ok(kind.clone()),
                    })
                    .collect()
            })
            .collect()
    }

    /// Recovers the data key of a file from its metadata.
    pub fn unwrap(&self, metadata: &Metadata) -> Result<DataKey, KeyRingError> {
        let groups = &metadata.key_groups;
        if groups.iter().all(|g| g.is_empty()) {
            return Err(KeyRingError::NoKeys);
        }
        if groups.len() == 1 {
            let secret = self
                .open_group(&groups[0])
                .map_err(KeyRingError::NoKeyWorked)?;
            return DataKey::from_slice(&secret).ok_or(KeyRingError::BadKeyLength(secret.len()));
        }
        let needed = metadata.shamir_threshold.unwrap_or(groups.len()).max(1);
        let mut shares = Vec::new();
        let mut failures = Vec::new();
        for group in groups {
            if shares.len() == needed {
                break;
            }
            match self.open_group(group) {
                Ok(share) => shares.push(share),
                Err(mut errs) => failures.append(&mut errs),
            }
        }
        if shares.len() < needed {
            return Err(KeyRingError::NotEnoughShares {
                got: shares.len(),
                needed,
                failures,
            });
        }
        let refs: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
        let secret = shamir::combine(&refs)?;
        DataKey::from_slice(&secret).ok_or(KeyRingError::BadKeyLength(secret.len()))
    }

    /// Tries the keys of one group in decryption order; the first that works wins.
    fn open_group(&self, group: &KeyGroup) -> Result<Zeroizing<Vec<u8>>, Vec<KeyError>> {
        let mut failures = Vec::new();
        for key in self.ordered(group) {
            if self.unavailable.lock().expect("lock").contains(&key.kind) {
                failures.push(KeyError::NoIdentity {
                    key: key.kind.describe(),
                });
                continue;
            }
            if let Some(hit) = self
                .cache
                .lock()
                .expect("cache lock")
                .get(&(key.kind.clone(), key.enc.clone()))
            {
                return Ok(hit.clone());
            }
            let result = self.source(key.kind.key_type()).and_then(|s| s.unwrap(key));
            match result {
                Ok(secret) => {
                    self.remember(key, secret.clone());
                    return Ok(secret);
                }
                Err(e) => {
                    if matches!(e, KeyError::NoIdentity { .. }) {
                        self.unavailable
                            .lock()
                            .expect("lock")
                            .insert(key.kind.clone());
                    }
                    failures.push(e)
                }
            }
        }
        Err(failures)
    }

    fn remember(&self, key: &MasterKey, secret: Zeroizing<Vec<u8>>) {
        self.cache
            .lock()
            .expect("cache lock")
            .insert((key.kind.clone(), key.enc.clone()), secret);
    }

    /// The group's keys: preferred types first (in `order`), then the rest in file order.
    fn ordered<'g>(&self, group: &'g KeyGroup) -> Vec<&'g MasterKey> {
        let mut out: Vec<&MasterKey> = Vec::with_capacity(group.len());
        for t in &self.order {
            out.extend(group.iter().filter(|k| k.kind.key_type() == *t));
        }
        out.extend(
            group
                .iter()
                .filter(|k| !self.order.contains(&k.kind.key_type())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_crypto::rules::Selector;

    /// A key source whose "wrapping" is XOR with a per-recipient byte; counts unwraps.
    struct XorSource {
        known: Vec<String>,
        unwraps: std::sync::atomic::AtomicUsize,
    }

    impl KeySource for XorSource {
        fn key_type(&self) -> KeyType {
            KeyType::Age
        }
        fn wrap(&self, key: &KeyKind, data: &[u8]) -> Result<String, KeyError> {
            let KeyKind::Age { recipient } = key else {
                unreachable!()
            };
            let x = recipient.as_bytes()[0];
            Ok(data.iter().map(|b| format!("{:02x}", b ^ x)).collect())
        }
        fn unwrap(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
            self.unwraps
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let KeyKind::Age { recipient } = &key.kind else {
                unreachable!()
            };
            if !self.known.contains(recipient) {
                return Err(KeyError::NoIdentity {
                    key: key.kind.describe(),
                });
            }
            let x = recipient.as_bytes()[0];
            let bytes = (0..key.enc.len() / 2)
                .map(|i| u8::from_str_radix(&key.enc[2 * i..2 * i + 2], 16).unwrap() ^ x)
                .collect();
            Ok(Zeroizing::new(bytes))
        }
    }

    fn age(r: &str) -> MasterKey {
        MasterKey {
            kind: KeyKind::Age {
                recipient: r.into(),
            },
            enc: String::new(),
            created_at: None,
        }
    }

    fn ring(known: &[&str]) -> (KeyRing, Arc<XorSource>) {
        let src = Arc::new(XorSource {
            known: known.iter().map(|s| s.to_string()).collect(),
            unwraps: Default::default(),
        });
        let mut ring = KeyRing::new();
        ring.add_source(src.clone());
        (ring, src)
    }

    #[test]
    fn shamir_groups_need_threshold_shares() {
        let (full, _) = ring(&["a", "b", "c"]);
        let mut groups = vec![vec![age("a")], vec![age("b")], vec![age("c")]];
        let key = DataKey::generate();
        full.wrap(&mut groups, Some(2), &key, "2026-01-01T00:00:00Z")
            .unwrap();
        let meta = Metadata::new(groups, Some(2), Selector::default(), false);
        // only "b" and "c" available: 2 of 3 shares suffice
        let (two, _) = ring(&["b", "c"]);
        assert_eq!(two.unwrap(&meta).unwrap(), key);
        let (one, _) = ring(&["c"]);
        match one.unwrap(&meta) {
            Err(KeyRingError::NotEnoughShares {
                got: 1,
                needed: 2,
                failures,
            }) => assert_eq!(failures.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_unwrap_per_data_key() {
        let (w, _) = ring(&["a"]);
        let mut groups = vec![vec![age("z"), age("a")]];
        let key = DataKey::generate();
        w.wrap(&mut groups, None, &key, "t").unwrap();
        let meta = Metadata::new(groups, None, Selector::default(), false);
        let (r, src) = ring(&["a"]);
        for _ in 0..5 {
            assert_eq!(r.unwrap(&meta).unwrap(), key);
        }
        // "z" fails once, "a" succeeds once, then the cache answers
        assert_eq!(src.unwraps.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn failure_lists_every_key() {
        let (w, _) = ring(&[]);
        let mut groups = vec![vec![age("x"), age("y")]];
        w.wrap(&mut groups, None, &DataKey::generate(), "t")
            .unwrap();
        let meta = Metadata::new(groups, None, Selector::default(), false);
        let (r, _) = ring(&[]);
        let err = r.unwrap(&meta).unwrap_err().to_string();
        assert!(err.contains("age x") && err.contains("age y"), "{err}");
    }
}
