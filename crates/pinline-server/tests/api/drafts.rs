//! Drafts through the API: a product page served on loopback becomes drafts (metadata read, copy
//! within the limits, a 1000×1500 JPEG), a draft is edited and then published to the sandbox in
//! one call, publishing again is idempotent, and bad ideas get a clear 4xx with nothing stored:
//! image bombs of every format among them. A profile with its drafts slots taken is answered 429.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::support::{TestApp, error_code, eventually, spawn_app};

// The generated bombs are shared with the drafts crate's own tests.
#[path = "../../../pinline-drafts/tests/drafts/bombs.rs"]
mod bombs;

backend_tests!(
    a_product_page_becomes_drafts_and_one_is_published,
    bad_ideas_get_a_clear_error_and_store_nothing,
    image_bombs_are_refused_with_422,
    a_busy_profile_is_answered_429,
);

/// A 1600×1200 picture, flat except for a detailed patch on the right.
fn picture_png() -> Vec<u8> {
    let mut seed: u32 = 7;
    let picture = RgbImage::from_fn(1600, 1200, |x, y| {
        if x > 1000 && y > 300 && y < 900 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let v = (seed >> 16) as u8;
            Rgb([v, v.wrapping_mul(3), v.wrapping_add(90)])
        } else {
            Rgb([200, 210, 220])
        }
    });
    let mut bytes = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(picture)
        .write_to(&mut bytes, ImageFormat::Png)
        .expect("encode");
    bytes.into_inner()
}

const PRODUCT_PAGE: &str = r#"<!doctype html><html><head>
<title>Lemon tart | Bakery</title>
<meta property="og:title" content="Sharp lemon tart with a buttery crust">
<meta property="og:description" content="A bright, sharp lemon curd in a crisp butter crust. Baked fresh every morning and ready for your table.">
<meta property="og:image" content="/tart.png">
<meta property="og:site_name" content="The Bakery">
<script type="application/ld+json">
{"@context":"https://schema.org","@type":"Product","name":"Lemon tart","description":"A bright lemon tart.","image":"/tart.png","brand":{"@type":"Brand","name":"The Bakery"},"offers":{"@type":"Offer","price":"24.00","priceCurrency":"EUR"}}
</script>
</head><body><h1>Lemon tart</h1></body></html>"#;

/// A local site: a product page, its image, and pages that cannot be drafted.
pub(crate) async fn site() -> String {
    let png = picture_png();
    let router = Router::new()
        .route(
            "/tart",
            get(|| async { ([(CONTENT_TYPE, "text/html; charset=utf-8")], PRODUCT_PAGE) }),
        )
        .route(
            "/tart.png",
            get(move || {
                let png = png.clone();
                async move { ([(CONTENT_TYPE, "image/png")], png) }
            }),
        )
        .route(
            "/plain",
            get(|| async { ([(CONTENT_TYPE, "application/pdf")], "%PDF-1.4") }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(LOCATION, "/loop")]).into_response() }),
        )
        .route(
            "/broken.png",
            get(|| async { ([(CONTENT_TYPE, "image/png")], "not a picture at all") }),
        )
        .route(
            "/huge",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/html")],
                    format!("<html>{}</html>", "x".repeat(8 * 1024 * 1024)),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

async fn drafts_stored(app: &TestApp) -> usize {
    let page = app
        .api(Method::GET, "/v1/drafts", Some(&app.key_alpha), None)
        .await;
    page.json["items"].as_array().map_or(0, Vec::len)
}

async fn a_product_page_becomes_drafts_and_one_is_published(db: TestDatabase) {
    let app = spawn_app(db).await;
    let site = site().await;
    let key = Some(app.key_alpha.as_str());

    let made = app
        .api(
            Method::POST,
            "/v1/drafts",
            key,
            Some(json!({"url": format!("{site}/tart"), "count": 2})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let drafts = made.json["items"].as_array().expect("items").clone();
    assert_eq!(drafts.len(), 2);
    for draft in &drafts {
        let title = draft["title"].as_str().expect("title");
        assert!(!title.is_empty() && title.chars().count() <= 100, "{title}");
        let description = draft["description"].as_str().expect("description");
        assert!(description.chars().count() <= 800);
        assert!(draft["alt_text"].as_str().is_some_and(|a| !a.is_empty()));
        assert_eq!(draft["link"], json!(format!("{site}/tart")));
        assert_eq!(draft["image"]["width"], json!(1000));
        assert_eq!(draft["image"]["height"], json!(1500));
        assert_eq!(draft["source"]["structured_type"], json!("product"));
        assert_eq!(draft["source"]["site_name"], json!("The Bakery"));
        assert_eq!(draft["generator"]["kind"], json!("rules"));
        assert_eq!(draft["status"], json!("draft"));
    }
    assert_ne!(
        drafts[0]["title"], drafts[1]["title"],
        "variants differ in copy"
    );
    assert_ne!(
        drafts[0]["image"]["crop"], drafts[1]["image"]["crop"],
        "variants differ in crop"
    );
    println!(
        "example draft: {}",
        serde_json::to_string_pretty(&drafts[0]).unwrap_or_default()
    );

    // Listed newest idea first, each idea's variants in order.
    let listed = app.api(Method::GET, "/v1/drafts", key, None).await;
    let variants: Vec<i64> = listed.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["variant"].as_i64())
        .collect();
    assert_eq!(variants, [0, 1]);

    // The image is a JPEG of the promised size.
    let id = drafts[0]["id"].as_str().expect("id").to_owned();
    let image = app
        .http
        .get(format!("{}/v1/drafts/{id}/image", app.base_url))
        .bearer_auth(&app.key_alpha)
        .send()
        .await
        .expect("image");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()[CONTENT_TYPE], "image/jpeg");
    let jpeg = image.bytes().await.expect("bytes");
    let decoded = image::load_from_memory(&jpeg).expect("a decodable JPEG");
    assert_eq!((decoded.width(), decoded.height()), (1000, 1500));

    // Another profile sees none of it.
    let beta = Some(app.key_beta.as_str());
    for path in [format!("/v1/drafts/{id}"), format!("/v1/drafts/{id}/image")] {
        let reply = app.api(Method::GET, &path, beta, None).await;
        assert_eq!(reply.status, 404, "{path}");
    }

    // Edit, within the limits only.
    let too_long = app
        .api(
            Method::PATCH,
            &format!("/v1/drafts/{id}"),
            key,
            Some(json!({"title": "x".repeat(101)})),
        )
        .await;
    assert_eq!(too_long.status, 422);
    assert_eq!(too_long.json["error"]["field"], json!("title"));
    let edited = app
        .api(
            Method::PATCH,
            &format!("/v1/drafts/{id}"),
            key,
            Some(json!({"title": "Lemon tart for Sunday", "keywords": ["lemon", "tart"]})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["title"], json!("Lemon tart for Sunday"));

    // Publish to the sandbox in one call.
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let account_id = account["id"].as_str().expect("account id").to_owned();
    let board = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/boards"),
            key,
            Some(json!({"name": "Tarts"})),
        )
        .await;
    assert_eq!(board.status, 201, "{}", board.text);
    let board_id = board.json["id"].as_str().expect("board id").to_owned();
    let target = json!({"account_id": account_id, "board_id": board_id});
    let published = app
        .api(
            Method::POST,
            &format!("/v1/drafts/{id}/publish"),
            key,
            Some(target.clone()),
        )
        .await;
    assert_eq!(published.status, 202, "{}", published.text);
    let post_id = published.json["id"].as_str().expect("post id").to_owned();
    assert_eq!(published.json["title"], json!("Lemon tart for Sunday"));

    eventually(Duration::from_secs(20), "the draft's pin published", || {
        let path = format!("/v1/posts/{post_id}");
        let app = &app;
        async move {
            app.api(Method::GET, &path, key, None).await.json["status"] == json!("published")
        }
    })
    .await;
    assert_eq!(app.sandbox_stats().await["pins_created"], json!(1));

    // Publishing again with the same target is the same post; another target is refused.
    let again = app
        .api(
            Method::POST,
            &format!("/v1/drafts/{id}/publish"),
            key,
            Some(target),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["id"], json!(post_id));
    let elsewhere = app
        .api(
            Method::POST,
            &format!("/v1/drafts/{id}/publish"),
            key,
            Some(json!({"account_id": account_id, "board_id": board_id,
                        "publish_at": "2030-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(elsewhere.status, 409, "{}", elsewhere.text);
    let shown = app
        .api(Method::GET, &format!("/v1/drafts/{id}"), key, None)
        .await;
    assert_eq!(shown.json["status"], json!("published"));
    assert_eq!(shown.json["post_id"], json!(post_id));
    let late_edit = app
        .api(
            Method::PATCH,
            &format!("/v1/drafts/{id}"),
            key,
            Some(json!({"title": "Too late"})),
        )
        .await;
    assert_eq!(late_edit.status, 409);
    assert_eq!(error_code(&late_edit), "draft_published");
    assert_eq!(app.sandbox_stats().await["pins_created"], json!(1));

    let deleted = app
        .api(Method::DELETE, &format!("/v1/drafts/{id}"), key, None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(drafts_stored(&app).await, 1);
}

async fn bad_ideas_get_a_clear_error_and_store_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let site = site().await;
    let key = Some(app.key_alpha.as_str());
    for (body, status, code) in [
        (json!({}), 422, "invalid_field"),
        (
            json!({"url": format!("{site}/tart"), "count": 9}),
            422,
            "invalid_field",
        ),
        (
            json!({"url": "ftp://example.invalid/tart"}),
            422,
            "url_refused",
        ),
        (json!({"url": "not a url"}), 422, "url_refused"),
        (
            json!({"url": format!("{site}/plain")}),
            422,
            "unsupported_content",
        ),
        (
            json!({"url": format!("{site}/loop")}),
            422,
            "source_unreachable",
        ),
        (json!({"url": format!("{site}/huge")}), 422, "too_big"),
        (
            json!({"text": "Lemon tart", "image_url": format!("{site}/broken.png")}),
            422,
            "unusable_image",
        ),
        (
            json!({"text": "Lemon tart", "image_base64": "%%%"}),
            422,
            "invalid_field",
        ),
        (json!({"text": "Lemon tart"}), 422, "no_image"),
        (
            json!({"url": format!("{site}/tart"), "extra": 1}),
            422,
            "invalid_body",
        ),
    ] {
        let reply = app
            .api(Method::POST, "/v1/drafts", key, Some(body.clone()))
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert!(
            reply.json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}: {}",
            reply.text
        );
        if code != "invalid_body" {
            assert_eq!(error_code(&reply), code, "{body}: {}", reply.text);
        }
    }
    assert_eq!(drafts_stored(&app).await, 0, "nothing half-made is stored");
    let reply: Value = app
        .api(Method::POST, "/v1/drafts", None, Some(json!({"text": "x"})))
        .await
        .json;
    assert_eq!(reply["error"]["code"], json!("unauthorized"));
}

async fn image_bombs_are_refused_with_422(db: TestDatabase) {
    let app = spawn_app(db).await;
    let key = Some(app.key_alpha.as_str());
    for (name, bytes, code) in [
        ("PNG", bombs::png(16_384), "image_too_large"),
        ("JPEG", bombs::jpeg(65_000, 65_000), "image_too_large"),
        (
            "progressive JPEG",
            bombs::progressive_jpeg(6_000, 6_000),
            "image_too_large",
        ),
        ("WebP", bombs::webp_lossless(16_383), "image_too_large"),
        ("WebP VP8X", bombs::webp_extended(16_383), "image_too_large"),
        ("GIF", bombs::gif(65_535), "unsupported_content"),
    ] {
        let body = json!({
            "text": "A very large picture",
            "image_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        let reply = app.api(Method::POST, "/v1/drafts", key, Some(body)).await;
        assert_eq!(reply.status, 422, "{name}: {}", reply.text);
        assert_eq!(error_code(&reply), code, "{name}: {}", reply.text);
        assert_eq!(
            reply.json["error"]["field"],
            json!("image_base64"),
            "{name}: {}",
            reply.text
        );
    }
    assert_eq!(drafts_stored(&app).await, 0);
}

/// A page that answers only once `release` says so, counting who is waiting for it.
async fn stalling_site(arrived: Arc<AtomicUsize>, release: watch::Receiver<bool>) -> String {
    let router = Router::new().route(
        "/stall",
        get(move || {
            let arrived = arrived.clone();
            let mut release = release.clone();
            async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                let _ = release.wait_for(|open| *open).await;
                (
                    [(CONTENT_TYPE, "text/html")],
                    "<title>Slow page</title><p>No picture here</p>",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}/stall")
}

async fn a_busy_profile_is_answered_429(db: TestDatabase) {
    let app = Arc::new(spawn_app(db).await);
    let arrived = Arc::new(AtomicUsize::new(0));
    let (release, released) = watch::channel(false);
    let stall = stalling_site(arrived.clone(), released).await;

    // Two requests of profile alpha wait on the page: its two slots are taken.
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            let stall = stall.clone();
            tokio::spawn(async move {
                let key = Some(app.key_alpha.as_str());
                app.api(Method::POST, "/v1/drafts", key, Some(json!({"url": stall})))
                    .await
            })
        })
        .collect();
    eventually(Duration::from_secs(20), "both requests at the page", || {
        let arrived = arrived.clone();
        async move { arrived.load(Ordering::SeqCst) == 2 }
    })
    .await;

    let busy = app
        .http
        .post(format!("{}/v1/drafts", app.base_url))
        .bearer_auth(&app.key_alpha)
        .json(&json!({"text": "One more idea"}))
        .send()
        .await
        .expect("API call");
    assert_eq!(busy.status().as_u16(), 429);
    assert_eq!(
        busy.headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("5")
    );
    let body: Value = busy.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], json!("too_many_drafts"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains('2'))
    );

    // Another profile is not held up by alpha's.
    let beta = app
        .api(
            Method::POST,
            "/v1/drafts",
            Some(&app.key_beta),
            Some(json!({"text": "An idea"})),
        )
        .await;
    assert_eq!(error_code(&beta), "no_image", "{}", beta.text);

    // Once the page answers, the slots are given back.
    release.send(true).expect("the page waits");
    for request in waiting {
        let reply = request.await.expect("the request finishes");
        assert_eq!(error_code(&reply), "no_image", "{}", reply.text);
    }
    let again = app
        .api(
            Method::POST,
            "/v1/drafts",
            Some(&app.key_alpha),
            Some(json!({"text": "One more idea"})),
        )
        .await;
    assert_eq!(error_code(&again), "no_image", "{}", again.text);
}
