//! Git over HTTP with Basic auth (username + token): `tests/support/git_http_server.py`
//! runs `git http-backend` behind a loopback server that answers 401 without the
//! right credentials. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct GitHttp {
    child: Child,
    pub port: u16,
}

impl GitHttp {
    /// Serve the repositories under `root` (`http://127.0.0.1:PORT/<dir under root>`),
    /// to `username` with `token` only.
    pub fn start(root: &Path, username: &str, token: &str) -> GitHttp {
        let port = crate::standins::free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/git_http_server.py");
        let python = std::env::var("HUSH_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(root)
            .args([username, token])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the git http server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "git http server did not start");
        GitHttp { child, port }
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
