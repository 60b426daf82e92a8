//! Instance-wide key/value metadata (`app_meta`), such as this installation's id.

use time::OffsetDateTime;

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

const UPSERT: &str = "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const INSERT_IF_ABSENT: &str = "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (key) DO NOTHING";

impl Store {
    /// Reads one metadata value.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    /// Writes one metadata value, replacing any previous one.
    pub async fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        write_tx!(self, tx => {
            sqlx::query(UPSERT).bind(key).bind(value).bind(now).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Returns the value stored under `key`, first storing `make()` there if there was none.
    /// Concurrent callers (threads or processes) all get the same winning value.
    pub async fn meta_get_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        let candidate = make();
        let now = OffsetDateTime::now_utc();
        write_tx!(self, tx => {
            sqlx::query(INSERT_IF_ABSENT)
                .bind(key)
                .bind(&candidate)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        self.meta_get(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("app_meta row `{key}` vanished")))
    }
}
