//! The refresh lease and the tokens it guards: claiming a refresh (a compare-and-swap that
//! commits the in-flight marker before the request leaves), keeping the lease alive, storing the
//! rotated tokens or the failure, and re-sealing tokens under a new master key.

use crate::sql::write_tx;
use crate::{Backend, Store, StoreError};

use super::{AccountRow, COLUMNS, NewAccountEvent, RefreshClaim, RefreshFailure, SealedTokens};

impl Store {
    /// Tries to take the refresh lease of an account whose tokens the caller saw at
    /// `seen_version` and has been waiting for since `waiting_since`. The in-flight marker is
    /// committed before this returns `Claimed`.
    pub async fn claim_refresh(
        &self,
        account_id: &str,
        seen_version: i64,
        owner: &str,
        now: i64,
        lease_ms: i64,
        waiting_since: i64,
    ) -> Result<RefreshClaim, StoreError> {
        let select = match self.backend() {
            Backend::Sqlite => format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"),
            Backend::Postgres => {
                format!("SELECT {COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE")
            }
        };
        let claim = write_tx!(self, tx => {
            let account: Option<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(select.as_str()))
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(mut account) = account else {
                return Err(StoreError::NotFound("account"));
            };
            let lease_live = account.refresh_lease_until.is_some_and(|until| until >= now);
            // Checked inside the lock, so a failure committed between the caller's read and
            // this claim is seen here rather than answered with a second attempt.
            let failed = account.last_error_at.is_some_and(|at| at >= waiting_since)
                || matches!(account.status.as_str(), "needs_reauth" | "disconnected");
            if account.token_version != seen_version {
                RefreshClaim::Superseded(account)
            } else if failed {
                RefreshClaim::FailedMeanwhile(account)
            } else if lease_live {
                RefreshClaim::Busy(account)
            } else {
                let interrupted = account.refresh_started_at.is_some();
                sqlx::query(
                    "UPDATE accounts SET refresh_lease_owner = $2, refresh_lease_until = $3,
                        refresh_started_at = $4, status = 'refreshing', updated_at = $4
                     WHERE id = $1",
                )
                .bind(account_id)
                .bind(owner)
                .bind(now + lease_ms)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                account.refresh_lease_owner = Some(owner.to_owned());
                account.refresh_lease_until = Some(now + lease_ms);
                account.refresh_started_at = Some(now);
                RefreshClaim::Claimed { account, interrupted }
            }
        });
        Ok(claim)
    }

    /// Keeps `owner`'s refresh lease alive until `until` while its request is still out.
    /// Returns false when the lease is no longer `owner`'s.
    pub async fn extend_refresh_lease(
        &self,
        account_id: &str,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE accounts SET refresh_lease_until = $3
                 WHERE id = $1 AND refresh_lease_owner = $2",
            )
            .bind(account_id)
            .bind(owner)
            .bind(until)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Stores the tokens a refresh returned and releases the lease. Compare-and-swap: it
    /// writes while `owner` still holds the lease, or while the tokens are still at
    /// `seen_version` (a lease lost to a stall must not throw away the only valid refresh token
    /// Pinterest just issued). Returns the new token version; `LeaseLost` if someone else's
    /// tokens landed first.
    #[expect(
        clippy::too_many_arguments,
        reason = "one column each; a struct adds nothing"
    )]
    pub async fn complete_refresh(
        &self,
        account_id: &str,
        owner: &str,
        seen_version: i64,
        sealed: &SealedTokens,
        scopes: &str,
        access_expires_at: i64,
        refresh_expires_at: Option<i64>,
        events: &[NewAccountEvent<'_>],
        now: i64,
    ) -> Result<i64, StoreError> {
        let version = write_tx!(self, tx => {
            let version: Option<i64> = sqlx::query_scalar(
                "UPDATE accounts SET access_token_sealed = $3,
                    refresh_token_sealed = COALESCE($4, refresh_token_sealed), scopes = $5,
                    access_expires_at = $6,
                    refresh_expires_at = COALESCE($7, refresh_expires_at),
                    token_version = token_version + 1, status = 'active', status_reason = NULL,
                    refresh_lease_owner = NULL, refresh_lease_until = NULL,
                    refresh_started_at = NULL, last_refresh_at = $8, last_error_class = NULL,
                    last_error_message = NULL, last_error_at = NULL,
                    refresh_expiry_alerted_days = NULL, updated_at = $8
                 WHERE id = $1 AND (refresh_lease_owner = $2 OR token_version = $9)
                   AND status <> 'disconnected'
                 RETURNING token_version",
            )
            .bind(account_id)
            .bind(owner)
            .bind(&sealed.access)
            .bind(&sealed.refresh)
            .bind(scopes)
            .bind(access_expires_at)
            .bind(refresh_expires_at)
            .bind(now)
            .bind(seen_version)
            .fetch_optional(&mut *tx)
            .await?;
            let version = version.ok_or(StoreError::LeaseLost)?;
            insert_account_events!(tx, account_id, events, now);
            version
        });
        Ok(version)
    }

    /// Releases the lease after a failed refresh and records the failure.
    /// `events` are recorded in the same transaction, only if the failure is.
    pub async fn fail_refresh(
        &self,
        account_id: &str,
        owner: &str,
        failure: &RefreshFailure<'_>,
        events: &[NewAccountEvent<'_>],
        now: i64,
    ) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET status = $3, status_reason = $4, last_error_class = $5,
                    last_error_message = $6, last_error_at = $7, refresh_lease_owner = NULL,
                    refresh_lease_until = NULL, refresh_started_at = NULL, updated_at = $7
                 WHERE id = $1 AND refresh_lease_owner = $2",
            )
            .bind(account_id)
            .bind(owner)
            .bind(failure.status)
            .bind(failure.status_reason)
            .bind(failure.error_class)
            .bind(failure.error_message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::LeaseLost);
            }
            insert_account_events!(tx, account_id, events, now);
        });
        Ok(())
    }

    /// Replaces the sealed tokens of an account whose version is still `version` (re-sealing
    /// under a new key must never overwrite a refresh that happened meanwhile). Returns whether
    /// the row was updated.
    pub async fn reseal_account_tokens(
        &self,
        account_id: &str,
        version: i64,
        sealed: &SealedTokens,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE accounts SET access_token_sealed = $3, refresh_token_sealed = $4
                 WHERE id = $1 AND token_version = $2",
            )
            .bind(account_id)
            .bind(version)
            .bind(&sealed.access)
            .bind(&sealed.refresh)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }
}
