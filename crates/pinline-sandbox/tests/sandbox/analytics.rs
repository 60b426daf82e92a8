//! Analytics at the sandbox: deterministic figures that grow with its clock, `READY` days and
//! today's `ESTIMATE`, an account's figures the sum of its pins', and the spec's date rules
//! (90 days back, 90 days long, required parameters) answered 400 code 1.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestSandbox;

fn day(offset: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(offset)).to_string()
}

fn total(reply: &Value, metric: &str) -> f64 {
    reply["all"]["summary_metrics"][metric].as_f64().unwrap()
}

#[tokio::test]
async fn figures_are_deterministic_and_grow_with_the_clock() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Recipes", "PUBLIC").await;
    let pin = sandbox.create_pin(token, &board).await;
    let pin_id = pin.json["id"].as_str().unwrap().to_owned();
    sandbox
        .control(
            reqwest::Method::POST,
            "/clock",
            Some(json!({"advance_secs": 3 * 86_400})),
        )
        .await;
    let path = format!(
        "/pins/{pin_id}/analytics?start_date={}&end_date={}&metric_types=IMPRESSION,PIN_CLICK,SAVE,SAVE_RATE",
        day(-2),
        day(3)
    );
    let first = sandbox.get(token, &path).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let days = first.json["all"]["daily_metrics"].as_array().unwrap();
    assert_eq!(days.len(), 6);
    assert_eq!(days[5]["data_status"], json!("ESTIMATE"));
    assert_eq!(days[4]["data_status"], json!("READY"));
    // Before the pin existed: nothing.
    assert_eq!(days[0]["metrics"]["IMPRESSION"], json!(0.0));
    let impressions = total(&first.json, "IMPRESSION");
    assert!(impressions >= 40.0, "two whole days: {}", first.text);
    for day in days {
        let shown = day["metrics"]["IMPRESSION"].as_f64().unwrap();
        assert_eq!(
            day["metrics"]["PIN_CLICK"].as_f64(),
            Some((shown / 10.0).floor())
        );
    }

    // The same question, the same answer; hours later only today has grown.
    let same = sandbox.get(token, &path).await;
    assert_eq!(
        same.json["all"]["daily_metrics"][4],
        first.json["all"]["daily_metrics"][4]
    );
    sandbox
        .control(
            reqwest::Method::POST,
            "/clock",
            Some(json!({"advance_secs": 6 * 3600})),
        )
        .await;
    let later = sandbox.get(token, &path).await;
    assert!(total(&later.json, "IMPRESSION") >= impressions);

    // The account's figures are its pins' summed.
    let second = sandbox.create_pin(token, &board).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let account = sandbox
        .get(
            token,
            &format!(
                "/user_account/analytics?start_date={}&end_date={}",
                day(-2),
                day(2)
            ),
        )
        .await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.text);
    let metrics = account.json["all"]["summary_metrics"].as_object().unwrap();
    assert_eq!(metrics.len(), 9, "every account metric by default");
    let pins_only = sandbox
        .get(
            token,
            &format!(
                "/pins/{pin_id}/analytics?start_date={}&end_date={}&metric_types=IMPRESSION",
                day(-2),
                day(2)
            ),
        )
        .await;
    assert_eq!(
        total(&account.json, "IMPRESSION"),
        total(&pins_only.json, "IMPRESSION"),
        "the second pin was made after the range: the account's figures are the first pin's"
    );
}

#[tokio::test]
async fn the_date_rules_are_pinterest_s() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Recipes", "PUBLIC").await;
    let pin = sandbox.create_pin(token, &board).await;
    let pin_id = pin.json["id"].as_str().unwrap().to_owned();
    for query in [
        format!("start_date={}&end_date={}", day(-91), day(0)),
        format!("start_date={}&end_date={}", day(-1), day(-2)),
        format!("start_date={}&end_date={}", day(-10), day(81)),
        format!("end_date={}", day(0)),
        format!("start_date=yesterday&end_date={}", day(0)),
        format!(
            "start_date={}&end_date={}&metric_types=VIEWS",
            day(-1),
            day(0)
        ),
    ] {
        let reply = sandbox
            .get(token, &format!("/user_account/analytics?{query}"))
            .await;
        reply.assert_error(400, 1);
    }
    // A pin's metrics must be named.
    sandbox
        .get(
            token,
            &format!(
                "/pins/{pin_id}/analytics?start_date={}&end_date={}",
                day(-1),
                day(0)
            ),
        )
        .await
        .assert_error(400, 1);
    // Someone else's pin does not exist for this token.
    let (_, other) = sandbox.user_with_token("bob").await;
    sandbox
        .get(
            &other.access,
            &format!(
                "/pins/{pin_id}/analytics?start_date={}&end_date={}&metric_types=IMPRESSION",
                day(-1),
                day(0)
            ),
        )
        .await
        .assert_error(404, 50);
    // The window's edge is allowed.
    let edge = sandbox
        .get(
            token,
            &format!(
                "/user_account/analytics?start_date={}&end_date={}",
                day(-90),
                day(0)
            ),
        )
        .await;
    assert_eq!(edge.status, StatusCode::OK, "{}", edge.text);
}
