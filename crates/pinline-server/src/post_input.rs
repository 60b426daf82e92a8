//! A post as an app sends it, parsed once into a [`ValidPost`]: every field checked against
//! Pinterest's limits, each refusal naming the field and the fix. Checks that need Pinterest
//! (does the board exist, is it secret) happen afterwards, in the handler.

use pinline_pinterest::facts::is_pinterest_id;
use pinline_pinterest::{PinCreate, PinMediaSource, PinText, Refusal};
use pinline_queue::slots::Request;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::body;
use crate::error::ApiError;
use crate::text::MultiLine;

/// The body of `POST /v1/posts` (and each item of a batch).
///
/// The schema marks nothing as required because every rule (required fields, exclusive pairs,
/// lengths) is checked here, in `validate`, so that each refusal names its field.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = NewPost,
    example = json!({
        "account_id": "0193a5b2-7c1e-7f00-8000-000000000001",
        "board_id": "1234567890",
        "title": "Lemon tart",
        "description": "Sharp and sweet.",
        "link": "https://example.invalid/tart",
        "alt_text": "A lemon tart on a plate",
        "image_url": "https://example.invalid/tart.jpg",
        "publish_at": "2026-12-01T09:30:00+01:00"
    })
)]
pub struct PostInput {
    /// Required: the account to publish as (an `id` from `GET /v1/accounts`).
    pub account_id: Option<String>,
    /// The board's id (digits). One of `board_id` and `board` is required.
    pub board_id: Option<String>,
    /// Or the board's name, resolved to its id once, now (case-insensitively).
    pub board: Option<String>,
    /// A section of the board (digits).
    pub board_section_id: Option<String>,
    /// Or the section's name, resolved to its id once, now (case-insensitively).
    pub board_section: Option<String>,
    /// At most 100 characters.
    pub title: Option<String>,
    /// At most 800 characters; may span lines.
    #[schema(value_type = Option<String>)]
    pub description: Option<MultiLine>,
    /// Where the pin leads: an http(s) URL of at most 2048 characters.
    pub link: Option<String>,
    /// At most 500 characters.
    pub alt_text: Option<String>,
    /// Pinterest's `media_source` object (`{"source_type": "image_url", "url": …}`, …). One of
    /// `media_source` and `image_url` is required.
    #[schema(schema_with = media_source_schema)]
    pub media_source: Option<serde_json::Value>,
    /// Shorthand for `{"source_type": "image_url", "url": …}`.
    pub image_url: Option<String>,
    /// A carousel of 2–5 images, each with its own title, description and link. One of
    /// `images`, `image_url` and `media_source` is required.
    #[schema(value_type = Option<Vec<crate::carousel::CarouselImageInput>>)]
    pub images: Option<Vec<crate::carousel::CarouselImageInput>>,
    /// When to publish: an RFC 3339 time with an offset (absent or past means now), or
    /// `next_slot` for the account's next free time slot (`PUT /v1/accounts/{id}/slots`). The
    /// account's spacing rule may move either later; the answer's `publish_at` says when.
    #[schema(schema_with = publish_at_schema)]
    pub publish_at: Option<String>,
    /// With `"publish_at": "next_slot"` only: the first time the slot may be at (RFC 3339 with
    /// an offset), to take the first free slot of a later day.
    #[schema(format = DateTime)]
    pub not_before: Option<String>,
}

/// `publish_at` as the API takes it: a time, or the word `next_slot`.
pub fn publish_at_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::Schema::AnyOf(
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).format(Some(
                utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::DateTime,
                ),
            )))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([NEXT_SLOT])),
            )
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(
                "An RFC 3339 time with an offset, or `next_slot` for the account's next free slot.",
            ))
            .build(),
    )
}

/// The `publish_at` value that asks for the account's next free slot.
pub const NEXT_SLOT: &str = "next_slot";

/// The JSON Schema of Pinterest's `media_source` object: its `source_type` picks the other
/// fields, which Pinterest's own rules check when the post is validated.
pub fn media_source_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Pinterest's media source: `source_type` is `image_url` (with `url`), `image_base64` \
             (`content_type`, `data`), `multiple_image_urls` or `multiple_image_base64` (`items`, \
             optional `index`) or `video_id` (`media_id`, `cover_image_url` or \
             `cover_image_key_frame_time`).",
        ))
        .property(
            "source_type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([
                    "image_url",
                    "image_base64",
                    "multiple_image_urls",
                    "multiple_image_base64",
                    "video_id",
                ])),
        )
        .required("source_type")
        .build()
}

/// Pinterest's media source, read strictly: an object, and each of its `items` an object too
/// (the tagged reading would otherwise take an array, matched by position).
fn media_source(value: &serde_json::Value) -> Result<PinMediaSource, ApiError> {
    let positional = if !value.is_object() {
        Some("media_source".to_owned())
    } else {
        value
            .get("items")
            .and_then(serde_json::Value::as_array)
            .and_then(|items| items.iter().position(|item| !item.is_object()))
            .map(|index| format!("media_source.items[{index}]"))
    };
    if let Some(field) = positional {
        return Err(ApiError {
            field: Some(field.clone()),
            ..ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("{field} must be a JSON object with named fields"),
            )
        });
    }
    body::read::<PinMediaSource>(value).map_err(|error| {
        let refused = ApiError::from(error.clone());
        if refused.code == "invalid_field" {
            // A refused character: named where it is, inside the object.
            let inner = error.field().unwrap_or_default();
            return ApiError {
                field: Some(format!("media_source.{inner}")),
                ..refused
            };
        }
        ApiError::invalid(
            "media_source",
            format!(
                "media_source is not valid ({error}); source_type is one of image_url, image_base64, multiple_image_urls, multiple_image_base64, video_id"
            ),
        )
    })
}

/// Which board the post names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardRef {
    Id(String),
    Name(String),
}

/// A post whose fields passed every check that needs no network.
#[derive(Debug, Clone)]
pub struct ValidPost {
    pub account_id: String,
    pub board: BoardRef,
    pub board_section_id: Option<String>,
    /// A section named rather than given by id; resolved at acceptance.
    pub board_section: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    pub media: PinMediaSource,
    /// When the caller asked it to go.
    pub when: Request,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A pin text field through the one check every intake uses ([`PinText::check`]), refused as
/// the API refuses a field.
pub fn pin_text(text: PinText, value: Option<String>) -> Result<Option<String>, ApiError> {
    text.check(value.as_deref())
        .map_err(|refused| ApiError::invalid(refused.field, refused.message))
}

/// Parses an RFC 3339 time with an offset into unix milliseconds.
pub fn parse_time(field: &str, value: &str) -> Result<i64, ApiError> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::invalid(
            field,
            format!(
                "{field} must be an RFC 3339 time with an offset, such as 2026-12-01T09:30:00+01:00"
            ),
        )
    })?;
    Ok((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

impl PostInput {
    /// Runs every check that needs no network.
    pub fn validate(self) -> Result<ValidPost, ApiError> {
        let account_id = non_empty(self.account_id).ok_or_else(|| {
            ApiError::invalid(
                "account_id",
                "account_id is required: the id from GET /v1/accounts",
            )
        })?;
        let board = match (non_empty(self.board_id), non_empty(self.board)) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "board",
                    "give board_id or board (a name), not both",
                ));
            }
            (Some(id), None) if is_pinterest_id(&id) => BoardRef::Id(id),
            (Some(id), None) => {
                return Err(ApiError::invalid(
                    "board_id",
                    format!(
                        "board_id `{id}` is not a board id (digits); to name a board, send it as `board`"
                    ),
                ));
            }
            (None, Some(name)) => BoardRef::Name(name),
            (None, None) => {
                return Err(ApiError::invalid(
                    "board_id",
                    "board_id (or board, a board name) is required; GET /v1/accounts/{id}/boards lists them",
                ));
            }
        };
        let board_section_id = non_empty(self.board_section_id);
        let board_section = non_empty(self.board_section);
        if board_section_id.is_some() && board_section.is_some() {
            return Err(ApiError::invalid(
                "board_section",
                "give board_section_id or board_section (a name), not both",
            ));
        }
        if let Some(name) = &board_section
            && name.chars().count() > 180
        {
            return Err(ApiError::invalid(
                "board_section",
                "board_section is a section name: at most 180 characters",
            ));
        }
        if let Some(section) = &board_section_id
            && !is_pinterest_id(section)
        {
            return Err(ApiError::invalid(
                "board_section_id",
                "board_section_id must be digits",
            ));
        }
        let title = pin_text(PinText::Title, self.title)?;
        let description = pin_text(
            PinText::Description,
            self.description.map(MultiLine::into_string),
        )?;
        let mut alt_text = pin_text(PinText::AltText, self.alt_text)?;
        let link = pin_text(PinText::Link, self.link)?;
        let carousel = match self.images {
            Some(images) => {
                if self.media_source.is_some() || self.image_url.is_some() {
                    return Err(ApiError::invalid(
                        "images",
                        "give images, image_url or media_source, only one",
                    ));
                }
                Some(crate::carousel::carousel(images)?)
            }
            None => None,
        };
        let media = match (carousel, self.media_source, non_empty(self.image_url)) {
            (Some(carousel), _, _) => {
                if alt_text.is_none() {
                    alt_text = carousel.alt_text;
                }
                carousel.media
            }
            (None, Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "media_source",
                    "give media_source or image_url, not both",
                ));
            }
            (None, None, Some(url)) => PinMediaSource::ImageUrl { url },
            (None, Some(value), None) => media_source(&value)?,
            (None, None, None) => {
                return Err(ApiError::invalid(
                    "media_source",
                    "media is required: image_url, images (a carousel), or media_source as Pinterest defines it",
                ));
            }
        };
        if let PinMediaSource::ImageUrl { url } = &media
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ApiError::invalid(
                "image_url",
                "the image URL must be http(s)",
            ));
        }
        let not_before = match non_empty(self.not_before) {
            Some(text) => Some(parse_time("not_before", &text)?),
            None => None,
        };
        let when = match non_empty(self.publish_at) {
            Some(text) if text == NEXT_SLOT => Request::NextSlot(not_before),
            _ if not_before.is_some() => {
                return Err(ApiError::invalid(
                    "not_before",
                    "not_before goes with \"publish_at\": \"next_slot\"; for a time of your own, give it as publish_at",
                ));
            }
            Some(text) => Request::At(Some(parse_time("publish_at", &text).map_err(|_| {
                ApiError::invalid(
                    "publish_at",
                    "publish_at must be an RFC 3339 time with an offset, such as 2026-12-01T09:30:00+01:00, or next_slot",
                )
            })?)),
            None => Request::At(None),
        };
        let post = ValidPost {
            account_id,
            board,
            board_section_id,
            board_section,
            title,
            description,
            link,
            alt_text,
            media,
            when,
        };
        // Pinterest's own rules for the create call (carousel sizes, id shapes, …).
        post.pin_create("0").validate().map_err(refusal_to_error)?;
        Ok(post)
    }
}

impl ValidPost {
    /// What the post's image is, for the spacing rule: the URL of an image (the first of a
    /// carousel), a hash of inline bytes, or the video's media id.
    pub fn image_key(&self) -> Option<String> {
        let digest =
            |data: &str| format!("sha256:{}", hex::encode(Sha256::digest(data.as_bytes())));
        match &self.media {
            PinMediaSource::ImageUrl { url } => Some(url.clone()),
            PinMediaSource::ImageBase64 { data, .. } => Some(digest(&data.0)),
            PinMediaSource::MultipleImageUrls { items, .. } => {
                items.first().map(|item| item.url.clone())
            }
            PinMediaSource::MultipleImageBase64 { items, .. } => {
                items.first().map(|item| digest(&item.data.0))
            }
            PinMediaSource::VideoId { media_id, .. } => Some(format!("video:{media_id}")),
        }
    }

    /// The Pinterest create call this post will make on `board_id`.
    pub fn pin_create(&self, board_id: &str) -> PinCreate {
        let mut create = PinCreate::new(board_id, self.media.clone());
        create.board_section_id = self.board_section_id.clone();
        create.title = self.title.clone();
        create.description = self.description.clone();
        create.link = self.link.clone();
        create.alt_text = self.alt_text.clone();
        create
    }
}

fn refusal_to_error(refusal: Refusal) -> ApiError {
    let message = refusal.to_string();
    let field = match &refusal {
        Refusal::InvalidField { field, .. } => field.to_string(),
        _ => "media_source".to_owned(),
    };
    ApiError::invalid(&field, message)
}
