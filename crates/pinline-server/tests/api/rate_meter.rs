//! The rate meter: per category the pacer's own numbers (configured rate, share, interval, next
//! free slot, what Pinterest last reported), the account's queue, and when the posts due now
//! should be sent; a 429 from Pinterest shows up as an exhausted window, and while it lasts the
//! analytics budget is refused without a call.

use pinline_pinterest::facts::RateLimitCategory;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use std::time::Duration;

use crate::support::{TestApp, error_code, eventually, spawn_app};

backend_tests!(
    the_meter_reads_the_pacer_and_the_queue,
    a_spent_analytics_budget_shows_and_is_kept,
    a_post_refused_for_the_rate_limit_waits_in_the_meter,
);

fn category<'a>(meter: &'a Value, name: &str) -> &'a Value {
    meter["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["category"] == json!(name))
        .unwrap_or_else(|| panic!("{name} in {meter}"))
}

fn ms(text: &Value) -> i64 {
    let parsed = time::OffsetDateTime::parse(
        text.as_str().expect("a time"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    (parsed.unix_timestamp_nanos() / 1_000_000) as i64
}

async fn meter(app: &TestApp, account: &str) -> Value {
    let reply = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}/rate-meter"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

async fn the_meter_reads_the_pacer_and_the_queue(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    for title in ["One", "Two", "Three"] {
        let created = app
            .api(
                Method::POST,
                "/v1/posts",
                Some(&app.key_alpha),
                Some(json!({
                    "account_id": account,
                    "board_id": board,
                    "title": title,
                    "image_url": "https://example.invalid/a.jpg",
                    "publish_at": "2099-01-01T09:00:00Z",
                })),
            )
            .await;
        assert_eq!(created.status, 202, "{}", created.text);
    }
    let before = app.sandbox_stats().await["requests_total"].clone();
    let read = meter(&app, &account).await;
    assert_eq!(
        app.sandbox_stats().await["requests_total"],
        before,
        "reading the meter costs no call"
    );
    let user = read["pinterest_user_id"].as_str().expect("user").to_owned();

    // Each category says what the pacer says.
    for (name, kind) in [
        ("org_write", RateLimitCategory::OrgWrite),
        ("org_read", RateLimitCategory::OrgRead),
        ("org_analytics", RateLimitCategory::OrgAnalytics),
    ] {
        let status = app.publisher.pacer().status(&user, kind);
        let shown = category(&read, name);
        assert_eq!(shown["configured"]["requests"], json!(status.rate.requests));
        assert_eq!(shown["configured"]["burst"], json!(status.rate.burst));
        assert_eq!(shown["share"], json!(status.share));
        assert_eq!(
            shown["interval_ms"].as_f64(),
            Some(status.interval.as_secs_f64() * 1000.0)
        );
        // Nothing was sent for this user yet: the next slot is now.
        assert!((ms(&shown["next_free_slot_at"]) - status.next_free_at_ms).abs() < 1000);
        assert_eq!(shown["remaining"], json!(null));
        assert_eq!(shown["blocked_until"], json!(null));
    }
    // The test app paces writes at 1000 a second.
    assert_eq!(
        category(&read, "org_write")["configured"]["requests"],
        json!(1000)
    );

    let queue = &read["queue"];
    assert_eq!(queue["scheduled"], json!(3), "{read}");
    assert_eq!(queue["due_now"], json!(0));
    assert_eq!(queue["held"], json!(0));
    assert_eq!(queue["next_scheduled_at"], json!("2099-01-01T09:00:00Z"));
    assert_eq!(queue["expected_drain_at"], json!(null));
    assert_eq!(queue["expected_drain_secs"], json!(0.0));

    let foreign = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}/rate-meter"),
            Some(&app.key_beta),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    error_code(&foreign);
}

async fn a_spent_analytics_budget_shows_and_is_kept(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, _) = app.account_with_board("maker").await;
    app.sandbox_control(
        "/faults",
        json!({"rules": [{
            "operation": "user_account/analytics",
            "kind": "rate_limit",
            "retry_after_secs": 120,
            "count": 1
        }]}),
    )
    .await;
    let path = format!("/v1/accounts/{account}/analytics");
    let limited = app
        .api(Method::GET, &path, Some(&app.key_alpha), None)
        .await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(error_code(&limited), "pinterest_rate_limited");

    let read = meter(&app, &account).await;
    let analytics = category(&read, "org_analytics");
    let now = ms(&read["at"]);
    assert_eq!(analytics["remaining"], json!(0), "{read}");
    let reset = ms(&analytics["reset_at"]);
    assert!((reset - (now + 120_000)).abs() < 5_000, "{read}");
    let blocked = ms(&analytics["blocked_until"]);
    assert!((blocked - (now + 120_000)).abs() < 5_000, "{read}");
    assert_eq!(analytics["next_free_slot_at"], analytics["blocked_until"]);
    // Writes are not affected.
    assert_eq!(category(&read, "org_write")["blocked_until"], json!(null));

    // While the window is spent, pinline does not ask again.
    let before = app.sandbox_stats().await["requests_total"].clone();
    let again = app
        .api(Method::GET, &path, Some(&app.key_alpha), None)
        .await;
    assert_eq!(again.status, 429, "{}", again.text);
    assert_eq!(app.sandbox_stats().await["requests_total"], before);
}

async fn a_post_refused_for_the_rate_limit_waits_in_the_meter(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    app.sandbox_control(
        "/faults",
        json!({"rules": [{
            "operation": "pins/create",
            "kind": "rate_limit",
            "retry_after_secs": 600,
            "count": 1
        }]}),
    )
    .await;
    let created = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(json!({
                "account_id": account,
                "board_id": board,
                "title": "Soon",
                "image_url": "https://example.invalid/a.jpg",
            })),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    let (app_ref, account_ref) = (&app, account.as_str());
    eventually(Duration::from_secs(10), "the post to wait for budget", || async move {
        meter(app_ref, account_ref).await["queue"]["waiting_for_budget"] == json!(1)
    })
    .await;
    let read = meter(&app, &account).await;
    let queue = &read["queue"];
    assert_eq!(queue["due_now"], json!(0), "{read}");
    assert_eq!(queue["scheduled"], json!(0), "{read}");
    // Not before Pinterest's Retry-After: the write window is blocked for ten minutes.
    let now = ms(&read["at"]);
    let blocked = ms(&category(&read, "org_write")["blocked_until"]);
    assert!((blocked - (now + 600_000)).abs() < 5_000, "{read}");
    let drain = ms(&queue["expected_drain_at"]);
    assert!(drain >= blocked, "{read}");
    assert!(drain - now < 700_000, "{read}");
    assert_eq!(
        queue["expected_drain_secs"]
            .as_f64()
            .map(|secs| secs.round() as i64),
        Some(((drain - now) as f64 / 1000.0).round() as i64)
    );
}
