//! `pacing`: with the sandbox limiting `org_write` per user and the pacer configured to the same
//! rate, how close each account's publishing gets to the allowed rate, how many requests still
//! earn a 429, and how long one post of another account waits behind a big backlog. The
//! 1,000-account case runs on its own sandbox with a slower limit per account (15 creates a
//! minute; the pacer sends one per 4 s), so that the sum over all accounts (250/s) stays within what one publisher does and the
//! row measures pacing over many users, not raw throughput.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pinline_pinterest::facts::RateLimitCategory;
use pinline_queue::Publisher;
use pinline_store::PostRow;

use crate::env::{BenchAccount, BenchDatabase, Env, Running};
use crate::stats::ratio;
use crate::{BackendKind, BenchOptions, Size, Table};

#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Allowed `org_write` requests per second per user (sandbox and pacer alike).
    pub rate: u32,
    /// Posts of the single account.
    pub single_posts: usize,
    /// Accounts of the many-accounts case, and posts of each.
    pub many_accounts: usize,
    pub many_posts_each: usize,
    /// The many-users case: accounts, posts of each, and the allowed pace of each (one create
    /// per `wide_interval`).
    pub wide_accounts: usize,
    pub wide_posts_each: usize,
    pub wide_interval: Duration,
    /// Backlog on account A in the fairness case, and how many single posts of B are timed.
    pub backlog: usize,
    pub samples: usize,
    /// How long the backlog runs before B's first post.
    pub warmup: Duration,
    pub concurrency: usize,
    pub deadline: Duration,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                rate: 20,
                single_posts: 200,
                many_accounts: 20,
                many_posts_each: 100,
                wide_accounts: 1_000,
                wide_posts_each: 5,
                wide_interval: Duration::from_secs(4),
                backlog: 1_000,
                samples: 5,
                warmup: Duration::from_secs(1),
                concurrency: 16,
                deadline: Duration::from_secs(60),
            },
            Size::Quick => Params {
                rate: 20,
                single_posts: 40,
                many_accounts: 20,
                many_posts_each: 20,
                wide_accounts: 50,
                wide_posts_each: 3,
                wide_interval: Duration::from_secs(1),
                backlog: 200,
                samples: 2,
                warmup: Duration::from_millis(500),
                concurrency: 16,
                deadline: Duration::from_secs(20),
            },
            Size::Tiny => Params {
                rate: 50,
                single_posts: 10,
                many_accounts: 2,
                many_posts_each: 5,
                wide_accounts: 6,
                wide_posts_each: 2,
                wide_interval: Duration::from_millis(500),
                backlog: 30,
                samples: 1,
                warmup: Duration::from_millis(100),
                concurrency: 4,
                deadline: Duration::from_secs(10),
            },
        }
    }
}

pub const TITLE: &str =
    "pacing (sandbox org_write limit = pacer rate; goals: achieved/allowed ≥ 0.97, 429s ≤ 0.1%)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "case",
            "posts",
            "allowed/s per account",
            "achieved/s per account (mean)",
            "achieved/allowed",
            "429s / requests",
            "worst wait of B",
            "notes",
        ],
    )
}

pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Option<Vec<Table>>> {
    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        return Ok(None);
    };
    let p = Params::for_size(options.size);
    let limit = pinline_sandbox::Rate {
        count: p.rate,
        per: Duration::from_secs(1),
    };
    let env = Env::start(
        db,
        vec![(RateLimitCategory::OrgWrite, limit)],
        "http://127.0.0.1:9",
    )
    .await?;
    let publisher = env.publisher(p.rate, p.concurrency);
    let mut table = table();

    let single = env.accounts("one", 1).await?;
    let row = rate_case(&env, &publisher, &single, p.single_posts, &p).await?;
    table.row(row.cells(backend, "1 account", p.rate));

    let many = env.accounts("many", p.many_accounts).await?;
    let row = rate_case(&env, &publisher, &many, p.many_posts_each, &p).await?;
    table.row(row.cells(backend, &format!("{} accounts", p.many_accounts), p.rate));

    table.row(wide_case(options, backend, &p).await?);

    let worst = fairness(&env, &publisher, &p).await?;
    table.row(vec![
        backend.name().to_owned(),
        format!(
            "backlog of {} on A, then {} single post(s) on B",
            p.backlog, p.samples
        ),
        (worst.samples.len()).to_string(),
        p.rate.to_string(),
        "–".into(),
        "–".into(),
        "–".into(),
        format!(
            "{} ms",
            worst.samples.iter().copied().max().unwrap_or_default()
        ),
        format!(
            "B waits (ms): {}",
            worst
                .samples
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ]);
    Ok(Some(vec![table]))
}

#[derive(Debug)]
struct RateRow {
    posts: usize,
    published: usize,
    achieved_mean: f64,
    responses_429: u64,
    requests: u64,
    timed_out: bool,
    elapsed: Duration,
}

impl RateRow {
    fn cells(&self, backend: BackendKind, case: &str, rate: u32) -> Vec<String> {
        self.cells_at(backend, case, f64::from(rate))
    }

    fn cells_at(&self, backend: BackendKind, case: &str, rate: f64) -> Vec<String> {
        let share = if self.requests > 0 {
            format!(
                "{} / {} ({:.2}%)",
                self.responses_429,
                self.requests,
                100.0 * self.responses_429 as f64 / self.requests as f64
            )
        } else {
            "–".to_owned()
        };
        let mut notes = vec![format!("{:.1} s wall", self.elapsed.as_secs_f64())];
        if self.timed_out {
            notes.push(format!(
                "timed out: {}/{} published",
                self.published, self.posts
            ));
        }
        vec![
            backend.name().to_owned(),
            case.to_owned(),
            self.posts.to_string(),
            format!("{rate}"),
            format!("{:.2}", self.achieved_mean),
            ratio(self.achieved_mean, rate),
            share,
            "–".to_owned(),
            notes.join("; "),
        ]
    }
}

/// The many-users case on its own sandbox and database: `wide_accounts` accounts, each allowed
/// one create per `wide_interval` by the sandbox and paced to the same by the publisher.
async fn wide_case(
    options: &BenchOptions,
    backend: BackendKind,
    p: &Params,
) -> Result<Vec<String>> {
    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        bail!("PostgreSQL went away during the pacing scenario");
    };
    // The same average as the pacer, in a one-minute window (so with a burst, as Pinterest's
    // limits and the 20/s cases above have): a burst of 1 would turn every millisecond of jitter
    // between two requests into a 429.
    let limit = pinline_sandbox::Rate {
        count: (60_000 / p.wide_interval.as_millis().max(1)) as u32,
        per: Duration::from_secs(60),
    };
    let env = Env::start(
        db,
        vec![(RateLimitCategory::OrgWrite, limit)],
        "http://127.0.0.1:9",
    )
    .await?;
    let connecting = Instant::now();
    let accounts = env.accounts_parallel("wide", p.wide_accounts, 16).await?;
    let connect_time = connecting.elapsed();
    let rate = pinline_queue::Rate {
        requests: 1,
        per: p.wide_interval,
        burst: 1,
    };
    let publisher = env.publisher_with_rate(rate, p.concurrency);
    let deadline = p.wide_interval * (p.wide_posts_each as u32 + 2) + Duration::from_secs(60);
    let wide = Params { deadline, ..*p };
    let row = rate_case(&env, &publisher, &accounts, p.wide_posts_each, &wide).await?;
    let allowed = 1.0 / p.wide_interval.as_secs_f64();
    let mut cells = row.cells_at(backend, &format!("{} accounts", p.wide_accounts), allowed);
    if let Some(notes) = cells.last_mut() {
        notes.push_str(&format!(
            "; {:.0}/s allowed in all; {} accounts connected in {:.1} s",
            allowed * p.wide_accounts as f64,
            p.wide_accounts,
            connect_time.as_secs_f64()
        ));
    }
    Ok(cells)
}

/// Queues `each` posts per account, runs the publisher until they are all out, and measures
/// each account's rate between its first and last publish.
async fn rate_case(
    env: &Env,
    publisher: &Publisher,
    accounts: &[BenchAccount],
    each: usize,
    p: &Params,
) -> Result<RateRow> {
    let already = env.count(PostRow::PUBLISHED).await?;
    let posts = each * accounts.len();
    env.queue_posts(accounts, posts, "paced", 16).await?;
    let before = env.stats();
    let started = Instant::now();
    let running = Running::start(publisher);
    let done = env
        .wait_published(already + posts as i64, started + p.deadline)
        .await?;
    let elapsed = started.elapsed();
    running.stop().await;
    let after = env.stats();

    let mut rates = Vec::new();
    let mut published = 0;
    for account in accounts {
        let mut times: Vec<i64> = env
            .posts_of(&account.id)
            .await?
            .iter()
            .filter_map(|post| post.published_at)
            .collect();
        times.sort_unstable();
        published += times.len();
        if let (Some(first), Some(last)) = (times.first(), times.last())
            && times.len() > 1
        {
            // n posts at the allowed rate take n − 1 intervals from the first to the last.
            let span = (last - first).max(1) as f64 / 1000.0;
            rates.push((times.len() - 1) as f64 / span);
        }
    }
    let achieved_mean = if rates.is_empty() {
        0.0
    } else {
        rates.iter().sum::<f64>() / rates.len() as f64
    };
    Ok(RateRow {
        posts,
        published,
        achieved_mean,
        responses_429: after.responses_429 - before.responses_429,
        requests: after.requests_total - before.requests_total,
        timed_out: !done,
        elapsed,
    })
}

#[derive(Debug)]
struct Fairness {
    /// Each B post's wait from being queued to being published, ms.
    samples: Vec<i64>,
}

/// Queues a backlog on A, starts publishing, then times single posts of B one after another.
async fn fairness(env: &Env, publisher: &Publisher, p: &Params) -> Result<Fairness> {
    let a = env.connect("backlog-a").await?;
    let b = env.connect("single-b").await?;
    env.queue_posts(std::slice::from_ref(&a), p.backlog, "backlog", 16)
        .await?;
    let running = Running::start(publisher);
    // Let the backlog fill the worker's slots first.
    tokio::time::sleep(p.warmup).await;
    let mut samples = Vec::new();
    for i in 0..p.samples {
        let id = env.queue_post(&b, &format!("single {i}")).await?;
        let deadline = Instant::now() + p.deadline;
        let waited = loop {
            let post = env.store().post_by_id(&id).await?.context("B's post")?;
            if let Some(at) = post.published_at {
                break Some(at - post.created_at);
            }
            if Instant::now() >= deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // A post that never went out counts as the whole deadline.
        samples.push(waited.unwrap_or(p.deadline.as_millis() as i64));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    running.stop().await;
    Ok(Fairness { samples })
}
