//! `schedule`: many scheduled posts over many accounts, published as they fall due. The posts are
//! bulk-loaded straight into the database (multi-row `INSERT`s, the way an import would; this is
//! the benchmark's own loader, like `throughput`'s bare SQL baseline), their `publish_at` spread
//! evenly over a window, each account's posts spread over all of it. One `pinline serve` process
//! (the real binary, pacing set far above what is asked) then publishes them to the unthrottled
//! sandbox as they come due.
//!
//! Figures: the lag from `publish_at` to `published_at` (p50/p99/max; goal p99 ≤ 1 s), the
//! publishing process's peak RSS (`VmHWM` of the child, so the sandbox's memory is not in it),
//! and the database's size with all posts published.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pinline_store::{DatabaseLocation, PostRow};
use sqlx::Connection;

use crate::env::{BenchAccount, BenchDatabase, Env, master_key_pair, pin_media};
use crate::replicas::{LogTally, NO_EXE, Replica, ReplicaSpec, mib, pinline_exe};
use crate::{BackendKind, BenchOptions, Ran, Size, Table};

/// `--schedule-posts`, `--schedule-accounts`, `--schedule-window-secs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub posts: Option<usize>,
    pub accounts: Option<usize>,
    pub window: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub posts: usize,
    pub accounts: usize,
    /// `publish_at` runs from the window's start to its end.
    pub window: Duration,
    /// How long after the window's end the run waits for the last posts.
    pub drain: Duration,
}

impl Params {
    pub fn for_size(size: Size, overrides: Overrides) -> Params {
        let mut p = match size {
            Size::Full => Params {
                posts: 1_000_000,
                accounts: 10_000,
                window: Duration::from_secs(1_000),
                drain: Duration::from_secs(300),
            },
            Size::Quick => Params {
                posts: 2_000,
                accounts: 50,
                window: Duration::from_secs(5),
                drain: Duration::from_secs(20),
            },
            Size::Tiny => Params {
                posts: 100,
                accounts: 4,
                window: Duration::from_secs(2),
                drain: Duration::from_secs(10),
            },
        };
        if let Some(posts) = overrides.posts {
            p.posts = posts.max(1);
        }
        if let Some(accounts) = overrides.accounts {
            p.accounts = accounts.max(1);
        }
        if let Some(window) = overrides.window {
            p.window = window.max(Duration::from_secs(1));
            p.drain = p.drain.max(p.window / 4);
        }
        p
    }
}

pub const TITLE: &str = "schedule (posts bulk-loaded with publish_at spread over a window, published by one \
     `pinline serve`; goal: lag p99 ≤ 1 s)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "posts",
            "accounts",
            "window s",
            "due/s",
            "published",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "publisher peak RSS",
            "database size",
            "bytes/post",
            "notes",
        ],
    )
}

pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Ran> {
    let Some(exe) = pinline_exe() else {
        return Ok(Ran::Skipped(NO_EXE.to_owned()));
    };
    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        return Ok(Ran::Skipped("skipped, PostgreSQL not reachable".to_owned()));
    };
    let p = Params::for_size(options.size, options.schedule);
    let (master_key, master_key_text) = master_key_pair()?;
    let env = Env::start_with_key(db, Vec::new(), "http://127.0.0.1:9", &master_key).await?;
    let mut notes = Vec::new();

    let started = Instant::now();
    let accounts = env.accounts_parallel("sched", p.accounts, 16).await?;
    notes.push(format!(
        "{} accounts connected in {:.1} s",
        p.accounts,
        started.elapsed().as_secs_f64()
    ));

    // Load with publish_at a day ahead, then move the whole schedule to start shortly after the
    // load (one UPDATE), so that no post falls due while the rest are still being written.
    let far = env.now_ms() + 86_400_000;
    let loading = Instant::now();
    load_posts(&env, &accounts, &p, far).await?;
    let load_time = loading.elapsed();
    let lead = load_time.max(Duration::from_secs(2));
    let window_start = env.now_ms() + lead.as_millis() as i64;
    let shifting = Instant::now();
    shift_schedule(&env, far - window_start).await?;
    notes.push(format!(
        "load {:.1} s ({:.0} rows/s), shift {:.1} s",
        load_time.as_secs_f64(),
        p.posts as f64 / load_time.as_secs_f64().max(0.001),
        shifting.elapsed().as_secs_f64()
    ));

    let spec = ReplicaSpec {
        exe,
        database_url: env.db.url().to_owned(),
        master_key: master_key_text,
        pinterest_api_url: env.sandbox.base_url(),
        pinterest_oauth_url: env.sandbox.oauth_url(),
        env: vec![(
            "PINLINE_PINTEREST_RATES".to_owned(),
            "org_write=100000/s,org_read=100000/s".to_owned(),
        )],
    };
    let publisher = Replica::start(&spec, Arc::new(LogTally::default())).await?;
    if env.now_ms() > window_start {
        notes.push("the publisher started after the window opened".to_owned());
    }

    let deadline = Instant::now()
        + Duration::from_millis((window_start - env.now_ms()).max(0) as u64)
        + p.window
        + p.drain;
    let poll = if p.posts > 100_000 {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(200)
    };
    let done = loop {
        if env.count(PostRow::PUBLISHED).await? >= p.posts as i64 {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(poll).await;
    };
    let peak_rss = publisher.peak_rss();
    publisher.kill().await?;

    let mut lags = lags(&env).await?;
    lags.sort_unstable();
    let published = lags.len();
    if !done {
        let counts = env.store().post_counts_by_status().await?;
        notes.push(format!(
            "stopped at the bound ({} s after the window): {counts:?}",
            p.drain.as_secs()
        ));
    }
    let size = database_size(&env.db, backend).await?;
    let quantile = |q: f64| -> String {
        if lags.is_empty() {
            return "–".to_owned();
        }
        let rank = ((q * lags.len() as f64).ceil() as usize).clamp(1, lags.len());
        lags[rank - 1].to_string()
    };
    let mut table = table();
    table.row(vec![
        backend.name().to_owned(),
        p.posts.to_string(),
        p.accounts.to_string(),
        p.window.as_secs().to_string(),
        format!("{:.0}", p.posts as f64 / p.window.as_secs_f64()),
        published.to_string(),
        quantile(0.5),
        quantile(0.99),
        lags.last().map_or_else(|| "–".to_owned(), i64::to_string),
        peak_rss.map_or_else(|| "–".to_owned(), mib),
        mib(size),
        format!("{:.0}", size as f64 / p.posts as f64),
        notes.join("; "),
    ]);
    Ok(Ran::tables(vec![table]))
}

/// Rows per `INSERT` statement, and statements per transaction.
const ROWS_PER_INSERT: usize = 500;
const INSERTS_PER_TX: usize = 20;

/// The multi-row insert of `rows` posts (11 parameters a row).
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO posts (id, profile_id, account_id, board_id, title, link, media, publish_at, \
         status, next_attempt_at, created_at, updated_at) VALUES ",
    );
    for row in 0..rows {
        let b = row * 9;
        if row > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 'queued', ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 8,
            b + 9,
            b + 9
        ));
    }
    sql
}

/// One post of the load: (id, account, title, link, media, publish_at).
struct LoadRow {
    id: String,
    account: usize,
    title: String,
    link: String,
    media: String,
    publish_at: i64,
}

fn load_row(i: usize, p: &Params, far: i64) -> LoadRow {
    let slug = format!("sched-{i}");
    let offset = (i as u128 * p.window.as_millis() / p.posts as u128) as i64;
    LoadRow {
        id: uuid::Uuid::now_v7().to_string(),
        account: i % p.accounts,
        title: format!("Scheduled {i}"),
        link: format!("https://shop.example/s/{slug}"),
        media: pin_media(&slug).to_string(),
        publish_at: far + offset,
    }
}

/// Inserts every post on `$conn` (a PostgreSQL or SQLite connection: the statements are the same,
/// the connection types are not), `ROWS_PER_INSERT` rows per statement and `INSERTS_PER_TX`
/// statements per transaction.
macro_rules! load_into {
    ($conn:expr, $env:expr, $accounts:expr, $p:expr, $far:expr) => {{
        let now = $env.now_ms();
        let full_sql = insert_sql(ROWS_PER_INSERT);
        let mut next = 0;
        while next < $p.posts {
            let mut tx = $conn.begin().await?;
            for _ in 0..INSERTS_PER_TX {
                let end = (next + ROWS_PER_INSERT).min($p.posts);
                if end == next {
                    break;
                }
                let rows: Vec<LoadRow> = (next..end).map(|i| load_row(i, $p, $far)).collect();
                let sql = if rows.len() == ROWS_PER_INSERT {
                    full_sql.clone()
                } else {
                    insert_sql(rows.len())
                };
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in &rows {
                    let account: &BenchAccount = &$accounts[row.account];
                    query = query
                        .bind(row.id.clone())
                        .bind($env.profile_id.clone())
                        .bind(account.id.clone())
                        .bind(account.board_id.clone())
                        .bind(row.title.clone())
                        .bind(row.link.clone())
                        .bind(row.media.clone())
                        .bind(row.publish_at)
                        .bind(now);
                }
                query.execute(&mut *tx).await?;
                next = end;
            }
            tx.commit().await?;
        }
        let _ = $conn.close().await;
    }};
}

/// Writes `p.posts` queued posts round-robin over `accounts`, `publish_at` from `far` over the
/// window.
async fn load_posts(env: &Env, accounts: &[BenchAccount], p: &Params, far: i64) -> Result<()> {
    match DatabaseLocation::parse(env.db.url())? {
        DatabaseLocation::Postgres(_) => {
            let options = sqlx::postgres::PgConnectOptions::from_str(env.db.url())?;
            let mut conn = sqlx::postgres::PgConnection::connect_with(&options).await?;
            load_into!(conn, env, accounts, p, far);
        }
        DatabaseLocation::Sqlite(_) => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(env.db.url())?
                .busy_timeout(Duration::from_secs(30));
            let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
            load_into!(conn, env, accounts, p, far);
        }
    }
    Ok(())
}

/// Moves every queued post `by_ms` earlier.
async fn shift_schedule(env: &Env, by_ms: i64) -> Result<()> {
    let sql = "UPDATE posts SET publish_at = publish_at - $1, next_attempt_at = next_attempt_at - $1 \
               WHERE status = 'queued'";
    match DatabaseLocation::parse(env.db.url())? {
        DatabaseLocation::Postgres(_) => {
            let options = sqlx::postgres::PgConnectOptions::from_str(env.db.url())?;
            let mut conn = sqlx::postgres::PgConnection::connect_with(&options).await?;
            sqlx::query(sql).bind(by_ms).execute(&mut conn).await?;
            let _ = conn.close().await;
        }
        DatabaseLocation::Sqlite(_) => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(env.db.url())?
                .busy_timeout(Duration::from_secs(30));
            let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
            sqlx::query(sql).bind(by_ms).execute(&mut conn).await?;
            let _ = conn.close().await;
        }
    }
    Ok(())
}

/// `published_at − publish_at` of every published post, ms.
async fn lags(env: &Env) -> Result<Vec<i64>> {
    let sql = "SELECT published_at - publish_at FROM posts \
               WHERE status = 'published' AND publish_at IS NOT NULL";
    let lags: Vec<(i64,)> = match DatabaseLocation::parse(env.db.url())? {
        DatabaseLocation::Postgres(_) => {
            let options = sqlx::postgres::PgConnectOptions::from_str(env.db.url())?;
            let mut conn = sqlx::postgres::PgConnection::connect_with(&options).await?;
            let rows = sqlx::query_as(sql).fetch_all(&mut conn).await?;
            let _ = conn.close().await;
            rows
        }
        DatabaseLocation::Sqlite(_) => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(env.db.url())?;
            let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
            let rows = sqlx::query_as(sql).fetch_all(&mut conn).await?;
            let _ = conn.close().await;
            rows
        }
    };
    Ok(lags.into_iter().map(|(lag,)| lag).collect())
}

/// The database's size on disk: the SQLite file with its WAL, or the schema's tables with their
/// indexes and TOAST on PostgreSQL.
async fn database_size(db: &BenchDatabase, backend: BackendKind) -> Result<u64> {
    match (backend, DatabaseLocation::parse(db.url())?) {
        (_, DatabaseLocation::Sqlite(path)) => {
            let mut size = 0;
            for suffix in ["", "-wal"] {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                size += std::fs::metadata(&name).map_or(0, |m| m.len());
            }
            Ok(size)
        }
        (_, DatabaseLocation::Postgres(_)) => {
            let options = sqlx::postgres::PgConnectOptions::from_str(db.url())?;
            let mut conn = sqlx::postgres::PgConnection::connect_with(&options).await?;
            let (size,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            )
            .fetch_one(&mut conn)
            .await
            .context("reading the schema's size")?;
            let _ = conn.close().await;
            Ok(u64::try_from(size).unwrap_or(0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bulk_insert_numbers_its_parameters() {
        let sql = insert_sql(2);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $8, $9, $9)"));
        assert!(sql.ends_with("($10, $11, $12, $13, $14, $15, $16, $17, 'queued', $17, $18, $18)"));
    }

    #[test]
    fn overrides_win() {
        let p = Params::for_size(
            Size::Quick,
            Overrides {
                posts: Some(10),
                accounts: None,
                window: Some(Duration::from_secs(400)),
            },
        );
        assert_eq!((p.posts, p.accounts, p.window.as_secs()), (10, 50, 400));
        assert_eq!(p.drain, Duration::from_secs(100));
    }
}
