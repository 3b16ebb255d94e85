//! A test stand-in for an age plugin such as `age-plugin-yubikey`: a real program
//! speaking the age plugin protocol (through the `age-plugin` crate), with toy
//! cryptography. Its recipient and identity both carry the same 32 random bytes `K`;
//! a file key is wrapped as `file_key XOR SHA-256(K)[..16]` in a `hushtest` stanza
//! tagged with the first 4 bytes of SHA-256(K). Never use it for real secrets.
//!
//! `age-plugin-hushtest --generate` prints a new identity line and its recipient.
//! Before unwrapping it sends one message ("touch your test key") so that callers'
//! message handling is exercised.

use std::collections::{HashMap, HashSet};
use std::io;

use age_core::format::{FileKey, Stanza, FILE_KEY_BYTES};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{Callbacks, PluginHandler};
use sha2::{Digest, Sha256};

const NAME: &str = "hushtest";
const TAG: &str = "hushtest";

/// The pad and the stanza label derived from `K`.
fn derive(key: &[u8]) -> ([u8; FILE_KEY_BYTES], String) {
    let digest = Sha256::digest(key);
    let mut pad = [0u8; FILE_KEY_BYTES];
    pad.copy_from_slice(&digest[..FILE_KEY_BYTES]);
    let label = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    (pad, label)
}

#[derive(Default)]
struct Recipients(Vec<Vec<u8>>);

impl RecipientPluginV1 for Recipients {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        if plugin != NAME || bytes.len() != 32 {
            return Err(recipient::Error::Recipient {
                index,
                message: "not a hushtest recipient".into(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn add_identity(&mut self, index: usize, _: &str, _: &[u8]) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "hushtest wraps to recipients only".into(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        let stanzas = file_keys
            .iter()
            .map(|file_key| {
                self.0
                    .iter()
                    .map(|key| {
                        let (pad, label) = derive(key);
                        let body = file_key
                            .expose_secret()
                            .iter()
                            .zip(pad)
                            .map(|(a, b)| a ^ b)
                            .collect();
                        Stanza {
                            tag: TAG.into(),
                            args: vec![label],
                            body,
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Ok(stanzas))
    }
}

#[derive(Default)]
struct Identities(Vec<Vec<u8>>);

impl IdentityPluginV1 for Identities {
    fn add_identity(
        &mut self,
        index: usize,
        plugin: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        if plugin != NAME || bytes.len() != 32 {
            return Err(identity::Error::Identity {
                index,
                message: "not a hushtest identity".into(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let _ = callbacks.message("touch your test key")?;
        let mut found = HashMap::new();
        for (file_index, stanzas) in files.iter().enumerate() {
            for stanza in stanzas.iter().filter(|s| s.tag == TAG) {
                for key in &self.0 {
                    let (pad, label) = derive(key);
                    if stanza.args.first() != Some(&label) || stanza.body.len() != FILE_KEY_BYTES {
                        continue;
                    }
                    let file_key = FileKey::init_with_mut(|out| {
                        for (o, (a, b)) in out.iter_mut().zip(stanza.body.iter().zip(pad)) {
                            *o = a ^ b;
                        }
                    });
                    found.entry(file_index).or_insert(Ok(file_key));
                }
            }
        }
        Ok(found)
    }
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Recipients;
    type IdentityV1 = Identities;

    fn recipient_v1(self) -> io::Result<Recipients> {
        Ok(Recipients::default())
    }

    fn identity_v1(self) -> io::Result<Identities> {
        Ok(Identities::default())
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--generate") {
        let key: [u8; 32] = std::array::from_fn(|_| rand_byte());
        age_plugin::print_new_identity(NAME, &key, &key);
        return Ok(());
    }
    let state_machine = args
        .iter()
        .find_map(|a| a.strip_prefix("--age-plugin="))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: --age-plugin=STATE_MACHINE | --generate",
            )
        })?;
    age_plugin::run_state_machine(state_machine, Handler)
}

/// Random bytes from the OS (the test plugin has no RNG crate of its own).
fn rand_byte() -> u8 {
    use std::io::Read;
    thread_local! {
        static URANDOM: std::cell::RefCell<std::fs::File> =
            std::cell::RefCell::new(std::fs::File::open("/dev/urandom").expect("/dev/urandom"));
    }
    let mut b = [0u8; 1];
    URANDOM
        .with(|f| f.borrow_mut().read_exact(&mut b))
        .expect("read /dev/urandom");
    b[0]
}
