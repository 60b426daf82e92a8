//! Inline images of a pin's `media_source` (`image_base64`, `multiple_image_base64` items and a
//! video's `cover_image_data`): the spec's base64 pattern, real base64, and bytes that are the
//! image type the request declares. Pinterest decodes what it is sent and refuses data that is not
//! the declared JPEG or PNG, so a client that mislabels its images, or sends placeholder bytes,
//! must fail here as it would there.

use base64::Engine as _;

use super::Fields;
use crate::errors::{ApiError, ApiResult};

/// The spec's `ContentType`: the only image types Pinterest accepts inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
}

impl ImageType {
    fn parse(content_type: &str) -> Option<ImageType> {
        match content_type {
            "image/jpeg" => Some(ImageType::Jpeg),
            "image/png" => Some(ImageType::Png),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
        }
    }

    /// The file signature every file of this type starts with: the JPEG SOI marker followed by
    /// the first byte of the next marker, and the eight-byte PNG signature (PNG spec §5.2).
    fn magic(self) -> &'static [u8] {
        match self {
            ImageType::Jpeg => &[0xFF, 0xD8, 0xFF],
            ImageType::Png => &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A],
        }
    }

    /// The extension of the image URL a created pin shows.
    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
        }
    }

    /// The type whose signature `bytes` start with, if any.
    fn sniff(bytes: &[u8]) -> Option<ImageType> {
        [ImageType::Jpeg, ImageType::Png]
            .into_iter()
            .find(|kind| bytes.starts_with(kind.magic()))
    }
}

/// The required `content_type` of the object `name` (`media_source` or one of its items).
pub fn declared_type(name: &str, fields: &Fields) -> ApiResult<ImageType> {
    optional_type(&format!("{name}.content_type"), fields, "content_type")?.ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid parameters: '{name}.content_type' must be image/jpeg or image/png."
        ))
    })
}

/// An optional content-type field such as a video's `cover_image_content_type`; `label` is how
/// errors name it.
pub fn optional_type(label: &str, fields: &Fields, field: &str) -> ApiResult<Option<ImageType>> {
    let refused = || {
        ApiError::invalid(format!(
            "Invalid parameters: '{label}' must be image/jpeg or image/png."
        ))
    };
    match fields.string(field, None).map_err(|_| refused())? {
        None => Ok(None),
        Some(value) => ImageType::parse(&value).map(Some).ok_or_else(refused),
    }
}

/// Checks the base64 image `data` of the field `name`. With `declared`, the bytes must be an
/// image of that type; without (a video cover sent without its content type), a JPEG or a PNG.
/// Returns the type the bytes are.
pub fn check_data(name: &str, data: &str, declared: Option<ImageType>) -> ApiResult<ImageType> {
    let bytes = decode(data).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid parameters: '{name}' must be base64-encoded image data."
        ))
    })?;
    match (declared, ImageType::sniff(&bytes)) {
        (Some(declared), Some(found)) if declared == found => Ok(found),
        (None, Some(found)) => Ok(found),
        (Some(declared), _) => Err(ApiError::invalid(format!(
            "Invalid parameters: '{name}' is not {} image data.",
            declared.as_str()
        ))),
        (None, None) => Err(ApiError::invalid(format!(
            "Invalid parameters: '{name}' is not image/jpeg or image/png image data."
        ))),
    }
}

/// The bytes of `data` when it matches the spec's pattern `^[a-zA-Z0-9+/=]+$` and is valid
/// standard base64.
fn decode(data: &str) -> Option<Vec<u8>> {
    let pattern_ok = !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    if !pattern_ok {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];

    fn encode(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn bytes_must_be_the_declared_type() {
        let png = encode(PNG);
        let jpeg = encode(JPEG);
        assert_eq!(
            check_data("data", &png, Some(ImageType::Png)),
            Ok(ImageType::Png)
        );
        assert_eq!(
            check_data("data", &jpeg, Some(ImageType::Jpeg)),
            Ok(ImageType::Jpeg)
        );
        assert_eq!(check_data("cover", &jpeg, None), Ok(ImageType::Jpeg));
        for (data, declared) in [
            (png.as_str(), Some(ImageType::Jpeg)),
            (jpeg.as_str(), Some(ImageType::Png)),
            ("AAAA", Some(ImageType::Png)),
            ("AAAA", None),
            // The signature alone, cut short, is not a PNG.
            (&encode(&PNG[..7]), Some(ImageType::Png)),
            ("", Some(ImageType::Png)),
            ("not base64!", Some(ImageType::Jpeg)),
            ("iVBO", Some(ImageType::Png)),
        ] {
            let error = check_data("media_source.data", data, declared)
                .expect_err(&format!("{data:?} as {declared:?}"));
            assert_eq!(error.code, 1);
            assert!(error.message.contains("'media_source.data'"), "{error:?}");
        }
    }
}
