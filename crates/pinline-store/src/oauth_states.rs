//! Pending OAuth connects. The `state` is stored as a hash and consumed by a single conditional
//! update, so a replayed, late or forged callback can never trigger a second code exchange.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// One pending (or spent) connect request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthStateRow {
    pub state_hash: String,
    pub profile_id: String,
    /// The PKCE verifier, sealed by the vault for this state.
    pub verifier_sealed: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub environment: String,
    pub client_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    /// The starting app's id for the person connecting (embeddable connect).
    pub external_id: Option<String>,
    /// A small JSON object the starting app attached (embeddable connect).
    pub metadata: Option<String>,
    /// Where the callback sends the person back, already checked against the allow-list.
    pub return_to: Option<String>,
}

/// Why a callback's state was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRejection {
    /// No connect was ever started with this state (forged or mistyped).
    Unknown,
    /// The state was already used by an earlier callback (a replay).
    AlreadyUsed,
    /// The connect was started too long ago.
    Expired,
}

impl Store {
    /// Records a connect request.
    pub async fn insert_oauth_state(&self, row: &OAuthStateRow) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO oauth_states (state_hash, profile_id, verifier_sealed, redirect_uri,
                    scopes, environment, client_id, created_at, expires_at, external_id, metadata,
                    return_to)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&row.state_hash)
            .bind(&row.profile_id)
            .bind(&row.verifier_sealed)
            .bind(&row.redirect_uri)
            .bind(&row.scopes)
            .bind(&row.environment)
            .bind(&row.client_id)
            .bind(row.created_at)
            .bind(row.expires_at)
            .bind(&row.external_id)
            .bind(&row.metadata)
            .bind(&row.return_to)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Deletes connect states that expired before `before`; returns how many. Until then a
    /// late or replayed callback is told precisely that its link expired or was used.
    pub async fn purge_oauth_states(&self, before: i64) -> Result<u64, StoreError> {
        let deleted = write_tx!(self, tx => {
            sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// Where the connect of `state_hash` sends the person back, if it said so: read before the
    /// state is consumed, so that a refused callback can send them back too.
    pub async fn oauth_state_return_to(
        &self,
        state_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let found: Option<(Option<String>,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT return_to FROM oauth_states WHERE state_hash = $1")
                .bind(state_hash)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.and_then(|(return_to,)| return_to))
    }

    /// Marks the state used and returns it, exactly once; every later call is rejected.
    pub async fn consume_oauth_state(
        &self,
        state_hash: &str,
        now: i64,
    ) -> Result<Result<OAuthStateRow, StateRejection>, StoreError> {
        let consumed: Option<OAuthStateRow> = write_tx!(self, tx => {
            sqlx::query_as(
                "UPDATE oauth_states SET consumed_at = $2
                 WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > $2
                 RETURNING state_hash, profile_id, verifier_sealed, redirect_uri, scopes,
                           environment, client_id, created_at, expires_at, consumed_at,
                           external_id, metadata, return_to",
            )
            .bind(state_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
        });
        if let Some(row) = consumed {
            return Ok(Ok(row));
        }
        let existing: Option<(Option<i64>,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT consumed_at FROM oauth_states WHERE state_hash = $1")
                .bind(state_hash)
                .fetch_optional(pool)
                .await?
        });
        Ok(Err(match existing {
            None => StateRejection::Unknown,
            Some((Some(_),)) => StateRejection::AlreadyUsed,
            Some((None,)) => StateRejection::Expired,
        }))
    }
}
