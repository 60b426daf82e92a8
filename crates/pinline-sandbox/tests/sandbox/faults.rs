//! Fault injection: seeded shares, exact counts, delays, fake 429s and dropped connections.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestSandbox, pin_body};

#[tokio::test]
async fn error_shares_repeat_with_the_seed() {
    let sandbox = TestSandbox::start().await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let rules = json!({ "rules": [
        { "operation": "pins/list", "kind": "error", "status": 503, "share": 0.3 }
    ], "seed": 7 });
    let mut runs = Vec::new();
    for _ in 0..2 {
        sandbox.set_faults(rules.clone()).await;
        let mut pattern = Vec::new();
        for _ in 0..40 {
            let reply = sandbox.get(&alice.access, "/pins").await;
            if reply.status == StatusCode::SERVICE_UNAVAILABLE {
                reply.assert_error(503, 503);
                pattern.push(true);
            } else {
                assert_eq!(reply.status, StatusCode::OK);
                pattern.push(false);
            }
        }
        runs.push(pattern);
    }
    assert_eq!(runs[0], runs[1], "same seed, same faults");
    let fired = runs[0].iter().filter(|f| **f).count();
    assert!((4..=24).contains(&fired), "fired {fired} of 40");
    // Other operations are untouched.
    assert_eq!(
        sandbox.get(&alice.access, "/boards").await.status,
        StatusCode::OK
    );
    assert_eq!(sandbox.stats().await["faults_injected"], json!(fired * 2));
}

#[tokio::test]
async fn count_rules_fire_exactly_n_times_and_can_be_cleared() {
    let sandbox = TestSandbox::start().await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let board = sandbox
        .create_board(&alice.access, "Recipes", "PUBLIC")
        .await;
    sandbox
        .set_faults(json!({ "rules": [
            { "operation": "pins/create", "kind": "error", "status": 500, "code": 1, "message": "Internal error.", "count": 2 }
        ] }))
        .await;
    sandbox
        .create_pin(&alice.access, &board)
        .await
        .assert_error(500, 1);
    sandbox
        .create_pin(&alice.access, &board)
        .await
        .assert_error(500, 1);
    assert_eq!(
        sandbox.create_pin(&alice.access, &board).await.status,
        StatusCode::CREATED
    );
    assert_eq!(sandbox.stats().await["pins_created"], 1);

    sandbox
        .set_faults(
            json!({ "rules": [{ "path_prefix": "/v5/pins", "kind": "error", "status": 502 }] }),
        )
        .await;
    sandbox
        .create_pin(&alice.access, &board)
        .await
        .assert_error(502, 502);
    let cleared = sandbox.control(Method::DELETE, "/faults", None).await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert_eq!(
        sandbox.create_pin(&alice.access, &board).await.status,
        StatusCode::CREATED
    );

    let bad = sandbox
        .control(
            Method::POST,
            "/faults",
            Some(json!({ "rules": [{ "kind": "error", "operation": "pins/fly" }] })),
        )
        .await;
    bad.assert_error(400, 1);
}

#[tokio::test]
async fn delay_and_rate_limit_faults() {
    let sandbox = TestSandbox::start().await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    sandbox
        .set_faults(json!({ "rules": [{ "operation": "pins/list", "kind": "delay", "delay_ms": 200, "count": 1 }] }))
        .await;
    let started = Instant::now();
    assert_eq!(
        sandbox.get(&alice.access, "/pins").await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(200));

    sandbox
        .set_faults(
            json!({ "rules": [{ "kind": "rate_limit", "retry_after_secs": 3, "count": 1 }] }),
        )
        .await;
    let reply = sandbox.get(&alice.access, "/pins").await;
    reply.assert_error(429, 8);
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(
        sandbox.get(&alice.access, "/pins").await.status,
        StatusCode::OK
    );
    let stats = sandbox.stats().await;
    assert_eq!(stats["responses_429"], 1);
    assert_eq!(stats["faults_injected"], 2);
}

#[tokio::test]
async fn drop_after_create_creates_the_pin_but_the_client_sees_no_response() {
    let sandbox = TestSandbox::start().await;
    let (alice_id, alice) = sandbox.user_with_token("alice").await;
    let board = sandbox
        .create_board(&alice.access, "Recipes", "PUBLIC")
        .await;
    sandbox
        .set_faults(json!({ "rules": [{ "operation": "pins/create", "kind": "drop_after_create", "count": 1 }] }))
        .await;
    let outcome = sandbox
        .http
        .post(format!("{}/v5/pins", sandbox.base))
        .bearer_auth(&alice.access)
        .json(&pin_body(&board))
        .send()
        .await;
    let error = outcome.expect_err("the connection is dropped before any response");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");

    let pins = sandbox
        .get(&alice.access, &format!("/boards/{board}/pins"))
        .await;
    assert_eq!(pins.json["items"].as_array().unwrap().len(), 1);
    let stats = sandbox.stats().await;
    assert_eq!(stats["pins_created"], 1);
    assert_eq!(stats["pins_by_user"][&alice_id], 1);
    assert_eq!(stats["faults_injected"], 1);
    // The next create goes through normally.
    assert_eq!(
        sandbox.create_pin(&alice.access, &board).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_token_endpoint_fails_stalls_and_drops_on_purpose() {
    let sandbox = TestSandbox::start().await;
    let (alice_id, alice) = sandbox.user_with_token("alice").await;

    // 500 in Pinterest's error shape; the refresh token is untouched.
    sandbox
        .set_faults(json!({ "rules": [
            { "operation": "oauth/token", "kind": "error", "status": 500, "count": 1 }
        ] }))
        .await;
    sandbox.refresh(&alice.refresh).await.assert_error(500, 500);

    // A delayed request is counted on arrival, while it is still held.
    sandbox
        .set_faults(json!({ "rules": [
            { "operation": "oauth/token", "kind": "delay", "delay_ms": 300, "count": 1 }
        ] }))
        .await;
    let before = sandbox.stats().await["token_endpoint_requests"]
        .as_u64()
        .unwrap();
    let started = Instant::now();
    let held = tokio::spawn({
        let (http, base) = (sandbox.http.clone(), sandbox.base.clone());
        let (id, secret) = (
            sandbox.config.client_id.clone(),
            sandbox.config.client_secret.clone(),
        );
        async move {
            http.post(format!("{base}/v5/oauth/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "authorization_code"), ("code", "nope")])
                .send()
                .await
                .expect("answered")
                .status()
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while sandbox.stats().await["token_endpoint_requests"]
        .as_u64()
        .unwrap()
        == before
    {
        assert!(
            Instant::now() < deadline,
            "the held request was never counted"
        );
        tokio::task::yield_now().await;
    }
    assert!(!held.is_finished(), "seen before the delay ended");
    let stats = sandbox.stats().await;
    let seen = stats["recent_token_requests"].as_array().expect("a list");
    let last = seen.last().expect("the held request");
    assert_eq!(last["held_ms"], 300);
    let peer: std::net::SocketAddr = last["peer"]
        .as_str()
        .expect("its peer")
        .parse()
        .expect("an address");
    assert!(peer.ip().is_loopback() && peer.port() != 0, "{peer}");
    // The 500 before it was not held.
    assert_eq!(seen[seen.len() - 2]["held_ms"], 0);
    assert_eq!(held.await.unwrap(), StatusCode::BAD_REQUEST);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Rotated, then the connection drops: the client never hears the new refresh token, and
    // the one it holds is refused (counted against alice) and takes the grant down.
    sandbox
        .set_faults(json!({ "rules": [
            { "operation": "oauth/token", "kind": "drop_after_create", "count": 1 }
        ] }))
        .await;
    let outcome = sandbox
        .http
        .post(format!("{}/v5/oauth/token", sandbox.base))
        .basic_auth(
            &sandbox.config.client_id,
            Some(&sandbox.config.client_secret),
        )
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", alice.refresh.as_str()),
        ])
        .send()
        .await;
    let error = outcome.expect_err("the connection is dropped before any response");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    let stats = sandbox.stats().await;
    // The 500 was answered before the handler; only the dropped refresh reached it.
    assert_eq!(stats["token_requests"]["refresh_token"], 1);
    assert!(stats["refresh_refused_by_user"].get(&alice_id).is_none());
    let reused = sandbox.refresh(&alice.refresh).await;
    reused.assert_error(400, 1);
    let stats = sandbox.stats().await;
    assert_eq!(stats["refresh_refused_by_user"][&alice_id], 1);
    assert_eq!(stats["refresh_token_reuse"], 1);
    assert_eq!(stats["faults_injected"], 3);
}
