//! The credential path's audit trail (one row per passthrough call and per access token handed
//! out) and the `Idempotency-Key` records of pins created through the passthrough.
//!
//! Neither table holds a token or a request body: a row names the token it is about by the
//! account's token version, and an idempotency record keeps a hash of the body it came with
//! and Pinterest's answer (a pin, which the caller may read anyway).

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// One audited call.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    /// When the call came in, unix milliseconds.
    pub at: i64,
    pub profile_id: String,
    pub api_key_id: String,
    pub account_id: Option<String>,
    /// `passthrough` or `access_token`.
    pub kind: String,
    pub method: String,
    /// The path as a template (`/pins/{pin_id}`), never with ids or a query.
    pub route: String,
    /// The Pinterest rate-limit category the call counted against.
    pub category: Option<String>,
    /// The status pinline answered.
    pub status: i64,
    /// Pinterest's status, when Pinterest was called.
    pub upstream_status: Option<i64>,
    /// `forwarded`, or why pinline answered itself (`budget`, `scope`, `path_not_allowed`, …).
    pub outcome: String,
    /// Pinterest's `x-request-id`.
    pub pinterest_request_id: Option<String>,
    pub latency_ms: i64,
    /// pinline refreshed the account's token for this call.
    pub refreshed: bool,
    /// pinline sent the call a second time (after Pinterest refused an expired token).
    pub retried: bool,
    /// The token version used or handed out.
    pub token_version: Option<i64>,
}

impl AuditRow {
    /// The row's `kind` for a passthrough call.
    pub const PASSTHROUGH: &'static str = "passthrough";
    /// The row's `kind` for an access token handed out.
    pub const ACCESS_TOKEN: &'static str = "access_token";
}

const AUDIT_COLUMNS: &str = "id, at, profile_id, api_key_id, account_id, kind, method, route, \
     category, status, upstream_status, outcome, pinterest_request_id, latency_ms, refreshed, \
     retried, token_version";

/// Which audit rows to read: one profile's, newest first, optionally narrowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub profile_id: String,
    pub account_id: Option<String>,
    pub api_key_id: Option<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
    /// Rows at or after this instant, unix milliseconds.
    pub since: Option<i64>,
    /// Rows strictly older than this `(at, id)` (the last row of the previous page).
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// An idempotency record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub account_id: String,
    pub key: String,
    pub body_hash: String,
    /// [`IdempotencyRow::PENDING`], [`IdempotencyRow::DONE`] or [`IdempotencyRow::UNKNOWN`].
    pub state: String,
    pub status: Option<i64>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    pub created_at: i64,
}

impl IdempotencyRow {
    /// The request is being sent.
    pub const PENDING: &'static str = "pending";
    /// Pinterest answered; `status`, `content_type` and `body` hold the answer.
    pub const DONE: &'static str = "done";
    /// The request may or may not have reached Pinterest (a timeout, a 5xx).
    pub const UNKNOWN: &'static str = "unknown";
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new and now pending for this caller.
    Claimed,
    /// The key was used before (by this or another request).
    Existing(IdempotencyRow),
}

impl Store {
    /// Appends one audit row.
    pub async fn insert_audit(&self, row: &AuditRow) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO credential_audit ({AUDIT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            )))
            .bind(&row.id)
            .bind(row.at)
            .bind(&row.profile_id)
            .bind(&row.api_key_id)
            .bind(&row.account_id)
            .bind(&row.kind)
            .bind(&row.method)
            .bind(&row.route)
            .bind(&row.category)
            .bind(row.status)
            .bind(row.upstream_status)
            .bind(&row.outcome)
            .bind(&row.pinterest_request_id)
            .bind(row.latency_ms)
            .bind(row.refreshed)
            .bind(row.retried)
            .bind(row.token_version)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// A page of audit rows, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM credential_audit WHERE profile_id = $1");
        let mut next = 2;
        let mut condition = |sql: &mut String, text: &str| {
            sql.push_str(&text.replace("$?", &format!("${next}")));
            next += 1;
        };
        if filter.account_id.is_some() {
            condition(&mut sql, " AND account_id = $?");
        }
        if filter.api_key_id.is_some() {
            condition(&mut sql, " AND api_key_id = $?");
        }
        if filter.kind.is_some() {
            condition(&mut sql, " AND kind = $?");
        }
        if filter.category.is_some() {
            condition(&mut sql, " AND category = $?");
        }
        if filter.since.is_some() {
            condition(&mut sql, " AND at >= $?");
        }
        if filter.before.is_some() {
            let (at, id) = (next, next + 1);
            sql.push_str(&format!(" AND (at < ${at} OR (at = ${at} AND id < ${id}))"));
            next += 2;
        }
        sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT ${next}"));
        let rows = with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&filter.profile_id);
            for value in [&filter.account_id, &filter.api_key_id, &filter.kind, &filter.category]
                .into_iter()
                .flatten()
            {
                query = query.bind(value);
            }
            if let Some(since) = filter.since {
                query = query.bind(since);
            }
            if let Some((at, id)) = &filter.before {
                query = query.bind(*at).bind(id);
            }
            query.bind(filter.limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Claims `key` for a create on `account_id` with a body hashing to `body_hash`: a new key
    /// becomes pending; a known one is returned as it stands. Records older than
    /// `expired_before` are dropped first, so a key may be used again after a day.
    pub async fn claim_idempotency_key(
        &self,
        account_id: &str,
        key: &str,
        body_hash: &str,
        now: i64,
        expired_before: i64,
    ) -> Result<IdempotencyClaim, StoreError> {
        let claim = write_tx!(self, tx => {
            sqlx::query("DELETE FROM passthrough_idempotency WHERE created_at < $1")
                .bind(expired_before)
                .execute(&mut *tx)
                .await?;
            let existing: Option<IdempotencyRow> = sqlx::query_as(
                "SELECT account_id, key, body_hash, state, status, content_type, body, created_at
                 FROM passthrough_idempotency WHERE account_id = $1 AND key = $2",
            )
            .bind(account_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some(row) => IdempotencyClaim::Existing(row),
                None => {
                    sqlx::query(
                        "INSERT INTO passthrough_idempotency
                             (account_id, key, body_hash, state, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(account_id)
                    .bind(key)
                    .bind(body_hash)
                    .bind(IdempotencyRow::PENDING)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    IdempotencyClaim::Claimed
                }
            }
        });
        Ok(claim)
    }

    /// Records how a claimed key's request ended: Pinterest's answer ([`IdempotencyRow::DONE`])
    /// or an unknown outcome ([`IdempotencyRow::UNKNOWN`], no answer).
    pub async fn finish_idempotency_key(
        &self,
        account_id: &str,
        key: &str,
        state: &str,
        answer: Option<(i64, Option<&str>, &[u8])>,
    ) -> Result<(), StoreError> {
        let (status, content_type, body) = match answer {
            Some((status, content_type, body)) => (Some(status), content_type, Some(body)),
            None => (None, None, None),
        };
        write_tx!(self, tx => {
            sqlx::query(
                "UPDATE passthrough_idempotency
                 SET state = $3, status = $4, content_type = $5, body = $6
                 WHERE account_id = $1 AND key = $2",
            )
            .bind(account_id)
            .bind(key)
            .bind(state)
            .bind(status)
            .bind(content_type)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Forgets a claimed key whose request Pinterest refused (nothing was created), so the
    /// caller may try again with the same key.
    pub async fn release_idempotency_key(
        &self,
        account_id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM passthrough_idempotency WHERE account_id = $1 AND key = $2")
                .bind(account_id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}
