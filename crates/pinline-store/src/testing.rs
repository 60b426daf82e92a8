//! Test support shared by every crate whose tests need a database: a fresh, isolated database per
//! test on SQLite (a file in a temp dir) and on PostgreSQL (a schema of its own), and the
//! [`backend_tests!`](crate::backend_tests) macro that runs one test body on both.
//!
//! PostgreSQL is found through `PINLINE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached the PostgreSQL half
//! of each test is skipped with a note, unless `PINLINE_TEST_REQUIRE_POSTGRES=1`, which CI sets so
//! that a missing server fails the run instead of silently halving it.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tempfile::TempDir;

use crate::{DatabaseLocation, Store};

/// Default server for the PostgreSQL half of the suite.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// An isolated database for one test, removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// The opened, migrated store.
    pub store: Store,
    /// A URL another process can open to reach the same database.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(
        #[expect(dead_code, reason = "held so the directory lives as long as the test")] TempDir,
    ),
    Postgres {
        admin_url: String,
        schema: String,
    },
}

fn admin_url() -> String {
    std::env::var("PINLINE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.into())
}

fn postgres_required() -> bool {
    std::env::var("PINLINE_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

impl TestDatabase {
    /// A fresh SQLite file in its own temp dir.
    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir for a test database");
        let path = dir.path().join("pinline.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(&DatabaseLocation::Sqlite(path))
            .await
            .expect("open a fresh SQLite test database");
        TestDatabase {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh schema on the test PostgreSQL server, or `None` when no server is reachable and
    /// none is required.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = admin_url();
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(error) if !postgres_required() => {
                eprintln!("skipping the PostgreSQL half: cannot reach {admin_url}: {error}");
                return None;
            }
            Err(error) => panic!(
                "PINLINE_TEST_REQUIRE_POSTGRES is set but {admin_url} is unreachable: {error}"
            ),
        };
        let schema = format!("pinline_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .expect("create a test schema");
        let _ = admin.close().await;

        let url = with_search_path(&admin_url, &schema);
        let options = PgConnectOptions::from_str(&url).expect("valid test PostgreSQL URL");
        let store = Store::open_postgres(options)
            .await
            .expect("connect to the test schema");
        store.migrate().await.expect("migrate the test schema");
        Some(TestDatabase {
            store,
            url,
            cleanup: Cleanup::Postgres { admin_url, schema },
        })
    }
}

impl TestDatabase {
    /// Makes every query on `table` fail from now on (the table is renamed away), through a
    /// connection of its own: how a test shows what callers answer when the database fails in
    /// the middle of a request that started well.
    pub async fn break_table(&self, table: &str) {
        let statement = format!("ALTER TABLE {table} RENAME TO {table}_unavailable");
        match &self.cleanup {
            Cleanup::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect to the test file");
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .expect("rename the table");
                let _ = conn.close().await;
            }
            Cleanup::Postgres { .. } => {
                let mut conn = PgConnection::connect(&self.url)
                    .await
                    .expect("connect to the test schema");
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .expect("rename the table");
                let _ = conn.close().await;
            }
        }
    }

    /// Runs one statement through a connection of its own: how a test puts into the database
    /// what no API would accept, such as text Pinterest could send back that pinline's own
    /// intake refuses.
    pub async fn execute(&self, statement: &str) {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        match &self.cleanup {
            Cleanup::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect to the test file");
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await
                    .expect("run the statement");
                let _ = conn.close().await;
            }
            Cleanup::Postgres { .. } => {
                let mut conn = PgConnection::connect(&self.url)
                    .await
                    .expect("connect to the test schema");
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await
                    .expect("run the statement");
                let _ = conn.close().await;
            }
        }
    }

    /// Everything the database holds, as text, for tests that prove a secret is not stored in
    /// plain text: on SQLite the raw bytes of the file and its write-ahead log, on PostgreSQL
    /// every row of every table of the test's schema as JSON.
    pub async fn dump_text(&self) -> String {
        match &self.cleanup {
            Cleanup::Sqlite(_) => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut dump = String::new();
                for file in [path.to_owned(), format!("{path}-wal")] {
                    if let Ok(bytes) = std::fs::read(&file) {
                        dump.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                dump
            }
            Cleanup::Postgres { admin_url, schema } => {
                let mut conn = PgConnection::connect(admin_url)
                    .await
                    .expect("connect to dump the test schema");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = $1 ORDER BY table_name",
                )
                .bind(schema)
                .fetch_all(&mut conn)
                .await
                .expect("list the test schema's tables");
                let mut dump = String::new();
                for table in tables {
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT row_to_json(t)::text FROM {schema}.\"{table}\" t"
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .expect("dump a table");
                    for row in rows {
                        dump.push_str(&table);
                        dump.push(' ');
                        dump.push_str(&row);
                        dump.push('\n');
                    }
                }
                let _ = conn.close().await;
                dump
            }
        }
    }
}

/// Adds `options=-c search_path=SCHEMA` to a PostgreSQL URL, so every connection made from it
/// (in this process or another) lands in the test's own schema.
fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, schema } = &self.cleanup {
            let (admin_url, schema) = (admin_url.clone(), schema.clone());
            let pool = self.store.clone();
            // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
            // runtime on its own thread does the clean-up synchronously instead.
            let cleaned = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    pool.close().await;
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&mut admin)
                    .await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
            })
            .join();
            if let Ok(Err(error)) = cleaned {
                eprintln!("could not drop a test schema: {error}");
            }
        }
    }
}

/// Runs each named async test function once on SQLite and once on PostgreSQL. Each function
/// takes a [`TestDatabase`] and is called from a `sqlite` and a `postgres` test inside a module
/// of the same name, so `cargo nextest` lists `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::testing::TestDatabase::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::testing::TestDatabase::postgres().await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
