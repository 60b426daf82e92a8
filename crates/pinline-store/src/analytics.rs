//! Pinterest analytics kept as daily snapshots, one row per account, pin (`''` for the whole
//! account) and UTC day, so that a repeated read (a chart redrawn, `pinline posts show` run
//! again) is answered from here instead of spending the account's analytics budget. When a day's
//! row may be served and when it must be read again is the caller's rule; this module only keeps
//! the rows.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// One stored day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AnalyticsDayRow {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Pinterest's word for the day's data (`READY`, `ESTIMATE`, …).
    pub data_status: String,
    /// A JSON object of metric name to number.
    pub metrics: String,
    /// When it was read from Pinterest, unix milliseconds.
    pub fetched_at: i64,
}

/// One day to store.
#[derive(Debug, Clone, Copy)]
pub struct NewAnalyticsDay<'a> {
    pub day: &'a str,
    pub data_status: &'a str,
    pub metrics: &'a str,
}

impl Store {
    /// The stored days of `account_id`'s `pin_id` (`""` for the account) from `first_day` to
    /// `last_day` inclusive (`YYYY-MM-DD`, which sorts as text), in day order.
    pub async fn analytics_days(
        &self,
        account_id: &str,
        pin_id: &str,
        first_day: &str,
        last_day: &str,
    ) -> Result<Vec<AnalyticsDayRow>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, data_status, metrics, fetched_at FROM analytics_days
                 WHERE account_id = $1 AND pin_id = $2 AND day >= $3 AND day <= $4
                 ORDER BY day",
            )
            .bind(account_id)
            .bind(pin_id)
            .bind(first_day)
            .bind(last_day)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Stores (or replaces) days read from Pinterest at `now`, in one transaction.
    pub async fn save_analytics_days(
        &self,
        account_id: &str,
        pin_id: &str,
        days: &[NewAnalyticsDay<'_>],
        now: i64,
    ) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        write_tx!(self, tx => {
            for day in days {
                sqlx::query(
                    "INSERT INTO analytics_days
                        (account_id, pin_id, day, data_status, metrics, fetched_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (account_id, pin_id, day) DO UPDATE SET
                        data_status = excluded.data_status, metrics = excluded.metrics,
                        fetched_at = excluded.fetched_at",
                )
                .bind(account_id)
                .bind(pin_id)
                .bind(day.day)
                .bind(day.data_status)
                .bind(day.metrics)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }
}
