//! A carousel as a post names it, `"images": [{"url" | "base64", "title", "description",
//! "link", "alt_text"}]`, turned into Pinterest's `multiple_image_urls` or
//! `multiple_image_base64` media source with each image's own copy. Every item is checked as a
//! post's fields are, and a refusal names the item (`images[2].link`).
//!
//! Pinterest keeps one alt text per pin, carousel or not: an image's `alt_text` is taken from
//! the first image only (as the pin's, when the post gives none); on a later image it is refused
//! rather than dropped without a word.

use base64::Engine as _;
use pinline_pinterest::facts::pin_limits;
use pinline_pinterest::{
    Base64Data, ImageBase64Item, ImageContentType, ImageUrlItem, PinMediaSource, PinText,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::text::MultiLine;

/// One image of a carousel.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CarouselImage)]
pub struct CarouselImageInput {
    /// The image's http(s) URL. One of `url` and `base64` is required; all images of a
    /// carousel give the same one.
    pub url: Option<String>,
    /// The image itself, base64 (a JPEG or PNG; the type is read from its first bytes).
    pub base64: Option<String>,
    /// This image's title: at most 100 characters.
    pub title: Option<String>,
    /// This image's description: at most 800 characters; may span lines.
    #[schema(value_type = Option<String>)]
    pub description: Option<MultiLine>,
    /// Where this image leads: an http(s) URL of at most 2048 characters.
    pub link: Option<String>,
    /// The first image only: the pin's alt text (at most 500 characters), when the post gives
    /// none.
    pub alt_text: Option<String>,
}

/// A checked carousel: the media source and the alt text its first image gave.
#[derive(Debug)]
pub struct Carousel {
    pub media: PinMediaSource,
    pub alt_text: Option<String>,
}

fn item_text(
    index: usize,
    text: PinText,
    value: Option<String>,
) -> Result<Option<String>, ApiError> {
    text.check(value.as_deref()).map_err(|refused| {
        ApiError::invalid(
            &format!("images[{index}].{}", refused.field),
            format!("images[{index}]: {}", refused.message),
        )
    })
}

/// The type of inline image data, read from its first bytes once the whole of it decoded;
/// `None` when it is not standard base64, or neither a JPEG nor a PNG.
fn sniff(data: &str) -> Option<ImageContentType> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageContentType::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(ImageContentType::Png)
    } else {
        None
    }
}

/// Checks every image and builds the media source.
pub fn carousel(items: Vec<CarouselImageInput>) -> Result<Carousel, ApiError> {
    let range = pin_limits::MULTIPLE_IMAGES_MIN..=pin_limits::MULTIPLE_IMAGES_MAX;
    if !range.contains(&items.len()) {
        return Err(ApiError::invalid(
            "images",
            format!(
                "{} images; a carousel has {} to {}",
                items.len(),
                range.start(),
                range.end()
            ),
        ));
    }
    let mut urls = Vec::new();
    let mut inline = Vec::new();
    let mut alt_text = None;
    for (index, item) in items.into_iter().enumerate() {
        let title = item_text(index, PinText::Title, item.title)?;
        let description = item_text(
            index,
            PinText::Description,
            item.description.map(MultiLine::into_string),
        )?;
        let link = item_text(index, PinText::Link, item.link)?;
        let alt = item_text(index, PinText::AltText, item.alt_text)?;
        if alt.is_some() {
            if index > 0 {
                return Err(ApiError::invalid(
                    &format!("images[{index}].alt_text"),
                    "Pinterest keeps one alt text per pin: give it on the first image or as the post's alt_text",
                ));
            }
            alt_text = alt;
        }
        let url = item
            .url
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let data = item
            .base64
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        match (url, data) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    &format!("images[{index}].url"),
                    format!("images[{index}]: give url or base64, not both"),
                ));
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    &format!("images[{index}].url"),
                    format!("images[{index}]: url (or base64) is required"),
                ));
            }
            (Some(url), None) => {
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.chars().count() > pin_limits::LINK_MAX
                {
                    return Err(ApiError::invalid(
                        &format!("images[{index}].url"),
                        format!(
                            "images[{index}]: the image URL must be http(s), at most {} characters",
                            pin_limits::LINK_MAX
                        ),
                    ));
                }
                urls.push(ImageUrlItem {
                    url,
                    title,
                    description,
                    link,
                });
            }
            (None, Some(data)) => {
                let base64_alphabet = data
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
                let content_type = sniff(&data).filter(|_| base64_alphabet).ok_or_else(|| {
                    ApiError::invalid(
                        &format!("images[{index}].base64"),
                        format!("images[{index}]: base64 must be a JPEG or PNG image, base64-encoded (standard alphabet)"),
                    )
                })?;
                inline.push(ImageBase64Item {
                    content_type,
                    data: Base64Data(data),
                    title,
                    description,
                    link,
                });
            }
        }
        if !urls.is_empty() && !inline.is_empty() {
            return Err(ApiError::invalid(
                &format!("images[{index}]"),
                "a carousel's images are all URLs or all base64, as Pinterest takes them",
            ));
        }
    }
    let media = if inline.is_empty() {
        PinMediaSource::MultipleImageUrls {
            items: urls,
            index: None,
        }
    } else {
        PinMediaSource::MultipleImageBase64 {
            items: inline,
            index: None,
        }
    };
    Ok(Carousel { media, alt_text })
}
