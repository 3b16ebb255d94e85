//! Writing plaintext files so that a reader (or a crash) never sees half of one: a
//! 0600 temp file in the target's directory, synced, chowned, then renamed over the
//! target. Temp files left by a killed agent are swept on the next start.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `uid[:gid]` for written files (`--owner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: Option<u32>,
}

impl std::str::FromStr for Owner {
    type Err = String;
    fn from_str(s: &str) -> Result<Owner, String> {
        let number = |t: &str| {
            t.parse::<u32>()
                .map_err(|_| format!("--owner: {t:?} is not a numeric id (uid[:gid])"))
        };
        match s.split_once(':') {
            Some((u, g)) => Ok(Owner {
                uid: number(u)?,
                gid: Some(number(g)?),
            }),
            None => Ok(Owner {
                uid: number(s)?,
                gid: None,
            }),
        }
    }
}

const TEMP_PREFIX: &str = ".hush-agent-";
const TEMP_SUFFIX: &str = ".tmp";

/// Atomically replaces `path` with `bytes`, mode 0600, owned by `owner` if given.
pub fn write_private(path: &Path, bytes: &[u8], owner: Option<Owner>) -> std::io::Result<()> {
    let tmp = private_temp_file(path, bytes, owner)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(
        path.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    );
    Ok(())
}

/// Files written as temp files first and made visible together. One `syncfs` makes every
/// staged content durable before any rename, and a second one makes the renames durable:
/// two syncs per apply instead of two fsyncs per file, which dominated a 1,000-Secret apply.
pub struct WriteBatch {
    root: PathBuf,
    staged: Vec<(tempfile::TempPath, PathBuf)>,
}

impl WriteBatch {
    pub fn new(root: &Path) -> WriteBatch {
        WriteBatch {
            root: root.to_path_buf(),
            staged: Vec::new(),
        }
    }

    /// Writes `bytes` to a 0600 temp file beside `path` (owned by `owner`); nothing
    /// visible changes until [`WriteBatch::commit`].
    pub fn stage(
        &mut self,
        path: &Path,
        bytes: &[u8],
        owner: Option<Owner>,
    ) -> std::io::Result<()> {
        let tmp = private_temp_file(path, bytes, owner)?;
        self.staged.push((tmp.into_temp_path(), path.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file over its target, in staging order. Returns each
    /// target with the outcome of its rename; a failed sync fails them all (the temp
    /// files are removed, the old contents stay).
    pub fn commit(self) -> Vec<(PathBuf, std::io::Result<()>)> {
        if self.staged.is_empty() {
            return Vec::new();
        }
        if let Err(e) = sync_filesystem(&self.root) {
            let kind = e.kind();
            return self
                .staged
                .into_iter()
                .map(|(_, target)| (target, Err(std::io::Error::new(kind, e.to_string()))))
                .collect();
        }
        let results: Vec<_> = self
            .staged
            .into_iter()
            .map(|(tmp, target)| {
                let r = tmp.persist(&target).map_err(|e| e.error);
                (target, r)
            })
            .collect();
        let _ = sync_filesystem(&self.root);
        results
    }
}

fn sync_filesystem(root: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = fs::File::open(root)?;
    nix::unistd::syncfs(dir.as_raw_fd()).map_err(std::io::Error::from)
}

/// A 0600 temp file beside `path` holding `bytes`, owned by `owner`; not synced.
fn private_temp_file(
    path: &Path,
    bytes: &[u8],
    owner: Option<Owner>,
) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    let mut file = tmp.as_file();
    file.write_all(bytes)?;
    // The umask may have narrowed the mode at creation; set it exactly.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    if let Some(o) = owner {
        std::os::unix::fs::fchown(file, Some(o.uid), o.gid)?;
    }
    Ok(tmp)
}

/// Creates `dir` and its missing parents with mode 0700 (and `owner`).
pub fn create_private_dir(dir: &Path, owner: Option<Owner>) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_private_dir(parent, owner)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    if let Some(o) = owner {
        std::os::unix::fs::chown(dir, Some(o.uid), o.gid)?;
    }
    Ok(())
}

/// Removes temp files a killed agent left in `dir` and below (never follows links).
pub fn sweep_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            sweep_temp_files(&entry.path());
        } else if kind.is_file() && name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes `path` and then its parent directories up to (not including) `root`
/// while they are empty.
pub fn remove_and_prune(root: &Path, path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    sync_dir(path.parent().unwrap_or(root));
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Opens a file for reading without following a symlink at the last component, so
/// a link planted in the output directory is never read through.
pub fn read_no_follow(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_private_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/secret");
        create_private_dir(p.parent().unwrap(), None).unwrap();
        write_private(&p, b"one", None).unwrap();
        write_private(&p, b"two", None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(p.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        fs::write(dir.path().join("a/.hush-agent-x.tmp"), b"partial").unwrap();
        sweep_temp_files(dir.path());
        assert!(!dir.path().join("a/.hush-agent-x.tmp").exists());
        remove_and_prune(dir.path(), &p).unwrap();
        assert!(!dir.path().join("a").exists());
        assert!(dir.path().exists());
    }

    #[test]
    fn batch_renames_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"old").unwrap();
        let mut batch = WriteBatch::new(dir.path());
        batch.stage(&a, b"new-a", None).unwrap();
        batch.stage(&b, b"new-b", None).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"old");
        assert!(!b.exists());
        let results = batch.commit();
        assert!(results.iter().all(|(_, r)| r.is_ok()));
        assert_eq!(fs::read(&a).unwrap(), b"new-a");
        assert_eq!(fs::read(&b).unwrap(), b"new-b");
        assert_eq!(
            fs::metadata(&b).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "no temp file stays behind");
    }

    #[test]
    fn owner_parses() {
        assert_eq!(
            "10:20".parse::<Owner>().unwrap(),
            Owner {
                uid: 10,
                gid: Some(20)
            }
        );
        assert_eq!("7".parse::<Owner>().unwrap(), Owner { uid: 7, gid: None });
        assert!("root".parse::<Owner>().is_err());
    }
}
