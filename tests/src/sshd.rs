//! A real OpenSSH server (`/usr/sbin/sshd`, Debian's openssh-server) on a free
//! loopback port, accepting one client key for the current user, killed on drop.
//! Used to test Git over ssh:// with a key and known_hosts, as a user's Git host.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    child: Child,
    pub port: u16,
    /// The user the client logs in as (whoever runs the tests).
    pub user: String,
    /// The client's private key (OpenSSH format).
    pub client_key: String,
    /// A known_hosts line for this server: `[127.0.0.1]:PORT ssh-ed25519 …`.
    pub known_hosts: String,
    _dir: tempfile::TempDir,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "hush-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
}

impl Sshd {
    /// `None` (with the reason) when sshd is not installed.
    pub fn start() -> Result<Sshd, String> {
        if !Path::new(SSHD).exists() {
            return Err(format!("{SSHD} not found (apt-get install openssh-server)"));
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let d = |name: &str| -> PathBuf { dir.path().join(name) };
        keygen(&d("host"));
        keygen(&d("client"));
        std::fs::copy(d("client.pub"), d("authorized_keys")).unwrap();
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout)
            .unwrap()
            .trim()
            .to_string();
        let port = crate::standins::free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile {pid}\n\
             AllowUsers {user}\n",
            host = d("host").display(),
            auth = d("authorized_keys").display(),
            pid = d("sshd.pid").display(),
        );
        std::fs::write(d("sshd_config"), config).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {SSHD}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("sshd did not listen on {port}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let host_pub = std::fs::read_to_string(d("host.pub")).unwrap();
        let host_pub = host_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Sshd {
            child,
            port,
            user,
            client_key: std::fs::read_to_string(d("client")).unwrap(),
            known_hosts: format!("[127.0.0.1]:{port} {host_pub}\n"),
            _dir: dir,
        })
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
