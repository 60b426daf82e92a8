//! Every operation's responses, success and error, validated against the schemas in Pinterest's
//! OpenAPI description (read from `../shared/pinterest/openapi-v5.yaml`, never copied).

use std::sync::OnceLock;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support::{Reply, TestSandbox, pin_body};

struct Spec {
    components: Value,
    paths: Value,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/pinterest/openapi-v5.yaml"
        );
        let text = std::fs::read_to_string(path).expect("Pinterest's OpenAPI description");
        let document: Value = serde_yaml::from_str(&text).expect("valid YAML");
        Spec {
            components: to_json_schema(&document["components"]),
            paths: document["paths"].clone(),
        }
    })
}

/// OpenAPI 3.0 → JSON Schema: `nullable: true` becomes "or null".
fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            let converted: Map<String, Value> = map
                .iter()
                .filter(|(key, _)| key.as_str() != "nullable")
                .map(|(key, value)| (key.clone(), to_json_schema(value)))
                .collect();
            if nullable {
                json!({ "anyOf": [Value::Object(converted), { "type": "null" }] })
            } else {
                Value::Object(converted)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

fn resolve<'a>(value: &'a Value, document_components: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let mut target = document_components;
            for part in reference.trim_start_matches("#/components/").split('/') {
                target = &target[part];
            }
            target
        }
        None => value,
    }
}

/// Asserts that `reply` is a response the spec allows for `operation_id`.
fn check(operation_id: &str, reply: &Reply) {
    let errors = violations(operation_id, reply);
    assert!(
        errors.is_empty(),
        "{operation_id} {} does not match the spec: {errors:#?}\n{}",
        reply.status,
        reply.text
    );
}

/// What is wrong with `reply` as a response of `operation_id`.
fn violations(operation_id: &str, reply: &Reply) -> Vec<String> {
    let spec = spec();
    let operation = spec
        .paths
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
        .unwrap_or_else(|| panic!("{operation_id} is in the spec"));
    let responses = &operation["responses"];
    let status = reply.status.as_u16().to_string();
    let response = responses
        .get(&status)
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| panic!("{operation_id}: status {status} is not in the spec"));
    let response = resolve(response, &spec.components);
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        if reply.text.is_empty() {
            return Vec::new();
        }
        return vec![format!("no body expected, got {}", reply.text)];
    };
    let root = json!({ "components": spec.components, "allOf": [to_json_schema(schema)] });
    let validator = jsonschema::validator_for(&root).expect("schema compiles");
    validator
        .iter_errors(&reply.json)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect()
}

#[test]
fn the_checker_catches_wrong_shapes() {
    let reply = |status: u16, body: Value| Reply {
        status: StatusCode::from_u16(status).unwrap(),
        headers: Default::default(),
        text: body.to_string(),
        json: body,
    };
    assert!(!violations("boards/get", &reply(200, json!({ "id": "1" }))).is_empty());
    assert!(!violations("pins/get", &reply(200, json!({ "id": "1", "title": 5 }))).is_empty());
    assert!(!violations("pins/get", &reply(200, json!({ "id": "x1" }))).is_empty());
    assert!(!violations("pins/get", &reply(404, json!({ "message": "no code" }))).is_empty());
    assert!(violations("pins/get", &reply(200, json!({ "id": "1", "title": null }))).is_empty());
}

#[tokio::test]
async fn every_operation_answers_as_the_spec_says() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let mut seen: Vec<(&str, Reply)> = Vec::new();

    let refreshed = sandbox.refresh(&tokens.refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    seen.push(("oauth/token", refreshed));
    seen.push(("oauth/token", sandbox.refresh("pinr_unknown").await));
    seen.push((
        "oauth/token",
        sandbox
            .token_request(&[("grant_type", "refresh_token")], Some(("x", "y")))
            .await,
    ));

    seen.push((
        "user_account/get",
        sandbox.get(token, "/user_account").await,
    ));
    seen.push((
        "user_account/get",
        sandbox.get("pina_bad", "/user_account").await,
    ));

    let board = sandbox
        .post(
            token,
            "/boards",
            json!({ "name": "Recipes", "description": null }),
        )
        .await;
    let board_id = board.json["id"].as_str().unwrap().to_owned();
    seen.push(("boards/create", board));
    seen.push((
        "boards/create",
        sandbox.post(token, "/boards", json!({})).await,
    ));
    seen.push(("boards/list", sandbox.get(token, "/boards").await));
    seen.push((
        "boards/get",
        sandbox.get(token, &format!("/boards/{board_id}")).await,
    ));
    seen.push(("boards/get", sandbox.get(token, "/boards/1").await));
    seen.push((
        "boards/update",
        sandbox
            .call(
                Method::PATCH,
                Some(token),
                &format!("/boards/{board_id}"),
                Some(json!({ "description": "Food" })),
            )
            .await,
    ));

    let section = sandbox
        .post(
            token,
            &format!("/boards/{board_id}/sections"),
            json!({ "name": "Salads" }),
        )
        .await;
    let section_id = section.json["id"].as_str().unwrap().to_owned();
    seen.push(("board_sections/create", section));
    seen.push((
        "board_sections/list",
        sandbox
            .get(token, &format!("/boards/{board_id}/sections"))
            .await,
    ));
    seen.push((
        "board_sections/update",
        sandbox
            .call(
                Method::PATCH,
                Some(token),
                &format!("/boards/{board_id}/sections/{section_id}"),
                Some(json!({ "name": "Soups" })),
            )
            .await,
    ));

    let mut body = pin_body(&board_id);
    body["board_section_id"] = json!(section_id);
    let pin = sandbox.post(token, "/pins", body).await;
    let pin_id = pin.json["id"].as_str().unwrap().to_owned();
    seen.push(("pins/create", pin));
    let carousel = json!({ "board_id": board_id, "media_source": { "source_type": "multiple_image_urls", "items": [
        { "url": "https://example.com/1.jpg" }, { "url": "https://example.com/2.jpg" } ] } });
    seen.push(("pins/create", sandbox.post(token, "/pins", carousel).await));
    seen.push((
        "pins/create",
        sandbox
            .post(token, "/pins", json!({ "board_id": "x" }))
            .await,
    ));
    seen.push((
        "pins/get",
        sandbox.get(token, &format!("/pins/{pin_id}")).await,
    ));
    seen.push(("pins/get", sandbox.get(token, "/pins/1").await));
    seen.push(("pins/list", sandbox.get(token, "/pins?page_size=1").await));
    seen.push((
        "pins/update",
        sandbox
            .call(
                Method::PATCH,
                Some(token),
                &format!("/pins/{pin_id}"),
                Some(json!({ "alt_text": "A salad" })),
            )
            .await,
    ));
    seen.push((
        "boards/list_pins",
        sandbox
            .get(token, &format!("/boards/{board_id}/pins"))
            .await,
    ));
    seen.push((
        "board_sections/list_pins",
        sandbox
            .get(
                token,
                &format!("/boards/{board_id}/sections/{section_id}/pins"),
            )
            .await,
    ));

    let media = sandbox
        .post(token, "/media", json!({ "media_type": "video" }))
        .await;
    let media_id = media.json["media_id"].as_str().unwrap().to_owned();
    let upload_url = media.json["upload_url"].as_str().unwrap().to_owned();
    seen.push(("media/create", media));
    sandbox
        .http
        .post(&upload_url)
        .body("video")
        .send()
        .await
        .unwrap();
    seen.push((
        "media/get",
        sandbox.get(token, &format!("/media/{media_id}")).await,
    ));
    seen.push(("media/list", sandbox.get(token, "/media").await));
    let mut video = pin_body(&board_id);
    video["media_source"] = json!({ "source_type": "video_id", "media_id": media_id });
    seen.push(("pins/create", sandbox.post(token, "/pins", video).await));

    seen.push((
        "pins/delete",
        sandbox
            .call(
                Method::DELETE,
                Some(token),
                &format!("/pins/{pin_id}"),
                None,
            )
            .await,
    ));
    seen.push((
        "board_sections/delete",
        sandbox
            .call(
                Method::DELETE,
                Some(token),
                &format!("/boards/{board_id}/sections/{section_id}"),
                None,
            )
            .await,
    ));
    seen.push((
        "boards/delete",
        sandbox
            .call(
                Method::DELETE,
                Some(token),
                &format!("/boards/{board_id}"),
                None,
            )
            .await,
    ));

    let revoke = sandbox
        .http
        .post(format!("{}/v5/oauth/token/revoke", sandbox.base))
        .basic_auth("1000001", Some("sandbox-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    seen.push(("token/revoke", TestSandbox::read(revoke).await));

    for (operation_id, reply) in &seen {
        check(operation_id, reply);
    }
    assert!(seen.len() >= 30);
}
