//! Instance-wide key/value metadata (`app_meta`), such as this installation's id.

use time::OffsetDateTime;

use crate::store::{Pools, Store};
use crate::StoreError;

impl Store {
    /// Reads one metadata value.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value = match &self.pools {
            Pools::Sqlite { pool, .. } => {
                sqlx::query_scalar("SELECT value FROM app_meta WHERE key = ?")
                    .bind(key)
                    .fetch_optional(pool)
                    .await?
            }
            Pools::Postgres(pool) => {
                sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
                    .bind(key)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(value)
    }

    /// Writes one metadata value, replacing any previous one.
    pub async fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        match &self.pools {
            Pools::Sqlite { pool, writer } => {
                let mut write = Store::sqlite_write(pool, writer).await?;
                sqlx::query(
                    "INSERT INTO app_meta (key, value, updated_at) VALUES (?, ?, ?)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                    updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(&mut *write.tx)
                .await?;
                write.commit().await?;
            }
            Pools::Postgres(pool) => {
                let mut tx = Store::postgres_write(pool).await?;
                sqlx::query(
                    "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                    updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
        }
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
        match &self.pools {
            Pools::Sqlite { pool, writer } => {
                let mut write = Store::sqlite_write(pool, writer).await?;
                sqlx::query(
                    "INSERT INTO app_meta (key, value, updated_at) VALUES (?, ?, ?)
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(&candidate)
                .bind(now)
                .execute(&mut *write.tx)
                .await?;
                write.commit().await?;
            }
            Pools::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(&candidate)
                .bind(now)
                .execute(pool)
                .await?;
            }
        }
        self.meta_get(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("app_meta row `{key}` vanished")))
    }
}
