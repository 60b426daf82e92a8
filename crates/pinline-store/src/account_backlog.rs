//! One account's queue at a glance, for the rate meter: how many posts are due now, in flight,
//! waiting for budget after a 429, scheduled later and held, and until when the account's
//! Pinterest budget keeps its posts back.
//! Counted through the `posts_by_account` index, so the cost follows the account's own posts.

use crate::sql::with_pool;
use crate::{Store, StoreError};

/// The counts of one account's queue at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountBacklog {
    /// Queued posts whose time has come.
    pub due_now: i64,
    /// Posts a worker is publishing.
    pub publishing: i64,
    /// Queued posts whose last attempt was refused for the rate limit, waiting for budget to
    /// try again: part of the backlog, however far their next attempt is.
    pub waiting_for_budget: i64,
    /// When the earliest of those may be tried again, unix milliseconds.
    pub next_retry_at: Option<i64>,
    /// Queued posts scheduled later (retries for the rate limit left out).
    pub scheduled: i64,
    /// Posts held (an account that needs reconnecting, say).
    pub held: i64,
    /// When the earliest post scheduled later is due, unix milliseconds.
    pub next_scheduled_at: Option<i64>,
    /// No claim takes the account's posts before this (its budget was spent), unix
    /// milliseconds; None when nothing holds them back.
    pub not_before: Option<i64>,
}

/// The row of the counting query: due now, publishing, waiting for budget, its earliest retry,
/// scheduled, held (counts are NULL when the account has no such posts), and the earliest
/// scheduled time.
type Counts = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

impl Store {
    /// `account_id`'s queue at `now`.
    pub async fn account_backlog(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<AccountBacklog, StoreError> {
        let (due_now, publishing, waiting, next_retry_at, scheduled, held, next_scheduled_at): Counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT
                    SUM(CASE WHEN status = 'queued' AND next_attempt_at <= $2 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN status = 'publishing' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN status = 'queued' AND next_attempt_at > $2
                        AND last_error_class = 'rate_limited' THEN 1 ELSE 0 END),
                    MIN(CASE WHEN status = 'queued' AND next_attempt_at > $2
                        AND last_error_class = 'rate_limited' THEN next_attempt_at END),
                    SUM(CASE WHEN status = 'queued' AND next_attempt_at > $2
                        AND COALESCE(last_error_class, '') <> 'rate_limited' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN status = 'held' THEN 1 ELSE 0 END),
                    MIN(CASE WHEN status = 'queued' AND next_attempt_at > $2
                        AND COALESCE(last_error_class, '') <> 'rate_limited'
                        THEN next_attempt_at END)
                 FROM posts
                 WHERE account_id = $1 AND status IN ('queued', 'publishing', 'held')",
            )
            .bind(account_id)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        let not_before: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT not_before FROM account_queue WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(AccountBacklog {
            due_now: due_now.unwrap_or(0),
            publishing: publishing.unwrap_or(0),
            waiting_for_budget: waiting.unwrap_or(0),
            next_retry_at,
            scheduled: scheduled.unwrap_or(0),
            held: held.unwrap_or(0),
            next_scheduled_at,
            not_before: not_before.filter(|at| *at > now),
        })
    }
}
