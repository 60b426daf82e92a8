//! The webhook outbox: events that must reach webhooks, kept as rows until they are fanned out.
//!
//! Events are never handed over in memory. A post attempt that published, failed or held its
//! post is marked `event_pending` by the same statement that records the attempt (so in the
//! same transaction as the post's change), and an account event is inserted with the mark set.
//! [`Store::take_post_event`] and [`Store::take_account_event`] then clear one mark and insert
//! that event's webhook deliveries in one transaction: the mark is cleared only by the
//! transaction that fans out, and only if it is still set, so a crash anywhere loses nothing and
//! two dispatchers never fan out the same event twice.

use crate::StoreError;
use crate::sql::{fan_out_to_webhooks, with_pool, write_tx};
use crate::store::Store;

/// A post event waiting for its webhooks: the attempt that caused it and what the post is now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingPostEvent {
    pub post_id: String,
    pub fence: i64,
    pub profile_id: String,
    pub account_id: String,
    /// The attempt's outcome: `published`, `adopted`, `failed` or `held`.
    pub outcome: String,
    pub error_class: Option<String>,
    /// Why the post failed or is held.
    pub error_message: Option<String>,
    pub pin_id: Option<String>,
    pub pin_url: Option<String>,
    /// When the attempt finished (unix ms): the event's time.
    pub finished_at: i64,
}

/// An account event waiting for its webhooks.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingAccountEvent {
    pub id: String,
    pub profile_id: String,
    pub account_id: String,
    pub username: String,
    pub kind: String,
    pub detail: String,
    pub error_class: Option<String>,
    pub created_at: i64,
}

/// What fanning out one event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fanout {
    /// The event's deliveries were inserted (one per webhook that wants it; maybe none).
    Queued(Vec<String>),
    /// Another dispatcher took the event first; nothing was written.
    AlreadyTaken,
}

impl Store {
    /// The oldest post events not yet fanned out, at most `limit`.
    pub async fn pending_post_events(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingPostEvent>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.post_id, a.fence, p.profile_id, p.account_id, a.outcome, a.error_class,
                    a.error_message, p.pin_id, p.pin_url, a.finished_at
                 FROM post_attempts a JOIN posts p ON p.id = a.post_id
                 WHERE a.event_pending
                 ORDER BY a.finished_at
                 LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The oldest account events not yet fanned out, at most `limit`.
    pub async fn pending_account_events(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingAccountEvent>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, a.profile_id, e.account_id, a.username, e.kind, e.detail,
                    e.error_class, e.created_at
                 FROM account_events e JOIN accounts a ON a.id = e.account_id
                 WHERE e.event_pending
                 ORDER BY e.created_at, e.id
                 LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Fans out one post event: clears its mark and inserts a delivery of `payload` for each of
    /// the profile's webhooks that wants `event`, in one transaction.
    pub async fn take_post_event(
        &self,
        pending: &PendingPostEvent,
        event: &str,
        payload: &str,
        now: i64,
    ) -> Result<Fanout, StoreError> {
        let fanout = write_tx!(self, tx => {
            let taken = sqlx::query(
                "UPDATE post_attempts SET event_pending = FALSE
                 WHERE post_id = $1 AND fence = $2 AND event_pending",
            )
            .bind(&pending.post_id)
            .bind(pending.fence)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                Fanout::AlreadyTaken
            } else {
                let ids = fan_out_to_webhooks!(tx, &pending.profile_id, event, payload, now);
                Fanout::Queued(ids)
            }
        });
        Ok(fanout)
    }

    /// Fans out one account event, as [`Store::take_post_event`] does for posts; with
    /// `fan_out` false (an event no webhook carries) only clears its mark.
    pub async fn take_account_event(
        &self,
        pending: &PendingAccountEvent,
        payload: &str,
        fan_out: bool,
        now: i64,
    ) -> Result<Fanout, StoreError> {
        let fanout = write_tx!(self, tx => {
            let taken = sqlx::query(
                "UPDATE account_events SET event_pending = FALSE WHERE id = $1 AND event_pending",
            )
            .bind(&pending.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                Fanout::AlreadyTaken
            } else {
                let ids = if fan_out {
                    fan_out_to_webhooks!(tx, &pending.profile_id, &pending.kind, payload, now)
                } else {
                    Vec::new()
                };
                Fanout::Queued(ids)
            }
        });
        Ok(fanout)
    }
}
