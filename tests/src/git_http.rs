//! Git over HTTP with Basic auth (username + token): `tests/support/git_http_server.py`
//! runs `git http-backend` behind a loopback server that answers 401 without the
//! right credentials. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct GitHttp {
    child: Child,
    pub port: u16,
    /// With TLS: the server's self-signed certificate (PEM), to trust through
    /// `SSL_CERT_FILE`.
    pub cert_pem: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl GitHttp {
    /// Serve the repositories under `root` (`http://127.0.0.1:PORT/<dir under root>`),
    /// to `username` with `token` only.
    pub fn start(root: &Path, username: &str, token: &str) -> GitHttp {
        Self::spawn(root, username, token, false)
    }

    /// The same over https, with a fresh self-signed certificate for 127.0.0.1.
    pub fn start_tls(root: &Path, username: &str, token: &str) -> GitHttp {
        Self::spawn(root, username, token, true)
    }

    fn spawn(root: &Path, username: &str, token: &str, tls: bool) -> GitHttp {
        let port = crate::standins::free_port();
        let (dir, cert_pem) = if tls {
            let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
                .expect("generate a test certificate");
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
            std::fs::write(
                dir.path().join("key.pem"),
                certified.key_pair.serialize_pem(),
            )
            .unwrap();
            (Some(dir), Some(certified.cert.pem()))
        } else {
            (None, None)
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/git_http_server.py");
        let python = std::env::var("HUSH_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(root)
            .args([username, token])
            .args(
                dir.iter()
                    .flat_map(|d| [d.path().join("cert.pem"), d.path().join("key.pem")]),
            )
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
        GitHttp {
            child,
            port,
            cert_pem,
            _dir: dir,
        }
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
