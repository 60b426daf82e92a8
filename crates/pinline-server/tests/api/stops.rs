//! Why a post did not publish, where an operator looks: every decision that stops a post (held,
//! failed, waiting for a retry) leaves its class and message on the attempt and on the post; a
//! credential issued for another app is shown on the account once and holds its posts with no
//! attempt until it matches again.

use std::time::Duration;

use pinline_queue::PublisherSettings;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    TestApp, eventually, received_types, receiver, spawn_app, spawn_app_publishing,
};

backend_tests!(
    each_stop_says_why_on_the_attempt_and_the_post,
    a_revoked_token_holds_the_post_with_class_auth,
    a_credential_mismatch_is_shown_once_and_holds_without_attempts,
);

const WAIT: Duration = Duration::from_secs(20);

/// Queues a post and returns its id; `publish_at` in unix ms by the app's clock.
async fn submit(app: &TestApp, account: &str, board: &str, publish_at: Option<i64>) -> String {
    let mut body = json!({
        "account_id": account,
        "board_id": board,
        "title": "Plum cake",
        "image_url": "https://example.invalid/plum.jpg",
    });
    if let Some(at) = publish_at {
        let at = time::OffsetDateTime::from_unix_timestamp(at / 1000).expect("time");
        body["publish_at"] = json!(
            at.format(&time::format_description::well_known::Rfc3339)
                .expect("format")
        );
    }
    let created = app
        .api(Method::POST, "/v1/posts", Some(&app.key_alpha), Some(body))
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    created.json["id"].as_str().expect("id").to_owned()
}

async fn post(app: &TestApp, id: &str) -> Value {
    let reply = app
        .api(
            Method::GET,
            &format!("/v1/posts/{id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

/// Waits until the post's first attempt has finished, and returns the post.
async fn first_attempt_finished(app: &TestApp, id: &str) -> Value {
    eventually(WAIT, "the post's first attempt to finish", || async {
        post(app, id).await["attempt_log"][0]["outcome"].is_string()
    })
    .await;
    post(app, id).await
}

/// Arms the sandbox to answer the next create with `rule` (a fault of `/_sandbox/faults`).
async fn next_create_meets(app: &TestApp, rule: Value) {
    let mut rule = rule;
    rule["operation"] = json!("pins/create");
    rule["count"] = json!(1);
    app.sandbox_control("/faults", json!({"rules": [rule]}))
        .await;
}

/// Asserts that the post and its first attempt carry `class`, with a message.
fn assert_says_why(post: &Value, status: &str, outcome: &str, class: &str) {
    assert_eq!(post["status"], json!(status), "{post}");
    let attempt = &post["attempt_log"][0];
    assert_eq!(attempt["outcome"], json!(outcome), "{post}");
    assert_eq!(attempt["error_class"], json!(class), "{post}");
    assert!(
        attempt["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "the attempt has a message: {post}"
    );
    assert_eq!(post["last_error"]["class"], json!(class), "{post}");
    assert!(
        post["last_error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "the post has a message: {post}"
    );
}

async fn each_stop_says_why_on_the_attempt_and_the_post(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("stopper").await;

    // Failed for good: what Pinterest said, by class.
    for (rule, class) in [
        (
            json!({"kind": "error", "status": 400, "code": 1}),
            "validation",
        ),
        (
            json!({"kind": "error", "status": 404, "code": 40}),
            "not_found",
        ),
        (json!({"kind": "error", "status": 403, "code": 3}), "scope"),
    ] {
        next_create_meets(&app, rule).await;
        let id = submit(&app, &account, &board, None).await;
        let shown = first_attempt_finished(&app, &id).await;
        assert_says_why(&shown, "failed", "failed", class);
    }

    // Waiting for a retry: a 503 Pinterest did not act on. The post is queued again (or, once
    // its backoff passed, published by the next attempt); its first attempt says why it waited.
    next_create_meets(&app, json!({"kind": "error", "status": 503})).await;
    let id = submit(&app, &account, &board, None).await;
    let shown = first_attempt_finished(&app, &id).await;
    let attempt = &shown["attempt_log"][0];
    assert_eq!(attempt["outcome"], json!("retry"), "{shown}");
    assert_eq!(attempt["error_class"], json!("transient"), "{shown}");
    assert!(attempt["error_message"].is_string(), "{shown}");

    // Waiting for Pinterest's rate limit: an hour's Retry-After keeps the post queued.
    next_create_meets(
        &app,
        json!({"kind": "rate_limit", "retry_after_secs": 3600}),
    )
    .await;
    let id = submit(&app, &account, &board, None).await;
    let shown = first_attempt_finished(&app, &id).await;
    assert_says_why(&shown, "queued", "retry", "rate_limited");
}

async fn a_revoked_token_holds_the_post_with_class_auth(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("revoked").await;
    // Scheduled while the account works; revoked at Pinterest before it is due.
    let later = app.clock_secs() * 1000 + 3_600_000;
    let first = submit(&app, &account, &board, Some(later)).await;
    // Due an hour after the first: still queued when the first meets the revocation.
    let second = submit(&app, &account, &board, Some(later + 3_600_000)).await;
    app.revoke_at_pinterest(&account).await;
    app.clock.advance(Duration::from_secs(3_700));
    app.publisher.wake();

    let held = first_attempt_finished(&app, &first).await;
    assert_says_why(&held, "held", "held", "auth");
    assert!(held["held_reason"].is_string(), "{held}");
    // The account's other post was held with it, without an attempt, and says why too.
    eventually(WAIT, "the second post held", || async {
        post(&app, &second).await["status"] == json!("held")
    })
    .await;
    let other = post(&app, &second).await;
    assert_eq!(other["attempt_log"], json!([]), "{other}");
    assert_eq!(other["last_error"]["class"], json!("auth"), "{other}");
    // Accepted while the account needs reconnecting: held at once, with the same answer.
    let accepted = submit(&app, &account, &board, None).await;
    let accepted = post(&app, &accepted).await;
    assert_eq!(accepted["status"], json!("held"), "{accepted}");
    assert_eq!(accepted["last_error"]["class"], json!("auth"), "{accepted}");
}

/// The held-post sweep of this test: every 50 ms of real time stands for its 5 s default.
const SWEEP: Duration = Duration::from_millis(50);
const SWEEPS_PER_MINUTE: u64 = 12;

async fn a_credential_mismatch_is_shown_once_and_holds_without_attempts(db: TestDatabase) {
    let app = spawn_app_publishing(
        db,
        PublisherSettings {
            held_sweep: SWEEP,
            ..PublisherSettings::default()
        },
    )
    .await;
    let (url, received) = receiver().await;
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let (account, board) = app.account_with_board("elsewhere").await;
    let later = app.clock_secs() * 1000 + 3_600_000;
    // The second is due an hour after the first: still queued when the first is held.
    let posts = [
        submit(&app, &account, &board, Some(later)).await,
        submit(&app, &account, &board, Some(later + 3_600_000)).await,
    ];

    // The stored credential now names another app than the one this pinline runs with, as
    // after a restart with another PINTEREST_CLIENT_ID. (A new token version stands in for the
    // restart: a fresh process has no token cached for the account.)
    let swap = |client_id: &str| {
        format!(
            "UPDATE accounts SET client_id = '{client_id}', token_version = token_version + 1 \
             WHERE id = '{account}'"
        )
    };
    let configured = app.sandbox.config().client_id.clone();
    app.db.execute(&swap("7777777")).await;

    // The account list shows it before any post runs into it.
    let listed = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let shown = &listed.json["items"][0];
    assert_eq!(shown["status"], json!("active"), "{shown}");
    assert_eq!(
        shown["last_error"]["class"],
        json!("credential_mismatch"),
        "{shown}"
    );
    // New posts are refused with the same answer.
    let refused = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(json!({"account_id": account, "board_id": board, "image_url": "https://example.invalid/a.jpg"})),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["error"]["code"], json!("credential_mismatch"));

    // The posts fall due: the first meets the mismatch and is held, the other with it.
    app.clock.advance(Duration::from_secs(3_700));
    app.publisher.wake();
    let held = first_attempt_finished(&app, &posts[0]).await;
    assert_says_why(&held, "held", "held", "credential_mismatch");
    eventually(WAIT, "the account-wide hold and its webhooks", || async {
        let types = received_types(&received);
        post(&app, &posts[1]).await["status"] == json!("held")
            && types.iter().any(|t| t == "account.credential_mismatch")
            && types.iter().any(|t| t == "post.held")
    })
    .await;

    // A minute of the app's clock, swept as often as the default sweep would: nothing is
    // released, attempted or announced again.
    for _ in 0..SWEEPS_PER_MINUTE {
        app.clock.advance(Duration::from_secs(5));
        // Two more sweeps started: the first of them began after the clock moved, and it
        // finished before the second began.
        let seen = app.publisher.stats().held_sweeps;
        eventually(WAIT, "a held-post sweep after the clock moved", || async {
            app.publisher.stats().held_sweeps > seen + 2
        })
        .await;
    }
    let attempts: usize = attempt_count(&app, &posts).await;
    assert_eq!(attempts, 1, "one attempt in all, the first post's");
    for id in &posts {
        assert_eq!(post(&app, id).await["status"], json!("held"));
    }
    let types = received_types(&received);
    let count = |kind: &str| types.iter().filter(|t| *t == kind).count();
    assert_eq!(count("account.credential_mismatch"), 1, "{types:?}");
    assert_eq!(count("post.held"), 1, "{types:?}");
    let listed = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let last_error = &listed.json["items"][0]["last_error"];
    assert_eq!(last_error["class"], json!("credential_mismatch"));
    assert!(
        last_error["message"]
            .as_str()
            .is_some_and(|m| m.contains("7777777") && m.contains(configured.as_str())),
        "names both apps: {last_error}"
    );
    assert!(last_error["at"].is_string(), "recorded: {last_error}");

    // The configuration matches again: the next sweep clears the mark and the posts publish,
    // the first as the canary, the second at its time.
    app.db.execute(&swap(&configured)).await;
    app.clock.advance(Duration::from_secs(3_600));
    eventually(WAIT, "both posts published", || async {
        let mut published = true;
        for id in &posts {
            published &= post(&app, id).await["status"] == json!("published");
        }
        published
    })
    .await;
    let listed = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    assert_eq!(listed.json["items"][0]["last_error"], Value::Null);
}

/// Attempts of `posts`, summed.
async fn attempt_count(app: &TestApp, posts: &[String]) -> usize {
    let mut total = 0;
    for id in posts {
        total += post(app, id).await["attempt_log"]
            .as_array()
            .map_or(0, Vec::len);
    }
    total
}
