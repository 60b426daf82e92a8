//! What the vault tells the rest of pinline: account lifecycle events. Each is logged under its
//! own name (auth failures never mixed with content errors), appended to the account's history,
//! and broadcast so the server can turn it into a signed webhook.

use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

/// Event names, as used in logs, history and webhooks.
pub mod kind {
    pub const CONNECTED: &str = "account.connected";
    pub const REFRESHED: &str = "account.refreshed";
    pub const REFRESH_FAILED: &str = "account.refresh_failed";
    pub const NEEDS_REAUTH: &str = "account.needs_reauth";
    pub const TOKEN_EXPIRING: &str = "account.token_expiring";
    pub const REFRESH_INTERRUPTED: &str = "account.refresh_interrupted";
    pub const DISCONNECTED: &str = "account.disconnected";
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

/// A lossless copy of a stream of events for the one consumer that must not miss any (webhooks):
/// a broadcast receiver that falls behind loses events, this unbounded channel never does.
#[derive(Debug)]
pub struct Outbox<T>(Mutex<Option<mpsc::UnboundedSender<T>>>);

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Outbox(Mutex::new(None))
    }
}

impl<T: Clone> Outbox<T> {
    /// Every event from now on. One receiver at a time: a second call replaces the first.
    pub fn attach(&self) -> mpsc::UnboundedReceiver<T> {
        let (sender, receiver) = mpsc::unbounded_channel();
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(sender);
        receiver
    }

    /// Passes a copy of `event` on, if a receiver is attached.
    pub fn send(&self, event: &T) {
        if let Some(sender) = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
        {
            let _ = sender.send(event.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_keeps_every_event_however_far_its_reader_falls_behind() {
        let outbox = Outbox::<u32>::default();
        outbox.send(&0); // Nobody attached yet: dropped, not kept.
        let mut receiver = outbox.attach();
        // Far more than a broadcast channel's capacity, sent before anything is read.
        for n in 1..=20_000 {
            outbox.send(&n);
        }
        let mut received = Vec::new();
        while let Ok(n) = receiver.try_recv() {
            received.push(n);
        }
        assert_eq!(received, (1..=20_000).collect::<Vec<_>>());
    }
}
