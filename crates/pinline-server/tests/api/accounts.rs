//! Accounts through the API: connect via the consent page and callback, replayed and forged
//! callbacks, keys and profiles, boards, disconnect, and what never appears in logs or the
//! database.

use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::support::{captured_logs, error_code, eventually, spawn_app};

backend_tests!(
    connect_through_consent_page_and_callback,
    replayed_and_forged_callbacks_exchange_nothing,
    the_api_requires_a_key,
    profiles_cannot_see_each_other,
    boards_are_listed_and_created_through_the_vault,
    bad_input_gets_a_clear_error,
    disconnect_erases_tokens_and_says_whether_pinterest_revoked_them,
    no_secret_reaches_logs_or_the_database,
    an_address_that_keeps_sending_wrong_keys_is_locked_out,
);

async fn connect_through_consent_page_and_callback(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (_, status, page) = app.connect_via_browser(&app.key_alpha, "maker").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("@maker"), "{page}");
    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let account = &accounts.json["items"][0];
    assert_eq!(account["status"], json!("active"), "{}", accounts.text);
    assert_eq!(account["username"], json!("maker"));
    assert!(
        account["access_token_expires_in_secs"]
            .as_i64()
            .unwrap_or(0)
            > 29 * 24 * 3600
    );
    assert!(
        account["scopes"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("pins:write")))
    );
    let one = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{}", account["id"].as_str().unwrap_or("")),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json["id"], account["id"]);
}

async fn replayed_and_forged_callbacks_exchange_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (callback, status, _) = app.connect_via_browser(&app.key_alpha, "maker").await;
    assert_eq!(status, 200);
    let replay = app.http.get(&callback).send().await.expect("replay");
    assert_eq!(replay.status().as_u16(), 400);
    assert!(
        replay
            .text()
            .await
            .unwrap_or_default()
            .contains("already used")
    );
    let forged = callback.replace("state=", "state=forged");
    let forged = app.http.get(&forged).send().await.expect("forged");
    assert_eq!(forged.status().as_u16(), 400);
    let bare = app
        .http
        .get(format!("{}/oauth/callback", app.base_url))
        .send()
        .await
        .expect("bare");
    assert_eq!(bare.status().as_u16(), 400);
    assert_eq!(
        app.sandbox_stats().await["token_requests"]["authorization_code"],
        json!(1)
    );
}

async fn the_api_requires_a_key(db: TestDatabase) {
    let app = spawn_app(db).await;
    let missing = app.api(Method::GET, "/v1/accounts", None, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(error_code(&missing), "unauthorized");
    let wrong = app
        .api(Method::GET, "/v1/accounts", Some("pl_not-a-key"), None)
        .await;
    assert_eq!(wrong.status, 401);
    let revoked_key = pinline_server::api_keys::create_api_key(&app.db.store, "alpha", "old", 0)
        .await
        .expect("key");
    assert!(
        app.db
            .store
            .revoke_api_key(&revoked_key.row.profile_id, &revoked_key.row.id, 1)
            .await
            .expect("revoke")
    );
    let revoked = app
        .api(Method::GET, "/v1/accounts", Some(&revoked_key.key), None)
        .await;
    assert_eq!(revoked.status, 401);
    // The scheme name is case-insensitive; the key itself is not.
    for (header, status) in [
        (format!("bearer {}", app.key_alpha), 200),
        (format!("BEARER  {}", app.key_alpha), 200),
        (format!("Bearer {}", app.key_alpha.to_uppercase()), 401),
        (format!("Basic {}", app.key_alpha), 401),
    ] {
        let reply = app
            .http
            .get(format!("{}/v1/accounts", app.base_url))
            .header("authorization", header)
            .send()
            .await
            .expect("request");
        assert_eq!(reply.status().as_u16(), status);
    }
    // The key's last use is recorded (off the request's path, so waited for).
    let store = app.db.store.clone();
    eventually(Duration::from_secs(10), "the key's last use", || {
        let store = store.clone();
        async move {
            let profiles = store.profiles().await.expect("profiles");
            let alpha = profiles.iter().find(|p| p.name == "alpha").expect("alpha");
            let keys = store.api_keys(&alpha.id).await.expect("keys");
            keys.iter().any(|key| key.last_used_at.is_some())
        }
    })
    .await;
}

async fn profiles_cannot_see_each_other(db: TestDatabase) {
    let app = spawn_app(db).await;
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let id = account["id"].as_str().expect("id");
    let beta = Some(app.key_beta.as_str());
    for (method, path, body) in [
        (Method::GET, format!("/v1/accounts/{id}"), None),
        (Method::POST, format!("/v1/accounts/{id}/refresh"), None),
        (Method::DELETE, format!("/v1/accounts/{id}"), None),
        (Method::GET, format!("/v1/accounts/{id}/boards"), None),
        (
            Method::POST,
            format!("/v1/accounts/{id}/boards"),
            Some(json!({"name": "x"})),
        ),
    ] {
        let reply = app.api(method.clone(), &path, beta, body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        assert_eq!(error_code(&reply), "not_found");
    }
    let listed = app.api(Method::GET, "/v1/accounts", beta, None).await;
    assert_eq!(listed.json["items"], json!([]));
    // Alpha's account is untouched by beta's attempts.
    let still = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(still.json["status"], json!("active"));
}

async fn boards_are_listed_and_created_through_the_vault(db: TestDatabase) {
    let app = spawn_app(db).await;
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let id = account["id"].as_str().expect("id");
    let key = Some(app.key_alpha.as_str());
    let created = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{id}/boards"),
            key,
            Some(json!({"name": "Recipes", "privacy": "SECRET"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["privacy"], json!("SECRET"));
    let listed = app
        .api(Method::GET, &format!("/v1/accounts/{id}/boards"), key, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["items"][0]["name"], json!("Recipes"));
    assert_eq!(app.sandbox_stats().await["boards_created"], json!(1));
}

async fn bad_input_gets_a_clear_error(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let unknown_scope = app
        .api(
            Method::POST,
            "/v1/accounts/connect",
            key,
            Some(json!({"scopes": ["pins:fly"]})),
        )
        .await;
    assert_eq!(unknown_scope.status, 422, "{}", unknown_scope.text);
    assert_eq!(unknown_scope.json["error"]["field"], json!("scopes"));
    let malformed = app
        .http
        .post(format!("{}/v1/accounts/connect", app.base_url))
        .bearer_auth(&app.key_alpha)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status().as_u16(), 400);
    let body: serde_json::Value = malformed.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], json!("invalid_body"));
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let id = account["id"].as_str().expect("id");
    let nameless = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{id}/boards"),
            key,
            Some(json!({"name": "  "})),
        )
        .await;
    assert_eq!(nameless.status, 422);
    assert_eq!(nameless.json["error"]["field"], json!("name"));
    let bad_page = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{id}/boards?page_size=1000"),
            key,
            None,
        )
        .await;
    assert_eq!(bad_page.status, 422);
    let nowhere = app.api(Method::GET, "/v1/nothing-here", key, None).await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(error_code(&nowhere), "not_found");
}

async fn disconnect_erases_tokens_and_says_whether_pinterest_revoked_them(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());

    // An ordinary Pinterest user: Pinterest refuses to revoke their token (403 code 29), so
    // pinline erases it and says so, instead of claiming a revocation that did not happen.
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let id = account["id"].as_str().expect("id");
    let gone = app
        .api(Method::DELETE, &format!("/v1/accounts/{id}"), key, None)
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert_eq!(gone.json["status"], json!("disconnected"));
    let row = app
        .db
        .store
        .account_by_id(id)
        .await
        .expect("read")
        .expect("row kept");
    assert!(row.access_token_sealed.is_none() && row.refresh_token_sealed.is_none());
    let detail = disconnected_detail(&app, id).await;
    for needle in [
        "tokens erased here",
        "refused revocation",
        "does not let apps revoke an ordinary user's token",
        "removes the app in their Pinterest account settings",
        "when the tokens expire",
    ] {
        assert!(detail.contains(needle), "{needle}: {detail}");
    }
    assert!(!detail.contains("pina_") && !detail.contains("pinr_"));

    // Nothing is sent to Pinterest with the account afterwards.
    let requests_before = app.sandbox_stats().await["requests_total"].clone();
    let boards = app
        .api(Method::GET, &format!("/v1/accounts/{id}/boards"), key, None)
        .await;
    assert_eq!(boards.status, 409);
    assert_eq!(error_code(&boards), "account_disconnected");
    assert_eq!(app.sandbox_stats().await["requests_total"], requests_before);

    // A system user's tokens are revoked at Pinterest, and the event says exactly that.
    app.sandbox_control("/users", json!({ "username": "ops", "system": true }))
        .await;
    let system = app.connected_account(&app.key_alpha, "ops").await;
    let system_id = system["id"].as_str().expect("id");
    let gone = app
        .api(
            Method::DELETE,
            &format!("/v1/accounts/{system_id}"),
            key,
            None,
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert_eq!(
        disconnected_detail(&app, system_id).await,
        "disconnected: tokens revoked at Pinterest and erased"
    );
}

/// The detail of the account's latest `account.disconnected` event.
async fn disconnected_detail(app: &crate::support::TestApp, account_id: &str) -> String {
    app.db
        .store
        .account_events(account_id)
        .await
        .expect("events")
        .into_iter()
        .rev()
        .find(|(kind, _, _)| kind == "account.disconnected")
        .map(|(_, detail, _)| detail)
        .expect("an account.disconnected event")
}

async fn no_secret_reaches_logs_or_the_database(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (callback, status, _) = app.connect_via_browser(&app.key_alpha, "maker").await;
    assert_eq!(status, 200);
    let code = url::Url::parse(&callback)
        .expect("callback URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let account = accounts.json["items"][0].clone();
    let id = account["id"].as_str().expect("id");
    // Force a refresh so rotated tokens pass through too.
    let refreshed = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{id}/refresh"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    // A webhook, so its signing secret (sealed at rest) is looked for too.
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["post.published"]})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let secret = hook.json["secret"].as_str().expect("secret").to_owned();

    let logs = captured_logs();
    for needle in [
        "pina_",
        "pinr_",
        code.as_str(),
        app.key_alpha.as_str(),
        secret.as_str(),
        "sandbox-secret",
    ] {
        // The failure names the line with the secret masked, so CI output does not leak it.
        if let Some(line) = logs.lines().find(|line| line.contains(needle)) {
            panic!(
                "a log line holds a secret: {}",
                line.replace(needle, "<SECRET>")
            );
        }
    }
    let dump = app.db.dump_text().await;
    assert!(dump.contains(id), "the dump holds the account's row");
    for (needle, what) in [
        ("pina_", "an access token"),
        ("pinr_", "a refresh token"),
        (code.as_str(), "the authorization code"),
        (app.key_alpha.as_str(), "an API key"),
        (secret.as_str(), "a webhook signing secret"),
    ] {
        assert!(
            !dump.contains(needle),
            "the database holds {what} in plain text"
        );
    }
}

async fn an_address_that_keeps_sending_wrong_keys_is_locked_out(db: TestDatabase) {
    let app = spawn_app(db).await;
    let wrong = "pl_wrongwrongwrongwrongwrongwrongwrongwrongwro";
    for attempt in 1..=pinline_server::Lockout::MAX_FAILURES {
        let reply = app.api(Method::GET, "/v1/posts", Some(wrong), None).await;
        assert_eq!(reply.status, 401, "attempt {attempt}: {}", reply.text);
    }
    let response = app
        .http
        .get(format!("{}/v1/posts", app.base_url))
        .bearer_auth(wrong)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    // Locked out before the lookup: even the right key waits, so guessing gains nothing.
    let right = app
        .api(Method::GET, "/v1/posts", Some(&app.key_alpha), None)
        .await;
    assert_eq!(right.status, 429, "{}", right.text);
    assert_eq!(error_code(&right), "too_many_failures");
    // The window ends on pinline's clock.
    app.clock.advance(Duration::from_secs(301));
    let right = app
        .api(Method::GET, "/v1/posts", Some(&app.key_alpha), None)
        .await;
    assert_eq!(right.status, 200, "{}", right.text);
}
