//! Pin images: size, ratio, crop choice, orientation and the size cap.

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use pinline_drafts::image_prep::{self, ImageSettings};
use pinline_drafts::{CropRect, DraftError};

use crate::support::{decode, encode, flat_with_detail, jpeg_with_orientation, noise, png};

fn contains(outer: CropRect, x: u32, y: u32, width: u32, height: u32) -> bool {
    outer.x <= x
        && outer.y <= y
        && outer.x + outer.width >= x + width
        && outer.y + outer.height >= y + height
}

#[test]
fn output_is_1000_by_1500_and_the_crop_keeps_2_by_3() {
    let picture = flat_with_detail(1600, 900, (700, 300, 200, 200));
    let prepared =
        image_prep::prepare(&png(&picture), &ImageSettings::default()).expect("prepares");
    assert_eq!((prepared.width, prepared.height), (1000, 1500));
    let decoded = decode(&prepared.jpeg);
    assert_eq!(decoded.dimensions(), (1000, 1500));
    let crop = prepared.crop;
    assert_eq!(
        crop.height, 900,
        "the largest 2:3 window uses the full height"
    );
    assert_eq!(crop.width, 600);
    assert!(prepared.jpeg.len() <= ImageSettings::default().max_jpeg_bytes);
    assert_eq!((prepared.source_width, prepared.source_height), (1600, 900));
}

#[test]
fn the_crop_moves_towards_the_detailed_corner() {
    // Landscape: the window slides horizontally; the detail sits in the upper left.
    let picture = flat_with_detail(1200, 600, (20, 20, 180, 180));
    let prepared =
        image_prep::prepare(&png(&picture), &ImageSettings::default()).expect("prepares");
    assert_eq!(
        prepared.crop,
        CropRect {
            x: 0,
            y: 0,
            width: 400,
            height: 600
        }
    );

    // Portrait: the window slides vertically; the detail sits at the top left.
    let picture = flat_with_detail(600, 1800, (10, 10, 200, 200));
    let prepared =
        image_prep::prepare(&png(&picture), &ImageSettings::default()).expect("prepares");
    assert_eq!(prepared.crop.y, 0, "{:?}", prepared.crop);
    assert!(contains(prepared.crop, 10, 10, 200, 200));

    // The same picture without detail is cut in the centre.
    let flat = flat_with_detail(600, 1800, (0, 0, 0, 0));
    let prepared = image_prep::prepare(&png(&flat), &ImageSettings::default()).expect("prepares");
    assert_eq!(prepared.crop.y, 450);
}

#[test]
fn variants_use_different_windows() {
    let picture = flat_with_detail(1500, 1000, (100, 100, 300, 300));
    let prepared = image_prep::prepare_variants(&png(&picture), &ImageSettings::default(), 3)
        .expect("prepares");
    assert_eq!(prepared.len(), 3);
    assert!(
        contains(prepared[0].crop, 100, 100, 300, 300),
        "{:?}",
        prepared[0].crop
    );
    for (i, a) in prepared.iter().enumerate() {
        assert_eq!((a.width, a.height), (1000, 1500));
        let ratio = f64::from(a.crop.width) / f64::from(a.crop.height);
        assert!((ratio - 2.0 / 3.0).abs() < 0.01, "{:?}", a.crop);
        for b in &prepared[i + 1..] {
            assert!(
                a.crop.overlap(&b.crop) <= 0.5,
                "{:?} vs {:?}",
                a.crop,
                b.crop
            );
        }
    }
}

#[test]
fn exif_orientation_is_honoured() {
    // Stored landscape 300×200: red left half, blue right half. Orientation 6 means "rotate 90°
    // clockwise to display", which puts the left half on top.
    let stored = RgbImage::from_fn(300, 200, |x, _| {
        if x < 150 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let jpeg = jpeg_with_orientation(&DynamicImage::ImageRgb8(stored), 6);
    let prepared = image_prep::prepare(&jpeg, &ImageSettings::default()).expect("prepares");
    assert_eq!((prepared.source_width, prepared.source_height), (200, 300));
    assert_eq!(
        prepared.crop,
        CropRect {
            x: 0,
            y: 0,
            width: 200,
            height: 300
        }
    );
    let pixels = decode(&prepared.jpeg);
    let top = pixels.get_pixel(500, 200).0;
    let bottom = pixels.get_pixel(500, 1300).0;
    assert!(top[0] > 150 && top[2] < 100, "top should be red: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "bottom should be blue: {bottom:?}"
    );
}

#[test]
fn quality_drops_until_the_jpeg_fits_the_cap() {
    // A smaller output and bigger quality steps keep this test quick; the rule is the same.
    let base = ImageSettings {
        width: 400,
        height: 600,
        quality_step: 25,
        ..ImageSettings::default()
    };
    let bytes = png(&noise(400, 600));
    let generous = image_prep::prepare(
        &bytes,
        &ImageSettings {
            max_jpeg_bytes: 50 * 1024 * 1024,
            ..base.clone()
        },
    )
    .expect("prepares");
    assert_eq!(generous.quality, 90);
    let cap = generous.jpeg.len() * 2 / 3;
    let capped = image_prep::prepare(
        &bytes,
        &ImageSettings {
            max_jpeg_bytes: cap,
            ..base.clone()
        },
    )
    .expect("prepares under the cap");
    assert!(capped.jpeg.len() <= cap, "{} > {cap}", capped.jpeg.len());
    assert!(capped.quality < 90);

    let error = image_prep::prepare(
        &bytes,
        &ImageSettings {
            max_jpeg_bytes: 4 * 1024,
            ..base
        },
    )
    .expect_err("noise never fits 4 KiB");
    assert!(
        matches!(error, DraftError::ImageOverSizeCap { .. }),
        "{error:?}"
    );
}

#[test]
fn transparency_is_laid_over_white() {
    let transparent = RgbaImage::from_pixel(400, 600, Rgba([0, 0, 0, 0]));
    let bytes = encode(&DynamicImage::ImageRgba8(transparent), ImageFormat::Png);
    let prepared = image_prep::prepare(&bytes, &ImageSettings::default()).expect("prepares");
    let pixel = decode(&prepared.jpeg).get_pixel(500, 750).0;
    assert!(pixel.iter().all(|c| *c > 245), "{pixel:?}");
}

#[test]
fn bad_images_are_refused_clearly() {
    let settings = ImageSettings::default();
    let error =
        image_prep::prepare(b"<html>not an image</html>", &settings).expect_err("not an image");
    assert!(
        matches!(error, DraftError::ImageUndecodable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("JPEG, PNG or WebP"));

    let whole = png(&noise(300, 300));
    let truncated = &whole[..whole.len() / 2];
    let error = image_prep::prepare(truncated, &settings).expect_err("truncated");
    assert!(
        matches!(error, DraftError::ImageUndecodable { .. }),
        "{error:?}"
    );

    let error = image_prep::prepare(&png(&noise(120, 90)), &settings).expect_err("too small");
    assert!(
        matches!(
            error,
            DraftError::ImageTooSmall {
                width: 120,
                height: 90,
                ..
            }
        ),
        "{error:?}"
    );

    let webp = encode(&noise(300, 450), ImageFormat::WebP);
    image_prep::prepare(&webp, &settings).expect("WebP is read");
}
