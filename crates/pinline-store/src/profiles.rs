//! Profiles and their API keys. Keys are stored only as SHA-256 hashes: the key itself is shown
//! once, when created, and a lookup hashes what the caller presents.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// A profile: the unit that owns accounts, posts, keys and webhooks.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProfileRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// An API key's metadata (never the key).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub profile_id: String,
    pub name: String,
    pub key_prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// What the key may do: scope names separated by commas; `None` is every scope.
    pub scopes: Option<String>,
}

impl Store {
    /// The profile named `name`, created if it does not exist yet.
    pub async fn profile_by_name_or_create(
        &self,
        name: &str,
        new_id: &str,
        now: i64,
    ) -> Result<ProfileRow, StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO profiles (id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(new_id)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        let row = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, created_at FROM profiles WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        });
        Ok(row)
    }

    /// All profiles, by name.
    pub async fn profiles(&self) -> Result<Vec<ProfileRow>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, created_at FROM profiles ORDER BY name")
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Stores a new API key's hash.
    pub async fn insert_api_key(&self, row: &ApiKeyRow, key_hash: &str) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO api_keys (id, profile_id, name, key_prefix, key_hash, created_at,
                    scopes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&row.id)
            .bind(&row.profile_id)
            .bind(&row.name)
            .bind(&row.key_prefix)
            .bind(key_hash)
            .bind(row.created_at)
            .bind(&row.scopes)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The live (not revoked) key with this hash.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, profile_id, name, key_prefix, created_at, last_used_at, revoked_at,
                    scopes
                 FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            )
            .bind(key_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Records that a key was just used.
    pub async fn touch_api_key(&self, key_id: &str, now: i64) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                .bind(key_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// A profile's keys, newest first.
    pub async fn api_keys(&self, profile_id: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, profile_id, name, key_prefix, created_at, last_used_at, revoked_at,
                    scopes
                 FROM api_keys WHERE profile_id = $1 ORDER BY created_at DESC, id",
            )
            .bind(profile_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Revokes a key of a profile; false when there is no such live key in that profile.
    pub async fn revoke_api_key(
        &self,
        profile_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $3
                 WHERE id = $1 AND profile_id = $2 AND revoked_at IS NULL",
            )
            .bind(key_id)
            .bind(profile_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }
}
