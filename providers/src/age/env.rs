//! Where sops looks for age identities, as a plain value so callers (and tests) can
//! build it without touching the process environment.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::commands::{KeyCommand, Prints};
use super::identities::{gather_identity_bytes, gather_ssh_key, read_identity_file, Gathered};
use crate::KeyError;

/// The identity sources sops consults, merged in this order.
#[derive(Clone, Default)]
pub struct AgeEnv {
    /// `SOPS_AGE_KEY`: identities, newline- or space-separated, `#` comment lines.
    pub key: Option<Zeroizing<String>>,
    /// `SOPS_AGE_KEY_FILE`: an identity file (plain or passphrase-protected).
    pub key_file: Option<PathBuf>,
    /// `SOPS_AGE_KEY_CMD`: a shell command printing an identity file; run when a data
    /// key needs it, with `SOPS_AGE_RECIPIENT` set.
    pub key_cmd: Option<String>,
    /// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`: an OpenSSH private key.
    pub ssh_key_file: Option<PathBuf>,
    /// `SOPS_AGE_SSH_PRIVATE_KEY_CMD`: a shell command printing an SSH private key; run
    /// when an `ssh-` recipient needs it.
    pub ssh_key_cmd: Option<String>,
    /// `XDG_CONFIG_HOME`, for the default `sops/age/keys.txt`.
    pub xdg_config_home: Option<PathBuf>,
    /// The home directory, for `~/.config/sops/age/keys.txt` and `~/.ssh/id_{ed25519,rsa}`.
    pub home: Option<PathBuf>,
}

/// `SOPS_AGE_KEY` holds secrets, so Debug shows only whether it is set.
impl std::fmt::Debug for AgeEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeEnv")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("key_file", &self.key_file)
            .field("key_cmd", &self.key_cmd)
            .field("ssh_key_file", &self.ssh_key_file)
            .field("ssh_key_cmd", &self.ssh_key_cmd)
            .field("xdg_config_home", &self.xdg_config_home)
            .field("home", &self.home)
            .finish()
    }
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl AgeEnv {
    /// Reads the variables from the process environment.
    pub fn from_process() -> Self {
        AgeEnv {
            key: std::env::var("SOPS_AGE_KEY").ok().map(Zeroizing::new),
            key_file: non_empty("SOPS_AGE_KEY_FILE").map(PathBuf::from),
            key_cmd: non_empty("SOPS_AGE_KEY_CMD"),
            ssh_key_file: non_empty("SOPS_AGE_SSH_PRIVATE_KEY_FILE").map(PathBuf::from),
            ssh_key_cmd: non_empty("SOPS_AGE_SSH_PRIVATE_KEY_CMD"),
            xdg_config_home: non_empty("XDG_CONFIG_HOME").map(PathBuf::from),
            home: non_empty("HOME").map(PathBuf::from),
        }
    }

    /// The default identity file: `$XDG_CONFIG_HOME/sops/age/keys.txt`, else
    /// `~/.config/sops/age/keys.txt`.
    pub fn default_keys_file(&self) -> Option<PathBuf> {
        let config = self
            .xdg_config_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))?;
        Some(config.join("sops").join("age").join("keys.txt"))
    }

    /// The configured key commands, in the order they are tried.
    pub(crate) fn key_commands(&self) -> Vec<KeyCommand> {
        let mut commands = Vec::new();
        if let Some(command) = &self.key_cmd {
            commands.push(KeyCommand {
                variable: "SOPS_AGE_KEY_CMD",
                command: command.clone(),
                prints: Prints::Identities,
            });
        }
        if let Some(command) = &self.ssh_key_cmd {
            commands.push(KeyCommand {
                variable: "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
                command: command.clone(),
                prints: Prints::SshKey,
            });
        }
        commands
    }

    /// Loads everything except the key commands. Named places must load; default
    /// places may be missing, and a default SSH key we cannot use only yields a warning.
    pub(crate) fn gather(&self) -> Result<Gathered, KeyError> {
        let mut gathered = Gathered::default();
        if let Some(key) = &self.key {
            gather_identity_bytes("SOPS_AGE_KEY", key.as_bytes(), &mut gathered)?;
        }
        if let Some(path) = &self.key_file {
            gather_file(path, &mut gathered)?;
        }
        if let Some(path) = self.default_keys_file() {
            if path.exists() && Some(&path) != self.key_file.as_ref() {
                gather_file(&path, &mut gathered)?;
            }
        }
        if let Some(path) = &self.ssh_key_file {
            gather_ssh_file(path, &mut gathered)?;
        }
        if let Some(home) = &self.home {
            for name in ["id_ed25519", "id_rsa"] {
                let path = home.join(".ssh").join(name);
                if !path.exists() || Some(&path) == self.ssh_key_file.as_ref() {
                    continue;
                }
                if let Err(e) = gather_ssh_file(&path, &mut gathered) {
                    gathered.warnings.push(format!("skipped: {e}"));
                }
            }
        }
        Ok(gathered)
    }
}

fn gather_file(path: &Path, into: &mut Gathered) -> Result<(), KeyError> {
    let bytes = read_identity_file(path)?;
    gather_identity_bytes(&path.display().to_string(), &bytes, into)
}

fn gather_ssh_file(path: &Path, into: &mut Gathered) -> Result<(), KeyError> {
    let bytes = read_identity_file(path)?;
    gather_ssh_key(&path.display().to_string(), &bytes, into)
}
