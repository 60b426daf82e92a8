//! The credential path end to end: tools call Pinterest (the sandbox) through `/pinterest/v5`
//! with a pinline key, sharing the account's token, its refresh and its budget; what is refused
//! never reaches the sandbox; the token endpoint; the audit trail.

use std::collections::HashMap;

use futures_util::future::join_all;

use pinline_pinterest::facts::RateLimitCategory;
use pinline_queue::{PacerSettings, Rate};
use pinline_server::api_keys::create_scoped_api_key;
use pinline_server::key_scopes::{KeyScope, KeyScopes};
use pinline_server::passthrough::CredentialSettings;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{AppOptions, TestApp, spawn_app, spawn_app_configured};

backend_tests!(
    a_tool_lists_boards_and_creates_a_pin_with_a_pinline_key,
    concurrent_calls_on_an_expired_token_make_one_refresh,
    a_revoked_account_answers_401_with_its_state,
    refused_calls_never_reach_pinterest,
    a_read_only_key_is_refused_a_write,
    the_same_idempotency_key_makes_one_pin,
    a_create_with_an_unknown_outcome_is_never_sent_again,
    pinterests_429_holds_back_the_publisher_too,
    a_flooding_tool_gets_local_429s_and_pinterest_none,
    the_token_endpoint_is_opt_in_and_hands_out_no_refresh_token,
    the_audit_trail_names_calls_and_holds_no_token,
    pinterests_python_sdk_works_through_pinline_unmodified,
    a_key_bound_to_an_account_reaches_only_that_account,
);

/// A key of profile alpha with `scopes`.
async fn key_with(app: &TestApp, scopes: Vec<KeyScope>) -> String {
    create_scoped_api_key(&app.db.store, "alpha", "tool", &KeyScopes::Only(scopes), 0)
        .await
        .expect("key")
        .key
}

/// What a passthrough call got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

async fn through(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    account: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Answer {
    let mut request = app
        .http
        .request(method, format!("{}/pinterest/v5{path}", app.base_url))
        .bearer_auth(key)
        .header("X-Pinline-Account", account);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("passthrough call");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
        text,
    }
}

fn pin_body(board: &str, title: &str) -> Value {
    json!({
        "board_id": board,
        "title": title,
        "link": "https://example.invalid/recipe",
        "media_source": {"source_type": "image_url", "url": "https://example.invalid/a.jpg"},
    })
}

/// Pacing that never holds a test's calls back.
fn generous_pacing() -> PacerSettings {
    let mut pacing = PacerSettings::default();
    for category in [RateLimitCategory::OrgRead, RateLimitCategory::OrgWrite] {
        pacing.rates.insert(category, Rate::per_second(100_000));
    }
    pacing
}

async fn generous_app(db: TestDatabase) -> TestApp {
    spawn_app_configured(
        db,
        AppOptions {
            pacing: Some(generous_pacing()),
            ..AppOptions::default()
        },
    )
    .await
}

async fn pinterest_user(app: &TestApp, account: &str) -> String {
    let shown = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    shown.json["pinterest_user_id"]
        .as_str()
        .expect("user")
        .to_owned()
}

fn stat(stats: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(stats, |value, name| &value[*name])
        .as_u64()
        .unwrap_or(0)
}

async fn a_tool_lists_boards_and_creates_a_pin_with_a_pinline_key(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, board) = app.account_with_board("toolmaker").await;
    let key = key_with(
        &app,
        vec![KeyScope::PinterestRead, KeyScope::PinterestWrite],
    )
    .await;
    let before = app.sandbox_stats().await;

    let boards = through(&app, Method::GET, "/boards", &key, &account, None, &[]).await;
    assert_eq!(boards.status, 200, "{}", boards.text);
    let ids: Vec<&str> = boards.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert!(ids.contains(&board.as_str()), "{}", boards.text);
    // Pinterest's rate-limit headers come back as Pinterest sent them.
    assert_eq!(boards.header("x-ratelimit-category"), "org_read");

    let pin = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(pin_body(&board, "Through pinline")),
        &[],
    )
    .await;
    assert_eq!(pin.status, 201, "{}", pin.text);
    assert_eq!(pin.json["board_id"], json!(board));
    let read = through(
        &app,
        Method::GET,
        &format!("/pins/{}", pin.json["id"].as_str().expect("pin id")),
        &key,
        &account,
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text);

    // The sandbox authenticated every call: it knows tokens only, so it saw the account's
    // token and never the key (which it would have answered 401).
    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["pins_created"]) - stat(&before, &["pins_created"]),
        1
    );
    assert_eq!(
        stat(&after, &["requests_total"]) - stat(&before, &["requests_total"]),
        3
    );
}

async fn concurrent_calls_on_an_expired_token_make_one_refresh(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, _) = app.account_with_board("expiring").await;
    let key = key_with(&app, vec![KeyScope::PinterestRead]).await;
    let user = pinterest_user(&app, &account).await;
    // Pinterest considers the token expired; pinline does not know yet.
    app.sandbox_control(&format!("/users/{user}/expire"), json!({}))
        .await;
    let before = app.sandbox_stats().await;
    let calls = (0..20).map(|_| {
        through(
            &app,
            Method::GET,
            "/user_account",
            &key,
            &account,
            None,
            &[],
        )
    });
    let answers = join_all(calls).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["token_requests", "refresh_token"])
            - stat(&before, &["token_requests", "refresh_token"]),
        1,
        "one refresh for twenty callers"
    );
    let trail = app
        .api(Method::GET, "/v1/audit", Some(&app.key_alpha), None)
        .await;
    let rows = trail.json["items"].as_array().expect("items");
    assert_eq!(rows.len(), 20, "{}", trail.text);
    assert!(rows.iter().all(|row| row["status"] == json!(200)));
    assert!(
        rows.iter()
            .any(|row| row["retried"] == json!(true) && row["refreshed"] == json!(true))
    );
}

async fn a_revoked_account_answers_401_with_its_state(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, _) = app.account_with_board("leaver").await;
    let key = key_with(&app, vec![KeyScope::PinterestRead]).await;
    app.revoke_at_pinterest(&account).await;
    let before = app.sandbox_stats().await;
    for _ in 0..3 {
        let answer = through(&app, Method::GET, "/boards", &key, &account, None, &[]).await;
        assert_eq!(answer.status, 401, "{}", answer.text);
        assert_eq!(answer.header("x-pinline-account-state"), "needs_reauth");
        // Pinterest's shape for the SDKs, pinline's for everyone else.
        assert_eq!(answer.json["code"], json!(2), "{}", answer.text);
        assert!(answer.json["error"]["code"].is_string(), "{}", answer.text);
    }
    let after = app.sandbox_stats().await;
    // One refresh found the grant gone; the calls after it were answered here.
    let refreshes = stat(&after, &["token_requests", "refresh_token"])
        - stat(&before, &["token_requests", "refresh_token"]);
    assert_eq!(refreshes, 1);
    assert_eq!(
        stat(&after, &["requests_total"]) - stat(&before, &["requests_total"]),
        1 + refreshes,
        "only the first call reached Pinterest"
    );
}

async fn refused_calls_never_reach_pinterest(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, _) = app.account_with_board("guarded").await;
    let key = key_with(
        &app,
        vec![KeyScope::PinterestRead, KeyScope::PinterestWrite],
    )
    .await;
    let before = app.sandbox_stats().await;

    let oauth = through(
        &app,
        Method::POST,
        "/oauth/token",
        &key,
        &account,
        Some(json!({"grant_type": "refresh_token"})),
        &[],
    )
    .await;
    assert_eq!(oauth.status, 403, "{}", oauth.text);
    assert_eq!(oauth.json["error"]["code"], json!("oauth_refused"));

    let pinterest_token = through(
        &app,
        Method::GET,
        "/boards",
        "pina_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &account,
        None,
        &[],
    )
    .await;
    assert_eq!(pinterest_token.status, 401, "{}", pinterest_token.text);
    assert_eq!(
        pinterest_token.json["error"]["code"],
        json!("pinterest_token_refused")
    );

    let ads = through(&app, Method::GET, "/ad_accounts", &key, &account, None, &[]).await;
    assert_eq!(ads.status, 403, "{}", ads.text);
    assert_eq!(ads.json["error"]["code"], json!("path_not_allowed"));

    let traversal = through(
        &app,
        Method::GET,
        "/pins/1/..%2F..%2Fad_accounts",
        &key,
        &account,
        None,
        &[],
    )
    .await;
    assert_eq!(traversal.status, 403, "{}", traversal.text);

    let overridden = through(
        &app,
        Method::GET,
        "/boards",
        &key,
        &account,
        None,
        &[("X-Original-URL", "http://127.0.0.1:1/v5/boards")],
    )
    .await;
    assert_eq!(overridden.status, 400, "{}", overridden.text);
    assert_eq!(overridden.json["error"]["code"], json!("target_override"));

    let elsewhere = through(
        &app,
        Method::GET,
        "/boards",
        &key,
        "0193a5b2-7c1e-7f00-8000-000000000001",
        None,
        &[],
    )
    .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.text);

    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["requests_total"]),
        stat(&before, &["requests_total"]),
        "nothing refused reached Pinterest"
    );
    assert_eq!(
        stat(&after, &["token_endpoint_requests"]),
        stat(&before, &["token_endpoint_requests"])
    );
}

async fn a_read_only_key_is_refused_a_write(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, board) = app.account_with_board("reader").await;
    let reader = key_with(&app, vec![KeyScope::PinterestRead]).await;
    let listed = through(&app, Method::GET, "/boards", &reader, &account, None, &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let before = app.sandbox_stats().await;
    let write = through(
        &app,
        Method::POST,
        "/pins",
        &reader,
        &account,
        Some(pin_body(&board, "Not allowed")),
        &[],
    )
    .await;
    assert_eq!(write.status, 403, "{}", write.text);
    assert_eq!(write.json["error"]["code"], json!("insufficient_scope"));
    assert!(write.text.contains("pinterest:write"), "{}", write.text);
    // A key for pinline's own API alone reaches nothing of Pinterest.
    let posts_only = key_with(&app, vec![KeyScope::PostsWrite]).await;
    let read = through(
        &app,
        Method::GET,
        "/boards",
        &posts_only,
        &account,
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, 403, "{}", read.text);
    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["requests_total"]),
        stat(&before, &["requests_total"])
    );
}

async fn the_same_idempotency_key_makes_one_pin(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, board) = app.account_with_board("careful").await;
    let key = key_with(&app, vec![KeyScope::PinterestWrite]).await;
    let body = pin_body(&board, "Only once");
    let idempotency = [("Idempotency-Key", "create-tart-1")];
    let first = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(body.clone()),
        &idempotency,
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(body),
        &idempotency,
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(again.header("idempotency-replayed"), "true");
    let other = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(pin_body(&board, "Something else")),
        &idempotency,
    )
    .await;
    assert_eq!(other.status, 422, "{}", other.text);
    assert_eq!(other.json["error"]["code"], json!("idempotency_key_reused"));
    assert_eq!(stat(&app.sandbox_stats().await, &["pins_created"]), 1);
}

async fn a_create_with_an_unknown_outcome_is_never_sent_again(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, board) = app.account_with_board("unlucky").await;
    let key = key_with(&app, vec![KeyScope::PinterestWrite]).await;
    // Pinterest makes the pin, then the connection drops before the answer.
    app.sandbox_control(
        "/faults",
        json!({"rules": [{"operation": "pins/create", "kind": "drop_after_create", "count": 1}]}),
    )
    .await;
    let body = pin_body(&board, "Maybe made");
    let idempotency = [("Idempotency-Key", "maybe-1")];
    let lost = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(body.clone()),
        &idempotency,
    )
    .await;
    assert_eq!(lost.status, 502, "{}", lost.text);
    assert_eq!(lost.json["error"]["code"], json!("pinterest_unreachable"));
    // The caller's retry with the same key is not sent: the pin may exist.
    let retry = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(body),
        &idempotency,
    )
    .await;
    assert_eq!(retry.status, 409, "{}", retry.text);
    assert_eq!(
        retry.json["error"]["code"],
        json!("idempotency_outcome_unknown")
    );
    let stats = app.sandbox_stats().await;
    assert_eq!(
        stat(&stats, &["pins_created"]),
        1,
        "one create, never a second"
    );
}

async fn pinterests_429_holds_back_the_publisher_too(db: TestDatabase) {
    let app = generous_app(db).await;
    let (account, _) = app.account_with_board("throttled").await;
    let key = key_with(&app, vec![KeyScope::PinterestRead]).await;
    let user = pinterest_user(&app, &account).await;
    app.sandbox_control(
        "/faults",
        json!({"rules": [{"operation": "boards/list", "kind": "rate_limit", "retry_after_secs": 30, "count": 1}]}),
    )
    .await;
    let limited = through(&app, Method::GET, "/boards", &key, &account, None, &[]).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.json["code"], json!(8), "Pinterest's own answer");
    // The publisher's pacer heard it: the account's reads wait, for everyone.
    let wait = app
        .publisher
        .pacer()
        .until_ready(&user, RateLimitCategory::OrgRead);
    assert!(wait > std::time::Duration::from_secs(20), "{wait:?}");
    let before = app.sandbox_stats().await;
    let held = through(&app, Method::GET, "/boards", &key, &account, None, &[]).await;
    assert_eq!(held.status, 429, "{}", held.text);
    assert_eq!(held.json["error"]["code"], json!("budget_exhausted"));
    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["requests_total"]),
        stat(&before, &["requests_total"])
    );
}

async fn a_flooding_tool_gets_local_429s_and_pinterest_none(db: TestDatabase) {
    // pinline's default pacing: 20 reads and 10 writes a second per account, half of each lent
    // to tools.
    let app = spawn_app_configured(
        db,
        AppOptions {
            pacing: Some(PacerSettings::default()),
            ..AppOptions::default()
        },
    )
    .await;
    let (account, board) = app.account_with_board("flooded").await;
    let key = key_with(
        &app,
        vec![KeyScope::PinterestRead, KeyScope::PinterestWrite],
    )
    .await;
    // A scheduled post, due now, while the tool floods the same account.
    let post = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(json!({"account_id": account, "board_id": board, "image_url": "https://example.invalid/due.jpg"})),
        )
        .await;
    assert_eq!(post.status, 202, "{}", post.text);
    let post_path = format!("/v1/posts/{}", post.json["id"].as_str().expect("post id"));
    let reads = (0..40).map(|_| {
        through(
            &app,
            Method::GET,
            "/user_account",
            &key,
            &account,
            None,
            &[],
        )
    });
    let writes = (0..20).map(|n| {
        through(
            &app,
            Method::POST,
            "/pins",
            &key,
            &account,
            Some(pin_body(&board, &format!("Flood {n}"))),
            &[],
        )
    });
    let (answers, written) = tokio::join!(join_all(reads), join_all(writes));
    let written_ok = written.iter().filter(|a| a.status == 201).count();
    assert!(
        written.iter().all(|a| a.status == 201 || a.status == 429),
        "{written:?}"
    );
    assert!(
        written_ok < 20,
        "the tool was held to its part of the write budget"
    );
    // The scheduled post publishes all the same.
    let path_ref = &post_path;
    let app_ref = &app;
    crate::support::eventually(
        std::time::Duration::from_secs(20),
        "the scheduled post to publish during the flood",
        || async move {
            app_ref
                .api(Method::GET, path_ref, Some(&app_ref.key_alpha), None)
                .await
                .json["status"]
                == json!("published")
        },
    )
    .await;
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for answer in &answers {
        *by_status.entry(answer.status).or_default() += 1;
        if answer.status == 429 {
            assert_eq!(answer.json["error"]["code"], json!("budget_exhausted"));
            assert!(!answer.header("retry-after").is_empty());
        } else {
            assert_eq!(answer.status, 200, "{}", answer.text);
        }
    }
    assert!(
        by_status.get(&429).copied().unwrap_or(0) > 0,
        "{by_status:?}"
    );
    assert!(
        by_status.get(&200).copied().unwrap_or(0) > 0,
        "{by_status:?}"
    );
    let stats = app.sandbox_stats().await;
    assert_eq!(stat(&stats, &["responses_429"]), 0);
    // What the tool was refused, it never sent.
    let trail = app
        .api(
            Method::GET,
            "/v1/audit?limit=100",
            Some(&app.key_alpha),
            None,
        )
        .await;
    let refused = trail.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|row| row["outcome"] == json!("budget_exhausted"))
        .inspect(|row| assert_eq!(row["upstream_status"], Value::Null))
        .count();
    let refused_writes = written.len() - written_ok;
    assert_eq!(refused, by_status[&429] + refused_writes);
}

async fn the_token_endpoint_is_opt_in_and_hands_out_no_refresh_token(db: TestDatabase) {
    let app = spawn_app_configured(
        db,
        AppOptions {
            pacing: Some(generous_pacing()),
            credential: CredentialSettings {
                token_endpoint: true,
                tokens_per_key_per_minute: 3,
                ..CredentialSettings::default()
            },
            ..AppOptions::default()
        },
    )
    .await;
    let (account, _) = app.account_with_board("scripted").await;
    let path = format!("/v1/accounts/{account}/access-token");

    let without = key_with(&app, vec![KeyScope::PinterestRead, KeyScope::AccountsRead]).await;
    let refused = app
        .api(Method::POST, &path, Some(&without), Some(json!({})))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.json["error"]["code"], json!("insufficient_scope"));

    let key = key_with(&app, vec![KeyScope::TokenRead]).await;
    let response = app
        .http
        .post(format!("{}{path}", app.base_url))
        .bearer_auth(&key)
        .json(&json!({"min_valid_for": 60}))
        .send()
        .await
        .expect("token");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let token: Value = response.json().await.expect("json");
    assert!(token.get("refresh_token").is_none(), "{token}");
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("pina_")),
        "{token}"
    );
    assert_eq!(token["token_type"], json!("bearer"));
    let version = token["version"].as_i64().expect("version");

    // A few a minute per key.
    for _ in 0..2 {
        let more = app
            .api(Method::POST, &path, Some(&key), Some(json!({})))
            .await;
        assert_eq!(more.status, 200, "{}", more.text);
    }
    let fourth = app
        .api(Method::POST, &path, Some(&key), Some(json!({})))
        .await;
    assert_eq!(fourth.status, 429, "{}", fourth.text);
    assert_eq!(
        fourth.json["error"]["code"],
        json!("too_many_token_requests")
    );

    // Asking for more life than is left refreshes first: two days on, a 30-day token has 28.
    app.clock
        .advance(std::time::Duration::from_secs(2 * 24 * 3600));
    let key = key_with(&app, vec![KeyScope::TokenRead]).await;
    let before = app.sandbox_stats().await;
    let longer = app
        .api(
            Method::POST,
            &path,
            Some(&key),
            Some(json!({"min_valid_for": 29 * 24 * 3600})),
        )
        .await;
    assert_eq!(longer.status, 200, "{}", longer.text);
    assert!(longer.json["version"].as_i64().expect("version") > version);
    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["token_requests", "refresh_token"])
            - stat(&before, &["token_requests", "refresh_token"]),
        1
    );

    // Off by default.
    let app = spawn_app(TestDatabase::sqlite().await).await;
    let (account, _) = app.account_with_board("closed").await;
    let closed = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account}/access-token"),
            Some(&app.key_alpha),
            Some(json!({})),
        )
        .await;
    assert_eq!(closed.status, 403, "{}", closed.text);
    assert_eq!(
        closed.json["error"]["code"],
        json!("token_endpoint_disabled")
    );
}

async fn the_audit_trail_names_calls_and_holds_no_token(db: TestDatabase) {
    let app = spawn_app_configured(
        db,
        AppOptions {
            pacing: Some(generous_pacing()),
            credential: CredentialSettings {
                token_endpoint: true,
                ..CredentialSettings::default()
            },
            ..AppOptions::default()
        },
    )
    .await;
    let (account, board) = app.account_with_board("audited").await;
    let key = key_with(&app, vec![KeyScope::PinterestRead, KeyScope::TokenRead]).await;
    let listed = through(&app, Method::GET, "/boards", &key, &account, None, &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let pins = through(
        &app,
        Method::GET,
        &format!("/boards/{board}/pins"),
        &key,
        &account,
        None,
        &[],
    )
    .await;
    assert_eq!(pins.status, 200, "{}", pins.text);
    let refused = through(
        &app,
        Method::POST,
        "/pins",
        &key,
        &account,
        Some(pin_body(&board, "No")),
        &[],
    )
    .await;
    assert_eq!(refused.status, 403);
    let token = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account}/access-token"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.text);
    let access_token = token.json["access_token"].as_str().expect("token");

    let trail = app
        .api(Method::GET, "/v1/audit", Some(&app.key_alpha), None)
        .await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    let items = trail.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 4, "{}", trail.text);
    // Newest first: the token, the refused write, the two reads.
    assert_eq!(items[0]["kind"], json!("access_token"));
    assert_eq!(items[1]["outcome"], json!("insufficient_scope"));
    assert_eq!(items[2]["route"], json!("/boards/{board_id}/pins"));
    assert_eq!(items[2]["category"], json!("org_read"));
    assert_eq!(items[2]["upstream_status"], json!(200));
    assert_eq!(items[3]["route"], json!("/boards"));
    assert!(items.iter().all(|row| row["account_id"] == json!(account)));
    let only_tokens = app
        .api(
            Method::GET,
            "/v1/audit?kind=access_token",
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(only_tokens.json["items"].as_array().map(Vec::len), Some(1));
    // Another profile sees none of it.
    let beta = app
        .api(Method::GET, "/v1/audit", Some(&app.key_beta), None)
        .await;
    assert_eq!(beta.json["items"], json!([]));

    // No row holds token material.
    let dump = trail.text.clone();
    assert!(!dump.contains(access_token));
    assert!(!dump.contains("pina_") && !dump.contains("pinr_"), "{dump}");
    assert!(!crate::support::captured_logs().contains(access_token));

    // The dashboard says which tool spent the budget.
    let page = dashboard_page(&app, "/dashboard/audit").await;
    assert!(page.contains("Tools on your accounts"), "{page}");
    assert!(
        page.contains("tool (") && page.contains("audited"),
        "{page}"
    );
    assert!(
        page.contains("org_read") && !page.contains(access_token),
        "{page}"
    );

    // The counters.
    let metrics = app.api(Method::GET, "/metrics", None, None).await;
    assert!(
        metrics.text.contains(
            "pinline_passthrough_calls_total{category=\"org_read\",outcome=\"forwarded\"}"
        ),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("pinline_access_tokens_issued_total 1")
    );
}

/// `path` of the dashboard, signed in with profile alpha's key.
pub async fn dashboard_page(app: &TestApp, path: &str) -> String {
    let cookies = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|cookie| cookie.starts_with(&format!("{name}=")))
            .and_then(|cookie| cookie.split(';').next())
            .expect("the cookie")
            .to_owned()
    };
    let form = app
        .http
        .get(format!("{}/signin", app.base_url))
        .send()
        .await
        .expect("sign-in form");
    let signin_cookie = cookies(&form, "pinline_signin");
    let html = form.text().await.expect("html");
    let token = html
        .split("name=\"signin_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in token")
        .to_owned();
    let signed_in = app
        .http
        .post(format!("{}/signin", app.base_url))
        .header("cookie", signin_cookie)
        .form(&[
            ("api_key", app.key_alpha.as_str()),
            ("signin_token", token.as_str()),
            ("next", "/dashboard"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status().as_u16(), 303);
    let session = cookies(&signed_in, "pinline_session");
    let page = app
        .http
        .get(format!("{}{path}", app.base_url))
        .header("cookie", session)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    page.text().await.expect("html")
}

/// The Python with Pinterest's SDK (`pinterest-api-sdk`), when the environment names one.
fn sdk_python() -> Option<String> {
    match std::env::var("PINLINE_TEST_PINTEREST_SDK_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("PINLINE_TEST_REQUIRE_PINTEREST_SDK").as_deref() != Ok("1"),
                "PINLINE_TEST_REQUIRE_PINTEREST_SDK=1 but PINLINE_TEST_PINTEREST_SDK_PYTHON is not set"
            );
            eprintln!("skipped: PINLINE_TEST_PINTEREST_SDK_PYTHON is not set");
            None
        }
    }
}

async fn pinterests_python_sdk_works_through_pinline_unmodified(db: TestDatabase) {
    let Some(python) = sdk_python() else {
        return;
    };
    let app = generous_app(db).await;
    let (account, board) = app.account_with_board("sdk-user").await;
    let key = key_with(
        &app,
        vec![KeyScope::PinterestRead, KeyScope::PinterestWrite],
    )
    .await;
    let before = app.sandbox_stats().await;
    // The SDK reads `.env` and config files from its working directory: give it an empty one.
    let workdir = tempfile::tempdir().expect("a working directory");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/sdk/client.py");
    let env = [
        (
            "PINTEREST_API_URI",
            format!("{}/pinterest/v5", app.base_url),
        ),
        ("PINTEREST_ACCESS_TOKEN", key.clone()),
        ("PINLINE_ACCOUNT", account.clone()),
        ("PINLINE_BOARD", board.clone()),
    ];
    let dir = workdir.path().to_owned();
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .arg(script)
                .current_dir(dir)
                .env_remove("PINTEREST_APP_SECRET")
                .env_remove("PINTEREST_REFRESH_ACCESS_TOKEN")
                .envs(env)
                .output()
        }),
    )
    .await
    .expect("the SDK finished in time")
    .expect("the SDK task")
    .expect("the SDK ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the SDK failed:\n{stdout}\n{stderr}"
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"));
    assert!(
        result["boards"]
            .as_array()
            .is_some_and(|boards| boards.contains(&json!(board))),
        "{result}"
    );
    assert!(result["pin"].is_string(), "{result}");
    // The sandbox, which knows only tokens, served every call: it saw the account's token,
    // never the key, and one pin was made.
    let after = app.sandbox_stats().await;
    assert_eq!(
        stat(&after, &["pins_created"]) - stat(&before, &["pins_created"]),
        1
    );
    let trail = app
        .api(Method::GET, "/v1/audit", Some(&app.key_alpha), None)
        .await;
    let rows = trail.json["items"].as_array().expect("items");
    assert!(
        rows.iter().all(|row| row["outcome"] == json!("forwarded")),
        "{}",
        trail.text
    );
    assert!(!trail.text.contains(&key));
}

async fn a_key_bound_to_an_account_reaches_only_that_account(db: TestDatabase) {
    let app = generous_app(db).await;
    let (mine, _) = app.account_with_board("bound-one").await;
    let (other, _) = app.account_with_board("bound-two").await;
    let created = create_scoped_api_key(
        &app.db.store,
        "alpha",
        "one-account tool",
        &KeyScopes::Only(vec![KeyScope::PinterestRead]),
        0,
    )
    .await
    .expect("key");
    app.db
        .store
        .bind_api_key_accounts(&created.row.id, std::slice::from_ref(&mine))
        .await
        .expect("bind");
    let key = created.key;
    // Bound to one account, the key need not name it.
    let implied = app
        .http
        .get(format!("{}/pinterest/v5/user_account", app.base_url))
        .bearer_auth(&key)
        .send()
        .await
        .expect("call");
    assert_eq!(implied.status().as_u16(), 200);
    let user: Value = implied.json().await.expect("json");
    assert_eq!(user["username"], json!("bound-one"));
    let named = through(&app, Method::GET, "/boards", &key, &mine, None, &[]).await;
    assert_eq!(named.status, 200, "{}", named.text);
    let elsewhere = through(&app, Method::GET, "/boards", &key, &other, None, &[]).await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.text);
    assert_eq!(elsewhere.json["error"]["code"], json!("account_not_bound"));
    // An unbound key must name the account.
    let unbound = key_with(&app, vec![KeyScope::PinterestRead]).await;
    let unnamed = app
        .http
        .get(format!("{}/pinterest/v5/user_account", app.base_url))
        .bearer_auth(&unbound)
        .send()
        .await
        .expect("call");
    assert_eq!(unnamed.status().as_u16(), 400);
}
