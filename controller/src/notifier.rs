//! Webhook notifications (Slack-compatible `{"text": …}`) for failures, drift
//! reverted and updated Secrets. Configured once for the controller with
//! `--notify-webhook` / `HUSH_NOTIFY_WEBHOOK`. Delivery runs in the background
//! so a slow webhook never delays a reconcile; a failed delivery is logged.

use std::sync::Arc;

pub use hush_providers::notify::{Notification, NotificationKind, Webhook};

/// Where notifications go (nowhere when no webhook is configured).
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    webhook: Option<Arc<Webhook>>,
}

impl Notifier {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn webhook(url: &str) -> Result<Self, hush_providers::notify::NotifyError> {
        Ok(Self {
            webhook: Some(Arc::new(Webhook::new(url)?)),
        })
    }

    /// Queue one notification. `message` must not contain a secret value.
    pub fn send(&self, kind: NotificationKind, object: String, reason: &str, message: String) {
        let Some(hook) = self.webhook.clone() else {
            return;
        };
        let note = Notification {
            kind,
            object,
            reason: reason.to_string(),
            message,
        };
        tokio::spawn(async move {
            if let Err(err) = hook.send(&note).await {
                tracing::warn!(%err, object = %note.object, reason = %note.reason, "notification not delivered");
            }
        });
    }
}
