//! Alerts: the account trouble a person must act on (an account that needs reconnecting, a
//! refresh token near its end, refreshes failing, posts held behind a credential), told by
//! email over SMTP and to a Slack-compatible incoming webhook, besides the profile's webhooks.
//!
//! Alerts are driven from the account events the store already keeps: every event is put in an
//! alert outbox in the transaction that records it, and [`Alerts`] takes it from there (see
//! `pinline_store`'s `alerts`), so an alert survives a process that dies. One message goes out
//! per account and state, whichever replica takes the event; while the state lasts, a reminder
//! follows every [`AlertSettings::remind_after`]. Messages carry the account, the reason and
//! the reconnect link, never token material.

mod channels;
mod error;
mod message;
mod service;
mod settings;
#[cfg(feature = "testing")]
pub mod testing;

pub use channels::Channels;
pub use error::AlertError;
pub use message::{Alert, AlertState};
pub use service::{Alerts, Sweep};
pub use settings::{AlertSettings, EmailSettings, SlackWebhook};
