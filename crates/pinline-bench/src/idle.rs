//! `idle`: what a `pinline serve` process costs when it has nothing to do. The real binary runs
//! against the sandbox and a fresh database, first with no posts, then (a new process) with
//! posts due in an hour; after it settles, a window of 10 s (2 s with `--quick`) measures:
//!
//! * its CPU share of one core: `utime + stime` of `/proc/PID/stat` over the window (every
//!   thread of the child; the sandbox and this process are not in it);
//! * SQL statements per second: the statements the child's database driver logs (it runs with
//!   `RUST_LOG=sqlx::query=debug`, one line per statement; on SQLite the `BEGIN`/`COMMIT`
//!   around them are not logged, so a write transaction counts as its statements only);
//! * on PostgreSQL also transactions per second, `xact_commit + xact_rollback` of
//!   `pg_stat_database` for a database created for the run (so nothing else is counted; read
//!   from the server's own database, so the readings are not counted either);
//! * the publisher's claims and claims that found nothing, from its per-claim debug line.
//!
//! Goals: ≤ 1 % of a core and ≤ 10 statements/s. Before the window, a few posts are accepted for
//! "now" through the child's API, one at a time and each for another account: the time from
//! acceptance (`created_at`) to published (`published_at`), both stamped by the child, shows how
//! soon a woken publisher starts. In `--quick` runs the settle is too short for PostgreSQL's
//! count (it would include transactions from before the window, reported late): it is left out. A window that shows a spinning loop (over 25 % of a core or 100 statements/s, far
//! beyond any noise) is a missed goal and fails the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pinline_store::{InsertOutcome, NewPost, PostRow};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::env::{BenchAccount, BenchDatabase, Env, master_key_pair, pin_media};
use crate::replicas::{LogTally, NO_EXE, Replica, ReplicaSpec, api_key, pinline_exe};
use crate::stats::{ms, quantile};
use crate::{BackendKind, BenchOptions, Ran, Size, Table};

#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// How long the child idles between the posts accepted for now and the window (a full
    /// run waits out PostgreSQL's 10 s delay in counting an idle connection's transactions).
    pub settle: Duration,
    pub window: Duration,
    /// Posts due in an hour, for the second case.
    pub posts: usize,
    /// Over how many accounts.
    pub accounts: usize,
    /// Posts accepted for now after each window (at most one per account).
    pub wakes: usize,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                settle: PG_REPORT_DELAY,
                window: Duration::from_secs(10),
                posts: 2_000,
                accounts: 20,
                wakes: 10,
            },
            Size::Quick => Params {
                settle: Duration::from_secs(1),
                window: Duration::from_secs(2),
                posts: 500,
                accounts: 4,
                wakes: 3,
            },
            Size::Tiny => Params {
                settle: Duration::from_millis(500),
                window: Duration::from_secs(1),
                posts: 50,
                accounts: 2,
                wakes: 2,
            },
        }
    }
}

pub const TITLE: &str = "idle (one `pinline serve` with nothing due, after it settles; goal: ≤ 1 % of a \
     core and ≤ 10 statements/s)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "queued posts",
            "window s",
            "CPU % of a core",
            "statements/s",
            "PostgreSQL xacts/s",
            "claims/s",
            "empty claims/s",
            "accepted for now → published p50 ms",
            "max ms",
            "notes",
        ],
    )
}

/// How long an idle PostgreSQL connection may take to report its transactions, and a margin.
const PG_REPORT_DELAY: Duration = Duration::from_secs(11);

/// A spinning loop, not noise: the run fails above these.
const SPIN_CPU_PERCENT: f64 = 25.0;
const SPIN_STATEMENTS_PER_SEC: f64 = 100.0;

pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Ran> {
    let Some(exe) = pinline_exe() else {
        return Ok(Ran::Skipped(NO_EXE.to_owned()));
    };
    let db = match backend {
        BackendKind::Sqlite => BenchDatabase::fresh(backend, None).await?,
        BackendKind::Postgres => {
            BenchDatabase::own_postgres_database(options.postgres_url.as_deref()).await?
        }
    };
    let Some(db) = db else {
        return Ok(Ran::Skipped("skipped, PostgreSQL not reachable".to_owned()));
    };
    let p = Params::for_size(options.size);
    let (master_key, master_key_text) = master_key_pair()?;
    let env = Env::start_with_key(db, Vec::new(), "http://127.0.0.1:9", &master_key).await?;
    let accounts = env.accounts_parallel("idle", p.accounts, 8).await?;
    let key = api_key(env.store(), "idle").await?;
    let spec = ReplicaSpec {
        exe,
        database_url: env.db.url().to_owned(),
        master_key: master_key_text,
        pinterest_api_url: env.sandbox.base_url(),
        pinterest_oauth_url: env.sandbox.oauth_url(),
        env: vec![(
            "RUST_LOG".to_owned(),
            "warn,sqlx::query=debug,pinline_queue::worker=debug".to_owned(),
        )],
    };

    let mut table = table();
    let mut failures = Vec::new();
    for queued in [0, p.posts] {
        if queued > 0 {
            let an_hour_ahead = env.now_ms() + 3_600_000;
            queue_scheduled(&env, &accounts, queued, an_hour_ahead).await?;
        }
        let case = measure(&env, &spec, &p, &key, &accounts).await?;
        if case.cpu_percent > SPIN_CPU_PERCENT || case.statements_per_sec > SPIN_STATEMENTS_PER_SEC
        {
            failures.push(format!(
                "with {queued} queued posts the idle process used {:.1} % of a core and ran {:.1} \
                 statements/s: a loop that does not wait",
                case.cpu_percent, case.statements_per_sec
            ));
        }
        let mut notes = Vec::new();
        if case.cpu_percent > 1.0 || case.statements_per_sec > 10.0 {
            notes.push("over the goal".to_owned());
        }
        if backend == BackendKind::Postgres && case.transactions.is_none() {
            notes.push("xacts/s need the full run's 11 s settle".to_owned());
        }
        if case.errors > 0 {
            notes.push(format!("{} ERROR lines", case.errors));
        }
        let rate = |count: u64| format!("{:.1}", count as f64 / case.window.as_secs_f64());
        table.row(vec![
            backend.name().to_owned(),
            queued.to_string(),
            format!("{:.1}", case.window.as_secs_f64()),
            format!("{:.2}", case.cpu_percent),
            format!("{:.1}", case.statements_per_sec),
            case.transactions.map_or_else(|| "–".to_owned(), rate),
            rate(case.claims),
            rate(case.empty_claims),
            ms(quantile(&case.wake_latencies, 0.5)),
            ms(case.wake_latencies.last().copied()),
            notes.join("; "),
        ]);
    }
    Ok(Ran::Tables {
        tables: vec![table],
        failures,
    })
}

/// One window's figures.
struct Case {
    window: Duration,
    cpu_percent: f64,
    statements_per_sec: f64,
    /// PostgreSQL's transactions in the window (own database only).
    transactions: Option<u64>,
    claims: u64,
    empty_claims: u64,
    errors: u64,
    /// Accepted → published, sorted.
    wake_latencies: Vec<Duration>,
}

/// Starts a `pinline serve`, times posts accepted for now, lets it settle, measures one window,
/// and kills it.
///
/// The window comes last and ends with the kill because of how PostgreSQL counts: a connection
/// reports its transactions at most once a second while busy and, once idle, up to 10 s later,
/// but at once when it ends. So the settle (longer than those 10 s in a full run) makes sure the
/// start-up and the posts before the window are counted before it opens, and the kill makes
/// the child's connections report what they did in the window before it is read. Nothing else
/// uses the database meanwhile.
async fn measure(
    env: &Env,
    spec: &ReplicaSpec,
    p: &Params,
    key: &str,
    accounts: &[BenchAccount],
) -> Result<Case> {
    let tally = Arc::new(LogTally::default());
    let child = Replica::start(spec, tally.clone()).await?;
    // Its start-up claims and due check.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut wake_latencies = Vec::with_capacity(p.wakes);
    for i in 0..p.wakes {
        // A different account each time, so that no post waits for the pacer behind the one
        // before (10 creates/s per user by default).
        let account = &accounts[i % accounts.len()];
        wake_latencies.push(accept_and_wait(env, &child.base_url, key, account, i).await?);
    }
    wake_latencies.sort_unstable();
    tokio::time::sleep(p.settle).await;

    let cpu_before = child.cpu_time().context("reading the child's CPU time")?;
    let (statements_before, claims_before, empty_before) =
        (tally.statements(), tally.claims(), tally.empty_claims());
    // Shorter settles (`--quick`) would count earlier traffic PostgreSQL reported late.
    let count_transactions = p.settle >= PG_REPORT_DELAY;
    let transactions_before = transactions(&env.db).await?;
    let opened = Instant::now();
    tokio::time::sleep(p.window).await;
    let cpu_after = child.cpu_time().context("reading the child's CPU time")?;
    let window = opened.elapsed();
    let (statements_after, claims_after, empty_after) =
        (tally.statements(), tally.claims(), tally.empty_claims());
    let errors = tally.errors();
    child.kill().await?;
    // The killed child's connections end, and report, once PostgreSQL notices.
    if env.db.own_database().is_some() {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let transactions_after = transactions(&env.db).await?;

    let secs = window.as_secs_f64();
    Ok(Case {
        window,
        cpu_percent: (cpu_after.saturating_sub(cpu_before)).as_secs_f64() / secs * 100.0,
        statements_per_sec: statements_after.saturating_sub(statements_before) as f64 / secs,
        transactions: transactions_before
            .zip(transactions_after)
            .filter(|_| count_transactions)
            .map(|(before, after)| after.saturating_sub(before)),
        claims: claims_after.saturating_sub(claims_before),
        empty_claims: empty_after.saturating_sub(empty_before),
        errors,
        wake_latencies,
    })
}

/// `xact_commit + xact_rollback` of the scenario's own PostgreSQL database, read over a
/// connection to the server's own database; `None` on SQLite.
async fn transactions(db: &BenchDatabase) -> Result<Option<u64>> {
    let Some((admin_url, name)) = db.own_database() else {
        return Ok(None);
    };
    let mut admin = PgConnection::connect(admin_url)
        .await
        .context("connecting to PostgreSQL for its statistics")?;
    let (count,): (i64,) = sqlx::query_as(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = $1",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await
    .context("reading pg_stat_database")?;
    let _ = admin.close().await;
    Ok(Some(u64::try_from(count).unwrap_or(0)))
}

/// Queues `count` posts round-robin over `accounts`, all due at `publish_at`, through the store
/// (16 inserts at a time), as the API would have.
async fn queue_scheduled(
    env: &Env,
    accounts: &[BenchAccount],
    count: usize,
    publish_at: i64,
) -> Result<()> {
    let mut next = 0;
    while next < count {
        let end = (next + 16).min(count);
        let inserts = (next..end).map(|i| {
            let account = &accounts[i % accounts.len()];
            let slug = format!("idle-later-{i}");
            let post = NewPost {
                profile_id: env.profile_id.clone(),
                account_id: account.id.clone(),
                board_id: account.board_id.clone(),
                title: Some(format!("Later {i}")),
                link: Some(format!("https://shop.example/later/{slug}")),
                media: pin_media(&slug).to_string(),
                publish_at: Some(publish_at),
                ..NewPost::default()
            };
            async move { env.store().insert_post(&post, env.now_ms()).await }
        });
        for inserted in futures_util::future::join_all(inserts).await {
            match inserted? {
                InsertOutcome::Created(_) => {}
                other => bail!("expected a new post, got {other:?}"),
            }
        }
        next = end;
    }
    Ok(())
}

/// Accepts one post for now through the child's API and waits (at most 10 s) until it is
/// published; returns `published_at − created_at` as the child stamped them.
async fn accept_and_wait(
    env: &Env,
    base_url: &str,
    key: &str,
    account: &BenchAccount,
    i: usize,
) -> Result<Duration> {
    let body = json!({
        "account_id": account.id,
        "board_id": account.board_id,
        "title": format!("Right now {i}"),
        "link": format!("https://shop.example/now/{i}"),
        "image_url": format!("https://cdn.example/now-{i}.jpg"),
    });
    let response = env
        .http
        .post(format!("{base_url}/v1/posts"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .context("POST /v1/posts")?;
    let status = response.status();
    let accepted: serde_json::Value = response.json().await.context("the accepted post")?;
    if status.as_u16() != 202 {
        bail!("POST /v1/posts answered {status}: {accepted}");
    }
    let id = accepted["id"]
        .as_str()
        .context("no id in the accepted post")?
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let post = env
            .store()
            .post_by_id(&id)
            .await?
            .context("the accepted post is gone")?;
        if post.status == PostRow::PUBLISHED {
            let published_at = post.published_at.context("published without a time")?;
            let took = u64::try_from(published_at - post.created_at).unwrap_or(0);
            return Ok(Duration::from_millis(took));
        }
        if Instant::now() >= deadline {
            bail!("a post accepted for now was not published within 10 s: {post:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
