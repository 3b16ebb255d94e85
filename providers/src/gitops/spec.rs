//! What to pull: a repository URL, the ref to follow, and how to authenticate.

use zeroize::Zeroizing;

/// The revision to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitRef {
    /// The tip of a branch (`main`, or `refs/heads/main`).
    Branch(String),
    /// A tag (`v1.2.0`, or `refs/tags/v1.2.0`); annotated tags are peeled to their commit.
    Tag(String),
    /// A fixed commit (full hex id). Needs no ref lookup once it is in the mirror.
    Commit(String),
}

impl GitRef {
    /// The full remote ref name for branches and tags; `None` for a commit.
    pub fn full_name(&self) -> Option<String> {
        match self {
            GitRef::Branch(b) if b.starts_with("refs/") => Some(b.clone()),
            GitRef::Branch(b) => Some(format!("refs/heads/{b}")),
            GitRef::Tag(t) if t.starts_with("refs/") => Some(t.clone()),
            GitRef::Tag(t) => Some(format!("refs/tags/{t}")),
            GitRef::Commit(_) => None,
        }
    }
}

impl std::fmt::Display for GitRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitRef::Branch(b) => write!(f, "branch {b}"),
            GitRef::Tag(t) => write!(f, "tag {t}"),
            GitRef::Commit(c) => write!(f, "commit {c}"),
        }
    }
}

/// Credentials for the remote. Secret parts are zeroized on drop and never printed.
#[derive(Clone, Default)]
pub enum GitAuth {
    /// Public repositories, `file://`, `git://`.
    #[default]
    None,
    /// HTTPS basic auth with a token as the password (GitHub: any username, e.g. `git`).
    Token {
        username: String,
        token: Zeroizing<String>,
    },
    /// SSH with this private key (OpenSSH format) and only these known hosts.
    Ssh {
        private_key: Zeroizing<String>,
        known_hosts: String,
    },
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitAuth::None => f.write_str("None"),
            GitAuth::Token { username, .. } => {
                write!(f, "Token {{ username: {username:?}, token: <redacted> }}")
            }
            GitAuth::Ssh { .. } => f.write_str("Ssh { private_key: <redacted>, .. }"),
        }
    }
}

/// A repository to mirror.
#[derive(Clone, Debug)]
pub struct RepoSpec {
    /// `https://…`, `ssh://…`, `git@host:path`, `git://…`, `file://…` or a local path.
    pub url: String,
    pub reference: GitRef,
    pub auth: GitAuth,
}

impl RepoSpec {
    /// The URL gitoxide connects to: a plain local path becomes an absolute `file://` URL
    /// so the mirror does not depend on the caller's working directory.
    pub fn normalized_url(&self) -> String {
        let url = self.url.trim();
        if url.contains("://") || is_scp_like(url) {
            return url.to_string();
        }
        let path = std::path::Path::new(url);
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        format!("file://{}", absolute.display())
    }
}

/// `user@host:path` (scp syntax), as opposed to a local path that contains a colon.
fn is_scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(colon), slash) => {
            let host = &url[..colon];
            !host.is_empty() && host.contains('@') && slash.is_none_or(|s| s > colon)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> RepoSpec {
        RepoSpec {
            url: url.into(),
            reference: GitRef::Branch("main".into()),
            auth: GitAuth::None,
        }
    }

    #[test]
    fn plain_paths_become_absolute_file_urls() {
        assert_eq!(spec("/srv/repo").normalized_url(), "file:///srv/repo");
        let rel = spec("repo").normalized_url();
        assert!(
            rel.starts_with("file:///") && rel.ends_with("/repo"),
            "{rel}"
        );
        assert_eq!(
            spec("git@example.com:org/repo.git").normalized_url(),
            "git@example.com:org/repo.git"
        );
        assert_eq!(spec("https://h/r.git").normalized_url(), "https://h/r.git");
    }

    #[test]
    fn ref_names() {
        assert_eq!(
            GitRef::Branch("main".into()).full_name().unwrap(),
            "refs/heads/main"
        );
        assert_eq!(
            GitRef::Tag("v1".into()).full_name().unwrap(),
            "refs/tags/v1"
        );
        assert_eq!(
            GitRef::Branch("refs/heads/x".into()).full_name().unwrap(),
            "refs/heads/x"
        );
        assert_eq!(GitRef::Commit("ab".into()).full_name(), None);
    }

    #[test]
    fn auth_debug_hides_secrets() {
        let auth = GitAuth::Token {
            username: "git".into(),
            token: Zeroizing::new("s3cret-token".into()),
        };
        assert!(!format!("{auth:?}").contains("s3cret"));
    }
}
