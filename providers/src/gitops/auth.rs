//! Credentials handed to gitoxide: a token for HTTPS, and for SSH a private key and
//! known_hosts written to a private temporary directory for the lifetime of one
//! connection (the `ssh` program only reads keys from files).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

use gix::credentials::helper::Action;
use gix::credentials::protocol::Outcome;
use zeroize::Zeroizing;

use super::error::GitError;
use super::spec::GitAuth;

/// The credential callback for one connection: answers `get` with the token, and
/// stores or erases nothing (no credential helper, no prompt).
pub(crate) fn credential_helper(
    auth: &GitAuth,
) -> impl FnMut(Action) -> gix::Result<Option<Outcome>> + use<> {
    let token = match auth {
        GitAuth::Token { username, token } => Some((username.clone(), token.clone())),
        _ => None,
    };
    move |action| match (&token, action) {
        (Some((username, token)), Action::Get(context)) => Ok(Some(Outcome {
            identity: gix::sec::identity::Account {
                username: if username.is_empty() {
                    "git".into()
                } else {
                    username.clone()
                },
                password: token.as_str().to_owned(),
                oauth_refresh_token: None,
            },
            next: context.into(),
        })),
        _ => Ok(None),
    }
}

/// Key files for one SSH connection; removed when dropped.
pub(crate) struct SshFiles {
    dir: tempfile::TempDir,
}

impl SshFiles {
    /// Writes the key (0600) and known_hosts into a fresh 0700 directory under `parent`.
    pub(crate) fn write(
        parent: &std::path::Path,
        private_key: &Zeroizing<String>,
        known_hosts: &str,
    ) -> Result<SshFiles, GitError> {
        let err = |e: std::io::Error| GitError::SshSetup(e.to_string());
        let dir = tempfile::Builder::new()
            .prefix(".ssh-")
            .tempdir_in(parent)
            .map_err(err)?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(err)?;
        let mut key = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.path().join("id"))
            .map_err(err)?;
        let mut text = Zeroizing::new(private_key.trim_end().to_string());
        text.push('\n');
        key.write_all(text.as_bytes()).map_err(err)?;
        std::fs::write(dir.path().join("known_hosts"), known_hosts).map_err(err)?;
        Ok(SshFiles { dir })
    }

    /// `core.sshCommand` using only this key and these known hosts.
    pub(crate) fn ssh_command(&self) -> String {
        let key = self.dir.path().join("id");
        let hosts = self.dir.path().join("known_hosts");
        format!(
            "ssh -F /dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -i {}",
            shell_quote(&hosts.to_string_lossy()),
            shell_quote(&key.to_string_lossy())
        )
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_files_are_private_and_removed() {
        let parent = tempfile::tempdir().unwrap();
        let files =
            SshFiles::write(parent.path(), &Zeroizing::new("KEY".into()), "host key").unwrap();
        let key = files.dir.path().join("id");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "KEY\n");
        assert!(files.ssh_command().contains("StrictHostKeyChecking=yes"));
        drop(files);
        assert!(!key.exists());
    }

    #[test]
    fn token_answers_get_only() {
        let auth = GitAuth::Token {
            username: String::new(),
            token: Zeroizing::new("t0k".into()),
        };
        let mut helper = credential_helper(&auth);
        let out = helper(Action::get_for_url("https://example.invalid/r.git"))
            .unwrap()
            .unwrap();
        assert_eq!(out.identity.username, "git");
        assert_eq!(out.identity.password, "t0k");
        assert!(helper(Action::Erase("x".into())).unwrap().is_none());
        let mut none = credential_helper(&GitAuth::None);
        assert!(none(Action::get_for_url("https://x/")).unwrap().is_none());
    }
}
