//! The [`Store`] handle: a connection pool for one of the two backends, migrations, and the
//! transaction discipline each backend needs.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::{DatabaseLocation, StoreError};

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend's short name, as shown in logs and benchmark tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A handle to pinline's database. Cheap to clone; all clones share one pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pools: Pools,
}

#[derive(Clone, Debug)]
pub(crate) enum Pools {
    Sqlite {
        /// Reads.
        pool: SqlitePool,
        /// Every write of this process.
        writer: Arc<SqliteWriter>,
    },
    Postgres(PgPool),
}

/// SQLite allows one writer at a time. Writers in this process queue on `slot` instead of
/// spinning on SQLITE_BUSY (other processes on the same file wait in `busy_timeout`), and all of
/// them write through the one connection of `pool`. A connection's page cache is dropped
/// whenever another connection has changed the file since its last transaction; with writes
/// spread over the read pool, every write began by re-reading its pages (system calls and
/// copies, most of the hot path's CPU under load). One writing connection keeps its cache.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    slot: Mutex<()>,
    pool: SqlitePool,
}

/// The writing connection's page cache, in KiB (SQLite's default is 2 MiB): the claim's and
/// the completions' index pages stay in it.
const SQLITE_WRITER_CACHE_KIB: i64 = 32 * 1024;

/// A write transaction on SQLite: holds this process's writer slot for as long as it lives.
#[derive(Debug)]
pub struct SqliteWrite<'a> {
    pub tx: Transaction<'static, Sqlite>,
    _writer: MutexGuard<'a, ()>,
}

impl SqliteWrite<'_> {
    /// Commits the transaction and frees the writer slot.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// How long a SQLite connection waits for another process's write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens (creating if needed) the database at `location` and applies pending migrations.
    pub async fn open(location: &DatabaseLocation) -> Result<Self, StoreError> {
        let store = match location {
            DatabaseLocation::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Connect(sqlx::Error::Io(std::io::Error::new(
                            e.kind(),
                            format!("cannot create {}: {e}", parent.display()),
                        )))
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL in WAL mode: a commit is in the WAL file before it returns, so a
                    // post answered 202 survives any crash of pinline itself (kill -9, OOM,
                    // panic); the WAL is fsynced at checkpoints, so an OS crash or power cut may
                    // lose the last commits before one. FULL (an fsync per commit) closes that
                    // window but measured 4× the POST latency here (p50 2–3 → 10 ms, p99
                    // 9–13 → 38–43 ms at 200 posts/s); group commit has to come first.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options.clone())
                    .await
                    .map_err(StoreError::Connect)?;
                let write_pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .connect_with(
                        options.pragma("cache_size", format!("-{SQLITE_WRITER_CACHE_KIB}")),
                    )
                    .await
                    .map_err(StoreError::Connect)?;
                Store {
                    pools: Pools::Sqlite {
                        pool,
                        writer: Arc::new(SqliteWriter {
                            slot: Mutex::new(()),
                            pool: write_pool,
                        }),
                    },
                }
            }
            DatabaseLocation::Postgres(url) => {
                let options = PgConnectOptions::from_str(url).map_err(StoreError::Connect)?;
                Self::open_postgres(options).await?
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens PostgreSQL with explicit options (tests use this to pin a schema).
    pub async fn open_postgres(options: PgConnectOptions) -> Result<Self, StoreError> {
        // A process stopped inside a transaction (SIGSTOP, a debugger, a frozen VM) would keep
        // its row locks, and `FOR UPDATE SKIP LOCKED` claims elsewhere would skip those posts
        // until it woke: the server ends such a transaction instead, releasing the posts to the
        // other replicas (its own fenced completions then simply fail).
        let options = options.options([("idle_in_transaction_session_timeout", "10s")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Store {
            pools: Pools::Postgres(pool),
        })
    }

    /// Applies the backend's pending migrations. Safe to run from several processes at once:
    /// sqlx takes a database-wide lock while migrating.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { pool, .. } => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Pools::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Which engine this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Round-trips a trivial query: the readiness check behind `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { pool, .. } => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Pools::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Closes every connection; pending queries finish first.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { pool, writer } => {
                writer.pool.close().await;
                pool.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Begins a SQLite write transaction with `BEGIN IMMEDIATE`, so the write lock is taken up
    /// front: a deferred transaction that upgrades from read to write can fail with SQLITE_BUSY
    /// at once, which `busy_timeout` cannot cure.
    pub(crate) async fn sqlite_write(writer: &SqliteWriter) -> Result<SqliteWrite<'_>, StoreError> {
        let guard = writer.slot.lock().await;
        let tx = writer.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SqliteWrite { tx, _writer: guard })
    }

    /// Begins a PostgreSQL transaction.
    pub(crate) async fn postgres_write(
        pool: &PgPool,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(pool.begin().await?)
    }
}
