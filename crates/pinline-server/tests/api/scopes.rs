//! API key scopes: every secured operation is refused, with a 403 naming the scope, to a key
//! that lacks one of the scopes its `security` requirement lists, and passes that check for a
//! key with exactly those scopes; a read-only key reads and cannot write.

use pinline_server::api_keys::create_scoped_api_key;
use pinline_server::key_scopes::{KeyScope, KeyScopes};
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

backend_tests!(
    every_operation_needs_the_scopes_its_document_names,
    a_read_only_key_reads_and_cannot_write,
);

/// An id that parses as one, so the path is not refused before the key is looked at.
const SOME_ID: &str = "01a24772-d4db-70f6-894e-75be38294e00";

async fn key_with(app: &TestApp, scopes: Vec<KeyScope>) -> String {
    create_scoped_api_key(
        &app.db.store,
        "alpha",
        "scoped",
        &KeyScopes::Only(scopes),
        0,
    )
    .await
    .expect("key")
    .key
}

async fn call(app: &TestApp, method: &str, path: &str, key: &str) -> (u16, Value) {
    let path = path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                SOME_ID
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
    let reply = app.api(method, &path, Some(key), body).await;
    (reply.status, reply.json)
}

async fn every_operation_needs_the_scopes_its_document_names(db: TestDatabase) {
    let app = spawn_app(db).await;
    let doc = app.api(Method::GET, "/openapi.json", None, None).await.json;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let Some(security) = operation["security"].as_array() else {
                continue;
            };
            let needed: Vec<KeyScope> = security[0]["api_key"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path}: api_key security"))
                .iter()
                .map(|name| {
                    name.as_str()
                        .expect("a scope name")
                        .parse()
                        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
                })
                .collect();
            assert!(!needed.is_empty(), "{method} {path} names no scope");
            let method = method.to_ascii_uppercase();
            // A key with every other scope, and each needed scope missing in turn.
            for missing in &needed {
                let others: Vec<KeyScope> = KeyScope::ALL
                    .into_iter()
                    .filter(|scope| scope != missing)
                    .collect();
                let key = key_with(&app, others).await;
                let (status, body) = call(&app, &method, path, &key).await;
                assert_eq!(status, 403, "{method} {path} without {missing}: {body}");
                assert_eq!(body["error"]["code"], json!("insufficient_scope"), "{body}");
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(missing.as_str())),
                    "{method} {path}: the refusal names {missing}: {body}"
                );
            }
            // Exactly the needed scopes get past the check.
            let key = key_with(&app, needed.clone()).await;
            let (status, body) = call(&app, &method, path, &key).await;
            assert_ne!(
                body["error"]["code"],
                json!("insufficient_scope"),
                "{method} {path} with {needed:?}: {status} {body}"
            );
            checked += 1;
        }
    }
    // Every `/v1` operation of the document (the callback and health are public).
    assert_eq!(checked, 42, "secured operations checked");
}

async fn a_read_only_key_reads_and_cannot_write(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("reader").await;
    let reader = key_with(&app, vec![KeyScope::PostsRead, KeyScope::AccountsRead]).await;
    let listed = app.api(Method::GET, "/v1/posts", Some(&reader), None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&reader), None)
        .await;
    assert_eq!(accounts.json["items"][0]["id"], json!(account));
    let refused = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&reader),
            Some(json!({"account_id": account, "board_id": board, "image_url": "https://example.invalid/r.jpg"})),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.json["error"]["code"], json!("insufficient_scope"));
    assert!(
        refused.json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("posts:write") && m.contains("--scope posts:write")),
        "{}",
        refused.text
    );
    // Nothing was written.
    let listed = app.api(Method::GET, "/v1/posts", Some(&reader), None).await;
    assert_eq!(listed.json["items"], json!([]));
}
