//! The alert outbox: account events that must reach people by email or chat, the open alert per
//! account and state, and the messages waiting to be sent.
//!
//! Like the webhook outbox (`outbox`), nothing is handed over in memory. Every account event is
//! inserted marked `alert_pending`; [`Store::take_alert_event`] clears the mark and, in the same
//! transaction, opens or closes the account's alert and queues its messages. An alert is a row
//! per (account, state): only the transaction that inserts it queues the first message, so a
//! burst of events, or several replicas taking them, sends one. Reminders are queued by the
//! statement that moves `last_sent_at` on ([`Store::claim_alert_reminders`]), and a message is
//! sent by whichever replica holds its lease ([`Store::claim_alert_deliveries`]).

use crate::StoreError;
use crate::sql::{with_pool, write_tx};
use crate::store::Store;

/// An account event not yet looked at for alerts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingAlertEvent {
    pub id: String,
    pub account_id: String,
    pub username: String,
    /// The account's status now (not when the event happened).
    pub account_status: String,
    pub kind: String,
    pub detail: String,
    pub error_class: Option<String>,
    pub created_at: i64,
}

/// What an event does to its account's alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange<'a> {
    /// Opens the alert for `state` unless it is open; `reason` is kept for reminders.
    Open { state: &'a str, reason: &'a str },
    /// Closes every open alert of the account (it was reconnected or refreshed).
    CloseAll,
    /// Closes the account's alerts for these states.
    Close(&'a [&'a str]),
    /// Nothing: the event is not one people are told about.
    Nothing,
}

/// One message to queue: the channel (`email`, `slack`) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertMessage {
    pub channel: String,
    pub subject: String,
    pub body: String,
}

/// An open alert whose reminder is due, with what the reminder needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueReminder {
    pub account_id: String,
    pub username: String,
    pub state: String,
    pub reason: String,
    pub opened_at: i64,
    /// Messages queued about it so far, this reminder included.
    pub sent_count: i64,
}

/// A queued message, claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertDeliveryRow {
    pub id: String,
    pub account_id: Option<String>,
    pub state: String,
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_error: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, account_id, state, channel, subject, body, created_at, attempts, sent_at, gave_up_at, \
     last_error";

/// Inside a write transaction: queues `$messages` about (`$account_id`, `$state`).
macro_rules! queue_messages {
    ($tx:ident, $account_id:expr, $state:expr, $messages:expr, $now:expr) => {
        for message in $messages {
            sqlx::query(
                "INSERT INTO alert_deliveries
                    (id, account_id, state, channel, subject, body, created_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($account_id)
            .bind($state)
            .bind(message.channel.as_str())
            .bind(message.subject.as_str())
            .bind(message.body.as_str())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

impl Store {
    /// The oldest account events not yet looked at for alerts, at most `limit`.
    pub async fn pending_alert_events(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingAlertEvent>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, e.account_id, a.username, a.status AS account_status, e.kind, e.detail, e.error_class,
                    e.created_at
                 FROM account_events e JOIN accounts a ON a.id = e.account_id
                 WHERE e.alert_pending
                 ORDER BY e.created_at, e.id
                 LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Takes one event: clears its mark (only if still set) and applies `change`; when that
    /// opens an alert that was not open, queues `messages` with it. All in one transaction.
    /// Returns whether messages were queued.
    pub async fn take_alert_event(
        &self,
        event: &PendingAlertEvent,
        change: AlertChange<'_>,
        messages: &[NewAlertMessage],
        now: i64,
    ) -> Result<bool, StoreError> {
        let queued = write_tx!(self, tx => {
            let taken = sqlx::query_scalar::<_, String>(
                "UPDATE account_events SET alert_pending = FALSE
                 WHERE id = $1 AND alert_pending RETURNING id",
            )
            .bind(event.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let mut queued = false;
            if taken.is_some() {
                match change {
                    AlertChange::Open { state, reason } => {
                        let opened = sqlx::query_scalar::<_, String>(
                            "INSERT INTO account_alerts
                                (account_id, state, reason, opened_at, last_sent_at, sent_count)
                             VALUES ($1, $2, $3, $4, $4, 1)
                             ON CONFLICT (account_id, state) DO NOTHING
                             RETURNING account_id",
                        )
                        .bind(event.account_id.as_str())
                        .bind(state)
                        .bind(reason)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if opened.is_some() {
                            queue_messages!(tx, event.account_id.as_str(), state, messages, now);
                            queued = !messages.is_empty();
                        }
                    }
                    AlertChange::CloseAll => {
                        sqlx::query("DELETE FROM account_alerts WHERE account_id = $1")
                            .bind(event.account_id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    AlertChange::Close(states) => {
                        for state in states {
                            sqlx::query(
                                "DELETE FROM account_alerts WHERE account_id = $1 AND state = $2",
                            )
                            .bind(event.account_id.as_str())
                            .bind(*state)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    AlertChange::Nothing => {}
                }
            }
            queued
        });
        Ok(queued)
    }

    /// Closes `needs_reauth` alerts of accounts no longer in that state (reconnected, or
    /// disconnected), so that no reminder outlives the state. Returns how many it closed.
    pub async fn close_settled_alerts(&self) -> Result<u64, StoreError> {
        let closed = with_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM account_alerts WHERE state = 'needs_reauth' AND account_id NOT IN
                    (SELECT id FROM accounts WHERE status = 'needs_reauth')",
            )
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(closed)
    }

    /// Open alerts whose last message was queued at or before `sent_before`, at most `limit`:
    /// moves their `last_sent_at` to `now` in the same statement, so that one replica reminds.
    pub async fn claim_alert_reminders(
        &self,
        sent_before: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<DueReminder>, StoreError> {
        let claimed: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE account_alerts SET last_sent_at = $1, sent_count = sent_count + 1
                 WHERE last_sent_at <= $2 AND (account_id, state) IN
                    (SELECT account_id, state FROM account_alerts WHERE last_sent_at <= $2
                     ORDER BY last_sent_at LIMIT $3)
                 RETURNING account_id, state",
            )
            .bind(now)
            .bind(sent_before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut due = Vec::with_capacity(claimed.len());
        for (account_id, state) in claimed {
            let row: Option<DueReminder> = with_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT l.account_id, a.username, l.state, l.reason, l.opened_at, l.sent_count
                     FROM account_alerts l JOIN accounts a ON a.id = l.account_id
                     WHERE l.account_id = $1 AND l.state = $2",
                )
                .bind(account_id.as_str())
                .bind(state.as_str())
                .fetch_optional(pool)
                .await?
            });
            due.extend(row);
        }
        Ok(due)
    }

    /// Queues `messages` about (`account_id`, `state`): a reminder, or a test message.
    pub async fn queue_alert_messages(
        &self,
        account_id: Option<&str>,
        state: &str,
        messages: &[NewAlertMessage],
        now: i64,
    ) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            queue_messages!(tx, account_id, state, messages, now);
        });
        Ok(())
    }

    /// Claims up to `limit` messages due at `now` that no live lease holds, leasing them until
    /// `lease_until` and counting the attempt. The lease is re-checked by the update itself, so
    /// two replicas never hold the same message.
    pub async fn claim_alert_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<AlertDeliveryRow>, StoreError> {
        let claim = format!(
            "UPDATE alert_deliveries SET lease_until = $2, attempts = attempts + 1
             WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
                AND (lease_until IS NULL OR lease_until <= $1)
                AND id IN (SELECT id FROM alert_deliveries
                    WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
                        AND (lease_until IS NULL OR lease_until <= $1)
                    ORDER BY next_attempt_at, id LIMIT $3)
             RETURNING {DELIVERY_COLUMNS}"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(claim.as_str()))
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Records a message as sent.
    pub async fn alert_delivery_sent(&self, id: &str, now: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE alert_deliveries SET sent_at = $2, lease_until = NULL, last_error = NULL
                 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up when that is `None`.
    pub async fn alert_delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE alert_deliveries SET lease_until = NULL, last_error = $2,
                    next_attempt_at = COALESCE($3, next_attempt_at),
                    gave_up_at = CASE WHEN $3 IS NULL THEN $4 ELSE NULL END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(retry_at)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The queued messages of an account, oldest first (sent or not): what was said to whom.
    pub async fn alert_deliveries_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<AlertDeliveryRow>, StoreError> {
        let query = format!(
            "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE account_id = $1
             ORDER BY created_at, id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(query.as_str()))
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}
