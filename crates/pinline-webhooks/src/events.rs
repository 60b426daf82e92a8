//! The event names pinline emits. A webhook subscribes to a list of them, or to `*`.

/// An account was connected (or reconnected) through OAuth.
pub const ACCOUNT_CONNECTED: &str = "account.connected";
/// An account's tokens were refreshed.
pub const ACCOUNT_REFRESHED: &str = "account.refreshed";
/// A refresh failed in a way that may pass (the account keeps its tokens and is retried).
pub const ACCOUNT_REFRESH_FAILED: &str = "account.refresh_failed";
/// An account must be reconnected by a person; its queue is paused.
pub const ACCOUNT_NEEDS_REAUTH: &str = "account.needs_reauth";
/// An account's refresh token is close to expiring and could not be renewed yet.
pub const ACCOUNT_TOKEN_EXPIRING: &str = "account.token_expiring";
/// A refresh was interrupted (its process died between Pinterest's answer and the commit) and
/// was retried with the stored refresh token.
pub const ACCOUNT_REFRESH_INTERRUPTED: &str = "account.refresh_interrupted";
/// An account was disconnected: its tokens are erased; `detail` says what Pinterest answered
/// to their revocation.
pub const ACCOUNT_DISCONNECTED: &str = "account.disconnected";
/// An account's credential belongs to another app or environment than pinline is configured
/// for; its posts are held until the configuration is fixed or the account reconnected. Sent
/// once per spell.
pub const ACCOUNT_CREDENTIAL_MISMATCH: &str = "account.credential_mismatch";
/// A post went live on Pinterest.
pub const POST_PUBLISHED: &str = "post.published";
/// A post failed permanently.
pub const POST_FAILED: &str = "post.failed";
/// A post is held (for example behind a reconnect canary) and will resume later.
pub const POST_HELD: &str = "post.held";
/// Another webhook of the profile was disabled after a run of given-up deliveries.
pub const WEBHOOK_DISABLED: &str = pinline_store::WEBHOOK_DISABLED_EVENT;

/// Every event name, in documentation order.
pub const ALL: &[&str] = &[
    ACCOUNT_CONNECTED,
    ACCOUNT_REFRESHED,
    ACCOUNT_REFRESH_FAILED,
    ACCOUNT_NEEDS_REAUTH,
    ACCOUNT_TOKEN_EXPIRING,
    ACCOUNT_REFRESH_INTERRUPTED,
    ACCOUNT_DISCONNECTED,
    ACCOUNT_CREDENTIAL_MISMATCH,
    POST_PUBLISHED,
    POST_FAILED,
    POST_HELD,
    WEBHOOK_DISABLED,
];

/// The filter value that subscribes to every event, present and future.
pub const WILDCARD: &str = "*";

/// True when `name` is an event pinline emits.
pub fn is_known(name: &str) -> bool {
    ALL.contains(&name)
}
