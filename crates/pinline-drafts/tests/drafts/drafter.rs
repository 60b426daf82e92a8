//! One idea in, drafts out, through the whole pipeline.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pinline_drafts::{
    DraftError, DraftRequest, DraftSettings, Drafter, GeneratorUsed, RuleGenerator, SourceKind,
};

use crate::support::{TestSite, flat_with_detail, loopback_settings, png};

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn picture_png() -> Vec<u8> {
    png(&flat_with_detail(1200, 800, (50, 50, 250, 250)))
}

async fn site() -> TestSite {
    let image = picture_png();
    let recipe = r#"<html><head>
        <title>Lemon tart | Bake Club</title>
        <link rel="canonical" href="/recipes/lemon-tart">
        <meta property="og:site_name" content="Bake Club">
        <meta property="og:image" content="/img/broken.jpg">
        <meta name="twitter:image" content="/img/tart.png">
        <script type="application/ld+json">{"@type": "Recipe", "name": "Lemon tart",
          "description": "Bright and sharp.", "recipeIngredient": ["a", "b", "c"],
          "totalTime": "PT45M"}</script>
        </head><body>tart</body></html>"#;
    let router = Router::new()
        .route(
            "/recipes/lemon-tart",
            get(move || async move { html(recipe.to_owned()) }),
        )
        .route(
            "/no-image",
            get(|| async { html("<title>Words only</title><p>Nothing to see</p>".to_owned()) }),
        )
        .route(
            "/img/tart.png",
            get({
                let image = image.clone();
                move || async move { ([(header::CONTENT_TYPE, "image/png")], image) }
            }),
        )
        .route(
            "/img/blue-ceramic-vase.png",
            get(move || async move { ([(header::CONTENT_TYPE, "image/png")], image) }),
        )
        .route(
            "/img/broken.jpg",
            get(|| async { ([(header::CONTENT_TYPE, "image/jpeg")], "not really a jpeg") }),
        );
    TestSite::start(router).await
}

fn drafter() -> Drafter {
    Drafter::new(loopback_settings(), Arc::new(RuleGenerator))
}

#[tokio::test]
async fn a_page_link_becomes_drafts() {
    let site = site().await;
    let drafts = drafter()
        .draft(DraftRequest {
            url: Some(site.url("/recipes/lemon-tart")),
            count: 3,
            ..DraftRequest::default()
        })
        .await
        .expect("drafts are made");
    assert_eq!(drafts.len(), 3);
    let canonical = site.url("/recipes/lemon-tart");
    for draft in &drafts {
        assert_eq!(
            draft.link.as_ref().map(|u| u.as_str()),
            Some(canonical.as_str())
        );
        assert_eq!((draft.image.width, draft.image.height), (1000, 1500));
        assert_eq!(&draft.image.jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!(draft.generator, GeneratorUsed::Rules);
        assert_eq!(draft.source.kind, SourceKind::Page);
        assert_eq!(draft.source.structured_type.as_deref(), Some("recipe"));
        assert_eq!(draft.source.site_name.as_deref(), Some("Bake Club"));
        // The broken og:image is skipped for the working twitter:image.
        assert_eq!(
            draft.source.image_url.as_ref().map(|u| u.as_str()),
            Some(site.url("/img/tart.png").as_str())
        );
    }
    assert_eq!(drafts[1].title, "Lemon tart in 45 min");
    assert_ne!(drafts[0].image.crop, drafts[1].image.crop);
}

#[tokio::test]
async fn a_page_without_images_is_a_clear_error() {
    let site = site().await;
    let error = drafter()
        .draft(DraftRequest {
            url: Some(site.url("/no-image")),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("no image anywhere");
    assert!(matches!(error, DraftError::NoImage), "{error:?}");
    assert!(error.to_string().contains("send an image"));
}

#[tokio::test]
async fn text_and_an_uploaded_image() {
    let drafts = drafter()
        .draft(DraftRequest {
            text: Some("A cosy reading corner with a brass lamp".to_owned()),
            image_bytes: Some(picture_png()),
            count: 2,
            ..DraftRequest::default()
        })
        .await
        .expect("drafts are made");
    assert_eq!(drafts.len(), 2);
    assert_eq!(drafts[0].source.kind, SourceKind::Text);
    assert!(drafts[0].link.is_none());
    assert!(
        drafts[0].title.contains("cosy reading corner"),
        "{}",
        drafts[0].title
    );
    assert!(
        drafts[0].keywords.iter().any(|k| k == "brass"),
        "{:?}",
        drafts[0].keywords
    );
}

#[tokio::test]
async fn an_image_link_alone_is_an_idea() {
    let site = site().await;
    let drafts = drafter()
        .draft(DraftRequest {
            url: Some(site.url("/img/blue-ceramic-vase.png")),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect("drafts are made");
    assert_eq!(drafts[0].source.kind, SourceKind::ImageLink);
    assert_eq!(drafts[0].title, "Blue ceramic vase");
    assert!(drafts[0].link.is_none());
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_fetch() {
    for count in [0, 6] {
        let error = drafter()
            .draft(DraftRequest {
                text: Some("idea".to_owned()),
                count,
                ..DraftRequest::default()
            })
            .await
            .expect_err("count out of range");
        assert!(matches!(error, DraftError::InvalidRequest(_)), "{error:?}");
    }
    let error = drafter()
        .draft(DraftRequest {
            url: Some("   ".to_owned()),
            text: Some(String::new()),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("nothing given");
    assert!(matches!(error, DraftError::EmptyIdea), "{error:?}");
}

#[tokio::test]
async fn an_undecodable_image_link_is_reported() {
    let site = site().await;
    let error = drafter()
        .draft(DraftRequest {
            title: Some("Vase".to_owned()),
            image_url: Some(site.url("/img/broken.jpg")),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("the image is broken");
    assert!(
        matches!(error, DraftError::ImageUndecodable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_default_policy_refuses_loopback_pages() {
    let site = site().await;
    let drafter = Drafter::new(DraftSettings::default(), Arc::new(RuleGenerator));
    let error = drafter
        .draft(DraftRequest {
            url: Some(site.url("/recipes/lemon-tart")),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("loopback is private");
    assert!(
        matches!(error, DraftError::PrivateAddress { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_oversized_upload_is_refused() {
    let mut settings = loopback_settings();
    settings.fetch.max_image_bytes = 1024;
    let error = Drafter::new(settings, Arc::new(RuleGenerator))
        .draft(DraftRequest {
            title: Some("Vase".to_owned()),
            image_bytes: Some(picture_png()),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("over the cap");
    assert!(
        matches!(error, DraftError::TooBig { limit: 1024, .. }),
        "{error:?}"
    );
}
