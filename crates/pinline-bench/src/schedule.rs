//! `schedule`: many scheduled posts over many accounts, published as they fall due. The posts are
//! bulk-loaded straight into the database (multi-row `INSERT`s, the way an import would; this is
//! the benchmark's own loader, like `throughput`'s bare SQL baseline), their `publish_at` spread
//! evenly over a window, each account's posts spread over all of it. One `pinline serve` process
//! (the real binary, pacing set far above what is asked) then publishes them to the unthrottled
//! sandbox as they come due; on PostgreSQL, `--schedule-replicas N` has N processes share the
//! work instead.
//!
//! Figures: the lag from `publish_at` to `published_at` (p50/p99/max; goal p99 ≤ 1 s), the
//! publishing process's peak RSS (`VmHWM` of the child, so the sandbox's memory is not in it;
//! the largest replica's with several), its CPU time per 1,000 posts published (`utime + stime`
//! of `/proc/PID/stat` at the end, every replica's together), the SQL statements it ran per post
//! published (its driver logs one line per statement with `RUST_LOG=sqlx::query=debug`, as in
//! `idle`; logging them costs the process some CPU too), the database's size with all posts
//! published, and the posts lost (no pin at the sandbox) and duplicated (more than one pin, or a
//! pin of no post): both must be 0.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pinline_store::{DatabaseLocation, PostRow};
use sqlx::Connection;

use crate::bulk::{self, BulkPost};
use crate::env::{BenchAccount, BenchDatabase, Env, master_key_pair, pin_media};
use crate::replicas::{LogTally, NO_EXE, Replica, ReplicaSpec, mib, pinline_exe};
use crate::{BackendKind, BenchOptions, Ran, Size, Table};

/// `--schedule-posts`, `--schedule-accounts`, `--schedule-window-secs`, `--schedule-replicas`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub posts: Option<usize>,
    pub accounts: Option<usize>,
    pub window: Option<Duration>,
    /// `pinline serve` processes sharing the schedule on PostgreSQL (SQLite always runs one).
    pub replicas: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub posts: usize,
    pub accounts: usize,
    /// `publish_at` runs from the window's start to its end.
    pub window: Duration,
    /// How long after the window's end the run waits for the last posts.
    pub drain: Duration,
    /// Publishing processes on PostgreSQL.
    pub replicas: usize,
}

impl Params {
    pub fn for_size(size: Size, overrides: Overrides) -> Params {
        let mut p = match size {
            Size::Full => Params {
                posts: 1_000_000,
                accounts: 10_000,
                window: Duration::from_secs(1_000),
                drain: Duration::from_secs(300),
                replicas: 1,
            },
            Size::Quick => Params {
                posts: 2_000,
                accounts: 50,
                window: Duration::from_secs(5),
                drain: Duration::from_secs(20),
                replicas: 1,
            },
            Size::Tiny => Params {
                posts: 100,
                accounts: 4,
                window: Duration::from_secs(2),
                drain: Duration::from_secs(10),
                replicas: 1,
            },
        };
        if let Some(posts) = overrides.posts {
            p.posts = posts.max(1);
        }
        if let Some(accounts) = overrides.accounts {
            p.accounts = accounts.max(1);
        }
        if let Some(replicas) = overrides.replicas {
            p.replicas = replicas.clamp(1, MAX_REPLICAS);
        }
        if let Some(window) = overrides.window {
            p.window = window.max(Duration::from_secs(1));
            p.drain = p.drain.max(p.window / 4);
        }
        p
    }
}

/// The most `--schedule-replicas` starts.
pub const MAX_REPLICAS: usize = 16;

pub const TITLE: &str = "schedule (posts bulk-loaded with publish_at spread over a window, published by one \
     `pinline serve`, or several on PostgreSQL; goal: lag p99 ≤ 1 s, 0 lost, 0 duplicated)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "replicas",
            "posts",
            "accounts",
            "window s",
            "due/s",
            "published",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "publisher peak RSS",
            "CPU s / 1,000 posts",
            "statements / post",
            "lost",
            "duplicated",
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
    let mut p = Params::for_size(options.size, options.schedule);
    if backend != BackendKind::Postgres {
        // Several processes on one SQLite file only queue for its single writer.
        p.replicas = 1;
    }
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
    // Time before the first post falls due: to move the schedule and gather statistics (about
    // as long as the load took), then to start the publishers (2 s each, as they start together
    // but share the machine).
    let lead = load_time + Duration::from_secs(2) * p.replicas as u32;
    let window_start = env.now_ms() + lead.as_millis() as i64;
    let shifting = Instant::now();
    shift_schedule(&env, far - window_start).await?;
    // After a bulk load the store's claim bookkeeping must be rebuilt: the posts were written
    // (and moved) behind the store's back.
    bulk::rebuild_claim_bookkeeping(env.store(), env.db.url()).await?;
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
        env: vec![
            (
                "PINLINE_PINTEREST_RATES".to_owned(),
                "org_write=100000/s,org_read=100000/s".to_owned(),
            ),
            // One line per SQL statement, counted by the tally.
            ("RUST_LOG".to_owned(), "warn,sqlx::query=debug".to_owned()),
        ],
    };
    let tally = Arc::new(LogTally::default());
    let starts = (0..p.replicas).map(|_| Replica::start(&spec, tally.clone()));
    let publishers = futures_util::future::join_all(starts)
        .await
        .into_iter()
        .collect::<Result<Vec<Replica>>>()?;
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
        // The sandbox's pin count costs nothing; the database's count reads the whole posts
        // table (3 GB at full size), which would load the very database being measured. So the
        // database is asked only once the sandbox holds a pin for every post.
        if env.sandbox.stats().pins_created >= p.posts as u64
            && env.count(PostRow::PUBLISHED).await? >= p.posts as i64
        {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(poll).await;
    };
    let peak_rss = publishers.iter().filter_map(Replica::peak_rss).max();
    let cpu: Option<Duration> = publishers.iter().map(Replica::cpu_time).sum();
    let statements = tally.statements();
    let errors = tally.errors();
    for publisher in publishers {
        publisher.kill().await?;
    }
    if errors > 0 {
        notes.push(format!("{errors} ERROR lines logged"));
    }

    let timed = lags(&env).await?;
    if let Some(note) = worst_windows(&timed, window_start) {
        notes.push(note);
    }
    let mut lags: Vec<i64> = timed.into_iter().map(|(_, lag)| lag).collect();
    lags.sort_unstable();
    let published = lags.len();
    if !done {
        let counts = env.store().post_counts_by_status().await?;
        notes.push(format!(
            "stopped at the bound ({} s after the window): {counts:?}",
            p.drain.as_secs()
        ));
    }
    let (lost, duplicated) = audit_pins(&env, &p);
    let mut failures = Vec::new();
    if duplicated > 0 {
        failures.push(format!("{duplicated} posts duplicated at the sandbox"));
    }
    if done && lost > 0 {
        failures.push(format!(
            "{lost} posts published in the database have no pin at the sandbox"
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
        p.replicas.to_string(),
        p.posts.to_string(),
        p.accounts.to_string(),
        p.window.as_secs().to_string(),
        format!("{:.0}", p.posts as f64 / p.window.as_secs_f64()),
        published.to_string(),
        quantile(0.5),
        quantile(0.99),
        lags.last().map_or_else(|| "–".to_owned(), i64::to_string),
        peak_rss.map_or_else(|| "–".to_owned(), mib),
        cpu.filter(|_| published > 0).map_or_else(
            || "–".to_owned(),
            |cpu| format!("{:.2}", cpu.as_secs_f64() * 1000.0 / published as f64),
        ),
        if published > 0 {
            format!("{:.1}", statements as f64 / published as f64)
        } else {
            "–".to_owned()
        },
        lost.to_string(),
        duplicated.to_string(),
        mib(size),
        format!("{:.0}", size as f64 / p.posts as f64),
        notes.join("; "),
    ]);
    Ok(Ran::Tables {
        tables: vec![table],
        failures,
    })
}

/// Posts with no pin at the sandbox (lost), and pins beyond one per post plus pins of no post
/// (duplicated), by the links the pins carry: each post's link is its own.
fn audit_pins(env: &Env, p: &Params) -> (usize, usize) {
    let mut links = env.sandbox.pin_links();
    let mut lost = 0;
    let mut duplicated = 0;
    for i in 0..p.posts {
        match links.remove(&post_link(i)) {
            None | Some(0) => lost += 1,
            Some(pins) => duplicated += (pins - 1) as usize,
        }
    }
    duplicated += links.values().sum::<u64>() as usize;
    (lost, duplicated)
}

/// The link of the `i`-th post, unique to it.
fn post_link(i: usize) -> String {
    format!("https://shop.example/s/sched-{i}")
}

/// The `i`-th post of the load: round-robin over the accounts, `publish_at` from `far` over the
/// window.
fn load_row(i: usize, accounts: &[BenchAccount], p: &Params, far: i64) -> BulkPost {
    let slug = format!("sched-{i}");
    let offset = (i as u128 * p.window.as_millis() / p.posts as u128) as i64;
    let account = &accounts[i % p.accounts];
    BulkPost {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: account.id.clone(),
        board_id: account.board_id.clone(),
        title: format!("Scheduled {i}"),
        link: post_link(i),
        media: pin_media(&slug).to_string(),
        due_at: far + offset,
    }
}

/// Writes `p.posts` queued posts round-robin over `accounts`, `publish_at` from `far` over the
/// window.
async fn load_posts(env: &Env, accounts: &[BenchAccount], p: &Params, far: i64) -> Result<()> {
    bulk::insert_posts(env.db.url(), &env.profile_id, p.posts, env.now_ms(), |i| {
        load_row(i, accounts, p, far)
    })
    .await
}

/// Moves every queued post `by_ms` earlier.
async fn shift_schedule(env: &Env, by_ms: i64) -> Result<()> {
    bulk::execute(
        env.db.url(),
        "UPDATE posts SET publish_at = publish_at - $1, next_attempt_at = next_attempt_at - $1 \
         WHERE status = 'queued'",
        Some(by_ms),
    )
    .await
}

/// Where the lag's tail sits in time: the five 1-second stretches of the window (by
/// `publish_at`) with the highest lag p99, as "at +S s: p99 X ms" (a tail spread over the whole
/// window is a steady cost; one in a few stretches is a stall).
fn worst_windows(timed: &[(i64, i64)], window_start: i64) -> Option<String> {
    const STRETCH_MS: i64 = 1_000;
    let mut by_stretch: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(publish_at, lag) in timed {
        let stretch = (publish_at - window_start).div_euclid(STRETCH_MS);
        by_stretch.entry(stretch).or_default().push(lag);
    }
    let mut p99s: Vec<(i64, i64)> = by_stretch
        .into_iter()
        .map(|(stretch, mut lags)| {
            lags.sort_unstable();
            let rank = ((0.99 * lags.len() as f64).ceil() as usize).clamp(1, lags.len());
            (stretch, lags[rank - 1])
        })
        .collect();
    if p99s.len() < 2 {
        return None;
    }
    p99s.sort_by_key(|&(stretch, p99)| (std::cmp::Reverse(p99), stretch));
    let worst: Vec<String> = p99s
        .iter()
        .take(5)
        .map(|(stretch, p99)| format!("+{} s: {p99}", stretch * STRETCH_MS / 1000))
        .collect();
    Some(format!(
        "lag p99 ms of the worst 1 s stretches: {}",
        worst.join(", ")
    ))
}

/// `(publish_at, published_at − publish_at)` of every published post, ms.
async fn lags(env: &Env) -> Result<Vec<(i64, i64)>> {
    let sql = "SELECT publish_at, published_at - publish_at FROM posts \
               WHERE status = 'published' AND publish_at IS NOT NULL";
    let lags: Vec<(i64, i64)> = match DatabaseLocation::parse(env.db.url())? {
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
    Ok(lags)
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
    fn overrides_win() {
        let p = Params::for_size(
            Size::Quick,
            Overrides {
                posts: Some(10),
                accounts: None,
                window: Some(Duration::from_secs(400)),
                replicas: Some(3),
            },
        );
        assert_eq!((p.posts, p.accounts, p.window.as_secs()), (10, 50, 400));
        assert_eq!(p.drain, Duration::from_secs(100));
        assert_eq!(p.replicas, 3);
        assert_eq!(
            Params::for_size(Size::Full, Overrides::default()).replicas,
            1
        );
    }
}
