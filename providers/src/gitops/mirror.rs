//! A bare local mirror of one remote repository: cheap remote ref lookups, fetches
//! that follow force-pushes, and reading files straight from the object database
//! (no checkout, so nothing from the repository ever lands in a work tree).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;
use gix::progress::Discard;
use gix::remote::Direction;
use sha2::{Digest, Sha256};

use super::auth::{credential_helper, SshFiles};
use super::error::GitError;
use super::spec::{GitAuth, GitRef, RepoSpec};

/// Where the mirror keeps the commit it fetched last (survives restarts).
const FETCHED_REF: &str = "refs/hush/fetched";
/// Refspecs for a pinned commit that is not in the mirror yet: everything, then look.
const ALL_REFS: [&str; 2] = [
    "+refs/heads/*:refs/hush/heads/*",
    "+refs/tags/*:refs/hush/tags/*",
];

/// A file read from a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFile {
    /// Path from the repository root, `/`-separated.
    pub path: String,
    /// The blob id: equal ids mean equal bytes, so callers can skip unchanged files.
    pub blob_id: String,
    pub bytes: Vec<u8>,
}

/// What [`Mirror::list_paths`] found at one commit.
#[derive(Debug, Default)]
pub struct PathListing {
    /// Every file under the paths that exist, sorted by path.
    pub files: Vec<RepoFile>,
    /// The paths that do not exist at that commit, cleaned (no `./`, no trailing `/`).
    pub missing: Vec<String>,
}

/// A bare mirror of one repository under a cache directory.
pub struct Mirror {
    repo: gix::Repository,
    spec: RepoSpec,
    url: String,
    dir: PathBuf,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("url", &self.url)
            .field("reference", &self.spec.reference)
            .field("dir", &self.dir)
            .finish()
    }
}

impl Mirror {
    /// Opens (creating it if needed) the mirror of `spec.url` under `cache_dir`. No network.
    pub fn open(cache_dir: &Path, spec: RepoSpec) -> Result<Mirror, GitError> {
        let url = spec.normalized_url();
        let dir = cache_dir.join(mirror_dir_name(&url));
        let mirror_err = |message: String| GitError::Mirror {
            path: dir.display().to_string(),
            message,
        };
        if !dir.join("HEAD").is_file() {
            std::fs::create_dir_all(cache_dir).map_err(|e| mirror_err(e.to_string()))?;
            gix::init_bare(&dir).map_err(|e| mirror_err(e.to_string()))?;
        }
        // Isolated: the user's and system's git config (credential helpers, url rewrites,
        // ssh commands) must not change what the agent fetches or how.
        let repo = gix::open_opts(&dir, gix::open::Options::isolated())
            .map_err(|e| mirror_err(e.to_string()))?;
        Ok(Mirror {
            repo,
            spec,
            url,
            dir,
        })
    }

    /// The URL fetched from (plain paths turned into `file://`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn spec(&self) -> &RepoSpec {
        &self.spec
    }

    /// The mirror's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The commit the last successful [`fetch`](Self::fetch) produced, if any.
    pub fn last_fetched(&self) -> Option<String> {
        if let GitRef::Commit(c) = &self.spec.reference {
            return self.has_commit(c).then(|| c.clone());
        }
        let mut reference = self.repo.find_reference(FETCHED_REF).ok()?;
        let id = reference.peel_to_id().ok()?.detach();
        self.peel_to_commit(id).ok()
    }

    /// The commit the remote's ref points to now: one ref lookup (handshake plus
    /// `ls-refs` filtered to that ref), no objects fetched. A pinned commit needs no
    /// network at all.
    pub fn remote_revision(&self) -> Result<String, GitError> {
        let Some(name) = self.spec.reference.full_name() else {
            let GitRef::Commit(c) = &self.spec.reference else {
                unreachable!("only commits have no ref name")
            };
            return Ok(c.to_ascii_lowercase());
        };
        let (repo, _ssh) = self.connectable_repo()?;
        let remote = self.remote(&repo, &[format!("+{name}:{FETCHED_REF}")])?;
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.remote_err(e))?
            .with_credentials(credential_helper(&self.spec.auth));
        let (ref_map, _) = connection
            .ref_map(Discard, Default::default())
            .map_err(|e| self.remote_err(e))?;
        ref_map
            .remote_refs
            .iter()
            .find_map(|r| {
                let (ref_name, target, peeled) = r.unpack();
                (ref_name == name.as_bytes().as_bstr())
                    .then(|| peeled.or(target).map(|id| id.to_hex().to_string()))
                    .flatten()
            })
            .ok_or_else(|| self.ref_not_found())
    }

    /// Fetches the ref (force: a rewritten branch replaces the old one) and returns
    /// the commit it points to. On failure the mirror keeps what it had.
    pub fn fetch(&mut self) -> Result<String, GitError> {
        let specs: Vec<String> = match &self.spec.reference {
            GitRef::Commit(c) if self.has_commit(c) => return Ok(c.to_ascii_lowercase()),
            GitRef::Commit(_) => ALL_REFS.iter().map(|s| s.to_string()).collect(),
            other => vec![format!(
                "+{}:{FETCHED_REF}",
                other.full_name().unwrap_or_default()
            )],
        };
        let (repo, _ssh) = self.connectable_repo()?;
        let remote = self.remote(&repo, &specs)?;
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.remote_err(e))?
            .with_credentials(credential_helper(&self.spec.auth));
        let prepare = connection
            .prepare_fetch(Discard, Default::default())
            .map_err(|e| self.remote_err(e))?;
        if let Some(name) = self.spec.reference.full_name() {
            let listed = prepare
                .ref_map()
                .remote_refs
                .iter()
                .any(|r| r.unpack().0 == name.as_bytes().as_bstr());
            if !listed {
                return Err(self.ref_not_found());
            }
        }
        prepare
            .receive(Discard, &AtomicBool::new(false))
            .map_err(|e| self.remote_err(e))?;
        match &self.spec.reference {
            GitRef::Commit(c) if self.has_commit(c) => Ok(c.to_ascii_lowercase()),
            GitRef::Commit(c) => Err(GitError::CommitNotFound(c.clone())),
            _ => self.last_fetched().ok_or_else(|| self.ref_not_found()),
        }
    }

    /// The files under `paths` (directories recursively, or single files) at `commit`,
    /// sorted by path. An empty path or `.` means the whole repository. Paths with
    /// `..` are refused; a path missing at that commit is an error, so a mistyped or
    /// moved directory never looks like "every secret was deleted".
    pub fn files_under(&self, commit: &str, paths: &[String]) -> Result<Vec<RepoFile>, GitError> {
        let listing = self.list_paths(commit, paths)?;
        match listing.missing.into_iter().next() {
            Some(path) => Err(GitError::PathNotFound {
                commit: commit.to_string(),
                path,
            }),
            None => Ok(listing.files),
        }
    }

    /// Like [`Mirror::files_under`], but a path missing at `commit` is reported in
    /// [`PathListing::missing`] (cleaned, as given) instead of failing the others: a
    /// controller can then keep what it applied from that path and say which is gone.
    pub fn list_paths(&self, commit: &str, paths: &[String]) -> Result<PathListing, GitError> {
        let read_err = |path: &str, e: &dyn std::fmt::Display| GitError::Read {
            commit: commit.to_string(),
            path: path.to_string(),
            message: e.to_string(),
        };
        let id = gix::ObjectId::from_hex(commit.as_bytes())
            .map_err(|_| GitError::CommitNotFound(commit.to_string()))?;
        let tree = self
            .repo
            .find_commit(id)
            .map_err(|_| GitError::CommitNotFound(commit.to_string()))?
            .tree()
            .map_err(|e| read_err("", &e))?;
        let mut files = BTreeMap::new();
        let mut missing = Vec::new();
        let roots = if paths.is_empty() {
            vec![String::new()]
        } else {
            paths.to_vec()
        };
        for raw in &roots {
            let path = clean_path(raw)?;
            let (prefix, subtree) = if path.is_empty() {
                (String::new(), tree.clone())
            } else {
                let Some(entry) = tree
                    .lookup_entry_by_path(&path)
                    .map_err(|e| read_err(&path, &e))?
                else {
                    missing.push(path);
                    continue;
                };
                if entry.mode().is_blob() {
                    let file = self.read_blob(&path, entry.oid().to_owned(), commit)?;
                    files.insert(path.clone(), file);
                    continue;
                }
                let object = entry.object().map_err(|e| read_err(&path, &e))?;
                (format!("{path}/"), object.into_tree())
            };
            let entries = subtree
                .traverse()
                .breadthfirst
                .files()
                .map_err(|e| read_err(&path, &e))?;
            for entry in entries.into_iter().filter(|e| e.mode.is_blob()) {
                let full = format!("{prefix}{}", entry.filepath);
                let file = self.read_blob(&full, entry.oid, commit)?;
                files.insert(full, file);
            }
        }
        Ok(PathListing {
            files: files.into_values().collect(),
            missing,
        })
    }

    fn read_blob(&self, path: &str, id: gix::ObjectId, commit: &str) -> Result<RepoFile, GitError> {
        let object = self.repo.find_object(id).map_err(|e| GitError::Read {
            commit: commit.to_string(),
            path: path.to_string(),
            message: e.to_string(),
        })?;
        Ok(RepoFile {
            path: path.to_string(),
            blob_id: id.to_hex().to_string(),
            bytes: object.detach().data,
        })
    }

    fn has_commit(&self, hex: &str) -> bool {
        gix::ObjectId::from_hex(hex.as_bytes())
            .ok()
            .is_some_and(|id| self.repo.find_commit(id).is_ok())
    }

    fn peel_to_commit(&self, id: gix::ObjectId) -> Result<String, GitError> {
        let object = self
            .repo
            .find_object(id)
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| GitError::CommitNotFound(id.to_hex().to_string()))?;
        Ok(object.id.to_hex().to_string())
    }

    /// A handle on the mirror configured for this connection (the SSH command lives in
    /// its in-memory config), and the key files that must outlive the connection.
    fn connectable_repo(&self) -> Result<(gix::Repository, Option<SshFiles>), GitError> {
        let mut repo = self.repo.clone();
        let GitAuth::Ssh {
            private_key,
            known_hosts,
        } = &self.spec.auth
        else {
            return Ok((repo, None));
        };
        let files = SshFiles::write(&self.dir, private_key, known_hosts)?;
        let mut config = repo.config_snapshot_mut();
        config
            .set_value(
                &gix::config::tree::Core::SSH_COMMAND,
                files.ssh_command().as_str(),
            )
            .map_err(|e| GitError::SshSetup(e.to_string()))?;
        config
            .commit()
            .map_err(|e| GitError::SshSetup(e.to_string()))?;
        Ok((repo, Some(files)))
    }

    fn remote<'r>(
        &self,
        repo: &'r gix::Repository,
        specs: &[String],
    ) -> Result<gix::Remote<'r>, GitError> {
        repo.remote_at(self.url.as_str())
            .map_err(|e| self.remote_err(e))?
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .with_refspecs(specs.iter().map(|s| s.as_str()), Direction::Fetch)
            .map_err(|e| self.remote_err(e))
    }

    /// The error and its causes on one line ("handshake failed: …: 401"), which is
    /// what tells a user whether the URL, the network or the credentials are wrong.
    /// gitoxide's messages carry no credentials.
    fn remote_err(&self, e: impl std::error::Error) -> GitError {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        GitError::Remote {
            url: self.url.clone(),
            message,
        }
    }

    fn ref_not_found(&self) -> GitError {
        GitError::RefNotFound {
            url: self.url.clone(),
            reference: self.spec.reference.to_string(),
        }
    }
}

/// `<last path segment>-<16 hex of sha256(url)>.git`: stable, readable, no collisions
/// between two repositories with the same name.
fn mirror_dir_name(url: &str) -> String {
    let hash = hex::encode(Sha256::digest(url.as_bytes()));
    let tail: String = url
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo")
        .trim_end_matches(".git")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    format!(
        "{}-{}.git",
        if tail.is_empty() { "repo" } else { &tail },
        &hash[..16]
    )
}

/// `./apps//db/` → `apps/db`; `/apps` → `apps` (repository-relative); `..` anywhere is refused.
pub(crate) fn clean_path(raw: &str) -> Result<String, GitError> {
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(GitError::PathEscapesRoot(raw.to_string())),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_escapes_refused() {
        assert_eq!(clean_path("./apps//db/").unwrap(), "apps/db");
        assert_eq!(clean_path("/apps").unwrap(), "apps");
        assert_eq!(clean_path(".").unwrap(), "");
        assert!(matches!(
            clean_path("../x"),
            Err(GitError::PathEscapesRoot(_))
        ));
        assert!(matches!(
            clean_path("a/../../b"),
            Err(GitError::PathEscapesRoot(_))
        ));
    }

    #[test]
    fn mirror_names_are_stable_and_distinct() {
        let a = mirror_dir_name("https://h/org/app.git");
        assert!(a.starts_with("app-") && a.ends_with(".git"), "{a}");
        assert_eq!(a, mirror_dir_name("https://h/org/app.git"));
        assert_ne!(a, mirror_dir_name("https://other/org/app.git"));
    }

    #[test]
    fn mirror_is_send() {
        fn send<T: Send>() {}
        send::<Mirror>();
    }
}
