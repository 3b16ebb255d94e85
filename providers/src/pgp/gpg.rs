//! The `gpg` binary, used like sops does when a key is not loaded in memory
//! (keyrings, smartcards, agent-held passphrases).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

/// How to run gpg.
#[derive(Clone, Debug)]
pub(crate) struct Gpg {
    pub(crate) exec: PathBuf,
    /// `GNUPGHOME` for the child; `None` inherits ours.
    pub(crate) home: Option<PathBuf>,
}

/// Why a gpg call did not produce a result.
pub(crate) enum GpgError {
    /// The binary could not be started (not installed).
    Missing(String),
    /// gpg has no secret key for the message.
    NoSecretKey,
    /// gpg ran and failed; the text is gpg's own diagnostics (never plaintext).
    Failed(String),
}

impl Gpg {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.exec);
        if let Some(home) = &self.home {
            command.env("GNUPGHOME", home);
        }
        command
    }

    /// Feeds `input` to gpg with `args` and returns its stdout.
    fn run(&self, args: &[&str], input: &[u8]) -> Result<Zeroizing<Vec<u8>>, GpgError> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| GpgError::Missing(format!("{}: {e}", self.exec.display())))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // Write from a thread so a large stdout cannot deadlock against our write.
        let input = Zeroizing::new(input.to_vec());
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child
            .wait_with_output()
            .map_err(|e| GpgError::Failed(format!("waiting for gpg: {e}")))?;
        let written = writer.join().unwrap_or(Ok(()));
        let stdout = Zeroizing::new(output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            if stderr.contains("No secret key") || stderr.contains("[GNUPG:] NO_SECKEY") {
                return Err(GpgError::NoSecretKey);
            }
            return Err(GpgError::Failed(summarize(&stderr, &output.status)));
        }
        if let Err(e) = written {
            return Err(GpgError::Failed(format!("writing to gpg: {e}")));
        }
        Ok(stdout)
    }

    /// `gpg -d` of an armored message. An empty result is an error (sops #896).
    pub(crate) fn decrypt(&self, armored: &str) -> Result<Zeroizing<Vec<u8>>, GpgError> {
        let plain = self.run(
            &["--batch", "--quiet", "--status-fd", "2", "-d"],
            armored.as_bytes(),
        )?;
        if plain.is_empty() {
            return Err(GpgError::Failed("gpg returned no data".into()));
        }
        Ok(plain)
    }

    /// Encrypts `data` to `fingerprint` with the arguments sops uses.
    pub(crate) fn encrypt(&self, fingerprint: &str, data: &[u8]) -> Result<String, GpgError> {
        let short = &fingerprint[fingerprint.len().saturating_sub(16)..];
        let armored = self.run(
            &[
                "--batch",
                "--no-default-recipient",
                "--yes",
                "--encrypt",
                "-a",
                "-r",
                fingerprint,
                "--trusted-key",
                short,
                "--no-encrypt-to",
            ],
            data,
        )?;
        String::from_utf8(armored.to_vec())
            .map_err(|_| GpgError::Failed("gpg output is not armored text".into()))
    }
}

/// gpg's human-readable lines (status lines dropped), kept short.
fn summarize(stderr: &str, status: &std::process::ExitStatus) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("[GNUPG:]") && !l.trim().is_empty())
        .collect();
    let mut text = lines.join("; ");
    if text.len() > 400 {
        let mut cut = 400;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    if text.is_empty() {
        format!("gpg failed ({status})")
    } else {
        format!("gpg failed ({status}): {text}")
    }
}
