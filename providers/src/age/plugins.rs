//! age plugins: `age1NAME1…` recipients and `AGE-PLUGIN-NAME-1…` identities served
//! by an `age-plugin-NAME` program on `PATH` (YubiKeys, TPMs, cloud HSMs), as age
//! and sops ≥ 3.10 use them.

use std::io::{BufRead, BufReader, Write};

use ::age::plugin::{self, IdentityPluginV1, RecipientPluginV1};
use ::age::secrecy::SecretString;

use super::identities::BoxedIdentity;
use super::recipients::BoxedRecipient;
use crate::KeyError;

/// How a plugin talks to the user: its messages go to stderr ("touch your key");
/// its questions to the controlling terminal, and stay unanswered without one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TerminalCallbacks;

impl ::age::Callbacks for TerminalCallbacks {
    fn display_message(&self, message: &str) {
        eprintln!("hush: age plugin: {message}");
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        let choices = match no_string {
            Some(no) => format!("[{yes_string}/{no}]"),
            None => format!("[{yes_string}]"),
        };
        let answer = ask_terminal(&format!("{message} {choices}: "))?;
        Some(answer.trim().eq_ignore_ascii_case(yes_string))
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        ask_terminal(&format!("{description} ")).map(|line| line.trim_end().to_string())
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        rpassword::prompt_password(format!("{description} "))
            .ok()
            .map(SecretString::from)
    }
}

/// Asks a question on `/dev/tty`; `None` without a terminal.
fn ask_terminal(prompt: &str) -> Option<String> {
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    tty.write_all(prompt.as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(tty).read_line(&mut line).ok()?;
    Some(line)
}

fn not_found(input: &str, plugin_name: &str) -> KeyError {
    KeyError::InvalidKey {
        kind: "age",
        input: input.to_string(),
        reason: format!("age-plugin-{plugin_name} was not found on PATH"),
    }
}

/// The plugin name of an `age1NAME1…` recipient, `None` for other recipients.
pub(crate) fn plugin_of_recipient(recipient: &str) -> Option<&str> {
    // Bech32 data never contains '1', so a second one means `age1<plugin>1…`.
    let rest = recipient.strip_prefix("age1")?;
    let (name, _) = rest.split_once('1')?;
    (!name.is_empty()).then_some(name)
}

/// A recipient served by its plugin program.
pub(crate) fn recipient(input: &str) -> Result<BoxedRecipient, KeyError> {
    let parsed: plugin::Recipient = input.parse().map_err(|e: &str| KeyError::InvalidKey {
        kind: "age",
        input: input.to_string(),
        reason: e.to_string(),
    })?;
    let name = parsed.plugin().to_string();
    let plugin = RecipientPluginV1::new(&name, &[parsed], &[], TerminalCallbacks)
        .map_err(|_| not_found(input, &name))?;
    Ok(Box::new(plugin))
}

/// The identities of `identities` that belong to `plugin_name`, as one identity
/// served by that plugin's program; `None` when there are none.
pub(crate) fn identity_for(
    recipient: &str,
    plugin_name: &str,
    identities: &[plugin::Identity],
) -> Result<Option<BoxedIdentity>, KeyError> {
    let mine: Vec<plugin::Identity> = identities
        .iter()
        .filter(|i| i.plugin() == plugin_name)
        .cloned()
        .collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let plugin = IdentityPluginV1::new(plugin_name, &mine, TerminalCallbacks)
        .map_err(|_| not_found(recipient, plugin_name))?;
    Ok(Some(Box::new(plugin)))
}
