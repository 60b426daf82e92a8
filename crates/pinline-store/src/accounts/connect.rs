//! An account arriving and leaving: the row a completed connect stores (or updates in place for
//! the same Pinterest user, keeping its id and posts), and the erasure of its tokens when it is
//! disconnected.

use crate::sql::write_tx;
use crate::{Store, StoreError};

use super::{ConnectedAccount, NewAccountEvent, RefreshTokenKind, SealedTokens};

impl Store {
    /// Stores a freshly connected account, or updates the existing row for the same Pinterest
    /// user (same profile, environment and app) in place, keeping its id and posts. `seal` gets
    /// the account id and returns the tokens sealed for that row. `events` are recorded for the
    /// account in the same transaction. Returns the account id.
    pub async fn upsert_connected_account(
        &self,
        account: &ConnectedAccount<'_>,
        new_id: &str,
        events: &[NewAccountEvent<'_>],
        now: i64,
        seal: impl Fn(&str) -> SealedTokens,
    ) -> Result<String, StoreError> {
        let select = "SELECT id FROM accounts WHERE profile_id = $1 AND environment = $2
                 AND client_id = $3 AND pinterest_user_id = $4";
        let id = write_tx!(self, tx => {
            let mut existing: Option<String> = sqlx::query_scalar(select)
                .bind(account.profile_id)
                .bind(account.environment)
                .bind(account.client_id)
                .bind(account.pinterest_user_id)
                .fetch_optional(&mut *tx)
                .await?;
            let mut created = false;
            if existing.is_none() {
                let sealed = seal(new_id);
                // DO NOTHING: two callbacks for the same person at once (a double click on
                // PostgreSQL, where this transaction does not lock the table) must end in one
                // row updated twice, not in a unique-constraint error for the second.
                let inserted = sqlx::query(
                    "INSERT INTO accounts (id, profile_id, environment, client_id,
                        pinterest_user_id, username, scopes, status, access_token_sealed,
                        refresh_token_sealed, access_expires_at, refresh_expires_at,
                        token_version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, 1, $12, $12)
                     ON CONFLICT (profile_id, environment, client_id, pinterest_user_id)
                     DO NOTHING",
                )
                .bind(new_id)
                .bind(account.profile_id)
                .bind(account.environment)
                .bind(account.client_id)
                .bind(account.pinterest_user_id)
                .bind(account.username)
                .bind(account.scopes)
                .bind(&sealed.access)
                .bind(&sealed.refresh)
                .bind(account.access_expires_at)
                .bind(account.refresh_expires_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                existing = if inserted == 1 {
                    None
                } else {
                    sqlx::query_scalar(select)
                        .bind(account.profile_id)
                        .bind(account.environment)
                        .bind(account.client_id)
                        .bind(account.pinterest_user_id)
                        .fetch_optional(&mut *tx)
                        .await?
                };
                if inserted == 1 {
                    created = true;
                }
            }
            // (An early return here would skip the commit: the body only computes the id.)
            if !created {
                let id = existing.clone().ok_or(StoreError::NotFound("account"))?;
                let sealed = seal(&id);
                sqlx::query(
                "UPDATE accounts SET username = $2, scopes = $3, status = 'active',
                    status_reason = NULL, access_token_sealed = $4, refresh_token_sealed = $5,
                    access_expires_at = $6, refresh_expires_at = $7,
                    token_version = token_version + 1, refresh_lease_owner = NULL,
                    refresh_lease_until = NULL, refresh_started_at = NULL,
                    last_error_class = NULL, last_error_message = NULL, last_error_at = NULL,
                    refresh_expiry_alerted_days = NULL, refresh_token_kind = NULL, updated_at = $8
                 WHERE id = $1",
            )
            .bind(&id)
            .bind(account.username)
            .bind(account.scopes)
            .bind(&sealed.access)
            .bind(&sealed.refresh)
            .bind(account.access_expires_at)
            .bind(account.refresh_expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            }
            let id = existing.unwrap_or_else(|| new_id.to_owned());
            insert_account_events!(tx, &id, events, now);
            id
        });
        Ok(id)
    }

    /// Records which kind of refresh token the connect that stored `token_version` got, with
    /// `events` in the same transaction. A later connect (a newer version) is left alone.
    pub async fn record_refresh_token_kind(
        &self,
        account_id: &str,
        token_version: i64,
        kind: RefreshTokenKind,
        events: &[NewAccountEvent<'_>],
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET refresh_token_kind = $3
                 WHERE id = $1 AND token_version = $2",
            )
            .bind(account_id)
            .bind(token_version)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                insert_account_events!(tx, account_id, events, now);
            }
            updated
        });
        Ok(updated == 1)
    }

    /// Erases an account's tokens and marks it `disconnected`; the row (and its posts) stay.
    pub async fn disconnect_account(&self, account_id: &str, now: i64) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "UPDATE accounts SET status = 'disconnected', status_reason = 'disconnected by a user',
                    access_token_sealed = NULL, refresh_token_sealed = NULL,
                    access_expires_at = NULL, refresh_expires_at = NULL,
                    token_version = token_version + 1, refresh_lease_owner = NULL,
                    refresh_lease_until = NULL, refresh_started_at = NULL, updated_at = $2
                 WHERE id = $1",
            )
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }
}
