//! The alert worker: takes account events from the alert outbox, opens and closes alerts,
//! queues reminders, and sends queued messages. Every replica may run it; the store makes each
//! step happen once (see `pinline_store`'s `alerts`).

use std::sync::Arc;
use std::time::Duration;

use pinline_core::clock::SharedClock;
use pinline_store::{NewAlertMessage, Store};
use tokio::sync::{Notify, watch};

use crate::AlertError;
use crate::channels::Channels;
use crate::message::{Alert, AlertState, change_for};
use crate::settings::AlertSettings;

/// How often the worker looks at the outbox when nothing wakes it.
pub const SWEEP: Duration = Duration::from_secs(5);
/// Events and messages handled per batch.
const BATCH: i64 = 100;
/// How long a replica holds a message it is sending.
const LEASE_MS: i64 = 60_000;
/// Attempts per message before it is given up.
const MAX_ATTEMPTS: i64 = 8;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    pub events: usize,
    pub queued: usize,
    pub sent: usize,
    pub failed: usize,
}

/// The alert worker.
#[derive(Debug, Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: SharedClock,
    settings: AlertSettings,
    channels: Channels,
    wake: Notify,
}

impl Alerts {
    pub fn new(
        store: Store,
        clock: SharedClock,
        settings: AlertSettings,
        channels: Channels,
    ) -> Alerts {
        Alerts {
            inner: Arc::new(Inner {
                store,
                clock,
                settings,
                channels,
                wake: Notify::new(),
            }),
        }
    }

    /// Makes the running worker sweep now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    fn reconnect_url(&self, account_id: &str) -> String {
        format!(
            "{}/accounts/{account_id}/reconnect",
            self.inner.settings.public_url
        )
    }

    fn messages(&self, alert: &Alert) -> Vec<NewAlertMessage> {
        let (subject, body) = (alert.subject(), alert.body());
        self.inner
            .channels
            .names()
            .into_iter()
            .map(|channel| NewAlertMessage {
                channel: channel.to_owned(),
                subject: subject.clone(),
                body: body.clone(),
            })
            .collect()
    }

    /// One pass: take pending events, queue due reminders, send due messages.
    pub async fn sweep(&self) -> Result<Sweep, AlertError> {
        let store = &self.inner.store;
        let mut sweep = Sweep::default();
        loop {
            let events = store.pending_alert_events(BATCH).await?;
            let full = events.len() as i64 == BATCH;
            for event in &events {
                let change = change_for(event);
                let messages = match change {
                    pinline_store::AlertChange::Open { state, reason } => {
                        match AlertState::parse(state) {
                            Some(state) => self.messages(&Alert {
                                account_id: event.account_id.clone(),
                                username: event.username.clone(),
                                state,
                                reason: reason.to_owned(),
                                reconnect_url: self.reconnect_url(&event.account_id),
                                count: 1,
                            }),
                            None => Vec::new(),
                        }
                    }
                    _ => Vec::new(),
                };
                let now = self.inner.clock.now_ms();
                if store
                    .take_alert_event(event, change, &messages, now)
                    .await?
                {
                    sweep.queued += messages.len();
                }
                sweep.events += 1;
            }
            if !full {
                break;
            }
        }
        store.close_settled_alerts().await?;
        let now = self.inner.clock.now_ms();
        let remind_ms =
            i64::try_from(self.inner.settings.remind_after.as_millis()).unwrap_or(i64::MAX);
        let reminders = store
            .claim_alert_reminders(now.saturating_sub(remind_ms), now, BATCH)
            .await?;
        for due in reminders {
            let Some(state) = AlertState::parse(&due.state) else {
                continue;
            };
            let messages = self.messages(&Alert {
                reconnect_url: self.reconnect_url(&due.account_id),
                account_id: due.account_id.clone(),
                username: due.username,
                state,
                reason: due.reason,
                count: due.sent_count,
            });
            store
                .queue_alert_messages(Some(&due.account_id), state.as_str(), &messages, now)
                .await?;
            sweep.queued += messages.len();
        }
        self.send_due(&mut sweep).await?;
        Ok(sweep)
    }

    async fn send_due(&self, sweep: &mut Sweep) -> Result<(), AlertError> {
        let store = &self.inner.store;
        loop {
            let now = self.inner.clock.now_ms();
            let claimed = store
                .claim_alert_deliveries(now, now + LEASE_MS, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            for delivery in claimed {
                let sent = self
                    .inner
                    .channels
                    .send(&delivery.channel, &delivery.subject, &delivery.body)
                    .await;
                let now = self.inner.clock.now_ms();
                match sent {
                    Ok(()) => {
                        store.alert_delivery_sent(&delivery.id, now).await?;
                        sweep.sent += 1;
                    }
                    Err(error) => {
                        let retry_at = (delivery.attempts < MAX_ATTEMPTS)
                            .then(|| now + backoff_ms(delivery.attempts));
                        tracing::warn!(
                            channel = %delivery.channel,
                            account_id = delivery.account_id.as_deref().unwrap_or(""),
                            attempts = delivery.attempts,
                            gave_up = retry_at.is_none(),
                            %error,
                            "an alert could not be sent"
                        );
                        store
                            .alert_delivery_failed(&delivery.id, &error.to_string(), retry_at, now)
                            .await?;
                        sweep.failed += 1;
                    }
                }
            }
        }
    }

    /// Sends a test message to every configured channel, now, without queueing it; returns
    /// each channel's outcome.
    pub async fn send_test(&self) -> Vec<(&'static str, Result<(), AlertError>)> {
        self.inner
            .channels
            .send_test(&self.inner.settings.public_url)
            .await
    }

    /// Sweeps every [`SWEEP`], or at once when woken, until `shutdown` turns true.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.sweep().await {
                tracing::warn!(%error, "alert sweep failed; retrying at the next one");
            }
            tokio::select! {
                _ = shutdown.wait_for(|stopped| *stopped) => return,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(SWEEP) => {}
            }
        }
    }
}

/// The wait before retry `attempt + 1`: 30 s doubling, at most an hour.
fn backoff_ms(attempt: i64) -> i64 {
    let doublings = u32::try_from(attempt.clamp(0, 7)).unwrap_or(7);
    (30_000_i64 << doublings).min(3_600_000)
}
