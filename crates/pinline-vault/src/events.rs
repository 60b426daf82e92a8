//! What the vault tells the rest of pinline: account lifecycle events. Each is logged under its
//! own name (auth failures never mixed with content errors), appended to the account's history,
//! and broadcast so the server can turn it into a signed webhook.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{Notify, broadcast};

/// Event names, as used in logs, history and webhooks.
pub mod kind {
    pub const CONNECTED: &str = "account.connected";
    pub const REFRESHED: &str = "account.refreshed";
    pub const REFRESH_FAILED: &str = "account.refresh_failed";
    pub const NEEDS_REAUTH: &str = "account.needs_reauth";
    pub const TOKEN_EXPIRING: &str = "account.token_expiring";
    pub const REFRESH_INTERRUPTED: &str = "account.refresh_interrupted";
    pub const DISCONNECTED: &str = "account.disconnected";
    /// The account's credential was issued for another app or environment than the one
    /// configured; recorded once per spell by the queue, which holds the account's posts.
    pub const CREDENTIAL_MISMATCH: &str = "account.credential_mismatch";
}

/// One account event. Carries ids, names and words, never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultEvent {
    /// One of [`kind`].
    pub kind: &'static str,
    pub profile_id: String,
    pub account_id: String,
    pub username: String,
    /// What happened, for people.
    pub detail: String,
    /// Failure class, for failures.
    pub error_class: Option<String>,
    /// Where a person reconnects the account.
    pub reconnect_url: String,
}

/// The sending side, held by the vault.
pub type EventSender = broadcast::Sender<VaultEvent>;

/// A wake-up for the webhook outbox's dispatcher: "an event was recorded, look at the table".
///
/// Events themselves are rows (written with the change that caused them), so the dispatcher
/// needs to know only *that* something happened, never what: any number of hints between two
/// looks coalesce into one, and a hint given while the dispatcher is busy is kept for its next
/// wait. Memory stays constant however far the dispatcher falls behind.
#[derive(Debug, Clone, Default)]
pub struct OutboxHint(Arc<Notify>);

impl OutboxHint {
    /// Tells the dispatcher to look (now, or as soon as it next waits).
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits for a hint given since the last one was taken.
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn hints_given_while_nobody_waits_coalesce_into_one_wake_up() {
        let hint = OutboxHint::default();
        for _ in 0..20_000 {
            hint.notify();
        }
        // One wake-up is kept for the next wait, and only one: the wait after it is pending.
        assert!(
            hint.notified().now_or_never().is_some(),
            "a hint given before the wait wakes it"
        );
        assert!(
            hint.notified().now_or_never().is_none(),
            "20,000 hints are one wake-up, not 20,000"
        );
    }
}
