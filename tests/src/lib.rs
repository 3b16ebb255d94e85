//! Support code shared by hush's integration tests: locating the sops vectors,
//! isolated home directories, and running the `hush` binary with a clean environment.

pub mod fake_azure_kv;
pub mod fake_gcp_kms;
pub mod git;
pub mod git_daemon;
pub mod git_http;
pub mod sshd;
pub mod standins;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where the vectors written by real sops live: `HUSH_VECTORS_DIR`, else
/// `../shared/vectors` beside the repository, else `/work/shared/vectors`.
pub fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("HUSH_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        repo.join("../shared/vectors"),
        PathBuf::from("/work/shared/vectors"),
    ];
    for c in &candidates {
        if c.join("sops").is_dir() {
            return c.canonicalize().unwrap_or_else(|_| c.clone());
        }
    }
    panic!("sops vectors not found: set HUSH_VECTORS_DIR (looked in {candidates:?})");
}

/// A vector file's path.
pub fn vector(rel: &str) -> PathBuf {
    vectors_dir().join("sops").join(rel)
}

/// The Python virtualenv with the test stand-ins (`HUSH_VENV`, else `.venv` in the repo).
pub fn venv_bin(name: &str) -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var("HUSH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join(".venv"));
    let p = venv.join("bin").join(name);
    p.exists().then_some(p)
}

/// A throwaway HOME with its own XDG config and GnuPG home, so tests never see
/// the developer's keys and never leave files behind.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home/.config")).unwrap();
        let gnupg = dir.path().join("gnupg");
        std::fs::create_dir_all(&gnupg).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn gnupg_home(&self) -> PathBuf {
        self.path("gnupg")
    }

    /// Writes a file in the sandbox and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// A command for `program` with an environment stripped of the caller's keys.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GNUPGHOME", self.gnupg_home())
            .env("LANG", "C.UTF-8")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Imports key files into the sandbox's GnuPG home with the real gpg.
    pub fn gpg_import(&self, files: &[&Path]) {
        let out = self
            .command("gpg")
            .args(["--batch", "--quiet", "--import"])
            .args(files)
            .output()
            .expect("gpg must be installed (apt-get install gnupg)");
        assert!(
            out.status.success(),
            "gpg --import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs a command with `stdin` bytes and returns its output.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `program args` with `stdin` piped in; asserts success (showing stderr)
/// and returns stdout as bytes.
pub fn piped(program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_with_stdin(cmd, stdin);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Asserts success and returns stdout as a string, showing stderr on failure.
pub fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// The exit code, asserting the process was not killed by a signal.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}
