//! Which values get encrypted: sops' six mutually exclusive selectors.

use regex::Regex;

/// One selector from a creation rule, a flag, or a file's metadata.
/// At most one may be set; none means `unencrypted_suffix: _unencrypted`.
#[derive(Clone, Debug)]
pub enum Selector {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    UnencryptedCommentRegex(Regex),
    EncryptedCommentRegex(Regex),
}

/// The suffix sops assumes when a file names no selector.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

#[derive(Debug, thiserror::Error)]
#[error("invalid {field}: {source}")]
pub struct SelectorError {
    pub field: &'static str,
    #[source]
    pub source: regex::Error,
}

impl Default for Selector {
    fn default() -> Self {
        Selector::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.field_name() == other.field_name() && self.pattern() == other.pattern()
    }
}

impl Selector {
    /// Builds a selector from its metadata field name and text.
    pub fn from_field(field: &str, text: &str) -> Result<Option<Selector>, SelectorError> {
        let regex = |field: &'static str| {
            Regex::new(text).map_err(|source| SelectorError { field, source })
        };
        Ok(Some(match field {
            "unencrypted_suffix" => Selector::UnencryptedSuffix(text.to_string()),
            "encrypted_suffix" => Selector::EncryptedSuffix(text.to_string()),
            "unencrypted_regex" => Selector::UnencryptedRegex(regex("unencrypted_regex")?),
            "encrypted_regex" => Selector::EncryptedRegex(regex("encrypted_regex")?),
            "unencrypted_comment_regex" => {
                Selector::UnencryptedCommentRegex(regex("unencrypted_comment_regex")?)
            }
            "encrypted_comment_regex" => {
                Selector::EncryptedCommentRegex(regex("encrypted_comment_regex")?)
            }
            _ => return Ok(None),
        }))
    }

    /// The metadata field that stores this selector.
    pub fn field_name(&self) -> &'static str {
        match self {
            Selector::UnencryptedSuffix(_) => "unencrypted_suffix",
            Selector::EncryptedSuffix(_) => "encrypted_suffix",
            Selector::UnencryptedRegex(_) => "unencrypted_regex",
            Selector::EncryptedRegex(_) => "encrypted_regex",
            Selector::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            Selector::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    /// The suffix or regex text, as written in metadata.
    pub fn pattern(&self) -> &str {
        match self {
            Selector::UnencryptedSuffix(s) | Selector::EncryptedSuffix(s) => s,
            Selector::UnencryptedRegex(r)
            | Selector::EncryptedRegex(r)
            | Selector::UnencryptedCommentRegex(r)
            | Selector::EncryptedCommentRegex(r) => r.as_str(),
        }
    }

    /// All selector field names, for "at most one" checks.
    pub const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];

    /// Whether a value at `path` is encrypted. `comments` holds the comments that
    /// precede the value at each nesting level; `own_comment` is the value's text
    /// when the value is itself a comment (sops keeps a comment matching
    /// `encrypted_comment_regex` in clear).
    pub fn should_encrypt<S: AsRef<str>>(
        &self,
        path: &[S],
        comments: &[Vec<String>],
        own_comment: Option<&str>,
    ) -> bool {
        let any_comment = |re: &Regex| comments.iter().flatten().any(|c| re.is_match(c));
        match self {
            Selector::UnencryptedSuffix(sfx) => {
                !path.iter().any(|p| p.as_ref().ends_with(sfx.as_str()))
            }
            Selector::EncryptedSuffix(sfx) => {
                path.iter().any(|p| p.as_ref().ends_with(sfx.as_str()))
            }
            Selector::UnencryptedRegex(re) => !path.iter().any(|p| re.is_match(p.as_ref())),
            Selector::EncryptedRegex(re) => path.iter().any(|p| re.is_match(p.as_ref())),
            Selector::UnencryptedCommentRegex(re) => {
                !(any_comment(re) || own_comment.is_some_and(|c| re.is_match(c)))
            }
            Selector::EncryptedCommentRegex(re) => {
                any_comment(re) && !own_comment.is_some_and(|c| re.is_match(c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(field: &str, text: &str) -> Selector {
        Selector::from_field(field, text).unwrap().unwrap()
    }

    #[test]
    fn suffix_applies_to_any_path_component() {
        let s = Selector::default();
        assert!(s.should_encrypt(&["a", "b"], &[], None));
        assert!(!s.should_encrypt(&["a_unencrypted", "b"], &[], None));
        assert!(!s.should_encrypt(&["a", "b_unencrypted"], &[], None));
    }

    #[test]
    fn kubernetes_encrypted_regex() {
        let s = sel("encrypted_regex", "^(data|stringData)$");
        assert!(s.should_encrypt(&["data", "password"], &[], None));
        assert!(!s.should_encrypt(&["metadata", "name"], &[], None));
        // a top-level comment has an empty path and stays clear
        assert!(!s.should_encrypt::<&str>(&[], &[], Some(" note")));
    }

    #[test]
    fn comment_regexes() {
        let s = sel("encrypted_comment_regex", "sops:enc");
        let stack = vec![vec![" sops:enc".to_string()]];
        assert!(s.should_encrypt(&["a"], &stack, None));
        assert!(!s.should_encrypt(&["a"], &[], None));
        assert!(!s.should_encrypt::<&str>(&[], &stack, Some(" sops:enc")));
        let u = sel("unencrypted_comment_regex", "clear");
        assert!(!u.should_encrypt(&["a"], &[vec![" clear".into()]], None));
        assert!(u.should_encrypt(&["a"], &[], None));
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(Selector::from_field("encrypted_regex", "(").is_err());
        assert!(Selector::from_field("nope", "x").unwrap().is_none());
    }
}
