//! `pinline bench`'s arguments and driver (the binary only forwards to [`run`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::report::{Machine, append_run, run_section};
use crate::{BackendKind, BenchOptions, Scenario, Size};

/// Settings of `pinline bench`.
#[derive(Debug, Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Scenarios to run: sandbox, throughput, claim, pacing, api, stampede, schedule, idle,
    /// chaos (default: all of them), and drafts (only when named).
    #[arg(value_name = "SCENARIO")]
    pub scenarios: Vec<Scenario>,

    /// A few seconds per scenario (what CI runs) instead of the full sizes.
    #[arg(long)]
    pub quick: bool,

    /// schedule: how many posts (default 1,000,000; quick 2,000).
    #[arg(long, value_name = "N")]
    pub schedule_posts: Option<usize>,

    /// schedule: over how many accounts (default 10,000; quick 50).
    #[arg(long, value_name = "N")]
    pub schedule_accounts: Option<usize>,

    /// schedule: the window the posts' publish_at are spread over, seconds (default 1,000;
    /// quick 10).
    #[arg(long, value_name = "SECS")]
    pub schedule_window_secs: Option<u64>,

    /// schedule: how many `pinline serve` processes share the schedule on PostgreSQL (default 1;
    /// SQLite always runs one). Every post must still be published exactly once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub schedule_replicas: Option<u16>,

    /// Which database engines to measure.
    #[arg(long, value_enum, default_value_t = BackendChoice::Both)]
    pub backend: BackendChoice,

    /// PostgreSQL server to create the benchmark's throw-away schema on (default:
    /// PINLINE_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres).
    #[arg(long, value_name = "URL")]
    pub postgres_url: Option<String>,

    /// Print the tables only; do not append them to the results file.
    #[arg(long)]
    pub no_append: bool,

    /// The results file the run is appended to.
    #[arg(long, value_name = "FILE", default_value = "docs/BENCHMARKS.md")]
    pub output: PathBuf,
}

const BENCH_EXAMPLES: &str = "\
Examples:
  pinline bench                          # every scenario, both backends, appended to docs/BENCHMARKS.md
  pinline bench --quick --no-append      # what CI runs
  pinline bench throughput --backend postgres --postgres-url postgres://postgres@127.0.0.1/postgres
  pinline bench chaos                    # 3 replicas, faults, 50 SIGKILLs; exits 1 on a lost or duplicated post
  pinline bench stampede --backend sqlite
  pinline bench sandbox --no-append      # the sandbox's own create-pin rate, 5 s
  pinline bench idle                     # what `pinline serve` costs with nothing to do
  pinline bench schedule --backend postgres --schedule-posts 100000 --schedule-accounts 1000 --schedule-window-secs 200
  pinline bench schedule --backend postgres --schedule-replicas 3   # 3 processes share the schedule
  pinline bench claim throughput --backend both

Scenarios:
  sandbox     the sandbox's own POST /v5/pins/s with 16 loops (goal 5,000/s in release) vs
              GET /v5/user_account (in process, no database)
  throughput  posts/s through the publisher vs a bare create-pin loop (in process); unthrottled, and
              at 150 ms ± 50 ms a request with 512 in flight (goal ratio >= 0.95)
  claim       one claim of 32 posts with 100, 10,000 and 100,000 accounts having queued posts
              (bulk-loaded): p50/p99 (goal: largest N's p50 <= 2 x the smallest's)
  pacing      achieved/allowed rate and 429s with 1, 20 and 1,000 accounts; worst wait behind a backlog
  api         POST /v1/posts latency at a fixed open-loop rate vs GET /healthz
  stampede    1,000 concurrent calls on a just-expired token over 3 `pinline serve` processes:
              refresh calls at the sandbox (goal 1) and p99 wait
  schedule    scheduled posts bulk-loaded, published by a `pinline serve` process as they fall due:
              lag p50/p99 (goal p99 <= 1 s), peak RSS, CPU s per 1,000 posts, SQL statements per
              post, database size; with --schedule-replicas 3 also 3 replicas on PostgreSQL:
              lost and duplicated posts at the sandbox (goal 0 and 0)
  idle        one `pinline serve` with nothing due (no posts; posts due in an hour): CPU % of a
              core and SQL statements/s over 10 s (goal <= 1 % and <= 10/s), claims/s, and
              how soon a post accepted for now is published
  chaos       3 replicas, sandbox faults, a revocation, a forced expiry, SIGKILLs; then a replica
              SIGSTOPped past its lease: lost and duplicated posts (goal 0 and 0, else exit 1)
  drafts      the saved pages of ../shared/data/drafts-pages drafted and scored (limits, title,
              language, key terms, filler, alt text, variety, image), built-in copy and a model
              stand-in (goal: 90 % of pages pass every check); run only when named";

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

impl BackendChoice {
    fn kinds(self) -> Vec<BackendKind> {
        match self {
            BackendChoice::Sqlite => vec![BackendKind::Sqlite],
            BackendChoice::Postgres => vec![BackendKind::Postgres],
            BackendChoice::Both => vec![BackendKind::Sqlite, BackendKind::Postgres],
        }
    }
}

/// Runs `pinline bench`: prints the machine and each scenario's table, then appends the run to
/// the results file unless `--no-append`.
pub async fn run(args: BenchArgs) -> Result<()> {
    // Benchmarks load only servers on this machine; nothing they start may reach further.
    pinline_outbound::restrict_to_loopback();
    let scenarios = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        let mut unique = Vec::new();
        for scenario in args.scenarios {
            if !unique.contains(&scenario) {
                unique.push(scenario);
            }
        }
        unique
    };
    let options = BenchOptions {
        scenarios,
        size: if args.quick { Size::Quick } else { Size::Full },
        backends: args.backend.kinds(),
        postgres_url: args.postgres_url,
        schedule: crate::schedule::Overrides {
            posts: args.schedule_posts,
            accounts: args.schedule_accounts,
            window: args
                .schedule_window_secs
                .map(std::time::Duration::from_secs),
            replicas: args.schedule_replicas.map(usize::from),
        },
    };
    let machine = Machine::describe();
    println!("pinline bench on {}", machine.summary());
    println!(
        "Absolute numbers on a shared machine (this one has {} CPUs) are noise: read the ratios \
         to the baselines measured in the same run.\n",
        machine.cpus
    );
    let results = crate::run(&options, |text| println!("{text}")).await?;
    if !args.no_append {
        let command = command_line();
        let section = run_section(&machine, &command, args.quick, &results);
        append_run(&args.output, &section)?;
        println!("appended to {}", args.output.display());
    }
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.failures).collect();
    if !failures.is_empty() {
        anyhow::bail!(
            "{} goal(s) missed: {}",
            failures.len(),
            failures
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(())
}

/// `pinline ARGS…` as typed (a URL's password, if any, is masked).
fn command_line() -> String {
    let mut words = vec!["pinline".to_owned()];
    for arg in std::env::args().skip(1) {
        words.push(mask_password(&arg));
    }
    words.join(" ")
}

fn mask_password(arg: &str) -> String {
    match url::Url::parse(arg) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => arg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            mask_password("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(mask_password("--quick"), "--quick");
    }
}
