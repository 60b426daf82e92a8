//! The API's description of itself: `/openapi.json` is OpenAPI 3.1 and agrees with the router
//! (every served operation documented, every documented operation served), real answers
//! validate against its schemas, and `/docs` presents every operation.

use std::collections::BTreeSet;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, eventually, received_types, receiver, spawn_app};

backend_tests!(
    the_document_is_openapi_3_1,
    the_document_and_the_router_agree,
    real_answers_match_their_schemas,
    the_reference_page_shows_every_operation,
    every_enum_the_api_serves_is_documented,
);

/// What the router serves, by hand: a route added to the server without documenting it (or
/// documented without being served) fails here and in the calls below.
const SERVED: &[(&str, &str)] = &[
    ("GET", "/v1/accounts"),
    ("POST", "/v1/accounts/connect"),
    ("GET", "/v1/accounts/{account_id}"),
    ("DELETE", "/v1/accounts/{account_id}"),
    ("POST", "/v1/accounts/{account_id}/refresh"),
    ("GET", "/v1/accounts/{account_id}/boards"),
    ("POST", "/v1/accounts/{account_id}/boards"),
    ("GET", "/v1/accounts/{account_id}/slots"),
    ("PUT", "/v1/accounts/{account_id}/slots"),
    ("DELETE", "/v1/accounts/{account_id}/slots"),
    ("POST", "/v1/accounts/{account_id}/access-token"),
    ("GET", "/v1/audit"),
    (
        "GET",
        "/v1/accounts/{account_id}/boards/{board_id}/sections",
    ),
    (
        "POST",
        "/v1/accounts/{account_id}/boards/{board_id}/sections",
    ),
    (
        "PATCH",
        "/v1/accounts/{account_id}/boards/{board_id}/sections/{section_id}",
    ),
    (
        "DELETE",
        "/v1/accounts/{account_id}/boards/{board_id}/sections/{section_id}",
    ),
    ("GET", "/v1/accounts/{account_id}/analytics"),
    ("GET", "/v1/accounts/{account_id}/rate-meter"),
    ("POST", "/v1/campaigns"),
    ("GET", "/v1/campaigns/{campaign_id}"),
    ("DELETE", "/v1/campaigns/{campaign_id}"),
    ("GET", "/v1/posts"),
    ("POST", "/v1/posts"),
    ("POST", "/v1/posts/batch"),
    ("GET", "/v1/posts/{post_id}"),
    ("PATCH", "/v1/posts/{post_id}"),
    ("DELETE", "/v1/posts/{post_id}"),
    ("GET", "/v1/posts/{post_id}/analytics"),
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{webhook_id}"),
    ("PATCH", "/v1/webhooks/{webhook_id}"),
    ("DELETE", "/v1/webhooks/{webhook_id}"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
    (
        "POST",
        "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    ),
    ("GET", "/v1/drafts"),
    ("POST", "/v1/drafts"),
    ("GET", "/v1/drafts/{id}"),
    ("PATCH", "/v1/drafts/{id}"),
    ("DELETE", "/v1/drafts/{id}"),
    ("GET", "/v1/drafts/{id}/image"),
    ("POST", "/v1/drafts/{id}/publish"),
    ("GET", "/oauth/callback"),
    ("GET", "/healthz"),
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn document(app: &TestApp) -> Value {
    let reply = app.api(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

/// Every (method, path) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item[method.to_ascii_lowercase()].is_object() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

async fn the_document_is_openapi_3_1(db: TestDatabase) {
    let app = spawn_app(db).await;
    let response = app
        .http
        .get(format!("{}/openapi.json", app.base_url))
        .send()
        .await
        .expect("openapi.json");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .starts_with("application/json")
    );
    let doc: Value = response.json().await.expect("JSON");
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(doc["info"]["title"], json!("pinline API"));
    assert!(doc["info"]["version"].is_string());
    // Every `$ref` points at something in the document.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').expect("a local $ref");
        assert!(doc.pointer(pointer).is_some(), "{reference} resolves");
    }
    // Every operation has an id, a tag and a summary; ids are unique; /v1 needs the API key.
    let mut ids = BTreeSet::new();
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][method.to_ascii_lowercase()];
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_owned()), "duplicate operation id {id}");
        assert!(operation["tags"][0].is_string(), "{id} has a tag");
        assert!(operation["summary"].is_string(), "{id} has a summary");
        // The API key, with the key scopes the operation needs (see `scopes.rs`).
        let secured = operation["security"][0]["api_key"]
            .as_array()
            .is_some_and(|scopes| !scopes.is_empty());
        assert_eq!(secured, path.starts_with("/v1/"), "{id}: security");
        if secured {
            for status in ["401", "403"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{id} documents {status}"
                );
            }
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        json!("bearer")
    );
    // Every component schema is a valid JSON Schema 2020-12.
    for name in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        validator(
            &doc,
            &json!({ "$ref": format!("#/components/schemas/{name}") }),
        );
    }
    let create = &doc["paths"]["/v1/posts"]["post"];
    assert!(
        create["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
    );
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                    _ => collect_refs(value, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

async fn the_document_and_the_router_agree(db: TestDatabase) {
    let app = spawn_app(db).await;
    let doc = document(&app).await;
    let served: BTreeSet<(String, String)> = SERVED
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(
        documented(&doc),
        served,
        "the document and SERVED disagree: a route added to the router belongs in both"
    );

    // Real ids, so that every call reaches its handler and finds what it names.
    let key = app.key_alpha.clone();
    let account = app.connected_account(&key, "maker").await;
    let account_id = account["id"].as_str().expect("account id").to_owned();
    let board = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/boards"),
            Some(&key),
            Some(json!({"name": "Recipes"})),
        )
        .await;
    assert_eq!(board.status, 201, "{}", board.text);
    let post = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&key),
            Some(json!({
                "account_id": account_id,
                "board_id": board.json["id"],
                "image_url": "https://example.invalid/tart.jpg",
                "publish_at": "2099-01-01T00:00:00Z",
            })),
        )
        .await;
    assert_eq!(post.status, 202, "{}", post.text);
    let webhook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&key),
            Some(json!({"url": "https://example.invalid/hook"})),
        )
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.text);
    let fill = |path: &str| {
        path.replace("{account_id}", &account_id)
            .replace("{board_id}", board.json["id"].as_str().expect("board id"))
            .replace("{post_id}", post.json["id"].as_str().expect("post id"))
            .replace(
                "{webhook_id}",
                webhook.json["id"].as_str().expect("webhook id"),
            )
    };

    // Every documented operation is served: never the router's 404 or 405. Deletions last, the
    // account's very last, so that each call still finds what it names.
    let mut operations: Vec<(String, String)> = documented(&doc).into_iter().collect();
    operations.sort_by_key(|(method, path)| {
        (
            method == "DELETE",
            path == "/v1/accounts/{account_id}",
            path.clone(),
        )
    });
    for (method, path) in &operations {
        let operation = &doc["paths"][path][method.to_ascii_lowercase()];
        let body = operation["requestBody"].is_object().then(|| json!({}));
        let reply = app
            .api(
                method.parse().expect("method"),
                &fill(path),
                Some(&key),
                body,
            )
            .await;
        let path_filled = fill(path);
        // The router's own 404 (no route) is never acceptable; a resource's 404 only where no
        // real id was at hand for a path parameter.
        let routed = reply.status != 405
            && !(reply.status == 404 && reply.json["error"]["message"] == "no such endpoint");
        assert!(
            routed && (reply.status != 404 || path_filled.contains('{')),
            "{method} {path} answered {}: {}",
            reply.status,
            reply.text
        );
        let documented_status = operation["responses"][reply.status.to_string()].is_object();
        assert!(
            documented_status,
            "{method} {path} answered {}, which it does not document: {}",
            reply.status, reply.text
        );
    }

    // Methods a documented path does not document are not served either.
    let paths: BTreeSet<&String> = operations.iter().map(|(_, path)| path).collect();
    for path in paths {
        for method in METHODS {
            if doc["paths"][path][method.to_ascii_lowercase()].is_object() {
                continue;
            }
            let reply = app
                .api(
                    method.parse().expect("method"),
                    &fill(path),
                    Some(&key),
                    None,
                )
                .await;
            assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
        }
    }
    // And nothing else under /v1 answers but with the API's 404.
    let missing = app
        .api(Method::GET, "/v1/nothing/here", Some(&key), None)
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json["error"]["code"], json!("not_found"));
}

/// A validator for `schema`, whose `$ref`s point into the document's components.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": doc["components"],
    });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|error| panic!("{schema} does not compile: {error}"))
}

/// Asserts that `reply` is a documented answer of `method path` and matches its schema.
fn assert_conforms(doc: &Value, method: &str, path: &str, reply: &Reply) {
    let response =
        &doc["paths"][path][method.to_ascii_lowercase()]["responses"][reply.status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} does not document {}: {}",
        reply.status,
        reply.text
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {}: a JSON body",
        reply.status
    );
    let validator = validator(doc, schema);
    let errors: Vec<String> = validator
        .iter_errors(&reply.json)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {} does not match its schema: {errors:?}\n{}",
        reply.status,
        reply.text
    );
}

async fn real_answers_match_their_schemas(db: TestDatabase) {
    let app = spawn_app(db).await;
    let doc = document(&app).await;
    let key = app.key_alpha.clone();
    let account = app.connected_account(&key, "maker").await;
    let account_id = account["id"].as_str().expect("account id").to_owned();
    let accounts = app.api(Method::GET, "/v1/accounts", Some(&key), None).await;
    assert_conforms(&doc, "GET", "/v1/accounts", &accounts);
    let board = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/boards"),
            Some(&key),
            Some(json!({"name": "Recipes", "privacy": "SECRET"})),
        )
        .await;
    assert_conforms(&doc, "POST", "/v1/accounts/{account_id}/boards", &board);
    let boards = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account_id}/boards"),
            Some(&key),
            None,
        )
        .await;
    assert_conforms(&doc, "GET", "/v1/accounts/{account_id}/boards", &boards);

    let post = json!({
        "account_id": account_id,
        "board_id": board.json["id"],
        "title": "Lemon tart",
        "link": "https://example.invalid/tart",
        "image_url": "https://example.invalid/tart.jpg",
        "publish_at": "2099-01-01T09:30:00+01:00",
    });
    let created = app
        .api(Method::POST, "/v1/posts", Some(&key), Some(post.clone()))
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    assert_conforms(&doc, "POST", "/v1/posts", &created);
    let id = created.json["id"].as_str().expect("id");
    let read = app
        .api(Method::GET, &format!("/v1/posts/{id}"), Some(&key), None)
        .await;
    assert_conforms(&doc, "GET", "/v1/posts/{post_id}", &read);
    let listed = app
        .api(Method::GET, "/v1/posts?limit=1", Some(&key), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_conforms(&doc, "GET", "/v1/posts", &listed);
    let batch = app
        .api(
            Method::POST,
            "/v1/posts/batch",
            Some(&key),
            Some(json!({"posts": [post, {"account_id": account_id}]})),
        )
        .await;
    assert_eq!(batch.json["refused"], json!(1), "{}", batch.text);
    assert_conforms(&doc, "POST", "/v1/posts/batch", &batch);

    // Refusals: a field too long (422), a bad query (422), no key (401), unknown post (404).
    let mut too_long = json!({"account_id": account_id, "title": "x".repeat(101)});
    too_long["board_id"] = board.json["id"].clone();
    let invalid = app
        .api(Method::POST, "/v1/posts", Some(&key), Some(too_long))
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.text);
    assert_eq!(invalid.json["error"]["field"], json!("title"));
    assert_conforms(&doc, "POST", "/v1/posts", &invalid);
    let bad_limit = app
        .api(Method::GET, "/v1/posts?limit=0", Some(&key), None)
        .await;
    assert_conforms(&doc, "GET", "/v1/posts", &bad_limit);
    let unauthorized = app.api(Method::GET, "/v1/posts", None, None).await;
    assert_eq!(unauthorized.status, 401);
    assert_conforms(&doc, "GET", "/v1/posts", &unauthorized);
    let missing = app
        .api(Method::GET, "/v1/posts/no-such-post", Some(&key), None)
        .await;
    assert_conforms(&doc, "GET", "/v1/posts/{post_id}", &missing);

    let webhook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&key),
            Some(json!({"url": "https://example.invalid/hook", "events": ["post.published"]})),
        )
        .await;
    assert_conforms(&doc, "POST", "/v1/webhooks", &webhook);
    let health = app.api(Method::GET, "/healthz", None, None).await;
    assert_conforms(&doc, "GET", "/healthz", &health);
}

async fn the_reference_page_shows_every_operation(db: TestDatabase) {
    let app = spawn_app(db).await;
    let doc = document(&app).await;
    let response = app
        .http
        .get(format!("{}/docs", app.base_url))
        .send()
        .await
        .expect("docs");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .starts_with("text/html")
    );
    let html = response.text().await.expect("html");
    assert!(html.starts_with("<!doctype html>"));
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][method.to_ascii_lowercase()];
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(
            html.contains(&format!("id=\"op-{id}\"")),
            "{id} on the page"
        );
        assert!(html.contains(&format!("<code>{id}</code>")), "{id} named");
    }
    for name in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "{name}");
    }
    // Self-contained: nothing is loaded from elsewhere.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=\"http"));
    assert!(!html.contains("<link"));
    let text = html_escape::decode_html_entities(&html);
    assert!(text.contains("curl -X POST \"$PINLINE_URL/v1/posts\""));
    assert!(text.contains("-H \"Idempotency-Key: "));
}

/// The values a documented enum allows (nulls left out): `components.schemas.<schema>` at the
/// property path `path` (`items` steps into an array).
fn documented_enum(doc: &Value, schema: &str, path: &[&str]) -> BTreeSet<String> {
    let mut at = &doc["components"]["schemas"][schema];
    for step in path {
        at = if *step == "items" {
            &at["items"]
        } else {
            &at["properties"][step]
        };
    }
    at["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema}.{} has no enum: {at}", path.join(".")))
        .iter()
        .filter_map(|value| value.as_str().map(str::to_owned))
        .collect()
}

fn names<'a>(values: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    values.into_iter().map(str::to_owned).collect()
}

async fn every_enum_the_api_serves_is_documented(db: TestDatabase) {
    use pinline_pinterest::ErrorClass;
    use pinline_store::{PostAttemptRow, PostRow, WebhookDeliveryRow};
    use pinline_vault::AccountStatus;

    let app = spawn_app(db).await;
    let doc = document(&app).await;

    // Each documented enum is exactly the list the code serves from.
    let classes = names(ErrorClass::ALL.map(ErrorClass::as_str));
    let statuses = names(
        [
            AccountStatus::Active,
            AccountStatus::Refreshing,
            AccountStatus::NeedsReauth,
            AccountStatus::Disconnected,
        ]
        .map(AccountStatus::as_str),
    );
    let post_statuses = names([
        PostRow::QUEUED,
        PostRow::PUBLISHING,
        PostRow::PUBLISHED,
        PostRow::FAILED,
        PostRow::HELD,
        PostRow::CANCELED,
        PostRow::DELETED,
    ]);
    let outcomes = names([
        PostAttemptRow::PUBLISHED,
        PostAttemptRow::RETRY,
        PostAttemptRow::FAILED,
        PostAttemptRow::HELD,
        PostAttemptRow::ADOPTED,
        PostAttemptRow::FENCED_OUT,
        PostAttemptRow::EDITED,
        PostAttemptRow::EDIT_RETRY,
        PostAttemptRow::EDIT_FAILED,
    ]);
    let events = names(pinline_webhooks::events::ALL.iter().copied());
    let mut filters = events.clone();
    filters.insert(pinline_webhooks::events::WILDCARD.to_owned());
    let deliveries = names([
        WebhookDeliveryRow::PENDING,
        WebhookDeliveryRow::DELIVERED,
        WebhookDeliveryRow::FAILED,
    ]);
    for (schema, path, expected) in [
        ("Account", &["status"][..], &statuses),
        ("AccountError", &["class"][..], &classes),
        ("Post", &["status"][..], &post_statuses),
        ("PostError", &["class"][..], &classes),
        ("Attempt", &["outcome"][..], &outcomes),
        ("Attempt", &["error_class"][..], &classes),
        ("Delivery", &["event"][..], &events),
        ("Delivery", &["status"][..], &deliveries),
        ("CreateWebhook", &["events", "items"][..], &filters),
    ] {
        assert_eq!(
            &documented_enum(&doc, schema, path),
            expected,
            "{schema}.{}",
            path.join(".")
        );
    }
    // The environment is a pattern: the three kinds pinline stores, and nothing else.
    let pattern = doc["components"]["schemas"]["Account"]["properties"]["environment"]["pattern"]
        .as_str()
        .expect("a pattern for Account.environment");
    let environment = validator(&doc, &json!({"type": "string", "pattern": pattern}));
    for stored in [
        "production",
        "pinterest_sandbox",
        "custom:http://127.0.0.1:9999",
    ] {
        assert!(environment.is_valid(&json!(stored)), "{stored} ~ {pattern}");
    }
    assert!(!environment.is_valid(&json!("sandbox")), "{pattern}");

    // And what is served falls inside them: an account (its environment), a post failed by
    // Pinterest (its attempt's outcome and class), a webhook's deliveries (their events).
    let key = app.key_alpha.clone();
    let (url, received) = receiver().await;
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&key),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let hook_id = hook.json["id"].as_str().expect("webhook id").to_owned();
    let account = app.connected_account(&key, "enums").await;
    let account_id = account["id"].as_str().expect("id").to_owned();
    assert!(
        account["environment"]
            .as_str()
            .is_some_and(|e| e.starts_with("custom:")),
        "{account}"
    );
    let shown = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account_id}"),
            Some(&key),
            None,
        )
        .await;
    assert_conforms(&doc, "GET", "/v1/accounts/{account_id}", &shown);
    let board = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/boards"),
            Some(&key),
            Some(json!({"name": "Enums"})),
        )
        .await;
    app.sandbox_control(
        "/faults",
        json!({"rules": [{"operation": "pins/create", "kind": "error", "status": 400, "code": 1, "count": 1}]}),
    )
    .await;
    let created = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&key),
            Some(json!({
                "account_id": account_id,
                "board_id": board.json["id"],
                "image_url": "https://example.invalid/e.jpg",
            })),
        )
        .await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    eventually(
        std::time::Duration::from_secs(20),
        "the post to fail",
        || async {
            app.api(Method::GET, &format!("/v1/posts/{id}"), Some(&key), None)
                .await
                .json["status"]
                == json!("failed")
        },
    )
    .await;
    let failed = app
        .api(Method::GET, &format!("/v1/posts/{id}"), Some(&key), None)
        .await;
    assert_eq!(
        failed.json["attempt_log"][0]["error_class"],
        json!("validation")
    );
    assert_conforms(&doc, "GET", "/v1/posts/{post_id}", &failed);
    eventually(
        std::time::Duration::from_secs(20),
        "the webhooks",
        || async {
            let types = received_types(&received);
            types.iter().any(|t| t == "account.connected")
                && types.iter().any(|t| t == "post.failed")
        },
    )
    .await;
    let log = app
        .api(
            Method::GET,
            &format!("/v1/webhooks/{hook_id}/deliveries"),
            Some(&key),
            None,
        )
        .await;
    assert_conforms(&doc, "GET", "/v1/webhooks/{webhook_id}/deliveries", &log);
}
