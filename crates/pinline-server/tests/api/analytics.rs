//! Analytics through the API: a published post's and an account's metrics read from the sandbox
//! once and then served from the daily snapshots without a call; today's estimate read again
//! once it is stale; the figures growing with the sandbox's clock; ranges and metrics checked
//! against Pinterest's 90-day window before anything is asked.

use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, eventually, spawn_app};

backend_tests!(
    a_post_s_analytics_are_read_once_then_served_from_snapshots,
    analytics_ranges_and_metrics_are_checked,
);

/// Publishes a post on a fresh account and board; (account id, post id).
async fn published_post(app: &TestApp) -> (String, String) {
    let (account, board) = app.account_with_board("maker").await;
    let key = Some(app.key_alpha.as_str());
    let created = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(json!({
                "account_id": account,
                "board_id": board,
                "title": "Lemon tart",
                "image_url": "https://example.invalid/tart.jpg",
            })),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/posts/{id}");
    let (app_ref, path_ref) = (app, path.as_str());
    eventually(
        Duration::from_secs(10),
        "the post to publish",
        || async move {
            app_ref.api(Method::GET, path_ref, key, None).await.json["status"] == json!("published")
        },
    )
    .await;
    (account, id)
}

async fn requests_at_sandbox(app: &TestApp) -> Value {
    app.sandbox_stats().await["requests_total"].clone()
}

async fn a_post_s_analytics_are_read_once_then_served_from_snapshots(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (account, post) = published_post(&app).await;
    // Two days on, on both clocks: the pin has a whole day of figures behind it.
    app.sandbox_control("/clock", json!({"advance_secs": 2 * 86_400}))
        .await;
    app.clock.advance(Duration::from_secs(2 * 86_400));

    let path = format!("/v1/posts/{post}/analytics");
    let first = app.api(Method::GET, &path, key, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["source"], json!("pinterest"));
    assert_eq!(first.json["post_id"], json!(post));
    let days = first.json["days"].as_array().expect("days");
    assert_eq!(days.len(), 30, "the default range is 30 days");
    assert_eq!(days[29]["date"], first.json["end_date"]);
    assert_eq!(days[29]["data_status"], json!("ESTIMATE"));
    assert_eq!(days[28]["data_status"], json!("READY"));
    let impressions = first.json["totals"]["IMPRESSION"].as_f64().expect("total");
    assert!(
        impressions >= 20.0,
        "a whole day of impressions: {}",
        first.text
    );
    let daily_sum: f64 = days
        .iter()
        .map(|d| d["metrics"]["IMPRESSION"].as_f64().expect("daily"))
        .sum();
    assert_eq!(daily_sum, impressions);

    // The same read again costs no call to Pinterest, and says so.
    let before = requests_at_sandbox(&app).await;
    let second = app.api(Method::GET, &path, key, None).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json["source"], json!("stored"));
    assert_eq!(second.json["totals"], first.json["totals"]);
    let totals = app
        .api(
            Method::GET,
            &format!("{path}?granularity=total&metrics=impression,SAVE"),
            key,
            None,
        )
        .await;
    assert_eq!(totals.status, 200, "{}", totals.text);
    assert_eq!(totals.json["days"], json!([]));
    assert_eq!(
        totals.json["totals"]
            .as_object()
            .map(|t| t.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["IMPRESSION".to_owned(), "SAVE".to_owned()])
    );
    assert_eq!(requests_at_sandbox(&app).await, before);

    // Hours later today's estimate is stale: only it is read again, and it has grown.
    app.sandbox_control("/clock", json!({"advance_secs": 3 * 3600}))
        .await;
    app.clock.advance(Duration::from_secs(3 * 3600));
    let later = app.api(Method::GET, &path, key, None).await;
    assert_eq!(later.status, 200, "{}", later.text);
    if later.json["end_date"] == first.json["end_date"] {
        assert_eq!(later.json["source"], json!("pinterest"));
        let now = later.json["totals"]["IMPRESSION"].as_f64().expect("total");
        assert!(now >= impressions, "{now} < {impressions}");
    }

    // The account's figures are its pins' summed.
    let account_path = format!("/v1/accounts/{account}/analytics?granularity=total");
    let whole = app.api(Method::GET, &account_path, key, None).await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    assert_eq!(whole.json["source"], json!("pinterest"));
    assert!(
        whole.json["totals"]["ENGAGEMENT"].as_f64().is_some(),
        "{}",
        whole.text
    );
    let again = app.api(Method::GET, &account_path, key, None).await;
    assert_eq!(again.json["source"], json!("stored"));

    // The rate meter shows the analytics budget was used through the pacer.
    let meter = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}/rate-meter"),
            key,
            None,
        )
        .await;
    assert_eq!(meter.status, 200, "{}", meter.text);
    assert!(
        meter.json["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .any(|c| c["category"] == json!("org_analytics")),
        "{}",
        meter.text
    );
}

async fn analytics_ranges_and_metrics_are_checked(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (account, post) = published_post(&app).await;
    let today = time::OffsetDateTime::now_utc().date();
    let day = |offset: i64| (today + time::Duration::days(offset)).to_string();
    let path = format!("/v1/accounts/{account}/analytics");
    let before = requests_at_sandbox(&app).await;
    for (query, status, field) in [
        (format!("start_date={}", day(-91)), 422, Some("start_date")),
        (format!("end_date={}", day(2)), 422, Some("end_date")),
        (
            format!("start_date={}&end_date={}", day(-1), day(-3)),
            422,
            Some("start_date"),
        ),
        ("start_date=yesterday".to_owned(), 422, Some("start_date")),
        ("metrics=IMPRESSION,VIEWS".to_owned(), 422, Some("metrics")),
        ("granularity=hourly".to_owned(), 400, None),
        ("colour=red".to_owned(), 400, None),
    ] {
        let refused = app
            .api(Method::GET, &format!("{path}?{query}"), key, None)
            .await;
        assert_eq!(refused.status, status, "{query}: {}", refused.text);
        error_code(&refused);
        if let Some(field) = field {
            assert_eq!(refused.json["error"]["field"], json!(field), "{query}");
        }
    }
    // Pin metrics are not account metrics.
    let wrong = app
        .api(
            Method::GET,
            &format!("/v1/posts/{post}/analytics?metrics=ENGAGEMENT"),
            key,
            None,
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert_eq!(requests_at_sandbox(&app).await, before, "nothing was asked");

    // The whole window is allowed: 90 days back to today.
    let window = app
        .api(
            Method::GET,
            &format!("{path}?start_date={}&end_date={}", day(-90), day(0)),
            key,
            None,
        )
        .await;
    assert_eq!(window.status, 200, "{}", window.text);
    assert_eq!(window.json["days"].as_array().map(Vec::len), Some(91));

    // A post that has not published has no analytics yet; another profile's post is unknown.
    let (_, board) = {
        let boards = app
            .api(
                Method::GET,
                &format!("/v1/accounts/{account}/boards"),
                key,
                None,
            )
            .await;
        (
            (),
            boards.json["items"][0]["id"]
                .as_str()
                .expect("board")
                .to_owned(),
        )
    };
    let later = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(json!({
                "account_id": account,
                "board_id": board,
                "title": "Later",
                "image_url": "https://example.invalid/later.jpg",
                "publish_at": "2099-01-01T09:00:00Z",
            })),
        )
        .await;
    assert_eq!(later.status, 202, "{}", later.text);
    let later_id = later.json["id"].as_str().expect("id");
    let unpublished = app
        .api(
            Method::GET,
            &format!("/v1/posts/{later_id}/analytics"),
            key,
            None,
        )
        .await;
    assert_eq!(unpublished.status, 409, "{}", unpublished.text);
    assert_eq!(error_code(&unpublished), "post_not_published");
    let foreign = app
        .api(
            Method::GET,
            &format!("/v1/posts/{post}/analytics"),
            Some(&app.key_beta),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
}
