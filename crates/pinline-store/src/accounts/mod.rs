//! Connected Pinterest accounts: identity, sealed tokens, health, and the refresh lease that makes
//! refreshes single-flight across processes.
//!
//! The lease is a row-level compare-and-swap rather than a lock held across the HTTP call: the
//! in-flight marker (`refresh_started_at`) must be *committed* before the refresh request leaves,
//! so that a process dying between Pinterest's answer and our commit leaves a trace the next
//! claimant sees. A lock held open in a transaction would vanish with the process instead.
//!
//! Split by job, each an `impl Store` block: `connect` (an account stored or erased), `refresh`
//! (the lease, rotated tokens, re-sealing), `health` (status, credential mismatch, events) and
//! `read`. This module holds the rows and what they share.

/// One account row. The `*_sealed` fields are ciphertexts from the vault's key ring, never
/// plaintext tokens.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub profile_id: String,
    pub environment: String,
    pub client_id: String,
    pub pinterest_user_id: String,
    pub username: String,
    pub scopes: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub access_token_sealed: Option<String>,
    pub refresh_token_sealed: Option<String>,
    pub access_expires_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    pub token_version: i64,
    pub refresh_lease_owner: Option<String>,
    pub refresh_lease_until: Option<i64>,
    pub refresh_started_at: Option<i64>,
    pub last_refresh_at: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub last_error_at: Option<i64>,
    pub refresh_expiry_alerted_days: Option<i32>,
    /// `continuous` or `legacy` (see [`RefreshTokenKind`]); None when not known.
    pub refresh_token_kind: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who connected, as learned from the token response and `user_account`.
#[derive(Debug, Clone)]
pub struct ConnectedAccount<'a> {
    pub profile_id: &'a str,
    pub environment: &'a str,
    pub client_id: &'a str,
    pub pinterest_user_id: &'a str,
    pub username: &'a str,
    pub scopes: &'a str,
    pub access_expires_at: i64,
    pub refresh_expires_at: Option<i64>,
}

/// The kind of refresh token an account holds, as stored in `refresh_token_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenKind {
    /// 60 days, renewed by every refresh.
    Continuous,
    /// 365 days from the connect, a hard end that no refresh moves.
    Legacy,
}

impl RefreshTokenKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshTokenKind::Continuous => "continuous",
            RefreshTokenKind::Legacy => "legacy",
        }
    }

    /// Parses a stored name; anything else is not known.
    pub fn parse(value: &str) -> Option<RefreshTokenKind> {
        match value {
            "continuous" => Some(RefreshTokenKind::Continuous),
            "legacy" => Some(RefreshTokenKind::Legacy),
            _ => None,
        }
    }
}

/// Sealed tokens to store, already bound to the account id they belong to.
#[derive(Debug, Clone)]
pub struct SealedTokens {
    pub access: String,
    pub refresh: Option<String>,
}

/// Result of trying to take an account's refresh lease.
#[derive(Debug, Clone)]
pub enum RefreshClaim {
    /// The lease is ours. `interrupted` is true when a previous refresh left its in-flight
    /// marker behind without finishing (its process died mid-refresh).
    Claimed {
        account: AccountRow,
        interrupted: bool,
    },
    /// Another refresh holds a live lease; wait for it, then re-read.
    Busy(AccountRow),
    /// The tokens changed since the caller read them: someone else already refreshed.
    Superseded(AccountRow),
    /// Someone else's refresh failed after the caller began waiting, or the account can no
    /// longer be refreshed (`needs_reauth`, `disconnected`): report that instead of sending
    /// the same refresh token again.
    FailedMeanwhile(AccountRow),
}

/// How a refresh ended, written when the lease is released.
#[derive(Debug, Clone)]
pub struct RefreshFailure<'a> {
    /// The status the account moves to (`active` when the failure was transient).
    pub status: &'a str,
    pub status_reason: Option<&'a str>,
    pub error_class: &'a str,
    pub error_message: &'a str,
}

/// An account event recorded in the transaction of the change that causes it, and put in the
/// webhook outbox (see `outbox`).
#[derive(Debug, Clone, Copy)]
pub struct NewAccountEvent<'a> {
    pub kind: &'a str,
    pub detail: &'a str,
    pub error_class: Option<&'a str>,
}

/// Inside a write transaction `$tx`: inserts `$events` for `$account_id`, marked for the
/// webhook outbox. A macro for the same reason as `write_tx`: either backend's transaction.
macro_rules! insert_account_events {
    ($tx:ident, $account_id:expr, $events:expr, $now:expr) => {
        for event in $events {
            sqlx::query(
                "INSERT INTO account_events
                    (id, account_id, kind, detail, created_at, error_class, event_pending)
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($account_id)
            .bind(event.kind)
            .bind(event.detail)
            .bind($now)
            .bind(event.error_class)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// The last-error class of an account whose credential belongs to another app or environment.
const CREDENTIAL_MISMATCH: &str = "credential_mismatch";

const COLUMNS: &str = "id, profile_id, environment, client_id, pinterest_user_id, username, \
    scopes, status, status_reason, access_token_sealed, refresh_token_sealed, access_expires_at, \
    refresh_expires_at, token_version, refresh_lease_owner, refresh_lease_until, \
    refresh_started_at, last_refresh_at, last_error_class, last_error_message, last_error_at, \
    refresh_expiry_alerted_days, refresh_token_kind, created_at, updated_at";

// Declared after `insert_account_events!` so that the macro is in scope in each of them.
mod connect;
mod health;
mod read;
mod refresh;
