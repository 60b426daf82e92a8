//! Hostile and oversized images: every bomb is refused from its header, before the picture is
//! allocated, and pictures far larger than a pin needs still make pins from a bounded copy.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage};
use pinline_drafts::image_prep::{self, ImageSettings};
use pinline_drafts::{DraftError, DraftRequest, DraftSettings, Drafter, RuleGenerator};

use crate::bombs;
use crate::support::{TestSite, decode, encode, jpeg_with_orientation, loopback_settings};

/// Prepares `bytes` and expects the header refusal.
fn assert_too_large(bytes: &[u8], what: &str) -> String {
    let error =
        image_prep::prepare(bytes, &ImageSettings::default()).expect_err("a bomb must be refused");
    assert!(
        matches!(error, DraftError::ImageTooLarge { .. }),
        "{what}: {error:?}"
    );
    error.to_string()
}

#[test]
fn a_png_bomb_is_refused_from_its_header() {
    let bomb = bombs::png(16_384);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    let message = assert_too_large(&bomb, "PNG");
    assert!(message.contains("16384×16384"), "{message}");
    assert!(message.contains("MiB limit"), "{message}");
}

#[test]
fn the_generated_png_bomb_really_inflates() {
    // Small enough to decode here: proof that the big one would fill what it declares.
    let bytes = bombs::png(300);
    let picture = image::load_from_memory_with_format(&bytes, ImageFormat::Png)
        .expect("the generated PNG is well-formed");
    assert_eq!(picture.to_rgb8().dimensions(), (300, 300));
}

#[test]
fn jpeg_bombs_are_refused_from_their_headers() {
    assert_too_large(&bombs::jpeg(65_000, 65_000), "JPEG 65000²");
    assert_too_large(&bombs::jpeg(16_000, 16_000), "JPEG 16000²");
    // 4000×4000 RGB is 46 MiB of pixels, under the limit; progressive, the decoder also keeps
    // two bytes per coefficient of every component (92 MiB more), which is over it.
    let message = assert_too_large(&bombs::progressive_jpeg(4_000, 4_000), "progressive JPEG");
    assert!(message.contains("138 MiB to decode"), "{message}");
    let baseline = image_prep::prepare(&bombs::jpeg(4_000, 4_000), &ImageSettings::default());
    assert!(
        !matches!(baseline, Err(DraftError::ImageTooLarge { .. })),
        "a baseline JPEG of the same size fits: {baseline:?}"
    );
}

#[test]
fn webp_bombs_are_refused_from_their_headers() {
    assert_too_large(&bombs::webp_lossless(16_383), "VP8L");
    let error = image_prep::prepare(&bombs::webp_extended(1 << 24), &ImageSettings::default())
        .expect_err("a 2^24 canvas is refused");
    assert!(
        matches!(
            error,
            DraftError::ImageTooLarge { .. } | DraftError::ImageUndecodable { .. }
        ),
        "{error:?}"
    );
    assert_too_large(&bombs::webp_extended(16_383), "VP8X");
}

#[test]
fn gif_is_refused_as_an_unsupported_format() {
    for bytes in [bombs::gif(65_535), bombs::gif(400)] {
        let error =
            image_prep::prepare(&bytes, &ImageSettings::default()).expect_err("GIF is not read");
        assert!(
            matches!(error, DraftError::ImageFormatUnsupported { ref format } if format == "GIF"),
            "{error:?}"
        );
        assert!(error.to_string().contains("JPEG, PNG or WebP"), "{error}");
    }
}

#[tokio::test]
async fn the_drafter_refuses_a_bomb_upload() {
    let drafter = Drafter::new(loopback_settings(), Arc::new(RuleGenerator));
    let error = drafter
        .draft(DraftRequest {
            text: Some("Big picture".to_owned()),
            image_bytes: Some(bombs::png(16_384)),
            count: 2,
            ..DraftRequest::default()
        })
        .await
        .expect_err("the bomb is refused");
    assert!(
        matches!(error, DraftError::ImageTooLarge { .. }),
        "{error:?}"
    );
}

/// Red in the upper left, green along the bottom, blue elsewhere: no flip or turn of it looks
/// the same, so a wrong orientation shows.
fn marked(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        if x < width / 3 && y < height / 3 {
            Rgb([220, 20, 20])
        } else if y > height * 3 / 4 {
            Rgb([20, 200, 20])
        } else {
            Rgb([20, 20, 220])
        }
    }))
}

/// A small pin keeps these tests quick; the rules are the same at 1000×1500.
fn small_pins() -> ImageSettings {
    ImageSettings {
        width: 200,
        height: 300,
        min_source_side: 100,
        ..ImageSettings::default()
    }
}

#[test]
fn large_sources_are_shrunk_and_crops_reported_in_source_pixels() {
    // 1800×1200 for a 200×300 pin: the largest 2:3 window is 800×1200, more than twice the
    // pin's width, so the picture is shrunk before cropping; the crops still speak of the
    // 1800×1200 source.
    let bytes = encode(&marked(1800, 1200), ImageFormat::Jpeg);
    let prepared = image_prep::prepare_variants(&bytes, &small_pins(), 3).expect("prepares");
    for image in &prepared {
        assert_eq!((image.width, image.height), (200, 300));
        assert_eq!((image.source_width, image.source_height), (1800, 1200));
        let crop = image.crop;
        assert!(
            crop.x + crop.width <= 1800 && crop.y + crop.height <= 1200,
            "{crop:?}"
        );
        let ratio = f64::from(crop.width) / f64::from(crop.height);
        assert!((ratio - 2.0 / 3.0).abs() < 0.01, "{crop:?}");
    }
    assert!(
        prepared.iter().any(|image| image.crop.height == 1200),
        "the first window uses the full height: {prepared:?}"
    );
}

#[test]
fn every_orientation_is_applied_to_the_pin_not_the_source() {
    // Stored 300×600 (taller than 2:3, so the window slides); for each EXIF orientation the pin must equal the one made from the same
    // picture turned upright first and stored without orientation.
    let stored = marked(300, 600);
    for (exif, turn) in [
        (2, image::metadata::Orientation::FlipHorizontal),
        (3, image::metadata::Orientation::Rotate180),
        (4, image::metadata::Orientation::FlipVertical),
        (5, image::metadata::Orientation::Rotate90FlipH),
        (6, image::metadata::Orientation::Rotate90),
        (7, image::metadata::Orientation::Rotate270FlipH),
        (8, image::metadata::Orientation::Rotate270),
    ] {
        let tagged = jpeg_with_orientation(&stored, exif);
        let mut upright =
            image::load_from_memory_with_format(&tagged, ImageFormat::Jpeg).expect("decodes");
        upright.apply_orientation(turn);
        let plain = encode(&upright, ImageFormat::Png);

        let settings = small_pins();
        let from_tagged = image_prep::prepare(&tagged, &settings).expect("prepares");
        let from_plain = image_prep::prepare(&plain, &settings).expect("prepares");
        assert_eq!(from_tagged.crop, from_plain.crop, "orientation {exif}");
        assert_eq!(
            (from_tagged.source_width, from_tagged.source_height),
            upright.dimensions(),
            "orientation {exif}"
        );
        let (a, b) = (decode(&from_tagged.jpeg), decode(&from_plain.jpeg));
        for (x, y) in [(10, 10), (190, 10), (100, 150), (10, 290), (190, 290)] {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            let close = p.iter().zip(q).all(|(p, q)| p.abs_diff(q) < 40);
            assert!(close, "orientation {exif} at ({x}, {y}): {p:?} vs {q:?}");
        }
    }
}

/// A page that never answers, and a page whose only image is a bomb.
async fn slow_and_bomb_site() -> TestSite {
    let bomb = bombs::png(16_384);
    let router = Router::new()
        .route("/never", get(std::future::pending::<&'static str>))
        .route(
            "/bomb-page",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    r#"<title>A big picture</title><meta property="og:image" content="/bomb.png">"#,
                )
            }),
        )
        .route(
            "/bomb.png",
            get(move || {
                let bomb = bomb.clone();
                async move { ([(header::CONTENT_TYPE, "image/png")], bomb) }
            }),
        );
    TestSite::start(router).await
}

#[tokio::test]
async fn one_deadline_covers_the_whole_request() {
    let site = slow_and_bomb_site().await;
    let settings = DraftSettings {
        request_timeout: Duration::from_millis(300),
        ..loopback_settings()
    };
    let drafter = Drafter::new(settings, Arc::new(RuleGenerator));
    let error = drafter
        .draft(DraftRequest {
            url: Some(site.url("/never")),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("the page never answers");
    assert!(matches!(error, DraftError::Deadline { .. }), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_page_whose_image_is_a_bomb_is_refused() {
    let site = slow_and_bomb_site().await;
    let drafter = Drafter::new(loopback_settings(), Arc::new(RuleGenerator));
    let error = drafter
        .draft(DraftRequest {
            url: Some(site.url("/bomb-page")),
            count: 1,
            ..DraftRequest::default()
        })
        .await
        .expect_err("the page's only image is a bomb");
    assert!(
        matches!(error, DraftError::ImageTooLarge { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn drafts_asked_at_once_take_turns_and_all_finish() {
    // One turn for many callers: they queue for image work instead of failing or running all
    // at once.
    let drafter = Drafter::new(
        DraftSettings {
            parallel_work: 1,
            image: small_pins(),
            ..loopback_settings()
        },
        Arc::new(RuleGenerator),
    );
    let picture = encode(&marked(400, 600), ImageFormat::Png);
    let runs = (0..4).map(|_| {
        drafter.draft(DraftRequest {
            text: Some("A marked picture".to_owned()),
            image_bytes: Some(picture.clone()),
            count: 2,
            ..DraftRequest::default()
        })
    });
    for result in futures_util::future::join_all(runs).await {
        assert_eq!(result.expect("drafts").len(), 2);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Damaged files of every format give an answer, never a panic.
    #[test]
    fn damaged_files_are_answered_not_panicked_on(
        format in 0usize..5,
        flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..8),
    ) {
        let mut bytes = match format {
            0 => bombs::png(300),
            1 => bombs::jpeg(300, 300),
            2 => bombs::progressive_jpeg(300, 300),
            3 => bombs::webp_lossless(300),
            _ => bombs::webp_extended(300),
        };
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        let _ = image_prep::prepare(&bytes, &small_pins());
    }
}
