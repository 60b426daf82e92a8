//! Every scenario at a tiny size on both backends (PostgreSQL when reachable), so `cargo test`
//! catches a benchmark that no longer runs. The figures are not checked: only that each scenario
//! produces its table with one row per case and completes everything it queued.

use std::time::{Duration, Instant};

use pinline_bench::{BackendKind, BenchOptions, Scenario, Size};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_at_a_tiny_size() {
    let options = BenchOptions {
        scenarios: Scenario::ALL.to_vec(),
        size: Size::Tiny,
        backends: vec![BackendKind::Sqlite, BackendKind::Postgres],
        postgres_url: None,
    };
    let started = Instant::now();
    let mut printed = String::new();
    let results = pinline_bench::run(&options, |text| printed.push_str(text))
        .await
        .expect("the scenarios run");
    eprintln!("{printed}");
    assert_eq!(results.len(), 3);
    let backends = 2 - results[0].notes.len();
    for result in &results {
        assert_eq!(result.tables.len(), 1, "{:?}", result.scenario);
        let rows = &result.tables[0].rows;
        let per_backend = if result.scenario == Scenario::Pacing {
            3
        } else {
            1
        };
        assert_eq!(rows.len(), per_backend * backends, "{:?}", result.tables[0]);
        for row in rows {
            let text = row.join(" | ");
            assert!(!text.contains("timed out"), "{text}");
        }
    }
    assert!(printed.contains("| SQLite |"), "{printed}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "tiny runs stay small: {:?}",
        started.elapsed()
    );
}
