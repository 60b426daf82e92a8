//! Pin-creation throughput with 16 concurrent clients. Runs only when `PINLINE_SANDBOX_BENCH` is
//! set (CI's release job sets it); in a release build it must reach 5,000 creations per second.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{TestSandbox, pin_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_creation_throughput() {
    if std::env::var_os("PINLINE_SANDBOX_BENCH").is_none() {
        return;
    }
    let sandbox = TestSandbox::start().await;
    let mut clients = Vec::new();
    for index in 0..16 {
        let (_, tokens) = sandbox.user_with_token(&format!("bench{index}")).await;
        let board = sandbox
            .create_board(&tokens.access, "Bench", "PUBLIC")
            .await;
        clients.push((tokens.access, board));
    }
    let run_for = Duration::from_secs(3);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(token, board)| {
            let http = sandbox.http.clone();
            let url = format!("{}/v5/pins", sandbox.base);
            tokio::spawn(async move {
                let body = pin_body(&board);
                let mut created = 0u64;
                while started.elapsed() < run_for {
                    let response = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), StatusCode::CREATED);
                    response.bytes().await.unwrap();
                    created += 1;
                }
                created
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += task.await.unwrap();
    }
    let rate = created as f64 / started.elapsed().as_secs_f64();
    println!("pin creations per second: {rate:.0}");
    assert_eq!(sandbox.stats().await["pins_created"], created);
    if !cfg!(debug_assertions) {
        assert!(rate >= 5000.0, "only {rate:.0} pin creations per second");
    }
}
