//! The webhook outbox: events that must reach webhooks, kept as rows until they are fanned out.
//!
//! Events are never handed over in memory. A post attempt that published, failed or held its
//! post is marked `event_pending` by the same statement that records the attempt (so in the
//! same transaction as the post's change), and an account event is inserted with the mark set.
//! [`Store::take_post_events`] and [`Store::take_account_events`] then clear a batch of marks and
//! insert those events' webhook deliveries in one transaction: a mark is cleared only by the
//! transaction that fans its event out, and only if it is still set, so a crash anywhere loses
//! nothing and two dispatchers never fan out the same event twice. A batch costs a fixed handful
//! of statements (clear the marks, read the profiles' webhooks, insert the deliveries), however
//! many events it holds: the outbox keeps up with a publisher completing hundreds of posts a
//! second without a transaction per event.

use std::collections::HashSet;

use crate::StoreError;
use crate::posts::placeholders;
use crate::sql::{fan_out_events, with_pool, write_tx};
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
    /// What the embedding app said about the account when it connected it (`account_links`).
    pub external_id: Option<String>,
    pub metadata: Option<String>,
}

/// What one event is delivered as: the webhook event name and the exact body, for the webhooks
/// of `profile_id` that want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDelivery {
    pub profile_id: String,
    pub event: String,
    pub payload: String,
}

/// What fanning out a batch of events came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fanout {
    /// Events whose mark this batch cleared (the others were taken by another dispatcher first,
    /// and nothing was written for them).
    pub taken: usize,
    /// The deliveries inserted, one per webhook that wanted a taken event.
    pub deliveries: Vec<String>,
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
                    e.error_class, e.created_at, l.external_id, l.metadata
                 FROM account_events e JOIN accounts a ON a.id = e.account_id
                 LEFT JOIN account_links l ON l.profile_id = a.profile_id
                    AND l.environment = a.environment AND l.client_id = a.client_id
                    AND l.pinterest_user_id = a.pinterest_user_id
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

    /// Fans out a batch of post events: clears their marks (only those still set) and inserts
    /// the deliveries of the events whose mark it cleared, in one transaction. Each event comes
    /// with what it is delivered as.
    pub async fn take_post_events(
        &self,
        events: &[(&PendingPostEvent, EventDelivery)],
        now: i64,
    ) -> Result<Fanout, StoreError> {
        if events.is_empty() {
            return Ok(Fanout::default());
        }
        let values = (0..events.len())
            .map(|n| format!("({})", placeholders(1 + n * 2, 2)))
            .collect::<Vec<_>>()
            .join(", ");
        let clear = format!(
            "UPDATE post_attempts SET event_pending = FALSE
             WHERE event_pending AND (post_id, fence) IN (VALUES {values})
             RETURNING post_id, fence"
        );
        let fanout = write_tx!(self, tx => {
            let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(clear.as_str()));
            for (pending, _) in events {
                query = query.bind(pending.post_id.as_str()).bind(pending.fence);
            }
            let taken: HashSet<(String, i64)> = query.fetch_all(&mut *tx).await?.into_iter().collect();
            let deliveries: Vec<&EventDelivery> = events
                .iter()
                .filter(|(pending, _)| taken.contains(&(pending.post_id.clone(), pending.fence)))
                .map(|(_, delivery)| delivery)
                .collect();
            let ids = fan_out_events!(tx, &deliveries, now);
            Fanout { taken: taken.len(), deliveries: ids }
        });
        Ok(fanout)
    }

    /// Fans out a batch of account events, as [`Store::take_post_events`] does for posts; an
    /// event without a delivery (one no webhook carries) only has its mark cleared.
    pub async fn take_account_events(
        &self,
        events: &[(&PendingAccountEvent, Option<EventDelivery>)],
        now: i64,
    ) -> Result<Fanout, StoreError> {
        if events.is_empty() {
            return Ok(Fanout::default());
        }
        let clear = format!(
            "UPDATE account_events SET event_pending = FALSE
             WHERE event_pending AND id IN ({})
             RETURNING id",
            placeholders(1, events.len())
        );
        let fanout = write_tx!(self, tx => {
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(clear.as_str()));
            for (pending, _) in events {
                query = query.bind(pending.id.as_str());
            }
            let taken: HashSet<String> = query.fetch_all(&mut *tx).await?.into_iter().collect();
            let deliveries: Vec<&EventDelivery> = events
                .iter()
                .filter(|(pending, _)| taken.contains(&pending.id))
                .filter_map(|(_, delivery)| delivery.as_ref())
                .collect();
            let ids = fan_out_events!(tx, &deliveries, now);
            Fanout { taken: taken.len(), deliveries: ids }
        });
        Ok(fanout)
    }
}
