//! The OAuth callback under arbitrary input: random and hostile query strings (missing, repeated
//! and oversized parameters, markup, control characters, forged states next to a real pending
//! one) always get a 4xx page that echoes nothing as markup, and never exchange a code. A
//! callback for a connect started under another app or environment says so, with what to do.

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::Method;

use crate::support::spawn_app;

backend_tests!(
    arbitrary_callbacks_get_a_page_and_exchange_nothing,
    a_callback_for_another_app_says_what_happened_and_what_to_do,
);

/// One query string: a few parameters with names from the callback's vocabulary (and others),
/// values anything, each percent-encoded as a browser would.
fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("code".to_owned()),
        Just("state".to_owned()),
        Just("error".to_owned()),
        Just("error_description".to_owned()),
        "[a-z_]{1,12}",
    ];
    let value = prop_oneof![
        ".{0,80}",
        Just("<script>alert(1)</script>".to_owned()),
        Just("\"><img src=x onerror=alert(1)>".to_owned()),
        "[A-Za-z0-9_-]{43}",
        "x{2000,5000}",
    ];
    prop::collection::vec((name, value), 0..6).prop_map(|pairs| {
        let mut url = url::Url::parse("http://x/").expect("base");
        for (name, value) in pairs {
            url.query_pairs_mut().append_pair(&name, &value);
        }
        url.query().unwrap_or_default().to_owned()
    })
}

async fn arbitrary_callbacks_get_a_page_and_exchange_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    // A real pending connect, so a guessed state has something to collide with.
    let started = app.start_connect(&app.key_alpha, None).await;
    assert_eq!(started.status, 201, "{}", started.text);
    let exchanges_before = app.sandbox_stats().await["token_requests"].clone();

    let mut runner = TestRunner::deterministic();
    let strategy = query();
    for _ in 0..150 {
        let query = strategy.new_tree(&mut runner).expect("a query").current();
        let response = app
            .http
            .get(format!("{}/oauth/callback?{query}", app.base_url))
            .send()
            .await
            .expect("callback");
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        assert!(
            (400..500).contains(&status),
            "callback ?{query} answered {status}: {body}"
        );
        for raw in ["<script>", "<img src=x"] {
            assert!(
                !body.contains(raw),
                "callback ?{query} echoed markup: {body}"
            );
        }
    }
    assert_eq!(
        app.sandbox_stats().await["token_requests"],
        exchanges_before,
        "no arbitrary callback reached Pinterest's token endpoint"
    );
}

async fn a_callback_for_another_app_says_what_happened_and_what_to_do(db: TestDatabase) {
    let app = spawn_app(db).await;
    let started = app.start_connect(&app.key_alpha, None).await;
    assert_eq!(started.status, 201, "{}", started.text);
    let authorize = url::Url::parse(started.json["authorize_url"].as_str().expect("url"))
        .expect("authorize_url");
    let state = authorize
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .expect("state");
    // The connect was started under another app, as when pinline restarts with another
    // PINTEREST_CLIENT_ID while a person is on Pinterest's consent page.
    app.db
        .execute("UPDATE oauth_states SET client_id = '7777777'")
        .await;
    let exchanges_before = app.sandbox_stats().await["token_requests"].clone();
    let mut callback = url::Url::parse(&format!("{}/oauth/callback", app.base_url)).expect("url");
    callback
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("code", "a-code-for-the-other-app");
    let response = app.http.get(callback).send().await.expect("callback");
    assert_eq!(response.status().as_u16(), 409);
    let page = response.text().await.expect("page");
    for words in [
        "7777777",
        "nothing was connected",
        "Start the connection again",
    ] {
        assert!(page.contains(words), "{words:?} in {page}");
    }
    assert!(!page.contains("was connected on"), "{page}");
    assert_eq!(
        app.sandbox_stats().await["token_requests"],
        exchanges_before,
        "the other app's code was not sent anywhere"
    );
    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    assert_eq!(accounts.json["items"], serde_json::json!([]));
}
