//! Every scenario at a tiny size on both backends (PostgreSQL when reachable), so `cargo test`
//! catches a benchmark that no longer runs. The figures are not checked: only that each scenario
//! produces its tables with one row per case and completes everything it queued (and, for chaos,
//! that nothing was lost or duplicated).
//!
//! The scenarios that run `pinline serve` processes need the `pinline` binary: they use
//! `PINLINE_BENCH_EXE` or `target/<profile>/pinline` when it is there (`cargo build -p pinline`
//! first), and are skipped with a note otherwise.

use std::time::{Duration, Instant};

use pinline_bench::{BackendKind, BenchOptions, Scenario, Size};

fn options(scenarios: &[Scenario]) -> BenchOptions {
    BenchOptions {
        scenarios: scenarios.to_vec(),
        size: Size::Tiny,
        backends: vec![BackendKind::Sqlite, BackendKind::Postgres],
        postgres_url: None,
        schedule: pinline_bench::schedule::Overrides::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_in_process_scenario_runs_at_a_tiny_size() {
    let started = Instant::now();
    let mut printed = String::new();
    let scenarios = [
        Scenario::Throughput,
        Scenario::Claim,
        Scenario::Pacing,
        Scenario::Api,
    ];
    let results = pinline_bench::run(&options(&scenarios), |text| printed.push_str(text))
        .await
        .expect("the scenarios run");
    eprintln!("{printed}");
    assert_eq!(results.len(), 4);
    let backends = 2 - results[0].notes.len();
    for result in &results {
        // Throughput: unthrottled, and at Pinterest's latency.
        let tables = if result.scenario == Scenario::Throughput {
            2
        } else {
            1
        };
        assert_eq!(result.tables.len(), tables, "{:?}", result.scenario);
        // Pacing: 4 cases; claim: 2 numbers of accounts at the tiny size.
        let per_backend = match result.scenario {
            Scenario::Pacing => 4,
            Scenario::Claim => 2,
            _ => 1,
        };
        for table in &result.tables {
            assert_eq!(table.rows.len(), per_backend * backends, "{table:?}");
            for row in &table.rows {
                let text = row.join(" | ");
                assert!(!text.contains("timed out"), "{text}");
                assert!(!text.contains("fewer than"), "{text}");
            }
        }
    }
    assert!(printed.contains("| SQLite |"), "{printed}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "tiny runs stay small: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_scenario_runs_once_at_a_tiny_size() {
    let mut printed = String::new();
    let results = pinline_bench::run(&options(&[Scenario::Sandbox]), |text| {
        printed.push_str(text)
    })
    .await
    .expect("the scenario runs");
    eprintln!("{printed}");
    let result = &results[0];
    assert!(result.failures.is_empty(), "{:?}", result.failures);
    assert_eq!(result.tables.len(), 1);
    let rows = &result.tables[0].rows;
    assert_eq!(rows.len(), 1, "one row, not one per backend: {rows:?}");
    assert_eq!(rows[0][0], "in memory");
    let creates: u64 = rows[0][3].parse().expect("a count of creates");
    assert!(creates > 0, "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_scenarios_run_at_a_tiny_size_or_say_why_not() {
    let mut printed = String::new();
    let scenarios = [
        Scenario::Stampede,
        Scenario::Schedule,
        Scenario::Idle,
        Scenario::Chaos,
    ];
    let results = pinline_bench::run(&options(&scenarios), |text| printed.push_str(text))
        .await
        .expect("the scenarios run");
    eprintln!("{printed}");
    if pinline_bench::replicas::pinline_exe().is_none() {
        for result in &results {
            assert!(result.tables.is_empty());
            assert!(
                result.notes.iter().all(|n| n.contains("PINLINE_BENCH_EXE")),
                "{:?}",
                result.notes
            );
        }
        return;
    }
    for result in &results {
        assert!(result.failures.is_empty(), "{:?}", result.failures);
        let expected_tables = if result.scenario == Scenario::Chaos {
            2
        } else {
            1
        };
        if result.tables.is_empty() {
            // PostgreSQL unreachable and, for chaos, the only backend it would use.
            assert!(!result.notes.is_empty());
            continue;
        }
        assert_eq!(
            result.tables.len(),
            expected_tables,
            "{:?}",
            result.scenario
        );
        for table in &result.tables {
            for row in &table.rows {
                let text = row.join(" | ");
                assert!(!text.contains("stopped at the bound"), "{text}");
            }
        }
    }
    let stampede = &results[0].tables[0];
    for row in &stampede.rows {
        assert_eq!(row[4], "1", "one refresh call: {row:?}");
    }
}
