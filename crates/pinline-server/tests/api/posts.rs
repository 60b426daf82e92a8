//! Accepting posts: validation at acceptance (fields, board, scopes), idempotency, held posts
//! for accounts that need reconnecting, batches, listing, editing and canceling; the hint other
//! replicas get for a post due now.

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use std::time::Duration;

use crate::support::{error_code, eventually, spawn_app};

backend_tests!(
    a_valid_post_is_committed_and_readable,
    idempotency_keys_replay_or_conflict,
    every_bad_field_is_named,
    board_names_resolve_once_or_list_the_boards,
    secret_boards_need_secret_scopes,
    posts_for_a_revoked_account_are_held,
    the_post_that_finds_a_revocation_is_held_too,
    batches_answer_each_post,
    posts_are_listed_edited_and_canceled,
    posts_are_private_to_their_profile,
    an_accepted_post_publishes_and_its_pin_can_be_deleted,
    patch_checks_fields_as_post_does,
    a_database_failure_is_never_answered_as_bad_input,
    a_database_that_is_down_is_a_503_to_retry,
    every_rejection_has_the_error_shape,
    a_full_batch_fits_the_body_limit,
    a_post_due_now_wakes_another_replica,
);

fn post_body(account: &str, board: &str) -> Value {
    json!({
        "account_id": account,
        "board_id": board,
        "title": "Lemon tart",
        "description": "Sharp and sweet.",
        "link": "https://example.invalid/tart",
        "alt_text": "A lemon tart on a plate",
        "image_url": "https://example.invalid/tart.jpg",
    })
}

async fn a_valid_post_is_committed_and_readable(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let created = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, &board)),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    assert_eq!(created.json["status"], json!("queued"));
    let id = created.json["id"].as_str().expect("id");
    // Committed before the answer: it is in the database now.
    let row = app
        .db
        .store
        .post_by_id(id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.title.as_deref(), Some("Lemon tart"));
    let read = app
        .api(
            Method::GET,
            &format!("/v1/posts/{id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(read.json["media_source"]["source_type"], json!("image_url"));
    assert!(read.json["attempt_log"].is_array());
}

async fn idempotency_keys_replay_or_conflict(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let send = |body: Value| {
        app.http
            .post(format!("{}/v1/posts", app.base_url))
            .bearer_auth(&app.key_alpha)
            .header("Idempotency-Key", "order-42")
            .json(&body)
            .send()
    };
    let first = send(post_body(&account, &board)).await.expect("send");
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.expect("json");
    let again = send(post_body(&account, &board)).await.expect("send");
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.expect("json");
    assert_eq!(first["id"], again["id"]);
    let mut changed = post_body(&account, &board);
    changed["title"] = json!("Another tart");
    let conflict = send(changed).await.expect("send");
    assert_eq!(conflict.status().as_u16(), 409);
}

async fn every_bad_field_is_named(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let key = Some(app.key_alpha.as_str());
    let cases: Vec<(&str, Value)> = vec![
        ("title", json!({"title": "x".repeat(101)})),
        ("description", json!({"description": "x".repeat(801)})),
        ("alt_text", json!({"alt_text": "x".repeat(501)})),
        ("link", json!({"link": "ftp://example.invalid"})),
        ("board_id", json!({"board_id": "Recipes"})),
        ("board_id", json!({"board_id": "123456789"})),
        ("publish_at", json!({"publish_at": "tomorrow"})),
        ("publish_at", json!({"publish_at": "2030-01-01T10:00:00"})),
        (
            "media_source",
            json!({"image_url": null, "media_source": {"source_type": "hologram"}}),
        ),
        ("account_id", json!({"account_id": "no-such-account"})),
    ];
    for (field, overrides) in cases {
        let mut body = post_body(&account, &board);
        for (k, v) in overrides.as_object().expect("object") {
            body[k] = v.clone();
        }
        let reply = app.api(Method::POST, "/v1/posts", key, Some(body)).await;
        assert_eq!(reply.status, 422, "{field}: {}", reply.text);
        assert_eq!(reply.json["error"]["field"], json!(field), "{}", reply.text);
    }
    let carousel = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(json!({
                "account_id": account, "board_id": board,
                "media_source": {"source_type": "multiple_image_urls", "items": [{"url": "https://example.invalid/1.jpg"}]},
            })),
        )
        .await;
    assert_eq!(
        carousel.status, 422,
        "a one-image carousel: {}",
        carousel.text
    );
    let not_json = app
        .http
        .post(format!("{}/v1/posts", app.base_url))
        .bearer_auth(&app.key_alpha)
        .header("content-type", "application/json")
        .body("[")
        .send()
        .await
        .expect("send");
    assert_eq!(not_json.status().as_u16(), 400);
    assert_eq!(
        app.db
            .store
            .post_counts_by_status()
            .await
            .expect("counts")
            .values()
            .sum::<i64>(),
        0,
        "nothing half-written"
    );
}

async fn board_names_resolve_once_or_list_the_boards(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let mut body = post_body(&account, &board);
    body.as_object_mut().expect("object").remove("board_id");
    body["board"] = json!("recipes");
    let resolved = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(body.clone()),
        )
        .await;
    assert_eq!(resolved.status, 202, "{}", resolved.text);
    assert_eq!(resolved.json["board_id"], json!(board));
    body["board"] = json!("Desserts");
    let unknown = app
        .api(Method::POST, "/v1/posts", Some(&app.key_alpha), Some(body))
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json["error"]["field"], json!("board"));
    assert!(
        unknown.json["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Recipes"),
        "{}",
        unknown.text
    );
}

async fn secret_boards_need_secret_scopes(db: TestDatabase) {
    let app = spawn_app(db).await;
    // Connected without the _secret scopes; a secret board made directly at the sandbox.
    let scopes = json!([
        "user_accounts:read",
        "boards:read",
        "boards:write",
        "pins:read",
        "pins:write"
    ]);
    let (_, status, page) = app
        .connect_with(&app.key_alpha, "maker", Some(scopes))
        .await;
    assert_eq!(status, 200, "{page}");
    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let account = accounts.json["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let user = accounts.json["items"][0]["pinterest_user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let minted = app
        .sandbox_control(&format!("/users/{user}/tokens"), json!({}))
        .await;
    let token = minted["access_token"].as_str().expect("token");
    let secret_board: Value = app
        .http
        .post(format!("{}/v5/boards", app.sandbox.base_url()))
        .bearer_auth(token)
        .json(&json!({"name": "Hidden", "privacy": "SECRET"}))
        .send()
        .await
        .expect("board")
        .json()
        .await
        .expect("json");
    let board = secret_board["id"].as_str().expect("board id");
    let reply = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, board)),
        )
        .await;
    // Without boards:read_secret the board is invisible to the account: refused as unknown.
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.json["error"]["field"], json!("board_id"));
    // With read but not write secret scopes, the refusal names the missing scopes.
    let scopes = json!([
        "user_accounts:read",
        "boards:read",
        "boards:read_secret",
        "boards:write",
        "pins:read",
        "pins:write"
    ]);
    let (_, status, _) = app
        .connect_with(&app.key_alpha, "maker", Some(scopes))
        .await;
    assert_eq!(status, 200);
    let reply = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, board)),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(error_code(&reply), "missing_scopes");
    let message = reply.json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("boards:write_secret") && message.contains("pins:write_secret"),
        "{message}"
    );
}

async fn posts_for_a_revoked_account_are_held(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    app.revoke_at_pinterest(&account).await;
    let refresh = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account}/refresh"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(refresh.status, 409, "{}", refresh.text);
    let held = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, &board)),
        )
        .await;
    assert_eq!(held.status, 202, "{}", held.text);
    assert_eq!(held.json["status"], json!("held"));
    assert!(
        held.json["held_reason"]
            .as_str()
            .is_some_and(|r| r.contains("Reconnect")),
        "{}",
        held.text
    );
    let mut by_name = post_body(&account, &board);
    by_name.as_object_mut().expect("object").remove("board_id");
    by_name["board"] = json!("Recipes");
    let refused = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(by_name),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
}

async fn batches_answer_each_post(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let mut bad = post_body(&account, &board);
    bad["title"] = json!("x".repeat(150));
    let reply = app
        .api(
            Method::POST,
            "/v1/posts/batch",
            Some(&app.key_alpha),
            Some(json!({"posts": [post_body(&account, &board), bad, post_body(&account, &board)]})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["accepted"], json!(2));
    assert_eq!(reply.json["refused"], json!(1));
    assert_eq!(reply.json["results"][1]["status"], json!(422));
    assert_eq!(reply.json["results"][1]["error"]["field"], json!("title"));
    assert_eq!(reply.json["results"][2]["post"]["status"], json!("queued"));
}

async fn posts_are_listed_edited_and_canceled(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let key = Some(app.key_alpha.as_str());
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = post_body(&account, &board);
        body["title"] = json!(format!("Tart {i}"));
        body["publish_at"] = json!("2099-01-01T09:00:00+01:00");
        let reply = app.api(Method::POST, "/v1/posts", key, Some(body)).await;
        assert_eq!(reply.status, 202, "{}", reply.text);
        ids.push(reply.json["id"].as_str().expect("id").to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/posts?limit=2&status=queued&cursor={c}"),
            None => "/v1/posts?limit=2&status=queued".to_owned(),
        };
        let page = app.api(Method::GET, &path, key, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.json["items"].as_array().expect("items") {
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every post once, in order");
    let patched = app
        .api(
            Method::PATCH,
            &format!("/v1/posts/{}", ids[0]),
            key,
            Some(json!({"title": "Renamed", "publish_at": "2099-02-01T09:00:00Z"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["title"], json!("Renamed"));
    assert_eq!(patched.json["publish_at"], json!("2099-02-01T09:00:00Z"));
    let canceled = app
        .api(Method::DELETE, &format!("/v1/posts/{}", ids[1]), key, None)
        .await;
    assert_eq!(canceled.json["status"], json!("canceled"));
    let edit_canceled = app
        .api(
            Method::PATCH,
            &format!("/v1/posts/{}", ids[1]),
            key,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(edit_canceled.status, 409);
    let bad_status = app
        .api(Method::GET, "/v1/posts?status=lost", key, None)
        .await;
    assert_eq!(bad_status.status, 422);
}

async fn posts_are_private_to_their_profile(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let created = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, &board)),
        )
        .await;
    let id = created.json["id"].as_str().expect("id");
    let beta = Some(app.key_beta.as_str());
    for (method, path, body) in [
        (Method::GET, format!("/v1/posts/{id}"), None),
        (
            Method::PATCH,
            format!("/v1/posts/{id}"),
            Some(json!({"title": "mine now"})),
        ),
        (Method::DELETE, format!("/v1/posts/{id}"), None),
    ] {
        let reply = app.api(method.clone(), &path, beta, body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }
    let listed = app.api(Method::GET, "/v1/posts", beta, None).await;
    assert_eq!(listed.json["items"], json!([]));
    // Beta cannot post to alpha's account either.
    let cross = app
        .api(
            Method::POST,
            "/v1/posts",
            beta,
            Some(post_body(&account, &board)),
        )
        .await;
    assert_eq!(cross.status, 422);
    assert_eq!(cross.json["error"]["field"], json!("account_id"));
}

async fn an_accepted_post_publishes_and_its_pin_can_be_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let key = Some(app.key_alpha.as_str());
    let created = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(post_body(&account, &board)),
        )
        .await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    let app_ref = &app;
    let path = format!("/v1/posts/{id}");
    let path_ref = path.as_str();
    eventually(
        Duration::from_secs(10),
        "the post to publish",
        || async move {
            app_ref.api(Method::GET, path_ref, key, None).await.json["status"] == json!("published")
        },
    )
    .await;
    let published = app
        .api(Method::GET, &format!("/v1/posts/{id}"), key, None)
        .await;
    let pin = published.json["pin"]["id"].as_str().expect("pin id");
    assert!(
        published.json["pin"]["url"]
            .as_str()
            .is_some_and(|u| u.contains(pin))
    );
    assert_eq!(
        published.json["attempt_log"][0]["outcome"],
        json!("published")
    );
    assert_eq!(app.sandbox_stats().await["pins_created"], json!(1));
    let deleted = app
        .api(Method::DELETE, &format!("/v1/posts/{id}"), key, None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.json["status"], json!("deleted"));
    assert_eq!(app.sandbox_stats().await["pins_deleted"], json!(1));
}

/// The first post after a revocation nobody noticed yet: checking its board is what meets
/// Pinterest's refusal. It is held like every later one, not refused.
async fn the_post_that_finds_a_revocation_is_held_too(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, _) = app.account_with_board("maker").await;
    app.revoke_at_pinterest(&account).await;
    // A board this replica has not seen: checking it needs Pinterest.
    let held = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, "900000000000000001")),
        )
        .await;
    assert_eq!(held.status, 202, "{}", held.text);
    assert_eq!(held.json["status"], json!("held"), "{}", held.text);
    let shown = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(shown.json["status"], json!("needs_reauth"));
}

async fn patch_checks_fields_as_post_does(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let mut body = post_body(&account, &board);
    body["publish_at"] = json!("2099-01-01T09:00:00Z");
    let created = app
        .api(Method::POST, "/v1/posts", Some(&app.key_alpha), Some(body))
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    for (patch, field) in [
        (json!({"link": "ftp://example.invalid/tart"}), "link"),
        (json!({"link": "javascript:alert(1)"}), "link"),
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"description": ""}), "description"),
        (json!({"title": "t".repeat(101)}), "title"),
        (json!({"alt_text": "a".repeat(501)}), "alt_text"),
    ] {
        let reply = app
            .api(
                Method::PATCH,
                &format!("/v1/posts/{id}"),
                Some(&app.key_alpha),
                Some(patch.clone()),
            )
            .await;
        assert_eq!(reply.status, 422, "{patch}: {}", reply.text);
        assert_eq!(reply.json["error"]["field"], json!(field), "{patch}");
    }
    // Text is stored trimmed, as POST stores it.
    let reply = app
        .api(
            Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(&app.key_alpha),
            Some(json!({"title": "  Lemon tart, again  ", "link": "https://example.invalid/b"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["title"], json!("Lemon tart, again"));
    assert_eq!(reply.json["link"], json!("https://example.invalid/b"));
}

async fn a_database_failure_is_never_answered_as_bad_input(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    // The API key still checks out; the account read in the middle of acceptance fails. Before,
    // that read as "no such account" (422), and a client would drop a post that was fine.
    app.db.break_table("accounts").await;
    let reply = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, &board)),
        )
        .await;
    assert!(reply.status >= 500, "{}: {}", reply.status, reply.text);
    assert_ne!(reply.json["error"]["code"], json!("invalid_field"));
    assert!(reply.json["error"]["message"].is_string(), "{}", reply.text);
}

async fn every_rejection_has_the_error_shape(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    for (method, path, expected, code) in [
        (Method::GET, "/v1/nowhere", 404, "not_found"),
        (Method::GET, "/nowhere", 404, "not_found"),
        (Method::PUT, "/v1/posts", 405, "method_not_allowed"),
        (Method::DELETE, "/healthz", 405, "method_not_allowed"),
    ] {
        let reply = app.api(method.clone(), path, key, None).await;
        assert_eq!(reply.status, expected, "{method} {path}: {}", reply.text);
        assert_eq!(reply.json["error"]["code"], json!(code), "{method} {path}");
    }
    // A body over the limit is a 413 in the same shape, not axum's plain text.
    let huge = json!({"account_id": "x".repeat(3 * 1024 * 1024)});
    let reply = app.api(Method::POST, "/v1/posts", key, Some(huge)).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.json["error"]["code"], json!("body_too_large"));
}

async fn a_full_batch_fits_the_body_limit(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    // 500 posts with every text field at Pinterest's limit: over axum's default 2 MB.
    let post = json!({
        "account_id": account,
        "board_id": board,
        "title": "é".repeat(100),
        "description": "ü".repeat(800),
        "alt_text": "ø".repeat(500),
        "link": format!("https://example.invalid/{}", "l".repeat(2000)),
        "image_url": format!("https://example.invalid/{}.jpg", "i".repeat(1000)),
        "publish_at": "2099-01-01T09:00:00Z",
    });
    let posts: Vec<Value> = (0..500).map(|_| post.clone()).collect();
    let body = json!({"posts": posts});
    assert!(body.to_string().len() > 2 * 1024 * 1024);
    let reply = app
        .api(
            Method::POST,
            "/v1/posts/batch",
            Some(&app.key_alpha),
            Some(body),
        )
        .await;
    assert!(
        reply.status < 400,
        "{}: {}",
        reply.status,
        &reply.text[..reply.text.len().min(500)]
    );
}

async fn a_database_that_is_down_is_a_503_to_retry(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    // Every connection gone, as when the database restarts: a post is neither refused as bad
    // input nor lost silently; the client is told to send it again shortly.
    app.db.store.close().await;
    let response = app
        .http
        .post(format!("{}/v1/posts", app.base_url))
        .bearer_auth(&app.key_alpha)
        .json(&post_body(&account, &board))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 503);
    assert!(
        response.headers().get("retry-after").is_some(),
        "Retry-After is set"
    );
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], json!("unavailable"));
}

/// On PostgreSQL, accepting a post due now hints every replica's listener; another replica's
/// store (its own pool, as another process has) hears it. SQLite has no other replica to tell.
async fn a_post_due_now_wakes_another_replica(db: TestDatabase) {
    let app = spawn_app(db).await;
    let other_replica = pinline_store::Store::open(
        &pinline_store::DatabaseLocation::parse(&app.db.url).expect("url"),
    )
    .await
    .expect("another replica's store");
    let Some(listener) = other_replica.listen_for_posts_due().await else {
        assert_eq!(app.db.store.backend(), pinline_store::Backend::Sqlite);
        return;
    };
    let (woken, mut wakes) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listening = tokio::spawn(listener.run(
        move |wake| {
            let _ = woken.send(wake);
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let (account, board) = app.account_with_board("maker").await;
    let reply = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(post_body(&account, &board)),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let wake = tokio::time::timeout(Duration::from_secs(10), wakes.recv())
        .await
        .expect("the other replica is woken before the deadline");
    assert_eq!(wake, Some(pinline_store::Wake::Notified));
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), listening)
        .await
        .expect("the listener stops")
        .expect("cleanly");
    other_replica.close().await;
}
