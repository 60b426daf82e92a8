//! An account's health: its status (needs reconnecting, disconnected, active), the credential
//! mismatch marker, and the account events recorded with each change in the same transaction.

use crate::sql::write_tx;
use crate::{Store, StoreError};

use super::{CREDENTIAL_MISMATCH, NewAccountEvent};

impl Store {
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
}
