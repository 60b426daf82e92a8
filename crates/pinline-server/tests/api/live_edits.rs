//! Editing a published post: the live pin changes at the sandbox, each try is an entry of the
//! post's attempt log, a transient refusal is tried again, a lasting one leaves the copy as it
//! was, and what cannot change (the time, an over-long title) is refused before Pinterest is
//! asked.

use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, eventually, spawn_app};

backend_tests!(
    a_live_edit_reaches_the_pin,
    a_transient_refusal_is_tried_again_and_a_lasting_one_keeps_the_copy,
);

/// Publishes a post on a fresh account: (post id, pin id).
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
                "description": "Sharp and sweet.",
                "link": "https://example.invalid/tart",
                "image_url": "https://example.invalid/tart.jpg",
            })),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/posts/{id}");
    let path = path.as_str();
    eventually(
        Duration::from_secs(10),
        "the post to publish",
        || async move {
            app.api(Method::GET, path, key, None).await.json["status"] == json!("published")
        },
    )
    .await;
    let shown = app.api(Method::GET, path, key, None).await;
    let pin = shown.json["pin"]["id"].as_str().expect("pin id").to_owned();
    (id, pin)
}

/// The pin as the sandbox holds it, read with a token of the account's user.
async fn pin_at_sandbox(app: &TestApp, pin: &str) -> Value {
    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let user = accounts.json["items"][0]["pinterest_user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let minted = app
        .sandbox_control(&format!("/users/{user}/tokens"), json!({}))
        .await;
    let token = minted["access_token"].as_str().expect("token");
    app.http
        .get(format!("{}/v5/pins/{pin}", app.sandbox.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("pin")
        .json()
        .await
        .expect("json")
}

fn outcomes(post: &Value) -> Vec<String> {
    post["attempt_log"]
        .as_array()
        .expect("attempt log")
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or("running").to_owned())
        .collect()
}

async fn a_live_edit_reaches_the_pin(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (id, pin) = published_post(&app).await;
    let path = format!("/v1/posts/{id}");

    let edited = app
        .api(
            Method::PATCH,
            &path,
            key,
            Some(json!({
                "title": "Lemon tart, the sharp one",
                "description": "Sharp and sweet.\nBake it the day before.",
                "alt_text": "A lemon tart with one slice gone",
            })),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["status"], json!("published"));
    assert_eq!(edited.json["title"], json!("Lemon tart, the sharp one"));
    assert_eq!(edited.json["link"], json!("https://example.invalid/tart"));

    let at_sandbox = pin_at_sandbox(&app, &pin).await;
    assert_eq!(at_sandbox["title"], json!("Lemon tart, the sharp one"));
    assert_eq!(
        at_sandbox["description"],
        json!("Sharp and sweet.\nBake it the day before.")
    );
    assert_eq!(
        at_sandbox["alt_text"],
        json!("A lemon tart with one slice gone")
    );
    assert_eq!(at_sandbox["link"], json!("https://example.invalid/tart"));

    let shown = app.api(Method::GET, &path, key, None).await;
    assert_eq!(outcomes(&shown.json), ["published", "edited"]);
    assert_eq!(shown.json["attempt_log"][1]["attempt"], json!(2));

    // What cannot change, refused before Pinterest is asked: no new attempt.
    for (body, field) in [
        (json!({"publish_at": "2030-01-01T09:00:00Z"}), "publish_at"),
        (json!({"title": "x".repeat(101)}), "title"),
        (json!({"link": "ftp://example.invalid/tart"}), "link"),
        (json!({"description": "  "}), "description"),
    ] {
        let refused = app.api(Method::PATCH, &path, key, Some(body)).await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert_eq!(
            refused.json["error"]["field"],
            json!(field),
            "{}",
            refused.text
        );
    }
    let shown = app.api(Method::GET, &path, key, None).await;
    assert_eq!(outcomes(&shown.json), ["published", "edited"]);

    // A deleted post's pin cannot be edited.
    let deleted = app.api(Method::DELETE, &path, key, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let late = app
        .api(
            Method::PATCH,
            &path,
            key,
            Some(json!({"title": "Too late"})),
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(error_code(&late), "post_not_editable");
}

async fn a_transient_refusal_is_tried_again_and_a_lasting_one_keeps_the_copy(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (id, pin) = published_post(&app).await;
    let path = format!("/v1/posts/{id}");

    // Pinterest unavailable once: the edit goes through on the second try.
    app.sandbox_control(
        "/faults",
        json!({"rules": [{"operation": "pins/update", "kind": "error", "status": 503, "count": 1}]}),
    )
    .await;
    let edited = app
        .api(
            Method::PATCH,
            &path,
            key,
            Some(json!({"title": "Second try"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["title"], json!("Second try"));
    assert_eq!(
        pin_at_sandbox(&app, &pin).await["title"],
        json!("Second try")
    );
    let shown = app.api(Method::GET, &path, key, None).await;
    assert_eq!(outcomes(&shown.json), ["published", "edit_retry", "edited"]);
    assert_eq!(
        shown.json["attempt_log"][1]["error_class"],
        json!("transient")
    );

    // A refusal no retry can change: answered at once, the copy as it was.
    app.sandbox_control(
        "/faults",
        json!({"rules": [{"operation": "pins/update", "kind": "error", "status": 400, "code": 1, "count": 1}]}),
    )
    .await;
    let refused = app
        .api(Method::PATCH, &path, key, Some(json!({"title": "Never"})))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(error_code(&refused), "pinterest_validation");
    let shown = app.api(Method::GET, &path, key, None).await;
    assert_eq!(shown.json["title"], json!("Second try"));
    assert_eq!(
        outcomes(&shown.json),
        ["published", "edit_retry", "edited", "edit_failed"]
    );
    assert_eq!(
        shown.json["attempt_log"][3]["error_class"],
        json!("validation")
    );
    assert_eq!(
        pin_at_sandbox(&app, &pin).await["title"],
        json!("Second try")
    );
}
