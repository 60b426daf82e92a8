//! What the vault tells the rest of pinline: account lifecycle events. Each is logged under its
//! own name (auth failures never mixed with content errors), appended to the account's history,
//! and broadcast so the server can turn it into a signed webhook.

use serde::Serialize;
use tokio::sync::broadcast;

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
