//! Connected Pinterest accounts: identity, sealed tokens, health, and the refresh lease that makes
//! refreshes single-flight across processes.
//!
//! The lease is a row-level compare-and-swap rather than a lock held across the HTTP call: the
//! in-flight marker (`refresh_started_at`) must be *committed* before the refresh request leaves,
//! so that a process dying between Pinterest's answer and our commit leaves a trace the next
//! claimant sees. A lock held open in a transaction would vanish with the process instead.

use crate::sql::{with_pool, write_tx};
use crate::{Backend, Store, StoreError};

/// One account row. The `*_sealed` fields are ciphertexts from the vault's key ring, never
/// plaintext tokens.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub profile_id: String,
    pub environment: String,
    pub client_id: String,
    pub pinterest_user_id: String,
    pub username: String,
    pub scopes: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub access_token_sealed: Option<String>,
    pub refresh_token_sealed: Option<String>,
    pub access_expires_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    pub token_version: i64,
    pub refresh_lease_owner: Option<String>,
    pub refresh_lease_until: Option<i64>,
    pub refresh_started_at: Option<i64>,
    pub last_refresh_at: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub last_error_at: Option<i64>,
    pub refresh_expiry_alerted_days: Option<i32>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who connected, as learned from the token response and `user_account`.
#[derive(Debug, Clone)]
pub struct ConnectedAccount<'a> {
    pub profile_id: &'a str,
    pub environment: &'a str,
    pub client_id: &'a str,
    pub pinterest_user_id: &'a str,
    pub username: &'a str,
    pub scopes: &'a str,
    pub access_expires_at: i64,
    pub refresh_expires_at: Option<i64>,
}

/// Sealed tokens to store, already bound to the account id they belong to.
#[derive(Debug, Clone)]
pub struct SealedTokens {
    pub access: String,
    pub refresh: Option<String>,
}

/// Result of trying to take an account's refresh lease.
#[derive(Debug, Clone)]
pub enum RefreshClaim {
    /// The lease is ours. `interrupted` is true when a previous refresh left its in-flight
    /// marker behind without finishing (its process died mid-refresh).
    Claimed {
        account: AccountRow,
        interrupted: bool,
    },
    /// Another refresh holds a live lease; wait for it, then re-read.
    Busy(AccountRow),
    /// The tokens changed since the caller read them: someone else already refreshed.
    Superseded(AccountRow),
    /// Someone else's refresh failed after the caller began waiting, or the account can no
    /// longer be refreshed (`needs_reauth`, `disconnected`): report that instead of sending
    /// the same refresh token again.
    FailedMeanwhile(AccountRow),
}

/// How a refresh ended, written when the lease is released.
#[derive(Debug, Clone)]
pub struct RefreshFailure<'a> {
    /// The status the account moves to (`active` when the failure was transient).
    pub status: &'a str,
    pub status_reason: Option<&'a str>,
    pub error_class: &'a str,
    pub error_message: &'a str,
}

/// An account event recorded in the transaction of the change that causes it, and put in the
/// webhook outbox (see `outbox`).
#[derive(Debug, Clone, Copy)]
pub struct NewAccountEvent<'a> {
    pub kind: &'a str,
    pub detail: &'a str,
    pub error_class: Option<&'a str>,
}

/// Inside a write transaction `$tx`: inserts `$events` for `$account_id`, marked for the
/// webhook outbox. A macro for the same reason as `write_tx`: either backend's transaction.
macro_rules! insert_account_events {
    ($tx:ident, $account_id:expr, $events:expr, $now:expr) => {
        for event in $events {
            sqlx::query(
                "INSERT INTO account_events
                    (id, account_id, kind, detail, created_at, error_class, event_pending)
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($account_id)
            .bind(event.kind)
            .bind(event.detail)
            .bind($now)
            .bind(event.error_class)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// The last-error class of an account whose credential belongs to another app or environment.
const CREDENTIAL_MISMATCH: &str = "credential_mismatch";

const COLUMNS: &str = "id, profile_id, environment, client_id, pinterest_user_id, username, \
    scopes, status, status_reason, access_token_sealed, refresh_token_sealed, access_expires_at, \
    refresh_expires_at, token_version, refresh_lease_owner, refresh_lease_until, \
    refresh_started_at, last_refresh_at, last_error_class, last_error_message, last_error_at, \
    refresh_expiry_alerted_days, created_at, updated_at";

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
                    refresh_expiry_alerted_days = NULL, updated_at = $8
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
    /// refresher's work list.
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
               AND (access_expires_at < $1 OR refresh_expires_at < $2)
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

    /// Marks an account `needs_reauth` only while its tokens are still at `version`: tokens
    /// refused by Pinterest must not condemn newer ones a reconnect stored meanwhile. Returns
    /// whether the row changed; `events` are recorded in the same transaction, only if it did.
    pub async fn mark_needs_reauth(
        &self,
        account_id: &str,
        version: i64,
        reason: &str,
        error: (&str, &str),
        events: &[NewAccountEvent<'_>],
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET status = 'needs_reauth', status_reason = $3,
                    last_error_class = $4, last_error_message = $5, last_error_at = $6,
                    updated_at = $6
                 WHERE id = $1 AND token_version = $2 AND status <> 'disconnected'",
            )
            .bind(account_id)
            .bind(version)
            .bind(reason)
            .bind(error.0)
            .bind(error.1)
            .bind(now)
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

    /// Moves an account to `status` with a reason, and records the last error when given.
    pub async fn set_account_status(
        &self,
        account_id: &str,
        status: &str,
        reason: Option<&str>,
        error: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (class, message) = error.unzip();
        write_tx!(self, tx => {
            sqlx::query(
                "UPDATE accounts SET status = $2, status_reason = $3,
                    last_error_class = COALESCE($4, last_error_class),
                    last_error_message = COALESCE($5, last_error_message),
                    last_error_at = CASE WHEN $4 IS NULL THEN last_error_at ELSE $6 END,
                    updated_at = $6
                 WHERE id = $1",
            )
            .bind(account_id)
            .bind(status)
            .bind(reason)
            .bind(class)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
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

    /// Records that the account's credential was issued for another app or environment than
    /// the configured one, as its last error (class `credential_mismatch`), with `events` in
    /// the same transaction. Only the first call of a spell changes anything: while the mark
    /// stands, later calls write nothing and record no event, so an operator hears of it once.
    /// Returns whether this call set the mark.
    pub async fn mark_credential_mismatch(
        &self,
        account_id: &str,
        message: &str,
        events: &[NewAccountEvent<'_>],
        now: i64,
    ) -> Result<bool, StoreError> {
        let marked = write_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET last_error_class = $2, last_error_message = $3,
                    last_error_at = $4, updated_at = $4
                 WHERE id = $1 AND (last_error_class IS NULL OR last_error_class <> $2)",
            )
            .bind(account_id)
            .bind(CREDENTIAL_MISMATCH)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                insert_account_events!(tx, account_id, events, now);
            }
            updated
        });
        Ok(marked == 1)
    }

    /// Clears the mark of [`Store::mark_credential_mismatch`] once the credential matches the
    /// configuration again (the configuration was fixed). Returns whether a mark was cleared.
    pub async fn clear_credential_mismatch(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let cleared = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE accounts SET last_error_class = NULL, last_error_message = NULL,
                    last_error_at = NULL, updated_at = $3
                 WHERE id = $1 AND last_error_class = $2",
            )
            .bind(account_id)
            .bind(CREDENTIAL_MISMATCH)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(cleared == 1)
    }

    /// Appends an event to an account's history; `for_webhooks` puts it in the webhook outbox
    /// too (see `outbox`), with its error class.
    pub async fn record_account_event(
        &self,
        account_id: &str,
        kind: &str,
        detail: &str,
        error_class: Option<&str>,
        for_webhooks: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO account_events
                    (id, account_id, kind, detail, created_at, error_class, event_pending)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(account_id)
            .bind(kind)
            .bind(detail)
            .bind(now)
            .bind(error_class)
            .bind(for_webhooks)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
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

    /// Accounts (not disconnected) whose refresh token expires before `before`: candidates for
    /// an `account.token_expiring` alert.
    pub async fn accounts_with_refresh_expiring(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts
             WHERE status <> 'disconnected' AND refresh_expires_at IS NOT NULL
               AND refresh_expires_at < $1
             ORDER BY refresh_expires_at LIMIT $2"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Records that an expiry alert for `days` was sent; false when an alert for that horizon
    /// (or a nearer one) was already recorded, so each horizon alerts once even with several
    /// replicas sweeping.
    /// `events` are recorded in the same transaction, only if the alert is new.
    pub async fn record_expiry_alert(
        &self,
        account_id: &str,
        days: i32,
        events: &[NewAccountEvent<'_>],
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET refresh_expiry_alerted_days = $2
                 WHERE id = $1
                   AND (refresh_expiry_alerted_days IS NULL OR refresh_expiry_alerted_days > $2)",
            )
            .bind(account_id)
            .bind(days)
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
}
