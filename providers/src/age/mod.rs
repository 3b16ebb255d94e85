//! age master keys: the data key is age-encrypted to one recipient and stored
//! ASCII-armored in `enc`, exactly as sops does (`age/keysource.go`).

mod commands;
mod env;
mod identities;
mod plugins;
mod recipients;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::Mutex;

use ::age::armor::{ArmoredReader, ArmoredWriter, Format};
use ::age::{DecryptError, Decryptor, Encryptor};
use hush_crypto::{KeyKind, KeyType, MasterKey};
use zeroize::Zeroizing;

use crate::{KeyError, KeySource};
use commands::KeyCommand;
pub use env::AgeEnv;
pub use identities::PassphrasePrompt;
use identities::{gather_identity_bytes, unlock, BoxedIdentity, Gathered, Locked};
pub use recipients::{generate_identity, parse_recipient};

/// Wraps and unwraps data keys with age.
pub struct AgeSource {
    ready: Vec<BoxedIdentity>,
    /// Plugin identities, used only for keys wrapped to their plugin's recipients.
    plugins: Vec<::age::plugin::Identity>,
    commands: Vec<KeyCommand>,
    prompt: Option<PassphrasePrompt>,
    warnings: Vec<String>,
    lazy: Mutex<LazyState>,
}

/// Identities that only become available on demand.
#[derive(Default)]
struct LazyState {
    locked: Vec<Locked>,
    opened: Vec<BoxedIdentity>,
    opened_plugins: Vec<::age::plugin::Identity>,
    /// (command index, recipient) pairs that already ran.
    commands_ran: HashSet<(usize, String)>,
}

impl AgeSource {
    /// Loads identities from the places sops uses (see [`AgeEnv`]). Passphrase-protected
    /// identities stay unusable; use [`AgeSource::from_env_with_passphrase`] for those.
    pub fn from_env() -> Result<Self, KeyError> {
        Self::from_age_env(&AgeEnv::from_process(), None)
    }

    /// Like [`AgeSource::from_env`], asking `prompt` for the passphrase of a protected
    /// identity file or SSH key when a data key needs it.
    pub fn from_env_with_passphrase(prompt: PassphrasePrompt) -> Result<Self, KeyError> {
        Self::from_age_env(&AgeEnv::from_process(), Some(prompt))
    }

    /// Loads identities from an explicit set of places.
    pub fn from_age_env(env: &AgeEnv, prompt: Option<PassphrasePrompt>) -> Result<Self, KeyError> {
        let gathered = env.gather()?;
        Ok(Self::from_gathered(gathered, env.key_commands(), prompt))
    }

    /// Identities given as identity-file text (e.g. a Flux `*.agekey` Secret entry).
    pub fn from_identities_text(text: &str) -> Result<Self, KeyError> {
        let mut gathered = Gathered::default();
        gather_identity_bytes("identities", text.as_bytes(), &mut gathered)?;
        Ok(Self::from_gathered(gathered, Vec::new(), None))
    }

    /// A source without identities: it can wrap, and unwrap reports `NoIdentity`.
    pub fn recipients_only() -> Self {
        Self::from_gathered(Gathered::default(), Vec::new(), None)
    }

    fn from_gathered(
        gathered: Gathered,
        commands: Vec<KeyCommand>,
        prompt: Option<PassphrasePrompt>,
    ) -> Self {
        AgeSource {
            ready: gathered.ready,
            plugins: gathered.plugins,
            commands,
            prompt,
            warnings: gathered.warnings,
            lazy: Mutex::new(LazyState {
                locked: gathered.locked,
                ..LazyState::default()
            }),
        }
    }

    /// Adds identities from identity-file text to this source.
    pub fn add_identities_text(&mut self, source: &str, text: &str) -> Result<(), KeyError> {
        let mut gathered = Gathered::default();
        gather_identity_bytes(source, text.as_bytes(), &mut gathered)?;
        self.ready.extend(gathered.ready);
        self.plugins.extend(gathered.plugins);
        self.warnings.extend(gathered.warnings);
        self.lazy_state().locked.extend(gathered.locked);
        Ok(())
    }

    /// Identities that were found but skipped (unsupported kinds, unusable default
    /// SSH keys). Each message names the place, never the key.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How many identities are usable right now, without passphrases or commands.
    pub fn identity_count(&self) -> usize {
        let state = self.lazy_state();
        self.ready.len() + self.plugins.len() + state.opened.len() + state.opened_plugins.len()
    }

    fn lazy_state(&self) -> std::sync::MutexGuard<'_, LazyState> {
        // A panic while holding the lock leaves only caches behind; keep using them.
        self.lazy.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Decrypts an armored (or binary) age `enc` with `identities`.
/// `Ok(None)` when none of them is a recipient.
fn try_decrypt<'a>(
    describe: &str,
    enc: &str,
    identities: impl Iterator<Item = &'a BoxedIdentity>,
) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
    let corrupt = |reason: String| KeyError::Unwrap {
        key: describe.to_string(),
        reason,
    };
    let decryptor = Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes()))
        .map_err(|e| corrupt(format!("enc is not a valid age file: {e}")))?;
    let reader = decryptor.decrypt(identities.map(|i| i.as_ref() as &dyn ::age::Identity));
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(DecryptError::NoMatchingKeys) => return Ok(None),
        Err(e) => return Err(corrupt(format!("age decryption failed: {e}"))),
    };
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|e| corrupt(format!("age decryption failed: {e}")))?;
    Ok(Some(plain))
}

impl KeySource for AgeSource {
    fn key_type(&self) -> KeyType {
        KeyType::Age
    }

    fn wrap(&self, key: &KeyKind, data_key: &[u8]) -> Result<String, KeyError> {
        let KeyKind::Age { recipient } = key else {
            return Err(KeyError::Unsupported(key.key_type()));
        };
        let parsed = recipients::parse_age_recipient(recipient)?;
        let failed = |reason: String| KeyError::Wrap {
            key: key.describe(),
            reason,
        };
        let encryptor =
            Encryptor::with_recipients(std::iter::once(parsed.as_ref() as &dyn ::age::Recipient))
                .map_err(|e| failed(e.to_string()))?;
        let mut armored = Vec::new();
        let armor = ArmoredWriter::wrap_output(&mut armored, Format::AsciiArmor)
            .map_err(|e| failed(e.to_string()))?;
        let mut writer = encryptor
            .wrap_output(armor)
            .map_err(|e| failed(e.to_string()))?;
        writer
            .write_all(data_key)
            .and_then(|_| writer.finish())
            .and_then(|armor| armor.finish())
            .map_err(|e| failed(e.to_string()))?;
        let mut text = String::from_utf8(armored).map_err(|e| failed(e.to_string()))?;
        // Go's armor writer ends the block with a newline; keep `enc` byte-identical in shape.
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }

    fn unwrap(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let KeyKind::Age { recipient } = &key.kind else {
            return Err(KeyError::Unsupported(key.kind.key_type()));
        };
        let describe = key.kind.describe();
        let mut state = self.lazy_state();
        let plugin_name = plugins::plugin_of_recipient(recipient);
        let attempt = |state: &LazyState| {
            // A plugin program runs only for a recipient of its own plugin.
            let plugin = match plugin_name {
                Some(name) => {
                    let known: Vec<_> = self
                        .plugins
                        .iter()
                        .chain(&state.opened_plugins)
                        .cloned()
                        .collect();
                    plugins::identity_for(recipient, name, &known)?
                }
                None => None,
            };
            try_decrypt(
                &describe,
                &key.enc,
                self.ready
                    .iter()
                    .chain(state.opened.iter())
                    .chain(plugin.iter()),
            )
        };
        // Cheapest first: loaded identities, then key commands, then passphrases.
        if let Some(plain) = attempt(&state)? {
            return Ok(plain);
        }
        while self.run_next_command(recipient, &mut state)? {
            if let Some(plain) = attempt(&state)? {
                return Ok(plain);
            }
        }
        while self.unlock_next(recipient, &describe, &mut state)? {
            if let Some(plain) = attempt(&state)? {
                return Ok(plain);
            }
        }
        Err(KeyError::NoIdentity { key: describe })
    }
}

impl AgeSource {
    /// Runs the next key command not yet run for `recipient`; `false` when none is left.
    fn run_next_command(&self, recipient: &str, state: &mut LazyState) -> Result<bool, KeyError> {
        for (index, command) in self.commands.iter().enumerate() {
            if command.may_serve(recipient)
                && state.commands_ran.insert((index, recipient.to_string()))
            {
                let gathered = command.run(recipient)?;
                state.opened.extend(gathered.ready);
                state.opened_plugins.extend(gathered.plugins);
                state.locked.extend(gathered.locked);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Opens the next locked identity that may serve `recipient`, asking for its
    /// passphrase; `false` when none is left or none was given.
    fn unlock_next(
        &self,
        recipient: &str,
        describe: &str,
        state: &mut LazyState,
    ) -> Result<bool, KeyError> {
        let Some(prompt) = &self.prompt else {
            return Ok(false);
        };
        for index in 0..state.locked.len() {
            if !state.locked[index].may_serve(recipient) {
                continue;
            }
            match unlock(&state.locked[index], prompt) {
                Ok(Some(opened)) => {
                    state.locked.remove(index);
                    state.opened.extend(opened.ready);
                    state.opened_plugins.extend(opened.plugins);
                    return Ok(true);
                }
                // No passphrase given: keep it locked for a later attempt.
                Ok(None) => continue,
                Err(reason) => {
                    return Err(KeyError::Unwrap {
                        key: describe.to_string(),
                        reason,
                    })
                }
            }
        }
        Ok(false)
    }
}

/// A passphrase prompt on the controlling terminal (`/dev/tty`), for the CLI.
pub fn terminal_passphrase_prompt() -> PassphrasePrompt {
    Box::new(|name: &str| {
        rpassword::prompt_password(format!("Enter passphrase for identity {name}: "))
            .ok()
            .map(Zeroizing::new)
    })
}
