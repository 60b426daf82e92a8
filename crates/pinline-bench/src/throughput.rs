//! `throughput`: how fast the publisher drains a backlog with the sandbox unthrottled, compared
//! with a bare loop calling the sandbox's create-pin directly at the same concurrency; and how
//! fast the queue alone claims and completes posts (a no-op publisher), compared with a bare SQL
//! claim loop on the same database.
//!
//! A second row per backend runs at Pinterest's response time: the sandbox answers every request
//! in 150 ms ± 50 ms, and the publisher runs 512 posts at once, against a bare create-pin loop
//! with the same latency and 512 requests in flight. There the network wait dominates, so
//! the publisher's own costs (claims, completions, token look-ups) must hide behind it: goal
//! ratio ≥ 0.95.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pinline_queue::{Queue, QueueSettings};
use pinline_sandbox::{Latency, SandboxConfig};
use pinline_store::{Completion, PostRow};
use serde_json::json;
use sqlx::Connection;

use crate::env::{BenchAccount, BenchDatabase, Env, Running, master_key_pair, pin_media};
use crate::stats::{per_sec, ratio};
use crate::{BackendKind, BenchOptions, Size, Table};

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub posts: usize,
    pub accounts: usize,
    pub concurrency: usize,
    /// Longest wait for the publisher to drain the backlog.
    pub deadline: Duration,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                posts: 5_000,
                accounts: 8,
                concurrency: 16,
                deadline: Duration::from_secs(120),
            },
            Size::Quick => Params {
                posts: 500,
                accounts: 8,
                concurrency: 16,
                deadline: Duration::from_secs(30),
            },
            Size::Tiny => Params {
                posts: 40,
                accounts: 2,
                concurrency: 4,
                deadline: Duration::from_secs(10),
            },
        }
    }
}

/// Sizes of the run at Pinterest's latency.
#[derive(Debug, Clone, Copy)]
pub struct LatencyParams {
    pub posts: usize,
    pub accounts: usize,
    /// Posts the publisher has in flight, and requests the bare loop has in flight.
    pub concurrency: usize,
    pub latency: Latency,
    /// Longest wait for the publisher to drain the backlog.
    pub deadline: Duration,
}

impl LatencyParams {
    pub fn for_size(size: Size) -> LatencyParams {
        match size {
            // About 3,400 creates/s at best (512 / 150 ms): some 6 s of publishing, after the
            // load.
            Size::Full => LatencyParams {
                posts: 20_000,
                accounts: 64,
                concurrency: 512,
                latency: PINTEREST_LATENCY,
                deadline: Duration::from_secs(180),
            },
            Size::Quick => LatencyParams {
                posts: 2_000,
                accounts: 16,
                concurrency: 512,
                latency: PINTEREST_LATENCY,
                deadline: Duration::from_secs(60),
            },
            Size::Tiny => LatencyParams {
                posts: 100,
                accounts: 4,
                concurrency: 64,
                latency: Latency::from_millis(20, 10),
                deadline: Duration::from_secs(20),
            },
        }
    }
}

/// Pinterest's usual response time, as the latency row simulates it.
pub const PINTEREST_LATENCY: Latency = Latency::from_millis(150, 50);

pub const TITLE: &str = "throughput (sandbox unthrottled; goal: ratio ≥ 0.8)";

pub const LATENCY_TITLE: &str = "throughput at Pinterest's latency (every sandbox request takes \
     150 ms ± 50 ms; 512 in flight; goal: ratio ≥ 0.95)";

pub fn latency_table() -> Table {
    Table::new(
        LATENCY_TITLE,
        &[
            "backend",
            "posts",
            "accounts",
            "concurrency",
            "latency",
            "pinline posts/s",
            "bare create-pin posts/s",
            "ratio",
            "sandbox requests/post",
            "notes",
        ],
    )
}

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "posts",
            "accounts",
            "concurrency",
            "pinline posts/s",
            "bare create-pin posts/s",
            "ratio",
            "queue-only claims/s",
            "bare SQL claims/s",
            "queue ratio",
            "notes",
        ],
    )
}

/// Runs the scenario on `backend`; `None` when the backend is unavailable.
pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Option<Vec<Table>>> {
    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        return Ok(None);
    };
    let params = Params::for_size(options.size);
    let env = Env::start(db, Vec::new(), "http://127.0.0.1:9").await?;
    let accounts = env.accounts("tp", params.accounts).await?;
    let mut notes = Vec::new();

    // Baseline first: the same number of creates, straight at the sandbox.
    let bare = bare_create_loop(&env, &accounts, params.posts, params.concurrency).await?;
    if bare.errors > 0 {
        notes.push(format!("{} bare errors", bare.errors));
    }

    env.queue_posts(&accounts, params.posts, "tp", 16).await?;
    let publisher = env.publisher(1_000_000, params.concurrency);
    let started_ms = env.now_ms();
    let running = Running::start(&publisher);
    let done = env
        .wait_published(params.posts as i64, Instant::now() + params.deadline)
        .await?;
    running.stop().await;
    let (published, last_ms) = published_span(&env, &accounts).await?;
    if !done {
        notes.push(format!("timed out: {published}/{} published", params.posts));
    }
    let failed = env.count(PostRow::FAILED).await?;
    if failed > 0 {
        notes.push(format!("{failed} failed"));
    }
    let pinline_elapsed = Duration::from_millis((last_ms - started_ms).max(1) as u64);
    let pinline_rate = per_sec(published as f64, pinline_elapsed);
    let bare_rate = per_sec(bare.ok as f64, bare.elapsed);

    // The queue alone: a bare SQL claim loop first, then the Queue with a no-op publisher.
    env.queue_posts(&accounts, params.posts, "sql", 16).await?;
    let sql = bare_sql_claims(&env.db, backend, 32).await?;
    env.queue_posts(&accounts, params.posts, "noop", 16).await?;
    let noop = noop_claims(&env).await?;
    let sql_rate = per_sec(sql.0 as f64, sql.1);
    let noop_rate = per_sec(noop.0 as f64, noop.1);
    if sql.0 != params.posts || noop.0 != params.posts {
        notes.push(format!(
            "claimed {} (SQL) and {} (queue) of {}",
            sql.0, noop.0, params.posts
        ));
    }

    let mut table = table();
    table.row(vec![
        backend.name().to_owned(),
        params.posts.to_string(),
        params.accounts.to_string(),
        params.concurrency.to_string(),
        format!("{pinline_rate:.0}"),
        format!("{bare_rate:.0}"),
        ratio(pinline_rate, bare_rate),
        format!("{noop_rate:.0}"),
        format!("{sql_rate:.0}"),
        ratio(noop_rate, sql_rate),
        if notes.is_empty() {
            "–".to_owned()
        } else {
            notes.join("; ")
        },
    ]);
    drop(env);

    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        return Ok(None);
    };
    let mut latency = latency_table();
    latency.row(latency_row(db, backend, LatencyParams::for_size(options.size)).await?);
    Ok(Some(vec![table, latency]))
}

/// The run at Pinterest's latency on a fresh database: a bare loop of `p.posts` creates with
/// `p.concurrency` in flight, then the publisher with as many slots draining as many posts.
async fn latency_row(
    db: BenchDatabase,
    backend: BackendKind,
    p: LatencyParams,
) -> Result<Vec<String>> {
    let config = SandboxConfig::default().with_latency(p.latency);
    let (master_key, _) = master_key_pair()?;
    let env = Env::start_with_sandbox(db, config, "http://127.0.0.1:9", &master_key).await?;
    // Each connect waits for the sandbox twice (the token, the board): connect them together.
    let accounts = env.accounts_parallel("lat", p.accounts, 64).await?;
    let mut notes = Vec::new();

    let bare = bare_create_loop(&env, &accounts, p.posts, p.concurrency).await?;
    if bare.errors > 0 {
        notes.push(format!("{} bare errors", bare.errors));
    }

    env.queue_posts(&accounts, p.posts, "lat", 32).await?;
    // Pacing far above what is asked (org_write 1,000,000/s per user): the publisher is limited
    // by the latency and its slots alone.
    let publisher = env.publisher(1_000_000, p.concurrency);
    let requests_before = env.stats().requests_total;
    let started_ms = env.now_ms();
    let running = Running::start(&publisher);
    let done = env
        .wait_published(p.posts as i64, Instant::now() + p.deadline)
        .await?;
    running.stop().await;
    let requests = env.stats().requests_total.saturating_sub(requests_before);
    let (published, last_ms) = published_span(&env, &accounts).await?;
    if !done {
        notes.push(format!("timed out: {published}/{} published", p.posts));
    }
    let failed = env.count(PostRow::FAILED).await?;
    if failed > 0 {
        notes.push(format!("{failed} failed"));
    }
    let pinline_elapsed = Duration::from_millis((last_ms - started_ms).max(1) as u64);
    let pinline_rate = per_sec(published as f64, pinline_elapsed);
    let bare_rate = per_sec(bare.ok as f64, bare.elapsed);
    notes.push(format!(
        "bare {:.1} s, pinline {:.1} s",
        bare.elapsed.as_secs_f64(),
        pinline_elapsed.as_secs_f64()
    ));
    Ok(vec![
        backend.name().to_owned(),
        p.posts.to_string(),
        p.accounts.to_string(),
        p.concurrency.to_string(),
        p.latency.to_string(),
        format!("{pinline_rate:.0}"),
        format!("{bare_rate:.0}"),
        ratio(pinline_rate, bare_rate),
        format!("{:.2}", requests as f64 / published.max(1) as f64),
        notes.join("; "),
    ])
}

/// Published posts and the time of the last publish (unix ms, pinline's clock).
async fn published_span(env: &Env, accounts: &[BenchAccount]) -> Result<(usize, i64)> {
    let mut published = 0;
    let mut last = 0;
    for account in accounts {
        for post in env.posts_of(&account.id).await? {
            if let Some(at) = post.published_at {
                published += 1;
                last = last.max(at);
            }
        }
    }
    Ok((published, last))
}

#[derive(Debug)]
struct BareRun {
    ok: usize,
    errors: usize,
    elapsed: Duration,
}

/// `count` create-pin calls with reqwest, `concurrency` at a time, round-robin over the
/// accounts, each with a token minted by the sandbox.
async fn bare_create_loop(
    env: &Env,
    accounts: &[BenchAccount],
    count: usize,
    concurrency: usize,
) -> Result<BareRun> {
    let mut tokens = Vec::new();
    for account in accounts {
        tokens.push((
            env.mint_token(&account.pinterest_user_id).await?,
            account.board_id.clone(),
        ));
    }
    let tokens = Arc::new(tokens);
    let url = format!("{}/v5/pins", env.sandbox.base_url());
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (tokens, url, client, next) =
            (tokens.clone(), url.clone(), client.clone(), next.clone());
        tasks.spawn(async move {
            let (mut ok, mut errors) = (0usize, 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let (token, board) = &tokens[i % tokens.len()];
                let slug = format!("bare-{i}");
                let body = json!({
                    "board_id": board,
                    "title": format!("bare {i}"),
                    "description": format!("About bare {i}"),
                    "link": format!("https://shop.example/item/{slug}"),
                    "media_source": pin_media(&slug),
                });
                let sent = client
                    .post(&url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        // Read the body, as the real client does.
                        match response.bytes().await {
                            Ok(_) => ok += 1,
                            Err(_) => errors += 1,
                        }
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors)
        });
    }
    let (mut ok, mut errors) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let (o, e) = joined.context("a bare create task failed")?;
        ok += o;
        errors += e;
    }
    Ok(BareRun {
        ok,
        errors,
        elapsed: started.elapsed(),
    })
}

/// The baseline claim loop: one statement per batch that marks up to `batch` due posts
/// (`FOR UPDATE SKIP LOCKED` on PostgreSQL) until none is left. Raw SQL against the benchmark's
/// own database, for this baseline only.
async fn bare_sql_claims(
    db: &BenchDatabase,
    backend: BackendKind,
    batch: i64,
) -> Result<(usize, Duration)> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 1_000;
    let (mut claimed, started);
    match backend {
        BackendKind::Postgres => {
            let options = sqlx::postgres::PgConnectOptions::from_str(db.url())?;
            let mut conn = sqlx::postgres::PgConnection::connect_with(&options).await?;
            claimed = 0usize;
            started = Instant::now();
            loop {
                let done = sqlx::query(
                    "UPDATE posts SET status = 'published', pin_id = 'bare-' || id,
                        published_at = $1, updated_at = $1
                     WHERE id IN (SELECT id FROM posts
                        WHERE status = 'queued' AND next_attempt_at <= $1
                        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)",
                )
                .bind(now)
                .bind(batch)
                .execute(&mut conn)
                .await?
                .rows_affected();
                if done == 0 {
                    break;
                }
                claimed += done as usize;
            }
            let elapsed = started.elapsed();
            let _ = conn.close().await;
            Ok((claimed, elapsed))
        }
        BackendKind::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(db.url())?
                .busy_timeout(Duration::from_secs(10));
            let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
            claimed = 0usize;
            started = Instant::now();
            loop {
                let done = sqlx::query(
                    "UPDATE posts SET status = 'published', pin_id = 'bare-' || id,
                        published_at = $1, updated_at = $1
                     WHERE id IN (SELECT id FROM posts
                        WHERE status = 'queued' AND next_attempt_at <= $1
                        ORDER BY next_attempt_at, id LIMIT $2)",
                )
                .bind(now)
                .bind(batch)
                .execute(&mut conn)
                .await?
                .rows_affected();
                if done == 0 {
                    break;
                }
                claimed += done as usize;
            }
            let elapsed = started.elapsed();
            let _ = conn.close().await;
            Ok((claimed, elapsed))
        }
    }
}

/// The queue with a no-op publisher: claim a batch, record each post published with a fake pin
/// id (the batch's completions concurrently), until nothing is due.
async fn noop_claims(env: &Env) -> Result<(usize, Duration)> {
    let mut settings = QueueSettings::new(format!("bench-noop-{}", uuid::Uuid::new_v4()));
    settings.lease = Duration::from_secs(600);
    let queue = Queue::new(env.store().clone(), env.shared_clock(), settings);
    let mut completed = 0usize;
    let started = Instant::now();
    loop {
        let claims = queue.claim().await?;
        if claims.is_empty() {
            break;
        }
        let completions = claims.iter().map(|claim| {
            let pin = format!("noop-{}", claim.post.id);
            let queue = &queue;
            async move { queue.published(claim, &pin, None, false).await }
        });
        for completion in futures_util::future::join_all(completions).await {
            if completion? == Completion::Applied {
                completed += 1;
            }
        }
    }
    Ok((completed, started.elapsed()))
}
