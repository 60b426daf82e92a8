//! Holding and releasing an account's posts as a whole. When an account cannot publish (it needs
//! reconnecting, or its credential belongs to another app) its queued posts are held; when it can
//! again, one post goes first as a canary, and the rest follow only once that one has published.

use crate::claim::{TOUCH_ACCOUNT, TOUCH_ACCOUNT_FROM_STATUS};
use crate::posts::PostRow;
use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// Inside a write transaction `$tx`: every held post of `$account` goes back to the queue (its
/// ready-queue time lowered first, as every transition that queues posts does); evaluates to how
/// many. A macro for the same reason as `write_tx`: the body runs on either backend's
/// transaction type.
macro_rules! release_held_posts {
    ($tx:ident, $account:expr, $now:expr) => {{
        sqlx::query(TOUCH_ACCOUNT_FROM_STATUS)
            .bind($account)
            .bind(PostRow::HELD)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "UPDATE posts SET status = 'queued', held_reason = NULL, updated_at = $2
             WHERE account_id = $1 AND status = 'held'",
        )
        .bind($account)
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    }};
}

impl Store {
    /// Holds every queued post of an account (it needs reconnecting, or its credential belongs
    /// to another app), each with the class and reason as its last error. Returns how many.
    pub async fn hold_account_posts(
        &self,
        account_id: &str,
        error_class: &str,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let held = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE posts SET status = 'held', held_reason = $2, last_error_class = $4,
                    last_error_message = $2, updated_at = $3
                 WHERE account_id = $1 AND status = 'queued'",
            )
            .bind(account_id)
            .bind(reason)
            .bind(now)
            .bind(error_class)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(held)
    }

    /// After a reconnect: releases the account's oldest held post as a canary (queued, due now)
    /// and keeps the rest held until it publishes. A canary already queued or publishing is
    /// returned instead of releasing another. `None` when nothing is held, and when the
    /// account's canary already published after its posts were held: then the held posts all go
    /// back to the queue, as [`Store::release_account_posts`] does once the canary publishes.
    /// Without that, a sweep or a second reconnect event arriving between the canary's
    /// completion and that release would send a second canary.
    pub async fn release_account_posts_with_canary(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let canary = write_tx!(self, tx => {
            let in_flight: Option<String> = sqlx::query_scalar(
                "SELECT id FROM posts WHERE account_id = $1 AND canary = TRUE
                    AND status IN ('queued', 'publishing')
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
            let proven: bool = if in_flight.is_some() {
                false
            } else {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM posts c
                        WHERE c.account_id = $1 AND c.canary = TRUE AND c.status = 'published'
                          AND c.published_at >= (SELECT MAX(h.updated_at) FROM posts h
                              WHERE h.account_id = $1 AND h.status = 'held'))",
                )
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?
            };
            match in_flight {
                Some(id) => Some(id),
                None if proven => {
                    release_held_posts!(tx, account_id, now);
                    None
                }
                None => {
                    let oldest: Option<(String, i64)> = sqlx::query_as(
                        "SELECT id, next_attempt_at FROM posts
                         WHERE account_id = $1 AND status = 'held'
                         ORDER BY next_attempt_at, created_at, id LIMIT 1",
                    )
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((id, due)) = &oldest {
                        sqlx::query(TOUCH_ACCOUNT)
                            .bind(account_id)
                            .bind((*due).min(now))
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(
                            "UPDATE posts SET status = 'queued', canary = TRUE, held_reason = NULL,
                                next_attempt_at = CASE WHEN next_attempt_at < $2
                                    THEN next_attempt_at ELSE $2 END,
                                updated_at = $2
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    oldest.map(|(id, _)| id)
                }
            }
        });
        Ok(canary)
    }

    /// Accounts whose status is usable (`active` or `refreshing`) yet still have held posts
    /// and no canary on its way: a reconnect whose release was missed (its event went to a
    /// process that stopped, or arrived out of turn), or an account whose credential does not
    /// fit the configuration. Each with its last error's class. Few rows: held posts are rare.
    pub async fn usable_accounts_with_held_posts(
        &self,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let ids = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT DISTINCT p.account_id, a.last_error_class FROM posts p
                 JOIN accounts a ON a.id = p.account_id
                 WHERE p.status = 'held' AND a.status IN ('active', 'refreshing')
                   AND NOT EXISTS (
                       SELECT 1 FROM posts c WHERE c.account_id = p.account_id
                          AND c.canary = TRUE AND c.status IN ('queued', 'publishing'))",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(ids)
    }

    /// Releases every held post of an account (after its canary published). Returns how many.
    /// Posts keep their `next_attempt_at`, so scheduled posts still wait for their time.
    pub async fn release_account_posts(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let released = write_tx!(self, tx => release_held_posts!(tx, account_id, now));
        Ok(released)
    }
}
