//! Connecting from inside another app: `POST /v1/accounts/connect` with `external_id`,
//! `metadata` and `return_to`. The callback ends at `return_to` with the outcome and the account
//! id; the account carries the id and metadata, `GET /v1/accounts?external_id=` finds it, and the
//! `account.connected` webhook echoes both. A `return_to` outside the allow-list is refused.

use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{AppOptions, TestApp, eventually, receiver, spawn_app_configured};

backend_tests!(
    a_connect_started_by_an_app_ends_at_its_return_url_and_echoes_its_ids,
    return_urls_and_metadata_are_checked_at_the_start,
);

const RETURN_BASE: &str = "https://app.example.invalid/settings/";

async fn app(db: TestDatabase) -> TestApp {
    spawn_app_configured(
        db,
        AppOptions {
            connect_return_urls: vec![url::Url::parse(RETURN_BASE).expect("url")],
            ..AppOptions::default()
        },
    )
    .await
}

async fn start(app: &TestApp, body: Value) -> (u16, Value) {
    let reply = app.start_connect(&app.key_alpha, Some(body)).await;
    (reply.status, reply.json)
}

/// Follows the callback without following its redirect: (status, Location).
async fn land(app: &TestApp, callback: &str) -> (u16, String) {
    let landed = app.http.get(callback).send().await.expect("callback");
    let location = landed
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (landed.status().as_u16(), location)
}

async fn a_connect_started_by_an_app_ends_at_its_return_url_and_echoes_its_ids(db: TestDatabase) {
    let app = app(db).await;
    let (url, received) = receiver().await;
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({"url": url, "events": ["account.connected"]})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    app.sandbox_control("/users", json!({"username": "embedded"}))
        .await;
    let (status, started) = start(
        &app,
        json!({
            "external_id": "user-4711",
            "metadata": {"plan": "pro", "seats": 3},
            "return_to": format!("{RETURN_BASE}pinterest?tab=accounts"),
        }),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let callback = app
        .consent(
            started["authorize_url"].as_str().expect("url"),
            "embedded",
            true,
        )
        .await;
    let (status, location) = land(&app, &callback).await;
    assert_eq!(status, 303, "{location}");
    let back = url::Url::parse(&location).expect("a URL");
    assert!(
        location.starts_with(&format!("{RETURN_BASE}pinterest?tab=accounts&")),
        "{location}"
    );
    let query: std::collections::HashMap<String, String> =
        back.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("pinline_outcome").map(String::as_str),
        Some("connected")
    );
    let account_id = query
        .get("pinline_account_id")
        .expect("the account id")
        .clone();

    let found = app
        .api(
            Method::GET,
            "/v1/accounts?external_id=user-4711",
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    let items = found.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", found.text);
    assert_eq!(items[0]["id"], json!(account_id));
    assert_eq!(items[0]["external_id"], json!("user-4711"));
    assert_eq!(items[0]["metadata"], json!({"plan": "pro", "seats": 3}));
    let none = app
        .api(
            Method::GET,
            "/v1/accounts?external_id=someone-else",
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(none.json["items"], json!([]));

    eventually(Duration::from_secs(10), "the connected webhook", || async {
        !crate::support::received_types(&received).is_empty()
    })
    .await;
    let (_, body) = received.lock().unwrap_or_else(|e| e.into_inner())[0].clone();
    let payload: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(payload["type"], json!("account.connected"));
    assert_eq!(payload["data"]["account_id"], json!(account_id));
    assert_eq!(payload["data"]["external_id"], json!("user-4711"));
    assert_eq!(payload["data"]["metadata"]["plan"], json!("pro"));

    // A person who declines is sent back too, and told so.
    let (_, started) = start(&app, json!({"return_to": RETURN_BASE})).await;
    let callback = app
        .consent(
            started["authorize_url"].as_str().expect("url"),
            "embedded",
            false,
        )
        .await;
    let (status, location) = land(&app, &callback).await;
    assert_eq!(status, 303, "{location}");
    assert!(location.contains("pinline_outcome=denied"), "{location}");
    assert!(!location.contains("pinline_account_id"), "{location}");
}

async fn return_urls_and_metadata_are_checked_at_the_start(db: TestDatabase) {
    let app = app(db).await;
    for (body, field) in [
        (
            json!({"return_to": "https://evil.example.invalid/settings/"}),
            "return_to",
        ),
        (
            json!({"return_to": "https://app.example.invalid.evil.invalid/settings/"}),
            "return_to",
        ),
        (
            json!({"return_to": "http://app.example.invalid/settings/"}),
            "return_to",
        ),
        (
            json!({"return_to": "https://app.example.invalid/other/"}),
            "return_to",
        ),
        (json!({"return_to": "javascript:alert(1)"}), "return_to"),
        (json!({"metadata": ["not", "an", "object"]}), "metadata"),
        (json!({"metadata": {"big": "x".repeat(3000)}}), "metadata"),
        (json!({"external_id": "x".repeat(256)}), "external_id"),
        (json!({"external_id": ""}), "external_id"),
    ] {
        let (status, reply) = start(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {reply}");
        assert_eq!(reply["error"]["field"], json!(field), "{body}: {reply}");
    }
}
