//! Boards, sections, pins and media: response shapes, scopes, secret boards, ownership, field
//! validation and paging.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{ALL_SCOPES, TINY_JPEG_BASE64, TINY_PNG_BASE64, TestSandbox, pin_body};

fn is_digits(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

fn is_rfc3339(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
    })
}

#[tokio::test]
async fn requests_without_a_live_token_get_the_pinterest_401() {
    let sandbox = TestSandbox::start().await;
    let reply = sandbox.call(Method::GET, None, "/boards", None).await;
    assert_eq!(reply.assert_error(401, 2), "Authentication failed.");
    sandbox
        .get("pina_not-a-token", "/pins")
        .await
        .assert_error(401, 2);
    assert_eq!(reply.header("x-ratelimit-category"), Some("org_read"));
}

#[tokio::test]
async fn boards_and_pins_have_the_spec_shapes() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let board = sandbox
        .post(
            &tokens.access,
            "/boards",
            json!({ "name": "Recipes", "description": "Food" }),
        )
        .await;
    assert_eq!(board.status, StatusCode::CREATED);
    assert_eq!(board.header("x-ratelimit-category"), Some("org_write"));
    assert!(is_digits(&board.json["id"]));
    assert_eq!(board.json["privacy"], "PUBLIC");
    assert_eq!(board.json["owner"]["username"], "alice");
    assert!(is_rfc3339(&board.json["created_at"]));
    assert_eq!(board.json["pin_count"], 0);
    let board_id = board.json["id"].as_str().unwrap();

    let pin = sandbox.create_pin(&tokens.access, board_id).await;
    assert_eq!(pin.status, StatusCode::CREATED, "{}", pin.text);
    assert!(is_digits(&pin.json["id"]));
    assert_eq!(pin.json["board_id"], board_id);
    assert!(is_rfc3339(&pin.json["created_at"]));
    assert_eq!(pin.json["media"]["media_type"], "image");
    for nullable in [
        "description",
        "alt_text",
        "board_section_id",
        "dominant_color",
        "parent_pin_id",
    ] {
        assert_eq!(
            pin.json[nullable],
            Value::Null,
            "{nullable} is present and null"
        );
        assert!(pin.json.as_object().unwrap().contains_key(nullable));
    }
    let pin_id = pin.json["id"].as_str().unwrap();

    let fetched = sandbox
        .get(&tokens.access, &format!("/pins/{pin_id}"))
        .await;
    assert_eq!(fetched.json, pin.json);
    let board = sandbox
        .get(&tokens.access, &format!("/boards/{board_id}"))
        .await;
    assert_eq!(board.json["pin_count"], 1);

    let updated = sandbox
        .call(
            Method::PATCH,
            Some(&tokens.access),
            &format!("/pins/{pin_id}"),
            Some(json!({ "title": "Renamed", "description": null })),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json["title"], "Renamed");

    let deleted = sandbox
        .call(
            Method::DELETE,
            Some(&tokens.access),
            &format!("/pins/{pin_id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    sandbox
        .get(&tokens.access, &format!("/pins/{pin_id}"))
        .await
        .assert_error(404, 50);
    let stats = sandbox.stats().await;
    assert_eq!(stats["pins_created"], 1);
    assert_eq!(stats["pins_deleted"], 1);
}

#[tokio::test]
async fn missing_scopes_are_named() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let full = sandbox.mint(&alice, ALL_SCOPES).await;
    let board = sandbox
        .create_board(&full.access, "Recipes", "PUBLIC")
        .await;
    let read_only = sandbox
        .mint(&alice, &["boards:read", "boards:write", "pins:read"])
        .await;
    let reply = sandbox.create_pin(&read_only.access, &board).await;
    let message = reply.assert_error(403, 3);
    assert!(message.contains("pins:write"), "{message}");
    assert!(!message.contains("boards:write"), "{message}");
    let no_account = sandbox.mint(&alice, &["pins:read"]).await;
    assert!(
        sandbox
            .get(&no_account.access, "/user_account")
            .await
            .assert_error(403, 3)
            .contains("user_accounts:read")
    );
}

#[tokio::test]
async fn secret_boards_need_the_secret_scopes() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let public_only = sandbox
        .mint(
            &alice,
            &["boards:read", "boards:write", "pins:read", "pins:write"],
        )
        .await;
    let creating = sandbox
        .post(
            &public_only.access,
            "/boards",
            json!({ "name": "Hidden", "privacy": "SECRET" }),
        )
        .await;
    assert!(
        creating
            .assert_error(403, 3)
            .contains("boards:write_secret")
    );

    let full = sandbox.mint(&alice, ALL_SCOPES).await;
    let secret = sandbox.create_board(&full.access, "Hidden", "SECRET").await;
    let public = sandbox.create_board(&full.access, "Open", "PUBLIC").await;
    assert_eq!(
        sandbox.create_pin(&full.access, &secret).await.status,
        StatusCode::CREATED
    );

    // Without read_secret the board is invisible: 404 and absent from lists.
    sandbox
        .get(&public_only.access, &format!("/boards/{secret}"))
        .await
        .assert_error(404, 40);
    let list = sandbox.get(&public_only.access, "/boards").await;
    let ids: Vec<&str> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![public.as_str()]);
    assert_eq!(
        sandbox.get(&public_only.access, "/pins").await.json["items"],
        json!([])
    );
    // Writing to it names the missing _secret scopes.
    let message = sandbox
        .create_pin(&public_only.access, &secret)
        .await
        .assert_error(403, 3)
        .to_owned();
    for scope in ["boards:write_secret", "pins:write_secret"] {
        assert!(message.contains(scope), "{message}");
    }
    // With the secret scopes everything is visible.
    assert_eq!(
        sandbox.get(&full.access, "/boards").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        sandbox
            .get(&full.access, &format!("/boards/{secret}/pins"))
            .await
            .json["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn accounts_only_see_their_own_objects() {
    let sandbox = TestSandbox::start().await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let (_, bob) = sandbox.user_with_token("bob").await;
    let board = sandbox.create_board(&alice.access, "Mine", "PUBLIC").await;
    let pin = sandbox.create_pin(&alice.access, &board).await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    sandbox
        .get(&bob.access, &format!("/boards/{board}"))
        .await
        .assert_error(404, 40);
    sandbox
        .create_pin(&bob.access, &board)
        .await
        .assert_error(404, 40);
    sandbox
        .get(&bob.access, &format!("/pins/{pin}"))
        .await
        .assert_error(404, 50);
    sandbox
        .call(
            Method::DELETE,
            Some(&bob.access),
            &format!("/pins/{pin}"),
            None,
        )
        .await
        .assert_error(404, 50);
    sandbox
        .call(
            Method::DELETE,
            Some(&bob.access),
            &format!("/boards/{board}"),
            None,
        )
        .await
        .assert_error(404, 40);
    assert_eq!(
        sandbox.get(&bob.access, "/pins").await.json["items"],
        json!([])
    );
    assert_eq!(
        sandbox.get(&alice.access, "/pins").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// One validation case: a body change, the expected field named in the 400 message.
async fn check_invalid(sandbox: &TestSandbox, token: &str, path: &str, body: Value, field: &str) {
    let reply = sandbox.post(token, path, body.clone()).await;
    let message = reply.assert_error(400, 1);
    assert!(message.contains(field), "{body} → {message}");
}

#[tokio::test]
async fn invalid_fields_are_refused_with_the_field_named() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Recipes", "PUBLIC").await;
    let other_board = sandbox.create_board(token, "Other", "PUBLIC").await;
    let section = sandbox
        .post(
            token,
            &format!("/boards/{other_board}/sections"),
            json!({ "name": "Salads" }),
        )
        .await;
    assert_eq!(section.status, StatusCode::CREATED);
    let section = section.json["id"].as_str().unwrap().to_owned();

    let with = |changes: Value| {
        let mut body = pin_body(&board);
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (with(json!({ "title": "t".repeat(101) })), "title"),
        (
            with(json!({ "description": "d".repeat(801) })),
            "description",
        ),
        (with(json!({ "alt_text": "a".repeat(501) })), "alt_text"),
        (
            with(json!({ "link": format!("https://example.invalid/{}", "l".repeat(2040)) })),
            "link",
        ),
        (with(json!({ "link": "not a url" })), "link"),
        (with(json!({ "board_id": "Summer recipes" })), "board_id"),
        (with(json!({ "board_id": null })), "board_id"),
        (
            with(json!({ "board_section_id": section })),
            "board_section_id",
        ),
        (with(json!({ "media_source": null })), "media_source"),
        (
            with(json!({ "media_source": { "source_type": "image_url" } })),
            "media_source.url",
        ),
        (
            with(json!({ "media_source": { "source_type": "carrier_pigeon" } })),
            "source_type",
        ),
        (
            with(
                json!({ "media_source": { "source_type": "multiple_image_urls", "items": [{ "url": "https://example.invalid/1.jpg" }] } }),
            ),
            "items",
        ),
        (
            with(
                json!({ "media_source": { "source_type": "image_base64", "content_type": "image/gif", "data": "AAAA" } }),
            ),
            "content_type",
        ),
        (
            with(json!({ "media_source": { "source_type": "video_id", "media_id": "123" } })),
            "media_id",
        ),
    ];
    for (body, field) in cases {
        check_invalid(&sandbox, token, "/pins", body, field).await;
    }
    // Exactly at the limits is fine.
    let at_limits = with(
        json!({ "title": "t".repeat(100), "description": "d".repeat(800), "alt_text": "a".repeat(500) }),
    );
    assert_eq!(
        sandbox.post(token, "/pins", at_limits).await.status,
        StatusCode::CREATED
    );
    let carousel = with(
        json!({ "media_source": { "source_type": "multiple_image_urls", "items": [
        { "url": "https://example.invalid/1.jpg" }, { "url": "https://example.invalid/2.jpg", "title": "two" } ] } }),
    );
    let carousel = sandbox.post(token, "/pins", carousel).await;
    assert_eq!(carousel.status, StatusCode::CREATED, "{}", carousel.text);
    assert_eq!(carousel.json["media"]["media_type"], "multiple_images");

    check_invalid(
        &sandbox,
        token,
        "/boards",
        json!({ "description": "no name" }),
        "name",
    )
    .await;
    check_invalid(
        &sandbox,
        token,
        "/boards",
        json!({ "name": "X", "privacy": "HIDDEN" }),
        "privacy",
    )
    .await;
    check_invalid(
        &sandbox,
        token,
        "/boards",
        json!({ "name": "recipes" }),
        "name",
    )
    .await;

    // Malformed JSON is a 400, never a 500.
    let raw = sandbox
        .http
        .post(format!("{}/v5/pins", sandbox.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{\"board_id\": ")
        .send()
        .await
        .unwrap();
    TestSandbox::read(raw).await.assert_error(400, 1);
    sandbox
        .get(token, "/pins/not-digits")
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn base64_images_must_be_the_declared_type() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Recipes", "PUBLIC").await;
    let with_source = |source: Value| {
        let mut body = pin_body(&board);
        body["media_source"] = source;
        body
    };
    let single = |content_type: &str, data: &str| {
        with_source(
            json!({ "source_type": "image_base64", "content_type": content_type, "data": data }),
        )
    };
    let item =
        |content_type: &str, data: &str| json!({ "content_type": content_type, "data": data });

    for (body, media_type) in [
        (single("image/png", TINY_PNG_BASE64), "image"),
        (single("image/jpeg", TINY_JPEG_BASE64), "image"),
        (
            with_source(json!({ "source_type": "multiple_image_base64", "items": [
                item("image/png", TINY_PNG_BASE64), item("image/jpeg", TINY_JPEG_BASE64) ] })),
            "multiple_images",
        ),
    ] {
        let reply = sandbox.post(token, "/pins", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.json["media"]["media_type"], media_type);
    }

    let cases = [
        // Real images with the other type declared.
        (single("image/jpeg", TINY_PNG_BASE64), "'media_source.data'"),
        (single("image/png", TINY_JPEG_BASE64), "'media_source.data'"),
        // Valid base64 that is no image at all.
        (single("image/png", "AAAA"), "'media_source.data'"),
        (single("image/jpeg", "iVBO"), "'media_source.data'"),
        (single("image/png", "not base64!"), "'media_source.data'"),
        (
            with_source(json!({ "source_type": "multiple_image_base64", "items": [
                item("image/png", TINY_PNG_BASE64), item("image/png", TINY_JPEG_BASE64) ] })),
            "'media_source.items[1].data'",
        ),
        (
            with_source(json!({ "source_type": "multiple_image_base64", "items": [
                item("image/gif", TINY_PNG_BASE64), item("image/png", TINY_PNG_BASE64) ] })),
            "'media_source.items[0].content_type'",
        ),
        (
            with_source(
                json!({ "source_type": "video_id", "media_id": "1", "cover_image_data": "AAAA" }),
            ),
            "'media_source.cover_image_data'",
        ),
        (
            with_source(json!({ "source_type": "video_id", "media_id": "1",
                "cover_image_content_type": "image/jpeg", "cover_image_data": TINY_PNG_BASE64 })),
            "'media_source.cover_image_data'",
        ),
        (
            with_source(json!({ "source_type": "video_id", "media_id": "1",
                "cover_image_content_type": "image/webp", "cover_image_data": TINY_PNG_BASE64 })),
            "'media_source.cover_image_content_type'",
        ),
    ];
    for (body, field) in cases {
        check_invalid(&sandbox, token, "/pins", body, field).await;
    }
    assert_eq!(sandbox.stats().await["pins_created"], 3);
}

#[tokio::test]
async fn lists_page_with_bookmarks() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let board = sandbox.create_board(&tokens.access, "Many", "PUBLIC").await;
    let mut created = Vec::new();
    for _ in 0..60 {
        let pin = sandbox.create_pin(&tokens.access, &board).await;
        created.push(pin.json["id"].as_str().unwrap().to_owned());
    }
    for path in [format!("/boards/{board}/pins"), "/pins".to_owned()] {
        let mut seen = Vec::new();
        let mut bookmark: Option<String> = None;
        let mut pages = 0;
        loop {
            let url = match &bookmark {
                Some(b) => format!("{path}?bookmark={b}"),
                None => path.clone(),
            };
            let page = sandbox.get(&tokens.access, &url).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            pages += 1;
            let items = page.json["items"].as_array().unwrap();
            assert!(items.len() <= 25);
            seen.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
            match page.json["bookmark"].as_str() {
                Some(b) => bookmark = Some(b.to_owned()),
                None => {
                    assert_eq!(page.json["bookmark"], Value::Null);
                    break;
                }
            }
        }
        assert_eq!(pages, 3);
        let newest_first: Vec<String> = created.iter().rev().cloned().collect();
        assert_eq!(seen, newest_first);
    }
    let big = sandbox.get(&tokens.access, "/pins?page_size=250").await;
    assert_eq!(big.json["items"].as_array().unwrap().len(), 60);
    assert!(
        sandbox
            .get(&tokens.access, "/pins?page_size=251")
            .await
            .assert_error(400, 1)
            .contains("page_size")
    );
    assert!(
        sandbox
            .get(&tokens.access, "/pins?bookmark=garbage")
            .await
            .assert_error(400, 1)
            .contains("bookmark")
    );
}

#[tokio::test]
async fn sections_and_board_changes() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Recipes", "PUBLIC").await;
    let section = sandbox
        .post(
            token,
            &format!("/boards/{board}/sections"),
            json!({ "name": "Salads" }),
        )
        .await;
    assert_eq!(section.status, StatusCode::CREATED);
    let section_id = section.json["id"].as_str().unwrap().to_owned();
    sandbox
        .post(
            token,
            &format!("/boards/{board}/sections"),
            json!({ "name": "Salads" }),
        )
        .await
        .assert_error(409, 409);
    let mut body = pin_body(&board);
    body["board_section_id"] = json!(section_id);
    assert_eq!(
        sandbox.post(token, "/pins", body).await.json["board_section_id"],
        section_id.as_str()
    );
    let in_section = sandbox
        .get(
            token,
            &format!("/boards/{board}/sections/{section_id}/pins"),
        )
        .await;
    assert_eq!(in_section.json["items"].as_array().unwrap().len(), 1);
    let sections = sandbox
        .get(token, &format!("/boards/{board}/sections"))
        .await;
    assert_eq!(sections.json["items"][0]["name"], "Salads");
    let renamed = sandbox
        .call(
            Method::PATCH,
            Some(token),
            &format!("/boards/{board}/sections/{section_id}"),
            Some(json!({ "name": "Soups" })),
        )
        .await;
    assert_eq!(renamed.json["name"], "Soups");

    let updated = sandbox
        .call(
            Method::PATCH,
            Some(token),
            &format!("/boards/{board}"),
            Some(json!({ "name": "Food", "privacy": "SECRET" })),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json["privacy"], "SECRET");
    sandbox
        .call(
            Method::PATCH,
            Some(token),
            &format!("/boards/{board}"),
            Some(json!({ "privacy": "PROTECTED" })),
        )
        .await
        .assert_error(400, 1);
    assert_eq!(
        sandbox.get(token, &format!("/boards/{board}")).await.json["privacy"],
        "SECRET"
    );

    let deleted = sandbox
        .call(
            Method::DELETE,
            Some(token),
            &format!("/boards/{board}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    sandbox
        .get(token, &format!("/boards/{board}"))
        .await
        .assert_error(404, 40);
    assert_eq!(sandbox.stats().await["pins_deleted"], 1);
}

/// `boards/update` answers with a `BoardWithUpdatePrivacy`, whose privacy is PUBLIC or SECRET:
/// no request may make a board PROTECTED, and a PROTECTED (ad-only) board is not updated at all,
/// so the answer never carries a privacy outside that enum.
#[tokio::test]
async fn board_updates_never_involve_protected() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Recipes", "PUBLIC").await;
    let patch = |id: String, body: Value| {
        let sandbox = &sandbox;
        async move {
            sandbox
                .call(
                    Method::PATCH,
                    Some(token),
                    &format!("/boards/{id}"),
                    Some(body),
                )
                .await
        }
    };
    for privacy in [
        json!("PROTECTED"),
        json!("protected"),
        json!("ALL"),
        json!(1),
    ] {
        let reply = patch(board.clone(), json!({ "privacy": privacy })).await;
        assert!(
            reply.assert_error(400, 1).contains("'privacy'"),
            "{privacy}"
        );
    }
    for privacy in ["SECRET", "PUBLIC"] {
        let reply = patch(board.clone(), json!({ "privacy": privacy })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.json["privacy"], privacy);
    }

    let ads = sandbox
        .post(
            token,
            "/boards",
            json!({ "name": "Ads", "is_ads_only": true }),
        )
        .await;
    assert_eq!(ads.status, StatusCode::CREATED, "{}", ads.text);
    assert_eq!(ads.json["privacy"], "PROTECTED");
    let ads = ads.json["id"].as_str().unwrap().to_owned();
    for body in [
        json!({ "description": "Spring campaign" }),
        json!({ "privacy": "PUBLIC" }),
        json!({ "privacy": "SECRET" }),
    ] {
        let reply = patch(ads.clone(), body.clone()).await;
        assert!(reply.assert_error(400, 1).contains("'board_id'"), "{body}");
    }
    let unchanged = sandbox.get(token, &format!("/boards/{ads}")).await;
    assert_eq!(unchanged.json["privacy"], "PROTECTED");
    assert_eq!(unchanged.json["description"], Value::Null);
}

#[tokio::test]
async fn video_pins_need_a_succeeded_upload() {
    let sandbox = TestSandbox::start().await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Videos", "PUBLIC").await;
    let media = sandbox
        .post(token, "/media", json!({ "media_type": "video" }))
        .await;
    assert_eq!(media.status, StatusCode::CREATED, "{}", media.text);
    let media_id = media.json["media_id"].as_str().unwrap().to_owned();
    let upload_url = media.json["upload_url"].as_str().unwrap().to_owned();
    assert!(upload_url.starts_with(&sandbox.base));
    assert!(media.json["upload_parameters"].is_object());
    assert_eq!(
        sandbox.get(token, &format!("/media/{media_id}")).await.json["status"],
        "registered"
    );

    let mut body = pin_body(&board);
    body["media_source"] = json!({ "source_type": "video_id", "media_id": media_id, "cover_image_url": "https://example.invalid/c.jpg" });
    assert!(
        sandbox
            .post(token, "/pins", body.clone())
            .await
            .assert_error(400, 1)
            .contains("media_id")
    );

    let form = reqwest::multipart::Form::new()
        .text("key", "uploads/x")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![0u8; 1024]).file_name("v.mp4"),
        );
    let uploaded = sandbox
        .http
        .post(&upload_url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sandbox.get(token, &format!("/media/{media_id}")).await.json["status"],
        "succeeded"
    );

    let pin = sandbox.post(token, "/pins", body).await;
    assert_eq!(pin.status, StatusCode::CREATED, "{}", pin.text);
    assert_eq!(pin.json["media"]["media_type"], "video");
    assert_eq!(pin.json["creative_type"], "VIDEO");
    let list = sandbox.get(token, "/media").await;
    assert_eq!(list.json["items"][0]["media_id"], media_id.as_str());

    let (_, bob) = sandbox.user_with_token("bob").await;
    sandbox
        .get(&bob.access, &format!("/media/{media_id}"))
        .await
        .assert_error(404, 404);
    sandbox
        .post(token, "/media", json!({ "media_type": "image" }))
        .await
        .assert_error(400, 1);
}

/// A multipart form with a `file` part, as the storage host takes it.
fn upload_form(file_part: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("key", "uploads/x")
        .part(
            file_part.to_owned(),
            reqwest::multipart::Part::bytes(vec![0u8; 1024]).file_name("v.mp4"),
        )
}

async fn media_status(sandbox: &TestSandbox, token: &str, media_id: &str) -> Value {
    sandbox.get(token, &format!("/media/{media_id}")).await.json["status"].clone()
}

async fn advance_clock(sandbox: &TestSandbox, secs: i64) {
    let reply = sandbox
        .control(
            Method::POST,
            "/clock",
            Some(json!({ "advance_secs": secs })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn uploads_need_a_file_part_and_time_to_process() {
    let sandbox = TestSandbox::with(pinline_sandbox::SandboxConfig {
        media_processing_secs: 5,
        ..Default::default()
    })
    .await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let token = tokens.access.as_str();
    let board = sandbox.create_board(token, "Videos", "PUBLIC").await;
    let register = || async {
        let media = sandbox
            .post(token, "/media", json!({ "media_type": "video" }))
            .await;
        assert_eq!(media.status, StatusCode::CREATED, "{}", media.text);
        (
            media.json["media_id"].as_str().unwrap().to_owned(),
            media.json["upload_url"].as_str().unwrap().to_owned(),
        )
    };
    let (media_id, upload_url) = register().await;

    // A raw body, a form without the file, or a malformed form: refused, nothing changes.
    let refusals = [
        sandbox.http.post(&upload_url).body("video"),
        sandbox
            .http
            .post(&upload_url)
            .header("content-type", "video/mp4")
            .body(vec![0u8; 16]),
        sandbox
            .http
            .post(&upload_url)
            .multipart(upload_form("video")),
        sandbox
            .http
            .post(&upload_url)
            .header("content-type", "multipart/form-data; boundary=b")
            .body("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno end"),
    ];
    for request in refusals {
        let reply = TestSandbox::read(request.send().await.unwrap()).await;
        assert!(
            reply.assert_error(400, 1).contains("file"),
            "{}",
            reply.text
        );
    }
    assert_eq!(media_status(&sandbox, token, &media_id).await, "registered");

    let uploaded = sandbox
        .http
        .post(&upload_url)
        .multipart(upload_form("file"))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::NO_CONTENT);
    assert_eq!(media_status(&sandbox, token, &media_id).await, "processing");
    let mut body = pin_body(&board);
    body["media_source"] = json!({ "source_type": "video_id", "media_id": media_id });
    let early = sandbox.post(token, "/pins", body.clone()).await;
    assert!(
        early.assert_error(400, 1).contains("processing"),
        "{}",
        early.text
    );
    let again = sandbox
        .http
        .post(&upload_url)
        .multipart(upload_form("file"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    advance_clock(&sandbox, 3).await;
    assert_eq!(media_status(&sandbox, token, &media_id).await, "processing");
    advance_clock(&sandbox, 3).await;
    assert_eq!(media_status(&sandbox, token, &media_id).await, "succeeded");
    let listed = sandbox.get(token, "/media").await;
    assert_eq!(listed.json["items"][0]["status"], "succeeded");
    let pin = sandbox.post(token, "/pins", body).await;
    assert_eq!(pin.status, StatusCode::CREATED, "{}", pin.text);

    // `?status=failed` makes processing end in failure, after the same wait.
    let (failing_id, failing_url) = register().await;
    let uploaded = sandbox
        .http
        .post(format!("{failing_url}?status=failed"))
        .multipart(upload_form("file"))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        media_status(&sandbox, token, &failing_id).await,
        "processing"
    );
    advance_clock(&sandbox, 6).await;
    assert_eq!(media_status(&sandbox, token, &failing_id).await, "failed");
}

#[tokio::test]
async fn trial_apps_cannot_create_pins() {
    let config = pinline_sandbox::SandboxConfig {
        trial: true,
        ..Default::default()
    };
    let sandbox = TestSandbox::with(config).await;
    let (_, tokens) = sandbox.user_with_token("alice").await;
    let board = sandbox
        .create_board(&tokens.access, "Recipes", "PUBLIC")
        .await;
    let reply = sandbox.create_pin(&tokens.access, &board).await;
    assert_eq!(
        reply.assert_error(403, 29),
        "You are not permitted to access that resource."
    );
}

#[tokio::test]
async fn pins_are_counted_by_link() {
    let sandbox = TestSandbox::start().await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let board = sandbox
        .create_board(&alice.access, "Recipes", "PUBLIC")
        .await;
    assert!(sandbox.handle.pin_links().is_empty());
    for _ in 0..2 {
        let reply = sandbox.create_pin(&alice.access, &board).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let mut other = pin_body(&board);
    other["link"] = json!("https://example.invalid/other");
    let reply = sandbox.post(&alice.access, "/pins", other).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let links = sandbox.handle.pin_links();
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links["https://example.invalid/recipe"], 2);
    assert_eq!(links["https://example.invalid/other"], 1);
}
