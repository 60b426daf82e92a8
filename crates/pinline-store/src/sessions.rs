//! Dashboard sessions, kept in the database so that every replica honours a sign-in. Rows are
//! keyed by a hash of the cookie's token (the caller hashes); a session is returned only while
//! it has not expired and the API key it was opened with is not revoked.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// The hash of the cookie's token.
    pub id: String,
    pub profile_id: String,
    pub api_key_id: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Stores a new session, and drops the expired ones while at it.
    pub async fn insert_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO dashboard_sessions
                     (id, profile_id, api_key_id, csrf_token, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&row.id)
            .bind(&row.profile_id)
            .bind(&row.api_key_id)
            .bind(&row.csrf_token)
            .bind(row.created_at)
            .bind(row.expires_at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The live session `id`: not expired at `now`, and its API key not revoked.
    pub async fn session(&self, id: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id, s.profile_id, s.api_key_id, s.csrf_token, s.created_at, s.expires_at
                 FROM dashboard_sessions s
                 JOIN api_keys k ON k.id = s.api_key_id
                 WHERE s.id = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Ends a session (signing out); ending one that does not exist is not an error.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM dashboard_sessions WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}
