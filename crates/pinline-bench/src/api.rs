//! `api`: `POST /v1/posts` latency at a fixed request rate, open loop (requests leave on a
//! schedule whatever the answers do, and each latency counts from the scheduled send time, so a
//! stall shows up instead of slowing the sender). The server is pinline's real router, in
//! process on 127.0.0.1:0, with its background work running: the publisher publishes the
//! accepted posts to the unthrottled sandbox meanwhile. Baseline: `GET /healthz` (HTTP + one
//! database round trip) on the same server at the same rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pinline_server::{AppState, api_keys, background};
use pinline_webhooks::{RetryPolicy, Webhooks};
use serde_json::json;
use tokio::sync::watch;

use crate::env::{BenchDatabase, Env};
use crate::stats::{ms, quantile, ratio};
use crate::{BackendKind, BenchOptions, Size, Table};

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub rate: u32,
    pub duration: Duration,
    /// Duration of the `GET /healthz` baseline at the same rate.
    pub baseline_duration: Duration,
    pub concurrency: usize,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                rate: 200,
                duration: Duration::from_secs(20),
                baseline_duration: Duration::from_secs(10),
                concurrency: 16,
            },
            Size::Quick => Params {
                rate: 200,
                duration: Duration::from_secs(5),
                baseline_duration: Duration::from_secs(3),
                concurrency: 16,
            },
            Size::Tiny => Params {
                rate: 100,
                duration: Duration::from_millis(500),
                baseline_duration: Duration::from_millis(300),
                concurrency: 4,
            },
        }
    }
}

pub const TITLE: &str = "api (POST /v1/posts, open loop at a fixed rate; publisher running)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "rate req/s",
            "requests",
            "non-202",
            "POST p50 ms",
            "POST p99 ms",
            "POST p999 ms",
            "GET /healthz p50 ms",
            "GET /healthz p99 ms",
            "p99 ratio POST/healthz",
            "published meanwhile",
        ],
    )
}

pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Option<Vec<Table>>> {
    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        return Ok(None);
    };
    let p = Params::for_size(options.size);
    let listener = tokio::net::TcpListener::bind(crate::env::loopback()).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let env = Env::start(db, Vec::new(), &base_url).await?;
    let account = env.connect("api-maker").await?;

    let webhooks = Webhooks::new(
        env.store().clone(),
        env.keys.clone(),
        env.shared_clock(),
        pinline_outbound::Guard::new("webhook delivery", true),
        RetryPolicy::default(),
    )?;
    let publisher = env.publisher(1_000_000, p.concurrency);
    let state = AppState::new(
        env.store().clone(),
        env.vault.clone(),
        webhooks.clone(),
        publisher.clone(),
        env.shared_clock(),
    );
    let (shutdown, stopped) = watch::channel(false);
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            pinline_server::router(state)
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = server_stop.wait_for(|s| *s).await;
        })
        .await;
    });
    let mut tasks = background::spawn_all(env.vault.clone(), webhooks, publisher, stopped);
    let key = api_keys::create_api_key(env.store(), "bench", "bench", 0)
        .await?
        .key;

    let client = reqwest::Client::new();
    let key = Arc::new(key);
    // Warm-up: the board cache and the connection pool.
    let warm = post_once(&client, &base_url, &key, &account, 0).await?;
    anyhow::ensure!(warm == 202, "a warm-up POST /v1/posts answered {warm}");

    let post_latencies = {
        let (client, base_url, key, account) = (
            client.clone(),
            base_url.clone(),
            key.clone(),
            account.clone(),
        );
        open_loop(p.rate, p.duration, move |i| {
            let (client, base_url, key, account) = (
                client.clone(),
                base_url.clone(),
                key.clone(),
                account.clone(),
            );
            async move {
                post_once(&client, &base_url, &key, &account, i + 1)
                    .await
                    .unwrap_or(0)
                    == 202
            }
        })
        .await
    };
    let health_latencies = {
        let (client, url) = (client.clone(), format!("{base_url}/healthz"));
        open_loop(p.rate, p.baseline_duration, move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move { matches!(client.get(&url).send().await, Ok(r) if r.status().is_success()) }
        })
        .await
    };
    let published = env.count(pinline_store::PostRow::PUBLISHED).await?;

    let _ = shutdown.send(true);
    let stopping = async {
        while tasks.join_next().await.is_some() {}
        let _ = server.await;
    };
    if tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .is_err()
    {
        tracing::warn!("the benchmark server did not stop in time");
    }

    let post_p99 = quantile(&post_latencies.sorted, 0.99);
    let health_p99 = quantile(&health_latencies.sorted, 0.99);
    let mut table = table();
    table.row(vec![
        backend.name().to_owned(),
        p.rate.to_string(),
        post_latencies.sorted.len().to_string(),
        post_latencies.failed.to_string(),
        ms(quantile(&post_latencies.sorted, 0.5)),
        ms(post_p99),
        ms(quantile(&post_latencies.sorted, 0.999)),
        ms(quantile(&health_latencies.sorted, 0.5)),
        ms(health_p99),
        ratio(
            post_p99.unwrap_or_default().as_secs_f64(),
            health_p99.unwrap_or_default().as_secs_f64(),
        ),
        published.to_string(),
    ]);
    Ok(Some(vec![table]))
}

/// One `POST /v1/posts`; returns the status.
async fn post_once(
    client: &reqwest::Client,
    base_url: &str,
    key: &str,
    account: &crate::env::BenchAccount,
    i: usize,
) -> Result<u16> {
    let body = json!({
        "account_id": account.id,
        "board_id": account.board_id,
        "title": format!("API post {i}"),
        "description": "Sharp and sweet.",
        "link": format!("https://shop.example/api/{i}"),
        "alt_text": "A picture",
        "image_url": format!("https://cdn.example/api-{i}.jpg"),
    });
    let response = client
        .post(format!("{base_url}/v1/posts"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .context("POST /v1/posts")?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Ok(status)
}

/// Latencies of one open-loop run, sorted, and how many requests failed.
#[derive(Debug)]
pub struct Latencies {
    pub sorted: Vec<Duration>,
    pub failed: usize,
}

/// Sends `rate × duration` requests, request `i` at `start + i / rate` whatever the earlier
/// ones are doing; each latency runs from its scheduled time to its answer.
pub async fn open_loop<F, Fut>(rate: u32, duration: Duration, request: F) -> Latencies
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let count = (f64::from(rate.max(1)) * duration.as_secs_f64()).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled).await;
        let sent = request(i);
        let scheduled: Instant = scheduled.into_std();
        tasks.spawn(async move {
            let ok = sent.await;
            (ok, scheduled.elapsed())
        });
    }
    let mut sorted = Vec::with_capacity(count);
    let mut failed = 0;
    // Bounded: a request still unanswered 30 s after the last was sent is dropped as failed.
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((true, latency)) => sorted.push(latency),
                Ok((false, _)) | Err(_) => failed += 1,
            }
        }
    })
    .await;
    if drained.is_err() {
        failed += tasks.len();
        tasks.abort_all();
    }
    sorted.sort_unstable();
    Latencies { sorted, failed }
}
