//! The configured latency: every `/v5` request waits it out on a timer, the answers are
//! otherwise the same, and many requests can wait at once.

use std::time::{Duration, Instant};

use pinline_sandbox::{Latency, SandboxConfig};
use reqwest::StatusCode;

use crate::support::TestSandbox;

fn slow(base_ms: u64, jitter_ms: u64) -> SandboxConfig {
    SandboxConfig::default().with_latency(Latency::from_millis(base_ms, jitter_ms))
}

#[tokio::test]
async fn every_api_request_takes_at_least_the_latency() {
    let sandbox = TestSandbox::with(slow(200, 0)).await;
    let (_, alice) = sandbox.user_with_token("alice").await;

    let started = Instant::now();
    let board = sandbox
        .create_board(&alice.access, "Recipes", "PUBLIC")
        .await;
    assert!(started.elapsed() >= Duration::from_millis(200));

    let started = Instant::now();
    let reply = sandbox.create_pin(&alice.access, &board).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["board_id"], board.as_str());
    assert_eq!(reply.header("x-ratelimit-category"), Some("org_write"));

    // Refusals wait as long, and are the same refusals.
    let started = Instant::now();
    sandbox
        .get("not-a-token", "/user_account")
        .await
        .assert_error(401, 2);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // The token endpoint too.
    let started = Instant::now();
    let reply = sandbox.refresh(&alice.refresh).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.json["access_token"].is_string());
}

#[tokio::test]
async fn jitter_never_goes_below_the_range() {
    let sandbox = TestSandbox::with(slow(150, 50)).await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    for _ in 0..5 {
        let started = Instant::now();
        let reply = sandbox.get(&alice.access, "/user_account").await;
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.json["username"], "alice");
    }
}

#[tokio::test]
async fn many_requests_wait_at_once() {
    // 100 requests of 300 ms each would take 30 s one after another; waiting together they
    // take about 300 ms. The bound is loose on purpose: it only has to tell the two apart.
    let sandbox = TestSandbox::with(slow(300, 0)).await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let started = Instant::now();
    let replies = futures_util::future::join_all(
        (0..100).map(|_| sandbox.get(&alice.access, "/user_account")),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(replies.iter().all(|reply| reply.status == StatusCode::OK));
    assert!(elapsed >= Duration::from_millis(300));
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}

#[tokio::test]
async fn the_control_api_and_the_default_are_not_delayed() {
    assert!(SandboxConfig::default().latency.is_zero());
    let sandbox = TestSandbox::with(slow(200, 0)).await;
    // The control API is the test's own back door, not Pinterest: it answers at once. No upper
    // bound is asserted on its time (a busy machine may be slow); only that it works.
    let (_, alice) = sandbox.user_with_token("alice").await;
    let stats = sandbox.stats().await;
    assert_eq!(stats["tokens_minted"], 1);
    assert!(!alice.access.is_empty());
}
