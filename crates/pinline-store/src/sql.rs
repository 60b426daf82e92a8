//! Running one SQL text on either backend. Queries are written once with `$N` placeholders,
//! which both PostgreSQL and sqlx's SQLite driver understand; these macros expand the body once
//! per backend so each copy is type-checked against its own driver.

/// Evaluates `$body` with `$pool` bound to the backend's pool (for single statements that need
/// no transaction).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { pool: $pool, .. } => $body,
            $crate::store::Pools::Postgres($pool) => $body,
        }
    };
}

/// Evaluates `$body` inside a write transaction bound to `$tx` and commits it; an early return
/// (`?`) rolls it back. On SQLite the transaction is `BEGIN IMMEDIATE` behind the writer slot.
macro_rules! write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { writer, .. } => {
                let mut write = $crate::store::Store::sqlite_write(writer).await?;
                let $tx = &mut *write.tx;
                let output = $body;
                write.commit().await?;
                output
            }
            $crate::store::Pools::Postgres(pool) => {
                let mut transaction = $crate::store::Store::postgres_write(pool).await?;
                let $tx = &mut *transaction;
                let output = $body;
                transaction.commit().await?;
                output
            }
        }
    };
}

/// Inside a write transaction `$tx`: inserts one pending delivery of `$payload` for each of the
/// profile's webhooks that wants `$event`; evaluates to the new delivery ids. A disabled
/// webhook gets its deliveries too: they wait until it is enabled again rather than being lost. A macro
/// rather than a function for the same reason as [`write_tx`]: the body runs on either backend's
/// transaction type.
macro_rules! fan_out_to_webhooks {
    ($tx:ident, $profile_id:expr, $event:expr, $payload:expr, $now:expr) => {{
        let webhooks: Vec<$crate::webhooks::WebhookRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM webhooks WHERE profile_id = $1 ORDER BY created_at, id",
                $crate::webhooks::WEBHOOK_COLUMNS
            )))
            .bind($profile_id)
            .fetch_all(&mut *$tx)
            .await?;
        let mut ids = Vec::new();
        for webhook in webhooks.iter().filter(|webhook| webhook.wants($event)) {
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO webhook_deliveries
                    (id, webhook_id, profile_id, event, payload, status, attempts,
                     next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
            )
            .bind(&id)
            .bind(&webhook.id)
            .bind($profile_id)
            .bind($event)
            .bind($payload)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
            ids.push(id);
        }
        ids
    }};
}

pub(crate) use {fan_out_to_webhooks, with_pool, write_tx};
