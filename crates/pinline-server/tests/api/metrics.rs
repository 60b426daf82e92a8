//! `GET /metrics` read as Prometheus reads it: the text parses, and the values match what the
//! test did (posts published and failed, their lag, requests by route, queue depth, accounts);
//! no label carries an id; with a token set, a scrape without it is refused.

use std::collections::HashMap;
use std::time::Duration;

use openmetrics_parser::OpenMetricsValue;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::support::{AppOptions, TestApp, eventually, spawn_app, spawn_app_configured};

backend_tests!(
    metrics_count_what_was_published,
    metrics_want_their_token_when_one_is_set,
);

/// The scrape's samples: `name{label="value",…}` (labels sorted) → value.
async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, HashMap<String, f64>, String) {
    let mut request = app.http.get(format!("{}/metrics", app.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scrape");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("text");
    if status != 200 {
        return (status, HashMap::new(), text);
    }
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|error| panic!("the text parses as OpenMetrics: {error:?}\n{text}"));
    let mut samples = HashMap::new();
    for (name, family) in &parsed.families {
        for sample in family.iter_samples() {
            let labelset = sample.get_labelset().expect("labels");
            let mut labels: Vec<String> = labelset
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            labels.sort();
            let value = match &sample.value {
                OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
                OpenMetricsValue::Gauge(value) | OpenMetricsValue::Unknown(value) => value.as_f64(),
                OpenMetricsValue::Histogram(histogram) => {
                    histogram.count.map_or(0.0, |count| count as f64)
                }
                _ => 0.0,
            };
            samples.insert(format!("{name}{{{}}}", labels.join(",")), value);
        }
    }
    (status, samples, text)
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("{key} in the scrape: {:?}", samples.keys()))
}

async fn metrics_count_what_was_published(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("counted").await;
    app.sandbox_control(
        "/faults",
        json!({"rules": [{"operation": "pins/create", "kind": "error", "status": 400, "code": 1, "count": 1}]}),
    )
    .await;
    let mut ids = Vec::new();
    for title in ["Refused", "Live one", "Live two"] {
        let created = app
            .api(
                Method::POST,
                "/v1/posts",
                Some(&app.key_alpha),
                Some(
                    json!({"account_id": account, "board_id": board, "title": title,
                    "image_url": "https://example.invalid/m.jpg"}),
                ),
            )
            .await;
        assert_eq!(created.status, 202, "{}", created.text);
        let id = created.json["id"].as_str().expect("id").to_owned();
        // One at a time, so the fault meets the first.
        eventually(Duration::from_secs(20), "the post to finish", || async {
            let post = app
                .api(
                    Method::GET,
                    &format!("/v1/posts/{id}"),
                    Some(&app.key_alpha),
                    None,
                )
                .await;
            post.json["status"] == json!("published") || post.json["status"] == json!("failed")
        })
        .await;
        ids.push(id);
    }

    let (status, samples, text) = scrape(&app, None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        value(
            &samples,
            r#"pinline_post_attempts{class="none",outcome="published"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            r#"pinline_post_attempts{class="validation",outcome="failed"}"#
        ),
        1.0
    );
    assert_eq!(value(&samples, "pinline_schedule_lag_seconds{}"), 2.0);
    assert!(value(&samples, "pinline_claims{}") >= 1.0);
    assert_eq!(value(&samples, r#"pinline_posts{status="queued"}"#), 0.0);
    assert_eq!(value(&samples, r#"pinline_posts{status="held"}"#), 0.0);
    assert_eq!(value(&samples, r#"pinline_accounts{status="active"}"#), 1.0);
    assert_eq!(
        value(&samples, r#"pinline_accounts{status="needs_reauth"}"#),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            r#"pinline_http_requests{method="POST",route="/v1/posts",status="202"}"#
        ),
        3.0
    );
    // Reads of one post are counted under the route's template, not its id.
    assert!(
        value(
            &samples,
            r#"pinline_http_requests{method="GET",route="/v1/posts/{post_id}",status="200"}"#
        ) >= 3.0
    );
    for id in ids.iter().chain(std::iter::once(&account)) {
        assert!(!text.contains(id.as_str()), "an id in the metrics: {id}");
    }
}

async fn metrics_want_their_token_when_one_is_set(db: TestDatabase) {
    let app = spawn_app_configured(
        db,
        AppOptions {
            metrics_token: Some("scrape-secret".into()),
            ..AppOptions::default()
        },
    )
    .await;
    let (status, _, text) = scrape(&app, None).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("PINLINE_METRICS_TOKEN"), "{text}");
    let (status, _, _) = scrape(&app, Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, samples, _) = scrape(&app, Some("scrape-secret")).await;
    assert_eq!(status, 200);
    assert!(samples.keys().any(|key| key.starts_with("pinline_posts{")));
}
