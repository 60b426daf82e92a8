//! The public view of a connected account: identity, health and expiries, never tokens.

use pinline_store::AccountRow;
use serde::Serialize;

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Tokens are valid; posts publish.
    Active,
    /// A refresh is in flight (or was interrupted; see the account's events).
    Refreshing,
    /// Pinterest refused the refresh token (revoked, expired, password change): a person must
    /// reconnect. Posts wait as `held`.
    NeedsReauth,
    /// Disconnected by a user; tokens erased.
    Disconnected,
}

impl AccountStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Refreshing => "refreshing",
            AccountStatus::NeedsReauth => "needs_reauth",
            AccountStatus::Disconnected => "disconnected",
        }
    }

    /// Parses a stored name; unknown names read as `needs_reauth`, the safe side.
    pub fn parse(value: &str) -> AccountStatus {
        match value {
            "active" => AccountStatus::Active,
            "refreshing" => AccountStatus::Refreshing,
            "disconnected" => AccountStatus::Disconnected,
            _ => AccountStatus::NeedsReauth,
        }
    }
}

/// The last failure recorded for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastError {
    /// One of `pinline_pinterest::ErrorClass`'s names (`auth`, `credential_mismatch`, …).
    pub class: String,
    /// What happened, in words.
    pub message: String,
    /// When, unix milliseconds.
    pub at_ms: Option<i64>,
}

/// A connected Pinterest account as the API and CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: String,
    pub profile_id: String,
    pub environment: String,
    pub client_id: String,
    pub pinterest_user_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub access_expires_at_ms: Option<i64>,
    pub refresh_expires_at_ms: Option<i64>,
    /// `continuous` (renewed by every refresh) or `legacy` (a hard end 365 days after the
    /// connect); None when not known.
    pub refresh_token_kind: Option<String>,
    pub last_refresh_at_ms: Option<i64>,
    pub last_error: Option<LastError>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl From<&AccountRow> for Account {
    fn from(row: &AccountRow) -> Account {
        Account {
            id: row.id.clone(),
            profile_id: row.profile_id.clone(),
            environment: row.environment.clone(),
            client_id: row.client_id.clone(),
            pinterest_user_id: row.pinterest_user_id.clone(),
            username: row.username.clone(),
            scopes: row
                .scopes
                .split(',')
                .filter(|scope| !scope.is_empty())
                .map(str::to_owned)
                .collect(),
            status: AccountStatus::parse(&row.status),
            status_reason: row.status_reason.clone(),
            access_expires_at_ms: row.access_expires_at,
            refresh_expires_at_ms: row.refresh_expires_at,
            refresh_token_kind: row.refresh_token_kind.clone(),
            last_refresh_at_ms: row.last_refresh_at,
            last_error: row.last_error_class.as_ref().map(|class| LastError {
                class: class.clone(),
                message: row.last_error_message.clone().unwrap_or_default(),
                at_ms: row.last_error_at,
            }),
            created_at_ms: row.created_at,
            updated_at_ms: row.updated_at,
        }
    }
}
