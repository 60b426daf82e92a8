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
            $crate::store::Pools::Sqlite { pool, writer } => {
                let mut write = $crate::store::Store::sqlite_write(pool, writer).await?;
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

pub(crate) use {with_pool, write_tx};
