//! Webhooks through the API: a revoked account turns `needs_reauth` after one refresh attempt
//! and a signed `account.needs_reauth` webhook reaches the profile's receiver.

use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{error_code, eventually, receiver, spawn_app};

backend_tests!(
    revocation_turns_needs_reauth_and_sends_a_signed_webhook,
    webhooks_are_per_profile,
    receivers_beyond_loopback_are_refused_in_a_loopback_process,
    webhooks_are_changed_paused_and_rotated_through_the_api
);

async fn revocation_turns_needs_reauth_and_sends_a_signed_webhook(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (url, received) = receiver().await;
    let key = Some(app.key_alpha.as_str());
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            key,
            Some(json!({"url": url, "events": ["account.needs_reauth"]})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let secret = hook.json["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let id = account["id"].as_str().expect("id");
    let user = account["pinterest_user_id"].as_str().expect("user");
    app.sandbox_control(&format!("/users/{user}/revoke"), json!({}))
        .await;

    let boards = app
        .api(Method::GET, &format!("/v1/accounts/{id}/boards"), key, None)
        .await;
    assert_eq!(boards.status, 409, "{}", boards.text);
    assert_eq!(error_code(&boards), "account_needs_reauth");
    assert!(
        boards.json["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Reconnect")
    );
    assert_eq!(
        app.sandbox_stats().await["token_requests"]["refresh_token"],
        json!(1)
    );
    let shown = app
        .api(Method::GET, &format!("/v1/accounts/{id}"), key, None)
        .await;
    assert_eq!(shown.json["status"], json!("needs_reauth"));
    assert_eq!(shown.json["last_error"]["class"], json!("auth"));

    eventually(Duration::from_secs(10), "the needs_reauth webhook", || {
        let received = received.clone();
        async move {
            !received
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
        }
    })
    .await;
    let (headers, body) = received.lock().unwrap_or_else(|e| e.into_inner())[0].clone();
    let signature = headers
        .get("pinline-signature")
        .and_then(|v| v.to_str().ok())
        .expect("signature header");
    let now = app.clock_secs();
    pinline_webhooks::signature::verify(&secret, signature, &body, now, 300)
        .expect("the signature verifies with the secret shown at creation");
    assert!(
        pinline_webhooks::signature::verify("whsec_wrong", signature, &body, now, 300).is_err()
    );
    let payload: Value = serde_json::from_slice(&body).expect("JSON payload");
    assert_eq!(payload["type"], json!("account.needs_reauth"));
    assert_eq!(payload["data"]["account_id"], json!(id));
    assert!(
        payload["data"]["reconnect_url"]
            .as_str()
            .is_some_and(|u| u.contains(id))
    );
    // The receiver saw the request before the deliverer recorded the answer: wait for the log.
    let deliveries = format!(
        "/v1/webhooks/{}/deliveries",
        hook.json["id"].as_str().unwrap_or("")
    );
    eventually(Duration::from_secs(10), "the delivery recorded", || {
        let deliveries = deliveries.clone();
        let app = &app;
        async move {
            let log = app.api(Method::GET, &deliveries, key, None).await;
            log.json["items"][0]["status"] == json!("delivered")
        }
    })
    .await;
}

async fn webhooks_are_per_profile(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({"url": "http://127.0.0.1:9/x"})),
        )
        .await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    let beta = Some(app.key_beta.as_str());
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{id}")),
        (Method::DELETE, format!("/v1/webhooks/{id}")),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries")),
    ] {
        let reply = app.api(method.clone(), &path, beta, None).await;
        assert_eq!(reply.status, 404, "{method} {path}");
    }
    let bad = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({"url": "ftp://x"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json["error"]["field"], json!("url"));
}

async fn receivers_beyond_loopback_are_refused_in_a_loopback_process(db: TestDatabase) {
    // Test servers run with `PINLINE_OUTBOUND=loopback` in force and private targets allowed
    // (their receivers listen on loopback): a public receiver is refused at registration, with
    // the rule named, so no test can make pinline deliver to the internet.
    let app = spawn_app(db).await;
    for url in [
        "https://example.com/hooks/pinline",
        "http://93.184.215.14/hook",
        "http://[2606:4700:4700::1111]/hook",
    ] {
        let refused = app
            .api(
                Method::POST,
                "/v1/webhooks",
                Some(&app.key_alpha),
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(refused.status, 422, "{url}: {:?}", refused.json);
        assert_eq!(error_code(&refused), "url_refused", "{url}");
        assert_eq!(refused.json["error"]["field"], json!("url"));
        let message = refused.json["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("PINLINE_OUTBOUND=loopback"), "{message}");
    }
    // A reserved name is accepted: it never resolves, so it is how a test says "nobody listens".
    let accepted = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({"url": "https://hook.invalid/pinline"})),
        )
        .await;
    assert_eq!(accepted.status, 201, "{:?}", accepted.json);
    assert_eq!(pinline_outbound::refused_beyond_loopback(), 0);
}

async fn webhooks_are_changed_paused_and_rotated_through_the_api(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let created = app
        .api(
            Method::POST,
            "/v1/webhooks",
            key,
            Some(json!({"url": "https://hook.invalid/a", "events": ["post.published"]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/webhooks/{id}");

    let paused = app
        .api(
            Method::PATCH,
            &path,
            key,
            Some(json!({"enabled": false, "events": ["*"]})),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert!(paused.json["disabled_at"].is_string());
    assert_eq!(
        paused.json["disabled_reason"],
        json!("disabled by its profile")
    );
    assert_eq!(paused.json["events"], json!(["*"]));
    assert!(
        paused.json.get("secret").is_none(),
        "no secret without a rotation"
    );

    let rotated = app
        .api(
            Method::PATCH,
            &path,
            key,
            Some(json!({"rotate_secret": true, "enabled": true})),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let secret = rotated.json["secret"]
        .as_str()
        .expect("the new secret, once");
    assert_ne!(Some(secret), created.json["secret"].as_str());
    assert!(rotated.json["previous_secret_valid_until"].is_string());
    assert_eq!(rotated.json["disabled_at"], Value::Null);
    let read = app.api(Method::GET, &path, key, None).await;
    assert!(read.json.get("secret").is_none(), "never shown again");

    for (body, field) in [
        (json!({"url": "ftp://hook.invalid/"}), "url"),
        (json!({"url": "http://10.0.0.1/hook"}), "url"),
        (json!({"events": ["post.typo"]}), "events"),
    ] {
        let refused = app.api(Method::PATCH, &path, key, Some(body.clone())).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert_eq!(refused.json["error"]["field"], json!(field), "{body}");
    }
    let other = app
        .api(
            Method::PATCH,
            &path,
            Some(&app.key_beta),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(other.status, 404);
    let missing = app
        .api(
            Method::POST,
            &format!("{path}/deliveries/nope/redeliver"),
            key,
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(error_code(&missing), "not_found");
}
