//! Starting, stopping, persisting, and the control API's bookkeeping.

use std::time::{Duration, Instant};

use pinline_sandbox::{SandboxConfig, startup_banner};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestSandbox;

#[tokio::test]
async fn state_survives_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        state_file: Some(dir.path().join("sandbox.json")),
        ..SandboxConfig::default()
    };
    let sandbox = TestSandbox::with(config.clone()).await;
    let (alice_id, tokens) = sandbox.user_with_token("alice").await;
    let ops_id = sandbox.create_system_user("ops").await;
    let board = sandbox
        .create_board(&tokens.access, "Recipes", "PUBLIC")
        .await;
    let pin = sandbox.create_pin(&tokens.access, &board).await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox.handle.shutdown().await;

    let restarted = TestSandbox::with(config).await;
    let fetched = restarted.get(&tokens.access, &format!("/pins/{pin}")).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text);
    assert_eq!(restarted.stats().await["pins_by_user"][&alice_id], 1);
    // Which users are system users survives too: it decides what `token/revoke` may do.
    let users = restarted.control(Method::GET, "/users", None).await.json;
    let system_of = |id: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|user| user["id"] == id)
            .map(|user| user["system"].clone())
    };
    assert_eq!(system_of(&alice_id), Some(json!(false)));
    assert_eq!(system_of(&ops_id), Some(json!(true)));
    // Ids keep increasing after a restart.
    let next = restarted
        .create_board(&tokens.access, "More", "PUBLIC")
        .await;
    assert!(next.parse::<u64>().unwrap() > pin.parse::<u64>().unwrap());
    let duplicate = restarted
        .control(Method::POST, "/users", Some(json!({ "username": "alice" })))
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let sandbox = TestSandbox::start().await;
    let addr = sandbox.handle.addr();
    let http = sandbox.http.clone();
    drop(sandbox);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        if fresh
            .get(format!("http://{addr}/_sandbox/stats"))
            .send()
            .await
            .is_err()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server still answering after drop"
        );
        tokio::task::yield_now().await;
    }
    drop(http);
}

#[tokio::test]
async fn control_api_users_reset_and_banner() {
    let sandbox = TestSandbox::start().await;
    let id = sandbox.create_user("alice").await;
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    let created = sandbox
        .control(
            Method::POST,
            "/users",
            Some(json!({ "username": "ops", "system": true })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["system"], true);
    let users = sandbox.control(Method::GET, "/users", None).await;
    assert_eq!(users.json["items"][0]["username"], "alice");
    assert_eq!(users.json["items"][0]["system"], false);
    assert_eq!(users.json["items"][1]["username"], "ops");
    assert_eq!(users.json["items"][1]["system"], true);
    // A misspelt or mistyped flag is an error, not silently an ordinary user.
    for body in [
        json!({ "username": "ops2", "sytem": true }),
        json!({ "username": "ops2", "system": "yes" }),
    ] {
        sandbox
            .control(Method::POST, "/users", Some(body))
            .await
            .assert_error(400, 1);
    }
    let invalid = sandbox
        .control(
            Method::POST,
            "/users",
            Some(json!({ "username": "<script>" })),
        )
        .await;
    invalid.assert_error(400, 1);
    let unknown = sandbox
        .control(Method::POST, "/users/123/tokens", Some(json!({})))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let stats = sandbox.stats().await;
    for key in [
        "pins_created",
        "pins_deleted",
        "responses_429",
        "refresh_token_reuse",
        "requests_total",
        "faults_injected",
    ] {
        assert!(stats[key].is_u64(), "stats.{key}");
    }
    assert!(stats["pins_by_user"].is_object());

    let reset = sandbox.control(Method::POST, "/reset", None).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert_eq!(
        sandbox.control(Method::GET, "/users", None).await.json["items"],
        json!([])
    );

    let banner = startup_banner(&sandbox.handle, &sandbox.config);
    for needle in [
        "1000001",
        "sandbox-secret",
        &sandbox.base,
        "/oauth/",
        "/_sandbox/",
        "any http(s) URI (none registered)",
        "access token 2592000s",
        "refresh reuse grace 0s",
        "no universal limit",
    ] {
        assert!(banner.contains(needle), "banner lacks {needle}: {banner}");
    }
}

#[tokio::test]
async fn the_banner_states_the_universal_limit() {
    for (rate, needle) in [
        (
            pinline_sandbox::STANDARD_UNIVERSAL_RATE,
            "100/s per user across all requests",
        ),
        (
            pinline_sandbox::TRIAL_UNIVERSAL_RATE,
            "1000/day per user across all requests",
        ),
    ] {
        let sandbox = TestSandbox::with(SandboxConfig {
            universal_rate: Some(rate),
            ..SandboxConfig::default()
        })
        .await;
        let banner = startup_banner(&sandbox.handle, &sandbox.config);
        assert!(banner.contains(needle), "banner lacks {needle}: {banner}");
        assert!(!banner.contains("no universal limit"), "{banner}");
    }
}
