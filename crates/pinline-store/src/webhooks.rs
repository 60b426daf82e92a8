//! Webhooks, their delivery queue and the delivery log.
//!
//! A webhook belongs to one profile, and every function here that takes a `profile_id` is scoped
//! by it: another profile's webhook or delivery is "not found", never an error that confirms it
//! exists. Events fan out to deliveries inside one transaction ([`Store::enqueue_webhook_event`]),
//! so an event reaches either all of its matching webhooks or none. Workers lease due deliveries
//! ([`Store::claim_due_webhook_deliveries`]): on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
//! replicas never claim the same row; on SQLite the write transaction already serializes claims.
//! A lease is a time, not a lock: a worker that dies mid-delivery leaves a lease that simply
//! expires, and the delivery is tried again (delivery is at least once).

use crate::sql::{fan_out_to_webhooks, with_pool, write_tx};
use crate::{Backend, Store, StoreError};

/// One webhook. `secret_sealed` is a key-ring ciphertext, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub profile_id: String,
    pub url: String,
    pub secret_sealed: String,
    /// Comma-separated event names, or `*` for every event.
    pub events: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// Why it was disabled: by its profile, or after a run of given-up deliveries.
    pub disabled_reason: Option<String>,
    /// Given-up deliveries since the last delivered one.
    pub failed_in_a_row: i64,
    /// The secret before the last rotation, still signing beside the new one until
    /// `previous_secret_until`.
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<i64>,
}

impl WebhookRow {
    /// True when this webhook subscribes to `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events
            .split(',')
            .map(str::trim)
            .any(|wanted| wanted == "*" || wanted == event)
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookDeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub profile_id: String,
    pub event: String,
    /// The exact JSON body that is signed and sent.
    pub payload: String,
    /// [`Self::PENDING`], [`Self::DELIVERED`] or [`Self::FAILED`].
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

impl WebhookDeliveryRow {
    /// Status of a delivery waiting for its next attempt (possibly leased by a worker).
    pub const PENDING: &'static str = "pending";
    /// Status of a delivery the receiver acknowledged with a 2xx.
    pub const DELIVERED: &'static str = "delivered";
    /// Status of a delivery that used up its attempts.
    pub const FAILED: &'static str = "failed";
}

/// One HTTP attempt of a delivery: the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookAttemptRow {
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    pub at: i64,
    /// The receiver's HTTP status, when it answered at all.
    pub status_code: Option<i64>,
    /// Why the attempt failed (non-2xx, timeout, connection refused, …); never a secret.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// The outcome of one attempt, as [`Store::record_webhook_attempt`] records it.
#[derive(Debug, Clone)]
pub struct WebhookAttemptResult<'a> {
    pub delivery_id: &'a str,
    /// When the attempt started.
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
    /// True when the receiver acknowledged the delivery.
    pub succeeded: bool,
    /// When to try again if this attempt failed and attempts remain.
    pub retry_at: i64,
    /// After this many failed attempts the delivery is marked failed.
    pub max_attempts: i64,
    /// After this many deliveries given up in a row, the webhook is disabled.
    pub disable_after: i64,
    /// The `webhook.disabled` event for the profile's other webhooks, queued in the same
    /// transaction if this attempt disables the webhook.
    pub disabled_event_payload: Option<&'a str>,
}

/// The event that tells a profile's other webhooks one of them was disabled.
pub const WEBHOOK_DISABLED_EVENT: &str = "webhook.disabled";

pub(crate) const WEBHOOK_COLUMNS: &str = "id, profile_id, url, secret_sealed, events, created_at, \
     disabled_at, disabled_reason, failed_in_a_row, previous_secret_sealed, previous_secret_until";

/// A change to a webhook, as [`Store::update_webhook`] applies it; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    /// `Some(true)` enables (and forgets past failures), `Some(false)` disables.
    pub enabled: Option<bool>,
    /// A new sealed secret; the current one is kept as the previous until `previous_until`.
    pub new_secret_sealed: Option<String>,
    pub previous_until: Option<i64>,
}

/// A webhook that a given-up delivery has just disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDisabled {
    pub webhook_id: String,
    pub profile_id: String,
    pub failed_in_a_row: i64,
}
const DELIVERY_COLUMNS: &str = "id, webhook_id, profile_id, event, payload, status, attempts, \
     next_attempt_at, lease_until, last_status_code, last_error, created_at, delivered_at";

impl Store {
    /// Creates the profile row `id` if it does not exist. Used by tests and by the profile
    /// layer.
    pub async fn ensure_profile(&self, id: &str, name: &str, now: i64) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO profiles (id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Stores a new webhook; its secret must already be sealed for its id.
    /// Stores a new webhook unless its profile already has `max_per_profile`; false then. The
    /// count and the insert are one transaction, so racing creations cannot pass the cap.
    pub async fn create_webhook(
        &self,
        row: &WebhookRow,
        max_per_profile: i64,
    ) -> Result<bool, StoreError> {
        let inserted = write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO webhooks
                    (id, profile_id, url, secret_sealed, events, created_at, disabled_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE (SELECT COUNT(*) FROM webhooks WHERE profile_id = $2) < $8",
            )
            .bind(&row.id)
            .bind(&row.profile_id)
            .bind(&row.url)
            .bind(&row.secret_sealed)
            .bind(&row.events)
            .bind(row.created_at)
            .bind(row.disabled_at)
            .bind(max_per_profile)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Applies `changes` to a webhook of a profile; `None` when the profile has no such webhook.
    /// Enabling forgets past failures; disabling records that its profile did it.
    pub async fn update_webhook(
        &self,
        profile_id: &str,
        webhook_id: &str,
        changes: &WebhookChanges,
        now: i64,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let update = format!(
            "UPDATE webhooks SET
                url = COALESCE($3, url),
                events = COALESCE($4, events),
                disabled_at = CASE WHEN $5 = 1 THEN NULL
                                   WHEN $5 = 0 THEN COALESCE(disabled_at, $6)
                                   ELSE disabled_at END,
                disabled_reason = CASE WHEN $5 = 1 THEN NULL
                                       WHEN $5 = 0 THEN 'disabled by its profile'
                                       ELSE disabled_reason END,
                failed_in_a_row = CASE WHEN $5 = 1 THEN 0 ELSE failed_in_a_row END,
                previous_secret_sealed = CASE WHEN $7 IS NULL THEN previous_secret_sealed
                                              ELSE secret_sealed END,
                previous_secret_until = CASE WHEN $7 IS NULL THEN previous_secret_until
                                             ELSE $8 END,
                secret_sealed = COALESCE($7, secret_sealed)
             WHERE id = $1 AND profile_id = $2
             RETURNING {WEBHOOK_COLUMNS}"
        );
        // -1 keeps the state; 1 enables; 0 disables.
        let enabled: i64 = match changes.enabled {
            None => -1,
            Some(true) => 1,
            Some(false) => 0,
        };
        let row = write_tx!(self, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(update.as_str()))
                .bind(webhook_id)
                .bind(profile_id)
                .bind(changes.url.as_deref())
                .bind(changes.events.as_deref())
                .bind(enabled)
                .bind(now)
                .bind(changes.new_secret_sealed.as_deref())
                .bind(changes.previous_until)
                .fetch_optional(&mut *tx)
                .await?
        });
        Ok(row)
    }

    /// Sends a delivery again from its first attempt, due at `now` (a given-up or delivered one
    /// is pending again; a pending one is due at once). A lease held by a worker mid-attempt is
    /// kept, so the attempt in flight is not doubled. `None` when the profile's webhook has no
    /// such delivery.
    pub async fn redeliver_webhook_delivery(
        &self,
        profile_id: &str,
        webhook_id: &str,
        delivery_id: &str,
        now: i64,
    ) -> Result<Option<WebhookDeliveryRow>, StoreError> {
        let update = format!(
            "UPDATE webhook_deliveries SET
                attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END,
                status = 'pending', next_attempt_at = $4, delivered_at = NULL
             WHERE id = $1 AND webhook_id = $2 AND profile_id = $3
             RETURNING {DELIVERY_COLUMNS}"
        );
        let row = write_tx!(self, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(update.as_str()))
                .bind(delivery_id)
                .bind(webhook_id)
                .bind(profile_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
        });
        Ok(row)
    }

    /// A profile's webhooks, oldest first.
    pub async fn list_webhooks(&self, profile_id: &str) -> Result<Vec<WebhookRow>, StoreError> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE profile_id = $1 ORDER BY created_at, id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(profile_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// One webhook of a profile; `None` when it does not exist in that profile.
    pub async fn get_webhook(
        &self,
        profile_id: &str,
        webhook_id: &str,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let sql =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND profile_id = $2");
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(webhook_id)
                .bind(profile_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Up to `limit` webhooks (any profile) with an id after `after_id` whose secret is sealed
    /// with a key other than `current_key_id`, in id order, for re-encryption after a key
    /// rotation.
    pub async fn webhooks_sealed_with_other_keys(
        &self,
        current_key_id: &str,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let prefix = format!("v1.{current_key_id}.%");
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks
             WHERE id > $2 AND secret_sealed NOT LIKE $1
             ORDER BY id
             LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&prefix)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Replaces a webhook's sealed secret, only if it is still `expected` (two replicas
    /// re-sealing at once must not matter). Returns whether the row was updated.
    pub async fn reseal_webhook_secret(
        &self,
        webhook_id: &str,
        expected: &str,
        sealed: &str,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query("UPDATE webhooks SET secret_sealed = $3 WHERE id = $1 AND secret_sealed = $2")
                .bind(webhook_id)
                .bind(expected)
                .bind(sealed)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Deletes a webhook of a profile with its deliveries and their log; false when there is no
    /// such webhook in that profile.
    pub async fn delete_webhook(
        &self,
        profile_id: &str,
        webhook_id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = write_tx!(self, tx => {
            sqlx::query("DELETE FROM webhooks WHERE id = $1 AND profile_id = $2")
                .bind(webhook_id)
                .bind(profile_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(deleted == 1)
    }

    /// Queues `payload` for every enabled webhook of the profile that wants `event`, in one
    /// transaction, due at once. Returns the new delivery ids (empty when nobody listens).
    pub async fn enqueue_webhook_event(
        &self,
        profile_id: &str,
        event: &str,
        payload: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let ids = write_tx!(self, tx => {
            fan_out_to_webhooks!(tx, profile_id, event, payload, now)
        });
        Ok(ids)
    }

    /// Leases up to `limit` pending deliveries that are due at `now` and not leased by a live
    /// worker, until `now + lease_ms`, oldest due first. A lease that expires (its worker died)
    /// makes the delivery claimable again.
    pub async fn claim_due_webhook_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDeliveryRow>, StoreError> {
        // PostgreSQL: rows another replica is claiming right now are skipped, not waited for.
        // SQLite: BEGIN IMMEDIATE already makes each claim exclusive, and it has no row locks.
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        // Turns across profiles: each profile's due deliveries are numbered oldest first, and
        // every profile's first goes before any profile's second, so one profile's backlog
        // (a receiver that is down, a burst of events) cannot hold back another's. Deliveries
        // of a disabled webhook wait, pending, until it is enabled again.
        let sql = format!(
            "UPDATE webhook_deliveries SET lease_until = $2
             WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE id IN (
                     SELECT id FROM (
                         SELECT d.id, d.next_attempt_at,
                             ROW_NUMBER() OVER (
                                 PARTITION BY d.profile_id ORDER BY d.next_attempt_at, d.id
                             ) AS turn
                         FROM webhook_deliveries d
                         JOIN webhooks w ON w.id = d.webhook_id AND w.disabled_at IS NULL
                         WHERE d.status = 'pending' AND d.next_attempt_at <= $1
                           AND (d.lease_until IS NULL OR d.lease_until <= $1)
                     ) ranked
                     ORDER BY turn, next_attempt_at, id
                     LIMIT $3
                 )
                 -- Again at the locking level: a row another claim leased after this
                 -- statement's snapshot is re-checked here (PostgreSQL re-evaluates this level's
                 -- conditions on the row's newest version), not in the ranking above.
                 AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $1)
                 {lock}
             )
             RETURNING {DELIVERY_COLUMNS}"
        );
        let mut rows: Vec<WebhookDeliveryRow> = write_tx!(self, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now)
                .bind(now + lease_ms)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
        });
        // RETURNING gives no order guarantee.
        rows.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        Ok(rows)
    }

    /// Logs one attempt and moves the delivery on: delivered on success; otherwise failed once
    /// it has used `max_attempts`, else pending again at `retry_at` with its lease released.
    /// Returns the updated delivery, or `None` when it is no longer pending (delivered or given
    /// up by another worker whose lease overlapped, or deleted with its webhook).
    ///
    /// A delivered attempt resets the webhook's run of failures; a given-up delivery extends it,
    /// and the one that makes it `disable_after` long disables the webhook and queues
    /// `disabled_event_payload` for the profile's other webhooks, in the same transaction.
    pub async fn record_webhook_attempt(
        &self,
        result: &WebhookAttemptResult<'_>,
    ) -> Result<(Option<WebhookDeliveryRow>, Option<WebhookDisabled>), StoreError> {
        let update = format!(
            "UPDATE webhook_deliveries
             SET attempts = attempts + 1, lease_until = NULL, last_status_code = $2,
                 last_error = $3
             WHERE id = $1 AND status = 'pending'
             RETURNING {DELIVERY_COLUMNS}"
        );
        let row = write_tx!(self, tx => {
            let row: Option<WebhookDeliveryRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(update.as_str()))
                    .bind(result.delivery_id)
                    .bind(result.status_code)
                    .bind(result.error)
                    .fetch_optional(&mut *tx)
                    .await?;
            match row {
                None => (None, None),
                Some(mut row) => {
                    if result.succeeded {
                        row.status = WebhookDeliveryRow::DELIVERED.to_owned();
                        row.delivered_at = Some(result.at);
                    } else if row.attempts >= result.max_attempts {
                        row.status = WebhookDeliveryRow::FAILED.to_owned();
                    } else {
                        row.next_attempt_at = result.retry_at;
                    }
                    sqlx::query(
                        "UPDATE webhook_deliveries
                         SET status = $2, next_attempt_at = $3, delivered_at = $4
                         WHERE id = $1",
                    )
                    .bind(&row.id)
                    .bind(&row.status)
                    .bind(row.next_attempt_at)
                    .bind(row.delivered_at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO webhook_attempts
                            (delivery_id, attempt, at, status_code, error, duration_ms)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&row.id)
                    .bind(row.attempts)
                    .bind(result.at)
                    .bind(result.status_code)
                    .bind(result.error)
                    .bind(result.duration_ms)
                    .execute(&mut *tx)
                    .await?;
                    let mut disabled = None;
                    if row.status == WebhookDeliveryRow::DELIVERED {
                        sqlx::query(
                            "UPDATE webhooks SET failed_in_a_row = 0
                             WHERE id = $1 AND failed_in_a_row <> 0",
                        )
                        .bind(&row.webhook_id)
                        .execute(&mut *tx)
                        .await?;
                    } else if row.status == WebhookDeliveryRow::FAILED {
                        let (failed, now_disabled): (i64, bool) = sqlx::query_as(
                            "UPDATE webhooks SET failed_in_a_row = failed_in_a_row + 1,
                                disabled_reason = CASE
                                    WHEN disabled_at IS NULL AND failed_in_a_row + 1 >= $2
                                    THEN 'disabled after ' || $2 || ' deliveries in a row were given up'
                                    ELSE disabled_reason END,
                                disabled_at = CASE
                                    WHEN disabled_at IS NULL AND failed_in_a_row + 1 >= $2
                                    THEN $3 ELSE disabled_at END
                             WHERE id = $1
                             RETURNING failed_in_a_row, COALESCE(disabled_at = $3, FALSE)",
                        )
                        .bind(&row.webhook_id)
                        .bind(result.disable_after)
                        .bind(result.at)
                        .fetch_optional(&mut *tx)
                        .await?
                        .unwrap_or((0, false));
                        if now_disabled && failed == result.disable_after {
                            if let Some(payload) = result.disabled_event_payload {
                                fan_out_to_webhooks!(
                                    tx,
                                    &row.profile_id,
                                    WEBHOOK_DISABLED_EVENT,
                                    payload,
                                    result.at
                                );
                            }
                            disabled = Some(WebhookDisabled {
                                webhook_id: row.webhook_id.clone(),
                                profile_id: row.profile_id.clone(),
                                failed_in_a_row: failed,
                            });
                        }
                    }
                    (Some(row), disabled)
                }
            }
        });
        Ok(row)
    }

    /// A profile's deliveries, newest first, optionally of one webhook only.
    pub async fn list_webhook_deliveries(
        &self,
        profile_id: &str,
        webhook_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WebhookDeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE profile_id = $1 AND ($2 IS NULL OR webhook_id = $2)
             ORDER BY created_at DESC, id DESC
             LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(profile_id)
                .bind(webhook_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// One delivery of a profile; `None` when it does not exist in that profile.
    pub async fn get_webhook_delivery(
        &self,
        profile_id: &str,
        delivery_id: &str,
    ) -> Result<Option<WebhookDeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND profile_id = $2"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(delivery_id)
                .bind(profile_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// The attempt log of one delivery of a profile, first attempt first; empty when the
    /// delivery does not exist in that profile.
    pub async fn list_webhook_attempts(
        &self,
        profile_id: &str,
        delivery_id: &str,
    ) -> Result<Vec<WebhookAttemptRow>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms
                 FROM webhook_attempts a
                 JOIN webhook_deliveries d ON d.id = a.delivery_id
                 WHERE a.delivery_id = $1 AND d.profile_id = $2
                 ORDER BY a.attempt",
            )
            .bind(delivery_id)
            .bind(profile_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(events: &str) -> WebhookRow {
        WebhookRow {
            id: "w".into(),
            profile_id: "p".into(),
            url: "https://example.invalid/hook".into(),
            secret_sealed: "v1.k.x".into(),
            events: events.into(),
            created_at: 0,
            disabled_at: None,
            disabled_reason: None,
            failed_in_a_row: 0,
            previous_secret_sealed: None,
            previous_secret_until: None,
        }
    }

    #[test]
    fn event_filters_match_names_or_everything() {
        assert!(webhook("*").wants("post.published"));
        assert!(webhook("post.failed,post.published").wants("post.published"));
        assert!(webhook("post.failed, post.published").wants("post.published"));
        assert!(!webhook("post.failed").wants("post.published"));
        assert!(!webhook("post").wants("post.published"));
    }
}
