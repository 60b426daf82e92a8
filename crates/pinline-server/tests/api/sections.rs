//! Board sections through the API: listed, created, renamed and deleted at the sandbox; names
//! checked before Pinterest is asked; a clash, an unknown board or section, and a key without
//! `accounts:write` refused with the error shape.

use pinline_server::api_keys::create_scoped_api_key;
use pinline_server::key_scopes::{KeyScope, KeyScopes};
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::support::{error_code, spawn_app};

backend_tests!(
    sections_are_listed_created_renamed_and_deleted,
    bad_section_requests_are_refused_with_the_field,
);

async fn sections_are_listed_created_renamed_and_deleted(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (account, board) = app.account_with_board("maker").await;
    let base = format!("/v1/accounts/{account}/boards/{board}/sections");

    let empty = app.api(Method::GET, &base, key, None).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.json["items"], json!([]));

    let mut ids = Vec::new();
    for name in ["Weeknight dinners", "Desserts", "Breads"] {
        let created = app
            .api(Method::POST, &base, key, Some(json!({"name": name})))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json["name"], json!(name));
        ids.push(created.json["id"].as_str().expect("id").to_owned());
    }
    // One page of two, then the rest through the bookmark.
    let first = app
        .api(Method::GET, &format!("{base}?page_size=2"), key, None)
        .await;
    assert_eq!(first.json["items"].as_array().map(Vec::len), Some(2));
    let bookmark = first.json["bookmark"].as_str().expect("a next page");
    let rest = app
        .api(
            Method::GET,
            &format!("{base}?page_size=2&bookmark={bookmark}"),
            key,
            None,
        )
        .await;
    assert_eq!(rest.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest.json["bookmark"], json!(null));

    let renamed = app
        .api(
            Method::PATCH,
            &format!("{base}/{}", ids[1]),
            key,
            Some(json!({"name": "  Cakes  "})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json, json!({"id": ids[1], "name": "Cakes"}));

    // A name another section of the board has: Pinterest refuses it.
    let clash = app
        .api(
            Method::PATCH,
            &format!("{base}/{}", ids[2]),
            key,
            Some(json!({"name": "cakes"})),
        )
        .await;
    assert_eq!(clash.status, 422, "{}", clash.text);
    assert_eq!(error_code(&clash), "pinterest_validation");

    let deleted = app
        .api(Method::DELETE, &format!("{base}/{}", ids[0]), key, None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let again = app
        .api(Method::DELETE, &format!("{base}/{}", ids[0]), key, None)
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
    let listed = app.api(Method::GET, &base, key, None).await;
    let names: Vec<&str> = listed.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["Breads", "Cakes"]);
}

async fn bad_section_requests_are_refused_with_the_field(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    let (account, board) = app.account_with_board("maker").await;
    let base = format!("/v1/accounts/{account}/boards/{board}/sections");

    for (body, field) in [
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(181)}), "name"),
    ] {
        let refused = app.api(Method::POST, &base, key, Some(body)).await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert_eq!(
            refused.json["error"]["field"],
            json!(field),
            "{}",
            refused.text
        );
    }
    let unknown_field = app
        .api(
            Method::POST,
            &base,
            key,
            Some(json!({"name": "Ok", "color": "red"})),
        )
        .await;
    assert_eq!(unknown_field.status, 422, "{}", unknown_field.text);

    // Ids that are not ids, and ids Pinterest does not know.
    for path in [
        format!("/v1/accounts/{account}/boards/not-a-board/sections"),
        format!("/v1/accounts/{account}/boards/123/sections"),
        format!("/v1/accounts/00000000-0000-7000-8000-000000000000/boards/{board}/sections"),
    ] {
        let missing = app.api(Method::GET, &path, key, None).await;
        assert_eq!(missing.status, 404, "{path}: {}", missing.text);
        error_code(&missing);
    }
    let no_section = app
        .api(
            Method::PATCH,
            &format!("{base}/99999"),
            key,
            Some(json!({"name": "Ok"})),
        )
        .await;
    assert_eq!(no_section.status, 404, "{}", no_section.text);

    // Another profile's key sees no such account; a read-only key may not write.
    let other = app.api(Method::GET, &base, Some(&app.key_beta), None).await;
    assert_eq!(other.status, 404, "{}", other.text);
    let read_only = create_scoped_api_key(
        &app.db.store,
        "alpha",
        "read only",
        &KeyScopes::Only(vec![KeyScope::AccountsRead]),
        0,
    )
    .await
    .expect("key")
    .key;
    let listed = app.api(Method::GET, &base, Some(&read_only), None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let refused = app
        .api(
            Method::POST,
            &base,
            Some(&read_only),
            Some(json!({"name": "No"})),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(error_code(&refused), "insufficient_scope");
}
