//! Notifications to a webhook in Slack's incoming-webhook format (`{"text": …}`),
//! which Slack, Mattermost, Rocket.Chat, Discord's `/slack` endpoint and most chat
//! bridges accept.
//!
//! A notification carries object names, reasons and revisions, never a secret value:
//! callers build it from the same text they put in Events.

use std::time::Duration;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    /// A reconcile or a file failed (bad MAC, unknown key, Git unreachable...).
    Failure,
    /// A Secret edited or deleted outside Git was put back.
    DriftReverted,
    /// A Secret's values changed (new commit, rotated keys or values).
    Rotated,
}

impl NotificationKind {
    fn label(self) -> &'static str {
        match self {
            NotificationKind::Failure => ":red_circle: failure",
            NotificationKind::DriftReverted => ":leftwards_arrow_with_hook: drift reverted",
            NotificationKind::Rotated => ":arrows_counterclockwise: updated",
        }
    }
}

/// One notification about one object.
#[derive(Clone, Debug)]
pub struct Notification {
    pub kind: NotificationKind,
    /// `Kind/namespace/name` of the hush object.
    pub object: String,
    /// A short reason (`MacMismatch`, `DriftReverted`...).
    pub reason: String,
    /// The human message (no values).
    pub message: String,
}

impl Notification {
    /// The Slack-compatible body.
    pub fn slack_body(&self) -> serde_json::Value {
        serde_json::json!({
            "text": format!(
                "hush {}: {} ({}): {}",
                self.kind.label(),
                self.object,
                self.reason,
                self.message
            )
        })
    }
}

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    #[error("webhook URL must be http(s): {0}")]
    BadUrl(String),
    #[error("webhook request failed: {0}")]
    Request(String),
    #[error("webhook answered HTTP {0}")]
    Status(u16),
}

/// A webhook target.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    /// Webhook URLs embed their credential (Slack's path token): show the host only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({})", self.url.host_str().unwrap_or("?"))
    }
}

impl Webhook {
    pub fn new(url: &str) -> Result<Self, NotifyError> {
        let url = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| NotifyError::BadUrl(redact(url)))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| NotifyError::Request(e.to_string()))?;
        Ok(Self { url, client })
    }

    /// Post one notification; one attempt, bounded by a 10 s timeout.
    pub async fn send(&self, note: &Notification) -> Result<(), NotifyError> {
        let response = self
            .client
            .post(self.url.clone())
            .json(&note.slack_body())
            .send()
            .await
            .map_err(|e| NotifyError::Request(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(NotifyError::Status(status.as_u16()));
        }
        Ok(())
    }
}

/// Scheme and host of a URL for messages (the path may hold a token).
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}/…", rest.split('/').next().unwrap_or("")),
        None => "(not a URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_slack_text_and_url_is_redacted() {
        let note = Notification {
            kind: NotificationKind::Failure,
            object: "SecretRepository/apps/main".into(),
            reason: "MacMismatch".into(),
            message: "secrets/db.yaml: MAC mismatch".into(),
        };
        let body = note.slack_body();
        let text = body["text"].as_str().unwrap();
        assert!(text.contains("SecretRepository/apps/main"));
        assert!(text.contains("MacMismatch"));
        assert_eq!(body.as_object().unwrap().len(), 1);
        let err = Webhook::new("ftp://hooks.example/T000/B000/XXXX").unwrap_err();
        assert!(!err.to_string().contains("XXXX"));
        let hook = Webhook::new("https://hooks.example/T000/B000/XXXX").unwrap();
        assert!(!format!("{hook:?}").contains("XXXX"));
    }
}
