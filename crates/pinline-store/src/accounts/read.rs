//! Reading accounts: one or all of a profile's, and the questions the vault's background sweeps
//! ask (which are due for refresh, sealed with an old key, near refresh-token expiry, or left
//! with an interrupted refresh), and an account's event history. Reads open no write
//! transaction.

use crate::sql::with_pool;
use crate::{Store, StoreError};

use super::{AccountRow, COLUMNS};

impl Store {
    /// One account of a profile; `None` when it does not exist or belongs to another profile.
    pub async fn account(
        &self,
        profile_id: &str,
        account_id: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1 AND profile_id = $2");
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(account_id)
                .bind(profile_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// One account by id alone, for background work that is not acting for a profile.
    pub async fn account_by_id(&self, account_id: &str) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// A profile's accounts, oldest first.
    pub async fn accounts(&self, profile_id: &str) -> Result<Vec<AccountRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM accounts WHERE profile_id = $1 ORDER BY created_at, id");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(profile_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Active accounts of `app` (environment, client id) whose access token expires before
    /// `access_before`, or whose refresh token expires before `refresh_before`: the proactive
    /// refresher's work list. A legacy refresh token is not renewed by a refresh, so its
    /// nearing end alone does not put an account on the list.
    pub async fn accounts_due_for_refresh(
        &self,
        access_before: i64,
        refresh_before: i64,
        app: (&str, &str),
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts
             WHERE status IN ('active', 'refreshing') AND refresh_token_sealed IS NOT NULL
               AND (access_expires_at < $1
                    OR (refresh_expires_at < $2 AND COALESCE(refresh_token_kind, '') <> 'legacy'))
               AND environment = $4 AND client_id = $5
             ORDER BY access_expires_at LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(access_before)
                .bind(refresh_before)
                .bind(limit)
                .bind(app.0)
                .bind(app.1)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Up to `limit` accounts with an id after `after_id` whose tokens are sealed with a key
    /// other than `current_key_id`, in id order, for re-encryption after a key rotation. Paging
    /// by id lets a pass step over a row it cannot re-seal instead of meeting it again.
    pub async fn accounts_sealed_with_other_keys(
        &self,
        current_key_id: &str,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let prefix = format!("v1.{current_key_id}.%");
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts
             WHERE id > $2
               AND ((access_token_sealed IS NOT NULL AND access_token_sealed NOT LIKE $1)
                 OR (refresh_token_sealed IS NOT NULL AND refresh_token_sealed NOT LIKE $1))
             ORDER BY id
             LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&prefix)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Accounts (not disconnected) whose refresh token expires before `before`, or before
    /// `legacy_before` when it is a legacy one: candidates for an `account.token_expiring` alert.
    pub async fn accounts_with_refresh_expiring(
        &self,
        before: i64,
        legacy_before: i64,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts
             WHERE status <> 'disconnected' AND refresh_expires_at IS NOT NULL
               AND (refresh_expires_at < $1
                    OR (refresh_token_kind = 'legacy' AND refresh_expires_at < $3))
             ORDER BY refresh_expires_at LIMIT $2"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(before)
                .bind(limit)
                .bind(legacy_before)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Accounts whose refresh left its in-flight marker behind and whose lease has expired:
    /// a process died mid-refresh.
    pub async fn accounts_with_interrupted_refresh(
        &self,
        now: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts
             WHERE refresh_started_at IS NOT NULL
               AND (refresh_lease_until IS NULL OR refresh_lease_until < $1)"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// An account's events, oldest first: `(kind, detail, created_at)`.
    pub async fn account_events(
        &self,
        account_id: &str,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kind, detail, created_at FROM account_events WHERE account_id = $1
                 ORDER BY created_at, id",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
