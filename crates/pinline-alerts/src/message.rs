//! What an alert says: the states people are told about, and the words for each channel. Only
//! the account's id and username, the state, the reason pinline recorded and the reconnect link
//! go in; the reason is the account event's detail, which never holds a token.

use pinline_store::{AlertChange, PendingAlertEvent};

/// An account state worth a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// The account must be reconnected; its posts are held.
    NeedsReauth,
    /// The refresh token nears its end and could not be renewed yet.
    TokenExpiring,
    /// Refreshes fail (the account keeps its tokens and is retried).
    RefreshFailing,
    /// The credential belongs to another app or environment; posts are held.
    CredentialMismatch,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::NeedsReauth => "needs_reauth",
            AlertState::TokenExpiring => "token_expiring",
            AlertState::RefreshFailing => "refresh_failing",
            AlertState::CredentialMismatch => "credential_mismatch",
        }
    }

    pub fn parse(text: &str) -> Option<AlertState> {
        [
            AlertState::NeedsReauth,
            AlertState::TokenExpiring,
            AlertState::RefreshFailing,
            AlertState::CredentialMismatch,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    fn headline(self) -> &'static str {
        match self {
            AlertState::NeedsReauth => "needs to be reconnected; its scheduled posts are held",
            AlertState::TokenExpiring => {
                "will need reconnecting soon: its refresh token nears its end"
            }
            AlertState::RefreshFailing => "cannot refresh its token; pinline keeps retrying",
            AlertState::CredentialMismatch => {
                "belongs to another app or environment; its posts are held"
            }
        }
    }
}

/// What an account event does to the alerts (event names as in `pinline_webhooks::events`).
pub fn change_for(event: &PendingAlertEvent) -> AlertChange<'_> {
    let open = |state: AlertState| AlertChange::Open {
        state: state.as_str(),
        reason: event.detail.as_str(),
    };
    match event.kind.as_str() {
        "account.needs_reauth" => open(AlertState::NeedsReauth),
        "account.token_expiring" => open(AlertState::TokenExpiring),
        // An account that needs reconnecting is told about as such (its own event), not also
        // as failing to refresh.
        "account.refresh_failed" if event.account_status == "needs_reauth" => AlertChange::Nothing,
        "account.refresh_failed" => open(AlertState::RefreshFailing),
        "account.credential_mismatch" => open(AlertState::CredentialMismatch),
        "account.connected" | "account.disconnected" => AlertChange::CloseAll,
        "account.refreshed" => AlertChange::Close(&["refresh_failing", "credential_mismatch"]),
        _ => AlertChange::Nothing,
    }
}

/// One alert about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub account_id: String,
    pub username: String,
    pub state: AlertState,
    pub reason: String,
    pub reconnect_url: String,
    /// 1 for the first message, more for reminders.
    pub count: i64,
}

impl Alert {
    /// The email subject and one-line chat summary.
    pub fn subject(&self) -> String {
        let again = if self.count > 1 { " (reminder)" } else { "" };
        format!(
            "pinline: Pinterest account @{} {}{again}",
            self.username,
            self.state.headline()
        )
    }

    /// The plain-text body.
    pub fn body(&self) -> String {
        format!(
            "The Pinterest account @{username} (pinline account {id}) {headline}.\n\n\
             State: {state}\nReason: {reason}\n\n\
             Reconnect it here: {link}\n\n\
             You get one message per account and state, and a reminder while it lasts.\n",
            username = self.username,
            id = self.account_id,
            headline = self.state.headline(),
            state = self.state.as_str(),
            reason = self.reason,
            link = self.reconnect_url,
        )
    }
}

/// The chat message for `subject` and `body`: Slack's incoming-webhook shape (`text`), which
/// Mattermost, Rocket.Chat and Discord's Slack-compatible endpoint read as well.
pub fn slack_payload(subject: &str, body: &str) -> String {
    serde_json::json!({ "text": format!("*{subject}*\n{body}") }).to_string()
}
