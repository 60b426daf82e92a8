//! Signed webhooks: a profile registers HTTP(S) endpoints, pinline tells them what happened to
//! its accounts and posts.
//!
//! An event ([`Webhooks::emit`]) is committed as one delivery per matching webhook before `emit`
//! returns; a worker ([`Webhooks::run`] / [`Webhooks::deliver_due`]) POSTs each delivery with a
//! `Pinline-Signature` header ([`signature`]), logs every attempt, and retries failures with
//! exponential backoff and full jitter ([`RetryPolicy`]) until the receiver answers 2xx or the
//! attempts run out. Delivery is at least once: receivers deduplicate by the event id.
//!
//! Payloads carry ids, usernames, links and states, never tokens or secrets: callers pass only
//! such values in `data`, and the webhook's own signing secret is sealed at rest and appears in
//! no log.

mod error;
pub mod events;
mod metrics;
mod retry;
mod secret;
mod service;
pub mod signature;

pub use error::WebhookError;
pub use metrics::DeliveryMetrics;
pub use retry::RetryPolicy;
pub use secret::WebhookSecret;
pub use service::{
    EmittedEvent, MAX_WEBHOOKS_PER_PROFILE, SECRET_GRACE, WebhookUpdate, Webhooks, event_payload,
};
