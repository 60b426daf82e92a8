//! Accounts' schedules: weekly time slots and the spacing rule, stored as the API gave them
//! (already checked by the queue's `slots` module), one row per account. The row doubles as
//! the lock a placement takes (see `posts::write`).

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// One account's schedule.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduleRow {
    pub account_id: String,
    /// An IANA time zone name.
    pub time_zone: String,
    /// One `"weekday HH:MM"` per line.
    pub slots: String,
    /// Minimum seconds between pins of the same link or image; 0 is no rule.
    pub spacing_secs: i64,
    pub updated_at: i64,
}

impl ScheduleRow {
    /// The slots, one `(weekday, "HH:MM")` each.
    pub fn slot_list(&self) -> Vec<(&str, &str)> {
        self.slots
            .lines()
            .filter_map(|line| line.split_once(' '))
            .collect()
    }
}

pub(crate) const SCHEDULE_COLUMNS: &str = "account_id, time_zone, slots, spacing_secs, updated_at";

impl Store {
    /// The account's schedule, if it has one.
    pub async fn account_schedule(
        &self,
        account_id: &str,
    ) -> Result<Option<ScheduleRow>, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM account_schedules WHERE account_id = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Sets (or replaces) an account's schedule. Posts already placed keep their times.
    pub async fn put_account_schedule(&self, row: &ScheduleRow) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO account_schedules (account_id, time_zone, slots, spacing_secs,
                    updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account_id) DO UPDATE SET time_zone = excluded.time_zone,
                    slots = excluded.slots, spacing_secs = excluded.spacing_secs,
                    updated_at = excluded.updated_at",
            )
            .bind(&row.account_id)
            .bind(&row.time_zone)
            .bind(&row.slots)
            .bind(row.spacing_secs)
            .bind(row.updated_at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The times of the account's posts still to publish, after `now` (the slots they take).
    pub async fn booked_times(&self, account_id: &str, now: i64) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(crate::posts::BOOKED)
                .bind(account_id)
                .bind(now)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Removes an account's schedule; true when there was one.
    pub async fn delete_account_schedule(&self, account_id: &str) -> Result<bool, StoreError> {
        let deleted = write_tx!(self, tx => {
            sqlx::query("DELETE FROM account_schedules WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }
}
