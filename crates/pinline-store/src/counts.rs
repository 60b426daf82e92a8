//! Counts for the metrics endpoint, each cheap at any size: posts of a status still to do (a
//! range of the `posts_due` index, never a scan of published posts), accounts by status (one row
//! per account), and webhook deliveries waiting (the partial index of pending deliveries).

use std::collections::BTreeMap;

use crate::sql::with_pool;
use crate::{Store, StoreError};

impl Store {
    /// How many posts have `status`. Meant for the statuses of work still to do (`queued`,
    /// `publishing`, `held`): it reads the part of the status index that holds them.
    pub async fn count_posts_with_status(&self, status: &str) -> Result<i64, StoreError> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE status = $1")
                .bind(status)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// How many accounts have each status.
    pub async fn account_counts_by_status(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM accounts GROUP BY status")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// How many webhook deliveries wait for their next attempt.
    pub async fn count_pending_deliveries(&self) -> Result<i64, StoreError> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
