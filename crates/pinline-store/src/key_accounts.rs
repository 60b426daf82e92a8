//! The accounts an API key is bound to (none: every account of its profile). Tools' keys are
//! bound so that a key handed to one workflow reaches only the accounts that workflow is for.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

impl Store {
    /// Binds `key_id` to exactly `account_ids` (an empty list unbinds it).
    pub async fn bind_api_key_accounts(
        &self,
        key_id: &str,
        account_ids: &[String],
    ) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM api_key_accounts WHERE api_key_id = $1")
                .bind(key_id)
                .execute(&mut *tx)
                .await?;
            for account_id in account_ids {
                sqlx::query(
                    "INSERT INTO api_key_accounts (api_key_id, account_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                )
                .bind(key_id)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// The accounts `key_id` is bound to, in id order; empty when it is not bound.
    pub async fn api_key_accounts(&self, key_id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id FROM api_key_accounts WHERE api_key_id = $1 ORDER BY account_id",
            )
            .bind(key_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
