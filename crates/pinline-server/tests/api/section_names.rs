//! A post naming its board section (`"board_section": "name"`): resolved to the section's id
//! at acceptance, case-insensitively, and the pin lands in that section at the sandbox; an
//! unknown name is refused with the names that exist.

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::carousels::{pin_at_sandbox, publish};
use crate::support::{error_code, spawn_app};

backend_tests!(a_section_named_at_acceptance_is_where_the_pin_goes,);

async fn a_section_named_at_acceptance_is_where_the_pin_goes(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (account, board) = app.account_with_board("maker").await;
    let sections = format!("/v1/accounts/{account}/boards/{board}/sections");
    let mut ids = Vec::new();
    for name in ["Breads", "Desserts"] {
        let created = app
            .api(Method::POST, &sections, key, Some(json!({"name": name})))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        ids.push(created.json["id"].as_str().expect("id").to_owned());
    }
    let post = publish(
        &app,
        json!({
            "account_id": account,
            "board": "recipes",
            "board_section": "  desserts ",
            "title": "Lemon tart",
            "image_url": "https://example.invalid/tart.jpg",
        }),
    )
    .await;
    assert_eq!(post["board_section_id"], json!(ids[1]));
    let pin = pin_at_sandbox(&app, post["pin"]["id"].as_str().expect("pin")).await;
    assert_eq!(pin["board_section_id"], json!(ids[1]), "{pin}");

    let unknown = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(json!({
                "account_id": account, "board_id": board, "board_section": "Soups",
                "image_url": "https://example.invalid/soup.jpg",
            })),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(error_code(&unknown), "invalid_field");
    assert_eq!(unknown.json["error"]["field"], json!("board_section"));
    assert!(unknown.text.contains("Desserts"), "{}", unknown.text);

    let both = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(json!({
                "account_id": account, "board_id": board, "board_section": "Breads",
                "board_section_id": ids[0], "image_url": "https://example.invalid/bread.jpg",
            })),
        )
        .await;
    assert_eq!(both.status, 422, "{}", both.text);
    assert_eq!(both.json["error"]["field"], json!("board_section"));
}
