//! `pinline bench`: named benchmark scenarios that print one markdown table row per backend and
//! compare each figure with a baseline measured in the same run (absolute numbers on a shared
//! machine are noise; ratios are what to read).
//!
//! * [`throughput`]: posts/s through the publisher against the unthrottled sandbox, vs a bare
//!   create-pin loop at the same concurrency; queue claims/s with a no-op publisher vs a bare
//!   SQL claim loop.
//! * [`pacing`]: achieved / allowed rate and 429 share under a sandbox limit with 1 and 20
//!   accounts, and the worst wait of one post behind another account's backlog.
//! * [`api`]: `POST /v1/posts` latency percentiles at a fixed, open-loop request rate, vs
//!   `GET /healthz` on the same server at the same rate.
//!
//! Everything binds 127.0.0.1 only, is bounded in time and request count, and cleans up after
//! itself (a temp dir for SQLite, a schema dropped at the end for PostgreSQL).

pub mod api;
pub mod cli;
pub mod env;
pub mod pacing;
pub mod report;
pub mod stats;
pub mod throughput;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use anyhow::Result;

pub use cli::{BenchArgs, run as run_cli};
pub use report::{Machine, Table, append_run};

/// A benchmark scenario by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    Throughput,
    Pacing,
    Api,
}

impl Scenario {
    /// Every scenario, in the order `pinline bench` runs them.
    pub const ALL: [Scenario; 3] = [Scenario::Throughput, Scenario::Pacing, Scenario::Api];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Throughput => "throughput",
            Scenario::Pacing => "pacing",
            Scenario::Api => "api",
        }
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
            "throughput" => Ok(Scenario::Throughput),
            "pacing" => Ok(Scenario::Pacing),
            "api" => Ok(Scenario::Api),
            "stampede" | "schedule" | "chaos" => {
                Err(format!("scenario `{s}` is not implemented yet"))
            }
            _ => Err(format!(
                "unknown scenario `{s}`; known: throughput, pacing, api"
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
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub tables: Vec<Table>,
    /// Backends skipped (PostgreSQL unreachable), with why.
    pub notes: Vec<String>,
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
        };
        for &backend in &options.backends {
            let outcome = match scenario {
                Scenario::Throughput => throughput::run(options, backend).await,
                Scenario::Pacing => pacing::run(options, backend).await,
                Scenario::Api => api::run(options, backend).await,
            };
            match outcome? {
                Some(tables) => {
                    for table in tables {
                        merge(&mut result.tables, table);
                    }
                }
                None => result.notes.push(format!(
                    "{}: skipped, PostgreSQL not reachable",
                    backend.name()
                )),
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
    fn scenario_names_round_trip_and_later_ones_are_named() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
        }
        let later = "chaos".parse::<Scenario>().expect_err("not yet");
        assert!(later.contains("not implemented"), "{later}");
        assert!("nope".parse::<Scenario>().is_err());
    }
}
