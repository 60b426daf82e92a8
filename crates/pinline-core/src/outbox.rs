//! The outbox's wake-up. Events (account and post events alike) are rows written in the same
//! transaction as the change that caused them; whoever writes one gives an [`OutboxHint`] so the
//! webhook dispatcher looks at the table without polling. It lives here, not with any one kind of
//! event, because the vault, the queue and the server all hold one.

use std::sync::Arc;

use tokio::sync::Notify;

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
