//! `SOPS_AGE_KEY_CMD` and `SOPS_AGE_SSH_PRIVATE_KEY_CMD`: shell commands that print
//! identity material. They run only when a data key needs them, once per recipient,
//! with `SOPS_AGE_RECIPIENT` set so a command can pick the right key.

use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::identities::{gather_identity_bytes, gather_ssh_key, Gathered};
use crate::KeyError;

/// What a command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prints {
    /// An age identity file (plain or passphrase-protected).
    Identities,
    /// One SSH private key.
    SshKey,
}

#[derive(Clone, Debug)]
pub(crate) struct KeyCommand {
    /// The variable it came from, used in messages.
    pub(crate) variable: &'static str,
    pub(crate) command: String,
    pub(crate) prints: Prints,
}

impl KeyCommand {
    /// Whether this command can produce an identity for `recipient`.
    pub(crate) fn may_serve(&self, recipient: &str) -> bool {
        match self.prints {
            Prints::Identities => true,
            Prints::SshKey => recipient.starts_with("ssh-"),
        }
    }

    /// Runs the command through `sh -c` and parses what it prints.
    /// stdin and stderr stay attached so the command can prompt.
    pub(crate) fn run(&self, recipient: &str) -> Result<Gathered, KeyError> {
        let failed = |reason: String| KeyError::Unwrap {
            key: format!("age {recipient}"),
            reason: format!("{} {reason}", self.variable),
        };
        let output = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("SOPS_AGE_RECIPIENT", recipient)
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| failed(format!("could not start: {e}")))?;
        let stdout = Zeroizing::new(output.stdout);
        if !output.status.success() {
            return Err(failed(format!("failed: {}", output.status)));
        }
        let source = format!("{} output", self.variable);
        let mut gathered = Gathered::default();
        match self.prints {
            Prints::Identities => gather_identity_bytes(&source, &stdout, &mut gathered)?,
            Prints::SshKey => gather_ssh_key(&source, &stdout, &mut gathered)?,
        }
        Ok(gathered)
    }
}
