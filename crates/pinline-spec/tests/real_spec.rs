//! Validation against Pinterest's real OpenAPI description: bodies shaped like the ones
//! Pinterest returns must pass, and near misses must fail with a useful path.

use pinline_spec::Spec;
use serde_json::{Value, json};

fn spec() -> &'static Spec {
    match Spec::shared() {
        Ok(spec) => spec,
        Err(error) => panic!("{error}"),
    }
}

/// Validates `body` as the `status` response of `operation_id`, as JSON.
fn check_response(operation_id: &str, status: u16, body: &Value) -> Result<(), Vec<String>> {
    let bytes = body.to_string();
    spec().validate_response(
        operation_id,
        status,
        Some("application/json"),
        bytes.as_bytes(),
    )
}

fn image(width: u32, height: u32) -> Value {
    json!({
        "width": width,
        "height": height,
        "url": format!("https://i.pinimg.com/{width}x/0d/f6/f1/0df6f1f0bfe7aaca849c1bae7a4d9d1e.jpg"),
    })
}

/// A pin as Pinterest returns it from `POST /v5/pins`.
fn pin() -> Value {
    json!({
        "id": "813744226420795884",
        "created_at": "2020-01-01T20:10:40-00:00",
        "link": "https://www.example.invalid/recipes/summer",
        "title": "Summer recipes",
        "description": "Our favourite summer recipes",
        "dominant_color": "#6E7874",
        "alt_text": null,
        "creative_type": "REGULAR",
        "board_id": "549755885175",
        "board_section_id": null,
        "board_owner": {"username": "pinline_demo"},
        "is_owner": true,
        "media": {
            "media_type": "image",
            "images": {
                "150x150": image(150, 150),
                "400x300": image(400, 300),
                "600x": image(600, 900),
                "1200x": image(1200, 1800),
            },
        },
        "parent_pin_id": null,
        "is_standard": true,
        "has_been_promoted": false,
        "note": "",
        "pin_metrics": null,
    })
}

fn assert_fails_at(result: Result<(), Vec<String>>, path: &str) {
    match result {
        Ok(()) => panic!("expected a finding at {path}, got none"),
        Err(errors) => assert!(
            errors
                .iter()
                .any(|error| error.starts_with(&format!("{path}: "))),
            "expected a finding at {path}: {errors:?}"
        ),
    }
}

#[test]
fn a_created_pin_validates() {
    assert_eq!(check_response("pins/create", 201, &pin()), Ok(()));
    assert_eq!(check_response("pins/get", 200, &pin()), Ok(()));
}

#[test]
fn a_pin_title_of_101_characters_fails() {
    let mut pin = pin();
    pin["title"] = json!("t".repeat(101));
    assert_fails_at(check_response("pins/create", 201, &pin), "/title");
    pin["title"] = json!("t".repeat(100));
    assert_eq!(check_response("pins/create", 201, &pin), Ok(()));
}

#[test]
fn pin_ids_must_be_digits() {
    let mut pin = pin();
    pin["board_id"] = json!("Summer recipes");
    assert_fails_at(check_response("pins/get", 200, &pin), "/board_id");
}

#[test]
fn pin_media_is_checked_by_its_media_type() {
    let mut video = pin();
    video["media"] = json!({
        "media_type": "video",
        "cover_image_url": "https://i.pinimg.com/videos/thumbnails/originals/a.jpg",
        "video_url": null,
        "duration": 12.5,
        "height": 1920,
        "width": 1080,
        "images": {"150x150": image(150, 150)},
    });
    assert_eq!(check_response("pins/get", 200, &video), Ok(()));

    let mut bad_image = pin();
    bad_image["media"]["images"]["150x150"]["width"] = json!("wide");
    assert_fails_at(
        check_response("pins/get", 200, &bad_image),
        "/media/images/150x150/width",
    );

    let mut unknown = pin();
    unknown["media"] = json!({"media_type": "hologram"});
    assert_fails_at(
        check_response("pins/get", 200, &unknown),
        "/media/media_type",
    );
}

#[test]
fn paginated_pins_validate() {
    let page = json!({"items": [pin(), pin()], "bookmark": null});
    assert_eq!(check_response("boards/list_pins", 200, &page), Ok(()));
    assert_eq!(check_response("pins/list", 200, &page), Ok(()));
    let mut bad = page.clone();
    bad["items"][1]["title"] = json!(7);
    assert_fails_at(
        check_response("boards/list_pins", 200, &bad),
        "/items/1/title",
    );
    assert_fails_at(check_response("pins/list", 200, &json!({})), "(root)");
}

#[test]
fn error_bodies_validate() {
    let error = json!({"code": 2, "message": "Authentication failed."});
    assert_eq!(check_response("pins/create", 401, &error), Ok(()));
    assert_eq!(check_response("oauth/token", 400, &error), Ok(()));
    assert_fails_at(
        check_response("pins/create", 401, &json!({"code": "2"})),
        "(root)",
    );
}

#[test]
fn token_responses_validate() {
    let code_exchange = json!({
        "access_token": "pina_AMAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "refresh_token": "pinr_AQXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "response_type": "authorization_code",
        "token_type": "bearer",
        "expires_in": 2_592_000,
        "refresh_token_expires_in": 5_184_000,
        "refresh_token_expires_at": 1_767_225_600,
        "scope": "boards:read,boards:write,pins:read,pins:write,user_accounts:read",
    });
    assert_eq!(check_response("oauth/token", 200, &code_exchange), Ok(()));

    let mut refresh = code_exchange.clone();
    refresh["response_type"] = json!("refresh_token");
    assert_eq!(check_response("oauth/token", 200, &refresh), Ok(()));
    // The discriminator maps `refresh_token` to a variant that requires the continuous refresh
    // token's expiry: the base schema alone would accept this.
    let mut refresh = refresh.as_object().cloned().unwrap_or_default();
    refresh.remove("refresh_token_expires_at");
    let result = check_response("oauth/token", 200, &Value::Object(refresh));
    assert!(
        matches!(&result, Err(errors) if errors.iter().any(|e| e.contains("refresh_token_expires_at"))),
        "{result:?}"
    );

    assert_fails_at(
        check_response("oauth/token", 200, &json!({"access_token": "pina_x"})),
        "(root)",
    );
}

#[test]
fn bodiless_responses_must_be_empty() {
    assert_eq!(
        spec().validate_response("pins/delete", 204, None, b""),
        Ok(())
    );
    assert_eq!(
        spec().validate_response("boards/delete", 204, None, b""),
        Ok(())
    );
    assert_eq!(
        spec().validate_response("token/revoke", 200, None, b""),
        Ok(())
    );
    assert!(
        spec()
            .validate_response("pins/delete", 204, None, b"{}")
            .is_err()
    );
}

#[test]
fn boards_sections_accounts_and_media_validate() {
    let board = json!({
        "id": "549755885175",
        "created_at": "2020-01-01T20:10:40-00:00",
        "board_pins_modified_at": "2020-01-01T20:10:40-00:00",
        "name": "Summer recipes",
        "description": "My favorite summer recipes",
        "collaborator_count": 0,
        "pin_count": 3,
        "follower_count": 0,
        "media": {"image_cover_url": null, "pin_thumbnail_urls": []},
        "owner": {"username": "pinline_demo"},
        "privacy": "PUBLIC",
        "is_ads_only": false,
    });
    assert_eq!(check_response("boards/create", 201, &board), Ok(()));
    assert_eq!(check_response("boards/get", 200, &board), Ok(()));
    assert_eq!(
        check_response(
            "boards/list",
            200,
            &json!({"items": [board.clone()], "bookmark": "b1"})
        ),
        Ok(())
    );
    let mut bad_board = board.clone();
    bad_board["privacy"] = json!("FRIENDS_ONLY");
    assert_fails_at(check_response("boards/get", 200, &bad_board), "/privacy");

    let section = json!({"id": "5027629787972154693", "name": "Desserts"});
    assert_eq!(
        check_response("board_sections/create", 201, &section),
        Ok(())
    );
    assert_fails_at(
        check_response(
            "board_sections/create",
            201,
            &json!({"name": "d".repeat(181)}),
        ),
        "/name",
    );
    assert_eq!(
        check_response(
            "board_sections/list",
            200,
            &json!({"items": [section], "bookmark": null})
        ),
        Ok(())
    );

    let account = json!({
        "account_type": "BUSINESS",
        "id": "549755885175",
        "profile_image": "https://i.pinimg.com/280x280_RS/a.jpg",
        "website_url": "https://www.example.invalid",
        "username": "pinline_demo",
        "about": "",
        "business_name": null,
        "board_count": 1,
        "pin_count": 3,
        "follower_count": 0,
        "following_count": 0,
        "monthly_views": 0,
    });
    assert_eq!(check_response("user_account/get", 200, &account), Ok(()));

    let upload = json!({
        "media_id": "12345",
        "media_type": "video",
        "upload_url": "https://pinterest-media-upload.s3-accelerate.amazonaws.com/",
        "upload_parameters": {"key": "uploads/a", "x-amz-date": "20220127T185143Z"},
    });
    assert_eq!(check_response("media/create", 201, &upload), Ok(()));
    let media = json!({"media_id": "12345", "media_type": "video", "status": "succeeded"});
    assert_eq!(check_response("media/get", 200, &media), Ok(()));
    assert_fails_at(
        check_response(
            "media/get",
            200,
            &json!({"media_id": "12345", "media_type": "video", "status": "done"}),
        ),
        "/status",
    );
}

#[test]
fn pin_create_requests_validate() {
    let request = json!({
        "board_id": "549755885175",
        "title": "Summer recipes",
        "description": "Our favourite summer recipes",
        "link": "https://www.example.invalid/recipes/summer",
        "alt_text": null,
        "media_source": {"source_type": "image_url", "url": "https://www.example.invalid/a.jpg"},
    });
    assert_eq!(
        spec().validate_request_body("pins/create", &request),
        Ok(())
    );

    let mut long_title = request.clone();
    long_title["title"] = json!("t".repeat(101));
    assert_fails_at(
        spec().validate_request_body("pins/create", &long_title),
        "/title",
    );
    let mut no_url = request.clone();
    no_url["media_source"] = json!({"source_type": "image_url"});
    assert_fails_at(
        spec().validate_request_body("pins/create", &no_url),
        "/media_source",
    );
}

#[test]
fn every_operation_in_the_spec_compiles() {
    // Proves the converter yields valid JSON Schema for the whole document, not just for the
    // operations pinline uses today.
    let spec = spec();
    let failures: Vec<String> = spec
        .operation_ids()
        .into_iter()
        .filter_map(|id| spec.precompile(id).err())
        .flatten()
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
