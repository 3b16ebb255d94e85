//! A real `git daemon` serving a directory over git:// on a free loopback port,
//! killed on drop (and by [`GitDaemon::stop`], to test an unreachable remote).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct GitDaemon {
    child: Child,
    pub port: u16,
}

impl GitDaemon {
    /// Serve every repository under `base` (`git://127.0.0.1:PORT/<dir under base>`).
    pub fn start(base: &Path) -> GitDaemon {
        let port = crate::standins::free_port();
        // The daemon binary itself: `git daemon` forks it, and killing `git` would
        // leave an orphan that keeps the port and the test's output pipes open.
        let exec_path = Command::new("git")
            .arg("--exec-path")
            .output()
            .expect("git is installed");
        let exec_path = String::from_utf8_lossy(&exec_path.stdout)
            .trim()
            .to_string();
        let child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "git daemon did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        GitDaemon { child, port }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}
