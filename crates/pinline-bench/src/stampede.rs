//! `stampede`: right after Pinterest expired an account's access token, 1,000 concurrent API
//! calls that each need it arrive spread over 3 `pinline serve` processes sharing one database.
//! Each call is `GET /v1/accounts/{id}/boards`, which goes to Pinterest on every request (no
//! cache), so every one of them meets the 401 and asks its vault for a fresh token. The figure
//! that matters is how many refresh calls reach the sandbox's token endpoint: single-flight
//! across processes means exactly 1. Also the callers' waits, against a baseline of the same
//! 1,000 calls with a valid token measured just before.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::env::{BenchDatabase, Env, master_key_pair};
use crate::replicas::{LogTally, NO_EXE, Replica, ReplicaSpec, api_key, pinline_exe};
use crate::stats::{ms, quantile};
use crate::{BackendKind, BenchOptions, Ran, Size, Table};

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub replicas: usize,
    pub requests: usize,
    /// Stampedes, each after a fresh expiry.
    pub rounds: usize,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                replicas: 3,
                requests: 1_000,
                rounds: 3,
            },
            Size::Quick => Params {
                replicas: 3,
                requests: 1_000,
                rounds: 1,
            },
            Size::Tiny => Params {
                replicas: 2,
                requests: 40,
                rounds: 1,
            },
        }
    }
}

pub const TITLE: &str = "stampede (concurrent calls on a just-expired token over several `pinline serve` \
     processes; goal: 1 refresh call)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "round",
            "processes",
            "requests",
            "refresh calls at the sandbox",
            "refresh-token reuse",
            "non-200",
            "wait p50 ms",
            "wait p99 ms",
            "wait max ms",
            "baseline p99 ms (valid token)",
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
    let p = Params::for_size(options.size);
    let (master_key, master_key_text) = master_key_pair()?;
    let env = Env::start_with_key(db, Vec::new(), "http://127.0.0.1:9", &master_key).await?;
    let account = env.connect("stampede").await?;
    let key = api_key(env.store(), "stampede").await?;
    let spec = ReplicaSpec {
        exe,
        database_url: env.db.url().to_owned(),
        master_key: master_key_text,
        pinterest_api_url: env.sandbox.base_url(),
        pinterest_oauth_url: env.sandbox.oauth_url(),
        env: Vec::new(),
    };
    let tally = std::sync::Arc::new(LogTally::default());
    let mut replicas = Vec::new();
    for _ in 0..p.replicas {
        replicas.push(Replica::start(&spec, tally.clone()).await?);
    }
    let urls: Vec<String> = replicas
        .iter()
        .map(|r| format!("{}/v1/accounts/{}/boards", r.base_url, account.id))
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(p.requests)
        .timeout(Duration::from_secs(60))
        .build()?;

    // The baseline: the same burst with a valid token, once to open the connections, then
    // measured.
    let _warm = burst(&http, &urls, &key, p.requests).await;
    let baseline = burst(&http, &urls, &key, p.requests).await;
    let baseline_p99 = quantile(&baseline.waits, 0.99);

    let mut table = table();
    for round in 1..=p.rounds {
        let before = env.stats();
        env.http
            .post(format!(
                "{}/_sandbox/users/{}/expire",
                env.sandbox.base_url(),
                account.pinterest_user_id
            ))
            .send()
            .await?
            .error_for_status()
            .context("expiring the token at the sandbox")?;
        let started = Instant::now();
        let result = burst(&http, &urls, &key, p.requests).await;
        let elapsed = started.elapsed();
        let after = env.stats();
        let mut notes = vec![format!("{:.2} s for the burst", elapsed.as_secs_f64())];
        if baseline.non_ok > 0 {
            notes.push(format!("{} baseline calls failed", baseline.non_ok));
        }
        if !result.statuses.is_empty() {
            notes.push(format!("statuses: {}", result.statuses.join(", ")));
        }
        table.row(vec![
            backend.name().to_owned(),
            round.to_string(),
            p.replicas.to_string(),
            p.requests.to_string(),
            (after.token_requests.refresh_token - before.token_requests.refresh_token).to_string(),
            (after.refresh_token_reuse - before.refresh_token_reuse).to_string(),
            result.non_ok.to_string(),
            ms(quantile(&result.waits, 0.5)),
            ms(quantile(&result.waits, 0.99)),
            ms(result.waits.last().copied()),
            ms(baseline_p99),
            notes.join("; "),
        ]);
    }
    for replica in replicas {
        replica.kill().await?;
    }
    if tally.panics() > 0
        && let Some(notes) = table.rows.last_mut().and_then(|row| row.last_mut())
    {
        notes.push_str(&format!("; {} panics in the replicas", tally.panics()));
    }
    Ok(Ran::tables(vec![table]))
}

#[derive(Debug, Default)]
struct Burst {
    /// Waits of the calls answered 200, sorted.
    waits: Vec<Duration>,
    non_ok: usize,
    /// Distinct non-200 outcomes with counts.
    statuses: Vec<String>,
}

/// `count` calls at once, round-robin over `urls`; each wait runs from the common start.
async fn burst(http: &reqwest::Client, urls: &[String], key: &str, count: usize) -> Burst {
    let start = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let (http, url, key) = (http.clone(), urls[i % urls.len()].clone(), key.to_owned());
        let mut go = start.1.clone();
        tasks.spawn(async move {
            let _ = go.wait_for(|go| *go).await;
            let started = Instant::now();
            let status = match http.get(&url).bearer_auth(&key).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let _ = response.bytes().await;
                    status.to_string()
                }
                Err(error) if error.is_timeout() => "timeout".to_owned(),
                Err(_) => "connection error".to_owned(),
            };
            (status, started.elapsed())
        });
    }
    // Let every task reach the gate, then open it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = start.0.send(true);
    let mut burst = Burst::default();
    let mut others = std::collections::BTreeMap::<String, usize>::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((status, waited)) if status == "200" => burst.waits.push(waited),
            Ok((status, _)) => {
                burst.non_ok += 1;
                *others.entry(status).or_default() += 1;
            }
            Err(_) => {
                burst.non_ok += 1;
                *others.entry("task failed".to_owned()).or_default() += 1;
            }
        }
    }
    burst.waits.sort_unstable();
    burst.statuses = others
        .into_iter()
        .map(|(status, n)| format!("{status} ×{n}"))
        .collect();
    burst
}
