//! What an embedding app said about the person behind an account (embeddable connect): its own
//! id for them and a small JSON object. Kept per Pinterest identity, not per account row, so it
//! can be written before the connect's account row and event exist: every account event's
//! webhook then finds it (see `outbox`), the `account.connected` of that very connect included.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// The identity an account row is unique by.
#[derive(Debug, Clone, Copy)]
pub struct AccountIdentity<'a> {
    pub profile_id: &'a str,
    pub environment: &'a str,
    pub client_id: &'a str,
    pub pinterest_user_id: &'a str,
}

/// One account's link, with the id of the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountLinkRow {
    pub account_id: String,
    pub external_id: Option<String>,
    pub metadata: Option<String>,
}

impl Store {
    /// Records (or replaces) what the embedding app said about `identity`.
    pub async fn upsert_account_link(
        &self,
        identity: &AccountIdentity<'_>,
        external_id: Option<&str>,
        metadata: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO account_links (profile_id, environment, client_id,
                    pinterest_user_id, external_id, metadata, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (profile_id, environment, client_id, pinterest_user_id)
                 DO UPDATE SET external_id = excluded.external_id,
                    metadata = excluded.metadata, updated_at = excluded.updated_at",
            )
            .bind(identity.profile_id)
            .bind(identity.environment)
            .bind(identity.client_id)
            .bind(identity.pinterest_user_id)
            .bind(external_id)
            .bind(metadata)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The links of a profile's accounts.
    pub async fn account_links(&self, profile_id: &str) -> Result<Vec<AccountLinkRow>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id AS account_id, l.external_id, l.metadata
                 FROM account_links l
                 JOIN accounts a ON a.profile_id = l.profile_id
                    AND a.environment = l.environment AND a.client_id = l.client_id
                    AND a.pinterest_user_id = l.pinterest_user_id
                 WHERE l.profile_id = $1",
            )
            .bind(profile_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
