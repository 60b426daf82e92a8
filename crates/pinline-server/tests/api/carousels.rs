//! Carousels as a post names them: 2–5 images, each with its own copy, published as one pin
//! whose items carry that copy at the sandbox; URLs or inline images; every item checked, a
//! refusal naming the item.

use std::time::Duration;

use base64::Engine as _;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, eventually, spawn_app};

backend_tests!(
    a_carousel_publishes_with_each_image_s_copy,
    an_inline_carousel_publishes,
    bad_carousels_are_refused_naming_the_item,
);

/// Posts `body`, waits until it is published and answers the post as shown.
pub async fn publish(app: &TestApp, body: Value) -> Value {
    let key = Some(app.key_alpha.as_str());
    let created = app.api(Method::POST, "/v1/posts", key, Some(body)).await;
    assert_eq!(created.status, 202, "{}", created.text);
    let path = format!("/v1/posts/{}", created.json["id"].as_str().expect("id"));
    let path = path.as_str();
    eventually(
        Duration::from_secs(10),
        "the post to publish",
        || async move {
            app.api(Method::GET, path, key, None).await.json["status"] == json!("published")
        },
    )
    .await;
    app.api(Method::GET, path, key, None).await.json
}

/// The pin as the sandbox holds it, read with a token of the (only) account's user.
pub async fn pin_at_sandbox(app: &TestApp, pin: &str) -> Value {
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

async fn a_carousel_publishes_with_each_image_s_copy(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let post = publish(
        &app,
        json!({
            "account_id": account,
            "board_id": board,
            "title": "Three tarts",
            "images": [
                {"url": "https://example.invalid/lemon.jpg", "title": "Lemon",
                 "description": "Sharp.\nSweet.", "link": "https://example.invalid/lemon",
                 "alt_text": "Three tarts in a row"},
                {"url": "https://example.invalid/plum.jpg", "title": "Plum",
                 "link": "https://example.invalid/plum"},
                {"url": "https://example.invalid/fig.jpg", "description": "Figs, late summer"},
            ],
        }),
    )
    .await;
    assert_eq!(post["alt_text"], json!("Three tarts in a row"));
    let pin = pin_at_sandbox(&app, post["pin"]["id"].as_str().expect("pin")).await;
    assert_eq!(pin["creative_type"], json!("CAROUSEL"), "{pin}");
    assert_eq!(pin["alt_text"], json!("Three tarts in a row"));
    let items = pin["media"]["items"].as_array().expect("items");
    let copy: Vec<(Value, Value, Value)> = items
        .iter()
        .map(|i| {
            (
                i["title"].clone(),
                i["description"].clone(),
                i["link"].clone(),
            )
        })
        .collect();
    assert_eq!(
        copy,
        [
            (
                json!("Lemon"),
                json!("Sharp.\nSweet."),
                json!("https://example.invalid/lemon")
            ),
            (
                json!("Plum"),
                json!(null),
                json!("https://example.invalid/plum")
            ),
            (json!(null), json!("Figs, late summer"), json!(null)),
        ]
    );
}

/// The smallest PNG: a 1×1 image.
fn png() -> String {
    let bytes: [u8; 67] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn an_inline_carousel_publishes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let post = publish(
        &app,
        json!({
            "account_id": account,
            "board_id": board,
            "images": [
                {"base64": png(), "title": "First"},
                {"base64": png(), "title": "Second", "link": "https://example.invalid/2"},
            ],
        }),
    )
    .await;
    let pin = pin_at_sandbox(&app, post["pin"]["id"].as_str().expect("pin")).await;
    let titles: Vec<&Value> = pin["media"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["title"])
        .collect();
    assert_eq!(titles, [&json!("First"), &json!("Second")]);
}

async fn bad_carousels_are_refused_naming_the_item(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let url = |n: usize| json!({"url": format!("https://example.invalid/{n}.jpg")});
    let cases = [
        (json!([url(1)]), "images"),
        (json!((1..=6).map(url).collect::<Vec<_>>()), "images"),
        (
            json!([url(1), {"url": "ftp://example.invalid/2.jpg"}]),
            "images[1].url",
        ),
        (json!([url(1), {"title": "no image"}]), "images[1].url"),
        (
            json!([url(1), {"url": "https://example.invalid/2.jpg", "base64": png()}]),
            "images[1].url",
        ),
        (json!([url(1), {"base64": png()}]), "images[1]"),
        (
            json!([{"base64": "bm90IGFuIGltYWdl"}, url(2)]),
            "images[0].base64",
        ),
        (json!([{"base64": "*&^%"}, url(2)]), "images[0].base64"),
        (
            json!([{"url": "https://example.invalid/1.jpg", "title": "x".repeat(101)}, url(2)]),
            "images[0].title",
        ),
        (
            json!([url(1), {"url": "https://example.invalid/2.jpg", "link": "example.invalid"}]),
            "images[1].link",
        ),
        (
            json!([url(1), {"url": "https://example.invalid/2.jpg", "alt_text": "Second"}]),
            "images[1].alt_text",
        ),
        (
            json!([url(1), {"url": "https://example.invalid/2.jpg", "color": "red"}]),
            "images",
        ),
    ];
    for (images, field) in cases {
        let refused = app
            .api(
                Method::POST,
                "/v1/posts",
                Some(&app.key_alpha),
                Some(json!({"account_id": account, "board_id": board, "images": images})),
            )
            .await;
        assert_eq!(refused.status, 422, "{field}: {}", refused.text);
        error_code(&refused);
        assert!(
            refused.json["error"]["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field)),
            "{field}: {}",
            refused.text
        );
    }
    // A carousel and another media at once.
    let both = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(json!({
                "account_id": account, "board_id": board,
                "image_url": "https://example.invalid/0.jpg",
                "images": [url(1), url(2)],
            })),
        )
        .await;
    assert_eq!(both.status, 422, "{}", both.text);
    assert_eq!(both.json["error"]["field"], json!("images"));
    assert_eq!(app.sandbox_stats().await["pins_created"], json!(0));
}
