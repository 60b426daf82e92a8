//! Every operation's responses, success and error, validated against the schemas in Pinterest's
//! OpenAPI description, as `pinline_spec::Spec` reads and checks it (the spec is never copied).
//! Coverage is asserted, not counted: every operation in the facts table must have answered with
//! success, and 401, 403 (codes 3 and 29), 404 and 429 answers must have been checked too.

use std::time::Duration;

use pinline_pinterest::facts::{RateLimitCategory, operations};
use pinline_sandbox::{Rate, SandboxConfig};
use pinline_spec::Spec;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TINY_PNG_BASE64, TestSandbox, pin_body};

/// Pinterest's OpenAPI description, loaded once per test process.
fn spec() -> &'static Spec {
    Spec::shared().unwrap_or_else(|error| panic!("Pinterest's OpenAPI description: {error}"))
}

/// What is wrong with `reply` as a response of `operation_id` (empty when it conforms).
fn violations(operation_id: &str, reply: &Reply) -> Vec<String> {
    spec()
        .validate_response(
            operation_id,
            reply.status.as_u16(),
            reply.header("content-type"),
            reply.text.as_bytes(),
        )
        .err()
        .unwrap_or_default()
}

/// What is wrong with `reply`, each finding labelled with the operation, status and body.
fn check(operation_id: &str, reply: &Reply) -> Vec<String> {
    violations(operation_id, reply)
        .into_iter()
        .map(|error| {
            format!(
                "{operation_id} {}: {error}\n    body: {}",
                reply.status, reply.text
            )
        })
        .collect()
}

/// A JSON reply as the sandbox would send it, for checking the checker.
fn json_reply(status: u16, body: &Value) -> Reply {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    Reply {
        status: StatusCode::from_u16(status).unwrap(),
        headers,
        text: body.to_string(),
        json: body.clone(),
    }
}

#[test]
fn the_checker_catches_wrong_shapes() {
    assert!(!violations("boards/get", &json_reply(200, &json!({ "id": "1" }))).is_empty());
    assert!(
        !violations(
            "pins/get",
            &json_reply(200, &json!({ "id": "1", "title": 5 }))
        )
        .is_empty()
    );
    assert!(!violations("pins/get", &json_reply(200, &json!({ "id": "x1" }))).is_empty());
    assert!(
        !violations(
            "pins/get",
            &json_reply(404, &json!({ "message": "no code" }))
        )
        .is_empty()
    );
    assert!(
        violations(
            "pins/get",
            &json_reply(200, &json!({ "id": "1", "title": null }))
        )
        .is_empty()
    );
    // `boards/update` answers a `BoardWithUpdatePrivacy`: PROTECTED is not among its values.
    let protected = json!({ "id": "1", "name": "Ads", "privacy": "PROTECTED" });
    assert!(!violations("boards/update", &json_reply(200, &protected)).is_empty());
    assert!(violations("boards/get", &json_reply(200, &protected)).is_empty());
    // A deliberately broken Pin: a created_at that is not a date-time.
    let broken_pin = json!({ "id": "1", "created_at": "yesterday", "title": "Salad" });
    assert!(!violations("pins/get", &json_reply(200, &broken_pin)).is_empty());
    // No body is declared for a 204: even `{}` is wrong.
    assert!(!violations("pins/delete", &json_reply(204, &json!({}))).is_empty());
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
    // A token endpoint failing on purpose still answers in the spec's shape.
    sandbox
        .set_faults(json!({ "rules": [
            { "operation": "oauth/token", "kind": "error", "status": 500, "count": 1 }
        ] }))
        .await;
    let failed = sandbox.refresh("pinr_unknown").await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    seen.push(("oauth/token", failed));

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
                Some(json!({ "description": "Food", "privacy": "SECRET" })),
            )
            .await,
    ));
    seen.push((
        "boards/update",
        sandbox
            .call(
                Method::PATCH,
                Some(token),
                &format!("/boards/{board_id}"),
                Some(json!({ "privacy": "PROTECTED" })),
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
        { "url": "https://example.invalid/1.jpg" }, { "url": "https://example.invalid/2.jpg" } ] } });
    seen.push(("pins/create", sandbox.post(token, "/pins", carousel).await));
    let mut inline = pin_body(&board_id);
    inline["media_source"] = json!({ "source_type": "image_base64", "content_type": "image/png", "data": TINY_PNG_BASE64 });
    seen.push(("pins/create", sandbox.post(token, "/pins", inline).await));
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
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8; 64]).file_name("v.mp4"),
    );
    let uploaded = sandbox
        .http
        .post(&upload_url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::NO_CONTENT);
    seen.push((
        "media/get",
        sandbox.get(token, &format!("/media/{media_id}")).await,
    ));
    seen.push(("media/list", sandbox.get(token, "/media").await));
    let mut video = pin_body(&board_id);
    video["media_source"] = json!({ "source_type": "video_id", "media_id": media_id });
    seen.push(("pins/create", sandbox.post(token, "/pins", video).await));

    let today = time::OffsetDateTime::now_utc().date();
    let week_ago = today - time::Duration::days(7);
    seen.push((
        "pins/analytics",
        sandbox
            .get(
                token,
                &format!(
                    "/pins/{pin_id}/analytics?start_date={week_ago}&end_date={today}&metric_types=IMPRESSION,SAVE,SAVE_RATE"
                ),
            )
            .await,
    ));
    seen.push((
        "pins/analytics",
        sandbox
            .get(
                token,
                &format!("/pins/{pin_id}/analytics?start_date={week_ago}&end_date={today}"),
            )
            .await,
    ));
    seen.push((
        "user_account/analytics",
        sandbox
            .get(
                token,
                &format!("/user_account/analytics?start_date={week_ago}&end_date={today}"),
            )
            .await,
    ));
    let too_old = today - time::Duration::days(91);
    seen.push((
        "user_account/analytics",
        sandbox
            .get(
                token,
                &format!("/user_account/analytics?start_date={too_old}&end_date={today}"),
            )
            .await,
    ));
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

    // `token/revoke`: refused for an ordinary user's token (403 code 29), done for a system
    // user's (200, no content).
    seen.push(("token/revoke", sandbox.revoke(token, "access_token").await));
    let ops = sandbox.create_system_user("ops").await;
    let ops_tokens = sandbox.mint(&ops, &["user_accounts:read"]).await;
    seen.push((
        "token/revoke",
        sandbox.revoke(&ops_tokens.refresh, "refresh_token").await,
    ));

    // A token without the operation's scopes: 403 code 3.
    let narrow = sandbox
        .mint(
            &sandbox.create_user("narrow").await,
            &["user_accounts:read"],
        )
        .await;
    seen.push(("boards/list", sandbox.get(&narrow.access, "/boards").await));
    seen.push((
        "pins/create",
        sandbox.post(&narrow.access, "/pins", pin_body("1")).await,
    ));

    // Over the rate limit: 429 code 8, from a sandbox with a budget of one read a minute.
    let limited = TestSandbox::with(SandboxConfig {
        rates: vec![(
            RateLimitCategory::OrgRead,
            Rate {
                count: 1,
                per: Duration::from_secs(60),
            },
        )],
        ..SandboxConfig::default()
    })
    .await;
    let (_, limited_tokens) = limited.user_with_token("alice").await;
    seen.push((
        "boards/list",
        limited.get(&limited_tokens.access, "/boards").await,
    ));
    seen.push((
        "boards/list",
        limited.get(&limited_tokens.access, "/boards").await,
    ));

    let errors: Vec<String> = seen
        .iter()
        .flat_map(|(operation_id, reply)| check(operation_id, reply))
        .collect();
    assert!(
        errors.is_empty(),
        "responses that do not match the spec:\n{}",
        errors.join("\n")
    );

    // Every operation the sandbox implements answered with success at least once above.
    let unexercised: Vec<&str> = operations::ALL
        .iter()
        .map(|operation| operation.id)
        .filter(|id| {
            !seen
                .iter()
                .any(|(seen_id, reply)| seen_id == id && reply.status.is_success())
        })
        .collect();
    assert!(
        unexercised.is_empty(),
        "operations never answered with success: {unexercised:?}"
    );
    // And each kind of refusal a client must handle was among the validated replies.
    for (status, code, what) in [
        (401, Some(2), "a bad token"),
        (403, Some(3), "a missing scope"),
        (403, Some(29), "a revocation that is not permitted"),
        (404, None, "something that does not exist"),
        (429, Some(8), "the rate limit"),
    ] {
        assert!(
            seen.iter().any(|(_, reply)| reply.status.as_u16() == status
                && code.is_none_or(|code| reply.json["code"] == code)),
            "no {status} reply for {what} was validated"
        );
    }
}
