//! The one error type of the webhooks service (signature checks have their own,
//! [`SignatureError`](crate::signature::SignatureError), because receivers use them alone).

use pinline_core::CoreError;
use pinline_store::StoreError;

/// What can go wrong managing webhooks or emitting events. Failed deliveries are not errors:
/// they are logged as attempts and retried.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The webhook URL is not an absolute http(s) URL without credentials.
    #[error("invalid webhook URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it, in words a person can act on.
        reason: String,
    },
    /// The receiver is somewhere pinline does not deliver: a private or loopback address
    /// without `PINLINE_ALLOW_PRIVATE_TARGETS`, or beyond loopback under
    /// `PINLINE_OUTBOUND=loopback`.
    #[error("webhook URL refused: {reason}")]
    RefusedTarget {
        /// The rule it met, in words.
        reason: String,
    },
    /// The profile has as many webhooks as one profile may have.
    #[error(
        "this profile already has {limit} webhooks, the most one profile may have; delete one first"
    )]
    TooMany {
        /// The cap.
        limit: i64,
    },
    /// The HTTP client for deliveries could not be built.
    #[error("could not set up webhook deliveries: {0}")]
    Setup(String),
    /// An event name is not one pinline emits (see `pinline_webhooks::events`).
    #[error("unknown webhook event `{0}`; use one of the documented events or `*`")]
    UnknownEvent(String),
    /// A webhook must subscribe to at least one event (or `*`).
    #[error("a webhook needs at least one event, or `*` for all of them")]
    NoEvents,
    /// The webhook's sealed secret could not be opened (wrong master key, or tampered row).
    #[error("cannot open the webhook secret: {0}")]
    Cipher(#[from] CoreError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WebhookError {
    /// True when retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, WebhookError::Store(error) if error.is_transient())
    }
}
