//! `pinline bench`: named benchmark scenarios that print one markdown table row per backend and
//! compare each figure with a baseline measured in the same run (absolute numbers on a shared
//! machine are noise; ratios are what to read).
//!
//! * [`sandbox`]: the sandbox's own pin creations/s with 16 concurrent loops (goal 5,000/s in
//!   release), vs `GET /v5/user_account` on the same sandbox with the same loops; one row, as
//!   the sandbox has no database.
//! * [`throughput`]: posts/s through the publisher against the unthrottled sandbox, vs a bare
//!   create-pin loop at the same concurrency; queue claims/s with a no-op publisher vs a bare
//!   SQL claim loop; and at Pinterest's latency (150 ms ± 50 ms a request), 512 posts in flight
//!   vs a bare loop with 512 requests in flight (goal ratio ≥ 0.95).
//! * [`claim`]: one `Store::claim_due_posts` (32 posts, at most 4 per account) with 100, 10,000
//!   and 100,000 accounts having queued posts, bulk-loaded: p50/p99 per N (goal: the largest N's
//!   p50 at most twice the smallest's).
//! * [`pacing`]: achieved / allowed rate and 429 share under a sandbox limit with 1 and 20
//!   accounts, and the worst wait of one post behind another account's backlog.
//! * [`api`]: `POST /v1/posts` latency percentiles at a fixed, open-loop request rate, vs
//!   `GET /healthz` on the same server at the same rate.
//! * [`stampede`]: 1,000 concurrent API calls needing one account's just-expired token, spread
//!   over 3 `pinline serve` processes on one database: refresh calls at the sandbox (goal 1)
//!   and the callers' waits, vs the same calls with a valid token.
//! * [`schedule`]: many scheduled posts over many accounts, bulk-loaded, published by a
//!   `pinline serve` process as they fall due: lag from `publish_at` to live, the publishing
//!   process's peak RSS and CPU seconds per 1,000 posts, SQL statements per post and the
//!   database's size; on PostgreSQL also with 3 replicas sharing the schedule, where every post
//!   must be published exactly once (pins counted at the sandbox).
//! * [`idle`]: one `pinline serve` with nothing due (no posts, then posts due in an hour): its
//!   CPU share of a core and SQL statements/s over a window (goal ≤ 1 % and ≤ 10/s), the
//!   publisher's claims, and how soon a post accepted for now is published.
//! * [`chaos`]: 3 replicas with sandbox faults (the token endpoint's included), a revocation,
//!   forced expiries and a replica SIGKILLed every few seconds (some inside a refresh): lost and
//!   duplicated posts, accounts wrongly `needs_reauth` and `post.published` webhooks missing (all
//!   must be 0), plus a fencing run where a replica is SIGSTOPped past its lease.
//! * [`drafts`] (only when named): the drafts of saved pages scored on limits, title,
//!   language, key terms, filler, alt text, variety and image, with the built-in copy and with a
//!   chat model stand-in.
//!
//! The last four run real `pinline serve` child processes ([`replicas`]): the current
//! executable when it is `pinline`, else `PINLINE_BENCH_EXE`, else `target/<profile>/pinline`
//! beside a test binary; without one they are skipped with a note.
//!
//! Everything binds 127.0.0.1 only, is bounded in time and request count, and cleans up after
//! itself (a temp dir for SQLite, a schema dropped at the end for PostgreSQL).

pub mod api;
pub mod bulk;
pub mod chaos;
pub mod claim;
pub mod cli;
pub mod drafts;
pub mod env;
pub mod idle;
pub mod pacing;
pub mod replicas;
pub mod report;
pub mod sandbox;
pub mod schedule;
pub mod stampede;
pub mod stats;
pub mod throughput;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result};

pub use cli::{BenchArgs, run as run_cli};
pub use report::{Machine, Table, append_run};

/// A benchmark scenario by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    Sandbox,
    Throughput,
    Claim,
    Pacing,
    Api,
    Stampede,
    Schedule,
    Idle,
    Chaos,
    /// Draft quality on saved pages; run only when named.
    Drafts,
}

impl Scenario {
    /// Every scenario, in the order `pinline bench` runs them.
    pub const ALL: [Scenario; 9] = [
        Scenario::Sandbox,
        Scenario::Throughput,
        Scenario::Claim,
        Scenario::Pacing,
        Scenario::Api,
        Scenario::Stampede,
        Scenario::Schedule,
        Scenario::Idle,
        Scenario::Chaos,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Sandbox => "sandbox",
            Scenario::Throughput => "throughput",
            Scenario::Claim => "claim",
            Scenario::Pacing => "pacing",
            Scenario::Api => "api",
            Scenario::Stampede => "stampede",
            Scenario::Schedule => "schedule",
            Scenario::Idle => "idle",
            Scenario::Chaos => "chaos",
            Scenario::Drafts => "drafts",
        }
    }

    /// The backends this scenario runs on, out of those asked for. Chaos is a PostgreSQL
    /// scenario (replicas sharing a server); it runs on SQLite only when that is all that was
    /// asked for. The sandbox scenario has no database: it runs once, under the first.
    fn backends(self, asked: &[BackendKind]) -> Vec<BackendKind> {
        if !self.uses_database() {
            asked.iter().take(1).copied().collect()
        } else if self == Scenario::Chaos && asked.contains(&BackendKind::Postgres) {
            vec![BackendKind::Postgres]
        } else {
            asked.to_vec()
        }
    }

    /// False for the scenario that measures the in-memory sandbox alone.
    fn uses_database(self) -> bool {
        !matches!(self, Scenario::Sandbox | Scenario::Drafts)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sandbox" => Ok(Scenario::Sandbox),
            "throughput" => Ok(Scenario::Throughput),
            "claim" => Ok(Scenario::Claim),
            "pacing" => Ok(Scenario::Pacing),
            "api" => Ok(Scenario::Api),
            "stampede" => Ok(Scenario::Stampede),
            "schedule" => Ok(Scenario::Schedule),
            "idle" => Ok(Scenario::Idle),
            "chaos" => Ok(Scenario::Chaos),
            "drafts" => Ok(Scenario::Drafts),
            _ => Err(format!(
                "unknown scenario `{s}`; known: sandbox, throughput, claim, pacing, api, stampede, \
                 schedule, idle, chaos, drafts"
            )),
        }
    }
}

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "SQLite",
            BackendKind::Postgres => "PostgreSQL",
        }
    }
}

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Full figures (a few minutes for everything).
    Full,
    /// A few seconds per scenario (CI).
    Quick,
    /// Just enough to exercise every code path (unit tests).
    Tiny,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub scenarios: Vec<Scenario>,
    pub size: Size,
    pub backends: Vec<BackendKind>,
    /// PostgreSQL server for the fresh schemas; default `PINLINE_TEST_POSTGRES_URL` or
    /// `postgres://postgres@127.0.0.1:5432/postgres`.
    pub postgres_url: Option<String>,
    /// Overrides of the `schedule` scenario's size.
    pub schedule: schedule::Overrides,
}

/// What one scenario on one backend came back with.
#[derive(Debug)]
pub enum Ran {
    /// Its tables, and the goals it must meet that it missed (they make `pinline bench` exit
    /// non-zero, after printing and appending the tables).
    Tables {
        tables: Vec<Table>,
        failures: Vec<String>,
    },
    /// Not run on this backend, and why.
    Skipped(String),
}

impl Ran {
    /// Tables without hard goals.
    pub fn tables(tables: Vec<Table>) -> Ran {
        Ran::Tables {
            tables,
            failures: Vec::new(),
        }
    }

    /// From the older scenarios' `Option` (`None`: PostgreSQL not reachable).
    fn from_option(tables: Option<Vec<Table>>) -> Ran {
        match tables {
            Some(tables) => Ran::tables(tables),
            None => Ran::Skipped("skipped, PostgreSQL not reachable".to_owned()),
        }
    }
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub tables: Vec<Table>,
    /// Backends skipped (PostgreSQL unreachable, no `pinline` binary), with why.
    pub notes: Vec<String>,
    /// Hard goals missed (chaos: a lost or duplicated post, a wrong `needs_reauth`, a missing
    /// webhook).
    pub failures: Vec<String>,
}

/// Runs the scenarios one after another on each backend, printing each table as it completes
/// (through `print`), and returns them all.
pub async fn run(
    options: &BenchOptions,
    mut print: impl FnMut(&str),
) -> Result<Vec<ScenarioResult>> {
    let mut results = Vec::new();
    for &scenario in &options.scenarios {
        let started = Instant::now();
        let mut result = ScenarioResult {
            scenario,
            tables: Vec::new(),
            notes: Vec::new(),
            failures: Vec::new(),
        };
        for backend in scenario.backends(&options.backends) {
            let place = if scenario.uses_database() {
                backend.name()
            } else {
                "in memory"
            };
            let outcome = match scenario {
                Scenario::Sandbox => sandbox::run(options).await,
                Scenario::Throughput => throughput::run(options, backend)
                    .await
                    .map(Ran::from_option),
                Scenario::Claim => claim::run(options, backend).await,
                Scenario::Pacing => pacing::run(options, backend).await.map(Ran::from_option),
                Scenario::Api => api::run(options, backend).await.map(Ran::from_option),
                Scenario::Stampede => stampede::run(options, backend).await,
                Scenario::Schedule => schedule::run(options, backend).await,
                Scenario::Idle => idle::run(options, backend).await,
                Scenario::Chaos => chaos::run(options, backend).await,
                Scenario::Drafts => drafts::run(options).await,
            };
            match outcome.with_context(|| format!("while running {scenario} on {place}"))? {
                Ran::Tables { tables, failures } => {
                    for table in tables {
                        merge(&mut result.tables, table);
                    }
                    result.failures.extend(
                        failures
                            .into_iter()
                            .map(|failure| format!("{scenario} on {place}: {failure}")),
                    );
                }
                Ran::Skipped(why) => result.notes.push(format!("{place}: {why}")),
            }
        }
        let mut text = String::new();
        for table in &result.tables {
            text.push_str(&table.to_markdown());
            text.push('\n');
        }
        for note in &result.notes {
            text.push_str(&format!("_{note}_\n\n"));
        }
        for failure in &result.failures {
            text.push_str(&format!("**goal missed: {failure}**\n\n"));
        }
        text.push_str(&format!(
            "_({scenario} took {:.1} s)_\n",
            started.elapsed().as_secs_f64()
        ));
        print(&text);
        results.push(result);
    }
    Ok(results)
}

/// Adds `table`'s rows to the table of the same title, or adds the table.
fn merge(tables: &mut Vec<Table>, table: Table) {
    match tables.iter_mut().find(|t| t.title == table.title) {
        Some(existing) => existing.rows.extend(table.rows),
        None => tables.push(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
        }
        let unknown = "nope".parse::<Scenario>().expect_err("unknown");
        assert!(unknown.contains("chaos"), "{unknown}");
    }

    #[test]
    fn chaos_prefers_postgres() {
        let both = [BackendKind::Sqlite, BackendKind::Postgres];
        assert_eq!(Scenario::Chaos.backends(&both), vec![BackendKind::Postgres]);
        assert_eq!(
            Scenario::Chaos.backends(&[BackendKind::Sqlite]),
            vec![BackendKind::Sqlite]
        );
        assert_eq!(Scenario::Stampede.backends(&both), both.to_vec());
    }

    #[test]
    fn the_sandbox_scenario_runs_once_whatever_the_backends() {
        let both = [BackendKind::Sqlite, BackendKind::Postgres];
        assert_eq!(Scenario::Sandbox.backends(&both), vec![BackendKind::Sqlite]);
        assert_eq!(
            Scenario::Sandbox.backends(&[BackendKind::Postgres]),
            vec![BackendKind::Postgres]
        );
    }
}
