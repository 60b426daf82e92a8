//! Rate cool-downs shared by replicas: the latest end of a block (Pinterest's `Retry-After` or an
//! exhausted window) per (Pinterest user, category), so that every replica's publisher and
//! passthrough hold off, not only the one that was told.

use crate::StoreError;
use crate::sql::with_pool;
use crate::store::Store;

/// A cool-down: nothing for (`pinterest_user_id`, `category`) before `until_ms`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RateCooldownRow {
    pub pinterest_user_id: String,
    pub category: String,
    pub until_ms: i64,
}

impl Store {
    /// Records a cool-down, keeping the later end when one is already recorded.
    pub async fn record_rate_cooldown(
        &self,
        pinterest_user_id: &str,
        category: &str,
        until_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO rate_cooldowns (pinterest_user_id, category, until_ms)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (pinterest_user_id, category) DO UPDATE SET until_ms =
                    CASE WHEN excluded.until_ms > rate_cooldowns.until_ms
                        THEN excluded.until_ms ELSE rate_cooldowns.until_ms END",
            )
            .bind(pinterest_user_id)
            .bind(category)
            .bind(until_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The cool-downs still running at `now`.
    pub async fn active_rate_cooldowns(
        &self,
        now: i64,
    ) -> Result<Vec<RateCooldownRow>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT pinterest_user_id, category, until_ms FROM rate_cooldowns
                 WHERE until_ms > $1",
            )
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Forgets cool-downs that ended before `before`.
    pub async fn forget_rate_cooldowns(&self, before: i64) -> Result<u64, StoreError> {
        let forgotten = with_pool!(self, pool => {
            sqlx::query("DELETE FROM rate_cooldowns WHERE until_ms < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(forgotten)
    }
}
