//! Serde wire types for the part of Pinterest API v5 that pinline uses.
//!
//! Shapes follow the schemas of Pinterest's OpenAPI description (`Account`, `Board`,
//! `BoardCreate`, `Pin`, `PinCreate`, `PinMediaSource`, `MediaUpload`, `Media`,
//! `OauthAccessTokenResponse`, …). Rules:
//! * Unknown fields are ignored (serde's default), so Pinterest can add fields without breaking
//!   us; everything the spec marks nullable or does not require is an `Option`.
//! * Request types skip `None` fields, so that an absent field is absent rather than `null`.
//! * Ids are plain `String`s because Pinterest's ids are digit strings and the facts module's
//!   [`crate::facts::is_pinterest_id`] validates them where they enter a path.
//! * Timestamps stay strings: Pinterest's `date-time` values are not all RFC 3339 (some lack an
//!   offset), and pinline only displays them.
//! * Non-secret types also implement `Serialize` so that the sandbox can answer with them; the
//!   token response does not, because it holds secrets.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Refusal;
use crate::facts::{UnknownScope, parse_scope_list, pin_limits};
use crate::secret::{AccessToken, RefreshToken};

/// One page of a list: `{items, bookmark}`. A `bookmark` of `None` means the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Cursor for the next page.
    #[serde(default)]
    pub bookmark: Option<String>,
}

/// The user behind a token (`GET /v5/user_account`). Only `id` and `username` are required
/// here, although the spec requires nothing: pinline cannot tag a credential without them, and a
/// response missing them is better refused at decoding than stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAccount {
    /// Pinterest user id (digits).
    pub id: String,
    /// Username.
    pub username: String,
    /// `PINNER` or `BUSINESS`.
    #[serde(default)]
    pub account_type: Option<AccountType>,
    /// Profile image URL.
    #[serde(default)]
    pub profile_image: Option<String>,
    /// Website URL.
    #[serde(default)]
    pub website_url: Option<String>,
    /// Business name, for business accounts.
    #[serde(default)]
    pub business_name: Option<String>,
    /// Number of boards.
    #[serde(default)]
    pub board_count: Option<u64>,
    /// Number of pins, created and saved.
    #[serde(default)]
    pub pin_count: Option<u64>,
    /// Followers.
    #[serde(default)]
    pub follower_count: Option<u64>,
    /// Accounts followed.
    #[serde(default)]
    pub following_count: Option<u64>,
    /// Monthly views.
    #[serde(default)]
    pub monthly_views: Option<i64>,
}

/// Kind of Pinterest account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountType {
    /// A personal account.
    Pinner,
    /// A business account.
    Business,
    /// A kind added after this was written.
    #[serde(other)]
    Other,
}

/// Who can see a board.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BoardPrivacy {
    /// Everyone (the default).
    #[default]
    Public,
    /// Ad-only boards.
    Protected,
    /// Only the owner and collaborators; reading and writing need the `*_secret` scopes.
    Secret,
}

impl BoardPrivacy {
    /// True when the board needs the `*_secret` scope counterparts.
    pub fn is_secret(self) -> bool {
        self == BoardPrivacy::Secret
    }
}

/// The `privacy` filter of `GET /v5/boards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BoardPrivacyFilter {
    /// Every board the token can see.
    All,
    /// Public boards.
    Public,
    /// Protected boards.
    Protected,
    /// Secret boards.
    Secret,
    /// Public and secret boards.
    PublicAndSecret,
}

impl BoardPrivacyFilter {
    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardPrivacyFilter::All => "ALL",
            BoardPrivacyFilter::Public => "PUBLIC",
            BoardPrivacyFilter::Protected => "PROTECTED",
            BoardPrivacyFilter::Secret => "SECRET",
            BoardPrivacyFilter::PublicAndSecret => "PUBLIC_AND_SECRET",
        }
    }
}

/// The privacy values `PATCH /v5/boards/{id}` accepts (`BoardUpdatePrivacy`: no `PROTECTED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BoardUpdatePrivacy {
    /// Everyone.
    Public,
    /// Owner and collaborators.
    Secret,
}

/// A board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    /// Board id (digits).
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Privacy; Pinterest's default is `PUBLIC` when absent.
    #[serde(default)]
    pub privacy: BoardPrivacy,
    /// Owner.
    #[serde(default)]
    pub owner: Option<BoardOwner>,
    /// Whether the board holds ad-only pins.
    #[serde(default)]
    pub is_ads_only: Option<bool>,
    /// Creation time, as Pinterest wrote it.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last time pins on it changed.
    #[serde(default)]
    pub board_pins_modified_at: Option<String>,
    /// Number of pins.
    #[serde(default)]
    pub pin_count: Option<u64>,
    /// Number of followers.
    #[serde(default)]
    pub follower_count: Option<u64>,
    /// Number of collaborators.
    #[serde(default)]
    pub collaborator_count: Option<u64>,
    /// Cover and thumbnails.
    #[serde(default)]
    pub media: Option<BoardMedia>,
}

/// The owner of a board or pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardOwner {
    /// The owner's username.
    #[serde(default)]
    pub username: Option<String>,
}

/// A board's images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardMedia {
    /// Cover image URL.
    #[serde(default)]
    pub image_cover_url: Option<String>,
    /// Thumbnail URLs of some of its pins.
    #[serde(default)]
    pub pin_thumbnail_urls: Vec<String>,
}

/// Body of `POST /v5/boards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCreate {
    /// Name (required).
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Privacy; Pinterest defaults to `PUBLIC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<BoardPrivacy>,
    /// Ad-only board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_ads_only: Option<bool>,
}

impl BoardCreate {
    /// A board with just a name.
    pub fn new(name: impl Into<String>) -> Self {
        BoardCreate {
            name: name.into(),
            description: None,
            privacy: None,
            is_ads_only: None,
        }
    }
}

/// Body of `PATCH /v5/boards/{board_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New privacy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<BoardUpdatePrivacy>,
}

/// A board section; also the body of `POST /v5/boards/{board_id}/sections` (without `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardSection {
    /// Section id, absent in a create request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name, 1 to 180 characters.
    pub name: String,
}

/// An analytics answer (`AnalyticsResponse`, `PinAnalyticsResponse`): metrics per group, the
/// group being `ALL` when the data is not split.
pub type AnalyticsReport = std::collections::BTreeMap<String, AnalyticsMetrics>;

/// The metrics of one analytics group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnalyticsMetrics {
    /// One record per day of the range.
    #[serde(default)]
    pub daily_metrics: Vec<AnalyticsDay>,
    /// The metrics over the whole range.
    #[serde(default)]
    pub summary_metrics: Option<std::collections::BTreeMap<String, Option<f64>>>,
}

/// One day of an analytics answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsDay {
    /// The day (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// `READY`, `ESTIMATE`, `PROCESSING`, … (`DataStatus`).
    #[serde(default)]
    pub data_status: Option<String>,
    /// Metric name to value; a metric without a value that day is absent or null.
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, Option<f64>>,
}

/// A pin as Pinterest returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// Pin id (digits).
    pub id: String,
    /// Creation time, as Pinterest wrote it.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Destination link.
    #[serde(default)]
    pub link: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Dominant colour, `#RRGGBB`.
    #[serde(default)]
    pub dominant_color: Option<String>,
    /// Alt text.
    #[serde(default)]
    pub alt_text: Option<String>,
    /// The board it is on.
    #[serde(default)]
    pub board_id: Option<String>,
    /// The board section it is in.
    #[serde(default)]
    pub board_section_id: Option<String>,
    /// The board's owner.
    #[serde(default)]
    pub board_owner: Option<BoardOwner>,
    /// Whether the token's user owns it.
    #[serde(default)]
    pub is_owner: Option<bool>,
    /// Whether it is a standard pin.
    #[serde(default)]
    pub is_standard: Option<bool>,
    /// Whether it has been promoted.
    #[serde(default)]
    pub has_been_promoted: Option<bool>,
    /// The pin it was saved from.
    #[serde(default)]
    pub parent_pin_id: Option<String>,
    /// Ad creative type (`REGULAR`, `VIDEO`, …), kept as a string since the list keeps growing.
    #[serde(default)]
    pub creative_type: Option<String>,
    /// Its media, as returned.
    #[serde(default)]
    pub media: Option<PinMedia>,
}

/// A pin's media as returned (`PinMedia`, a `oneOf` on `media_type`). Only the discriminator is
/// typed; the rest (image sizes, video URLs) is kept as JSON because pinline only displays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinMedia {
    /// `image`, `video`, `multiple_images`, `multiple_videos` or `multiple_mixed`.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Body of `POST /v5/pins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinCreate {
    /// Target board (digits).
    pub board_id: String,
    /// The image(s) or video.
    pub media_source: PinMediaSource,
    /// Target section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    /// Destination link, at most 2048 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Title, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description, at most 800 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dominant colour, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dominant_color: Option<String>,
    /// Alt text, at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// The pin this one is saved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_pin_id: Option<String>,
}

impl PinCreate {
    /// A pin with only the required parts.
    pub fn new(board_id: impl Into<String>, media_source: PinMediaSource) -> Self {
        PinCreate {
            board_id: board_id.into(),
            media_source,
            board_section_id: None,
            link: None,
            title: None,
            description: None,
            dominant_color: None,
            alt_text: None,
            parent_pin_id: None,
        }
    }

    /// Checks the limits of the `PinCreate` schema (lengths in characters, id shapes, the number
    /// of images), so that a hopeless request is refused before it spends rate budget.
    pub fn validate(&self) -> Result<(), Refusal> {
        check_id("board_id", Some(&self.board_id))?;
        check_id("board_section_id", self.board_section_id.as_deref())?;
        check_id("parent_pin_id", self.parent_pin_id.as_deref())?;
        check_pin_text(PinText {
            title: self.title.as_deref(),
            description: self.description.as_deref(),
            alt_text: self.alt_text.as_deref(),
            link: self.link.as_deref(),
        })?;
        self.media_source.validate()
    }
}

/// The text fields a pin create or update may set; Pinterest holds both to the same limits.
struct PinText<'a> {
    title: Option<&'a str>,
    description: Option<&'a str>,
    alt_text: Option<&'a str>,
    link: Option<&'a str>,
}

fn check_pin_text(text: PinText<'_>) -> Result<(), Refusal> {
    check_len("title", text.title, pin_limits::TITLE_MAX)?;
    check_len("description", text.description, pin_limits::DESCRIPTION_MAX)?;
    check_len("alt_text", text.alt_text, pin_limits::ALT_TEXT_MAX)?;
    check_len("link", text.link, pin_limits::LINK_MAX)
}

fn check_id(field: &'static str, id: Option<&str>) -> Result<(), Refusal> {
    match id {
        Some(id) if !crate::facts::is_pinterest_id(id) => Err(Refusal::InvalidId {
            field,
            value: id.chars().take(40).collect(),
        }),
        _ => Ok(()),
    }
}

fn check_len(field: &'static str, value: Option<&str>, max: usize) -> Result<(), Refusal> {
    let len = value.map_or(0, |value| value.chars().count());
    if len > max {
        return Err(Refusal::InvalidField {
            field,
            reason: format!("{len} characters, at most {max} allowed"),
        });
    }
    Ok(())
}

/// Body of `PATCH /v5/pins/{pin_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinUpdate {
    /// Move to this board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<String>,
    /// Move to this section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    /// New link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New alt text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

impl PinUpdate {
    /// Checks the same limits as [`PinCreate::validate`] on the fields an update sets, so that
    /// a hopeless edit is refused before it spends rate budget.
    pub fn validate(&self) -> Result<(), Refusal> {
        check_id("board_id", self.board_id.as_deref())?;
        check_id("board_section_id", self.board_section_id.as_deref())?;
        check_pin_text(PinText {
            title: self.title.as_deref(),
            description: self.description.as_deref(),
            alt_text: self.alt_text.as_deref(),
            link: self.link.as_deref(),
        })
    }
}

/// Image types Pinterest accepts inline (`ContentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageContentType {
    /// `image/jpeg`.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/png`.
    #[serde(rename = "image/png")]
    Png,
}

/// Base64 image data. A newtype so that `Debug` prints its size, not megabytes of text into a
/// log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Base64Data(pub String);

impl fmt::Debug for Base64Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Data({} chars)", self.0.len())
    }
}

/// Where a new pin's media comes from (`PinMediaSource`, tagged by `source_type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source_type", rename_all = "snake_case")]
pub enum PinMediaSource {
    /// An image Pinterest fetches from a URL.
    ImageUrl {
        /// The image URL.
        url: String,
    },
    /// An inline image.
    ImageBase64 {
        /// JPEG or PNG.
        content_type: ImageContentType,
        /// The image, base64.
        data: Base64Data,
    },
    /// A carousel of 2–5 images from URLs.
    MultipleImageUrls {
        /// The images.
        items: Vec<ImageUrlItem>,
        /// Which image is shown first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u32>,
    },
    /// A carousel of 2–5 inline images.
    MultipleImageBase64 {
        /// The images.
        items: Vec<ImageBase64Item>,
        /// Which image is shown first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u32>,
    },
    /// A video uploaded through the media endpoints.
    VideoId {
        /// The registered media id (digits).
        media_id: String,
        /// Cover image URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_url: Option<String>,
        /// Cover frame, in seconds into the video.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_key_frame_time: Option<u32>,
        /// Type of an inline cover image.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_content_type: Option<ImageContentType>,
        /// An inline cover image, base64.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_data: Option<Base64Data>,
    },
}

impl PinMediaSource {
    /// The `source_type` value.
    pub fn source_type(&self) -> &'static str {
        match self {
            PinMediaSource::ImageUrl { .. } => "image_url",
            PinMediaSource::ImageBase64 { .. } => "image_base64",
            PinMediaSource::MultipleImageUrls { .. } => "multiple_image_urls",
            PinMediaSource::MultipleImageBase64 { .. } => "multiple_image_base64",
            PinMediaSource::VideoId { .. } => "video_id",
        }
    }

    fn validate(&self) -> Result<(), Refusal> {
        let count = match self {
            PinMediaSource::MultipleImageUrls { items, .. } => Some(items.len()),
            PinMediaSource::MultipleImageBase64 { items, .. } => Some(items.len()),
            PinMediaSource::VideoId { media_id, .. } => {
                return check_id("media_source.media_id", Some(media_id));
            }
            PinMediaSource::ImageUrl { .. } | PinMediaSource::ImageBase64 { .. } => None,
        };
        let range = pin_limits::MULTIPLE_IMAGES_MIN..=pin_limits::MULTIPLE_IMAGES_MAX;
        match count {
            Some(count) if !range.contains(&count) => Err(Refusal::InvalidField {
                field: "media_source.items",
                reason: format!(
                    "{count} images, a carousel needs {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// One image of a URL carousel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrlItem {
    /// The image URL.
    pub url: String,
    /// This image's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// This image's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// This image's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One image of an inline carousel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageBase64Item {
    /// JPEG or PNG.
    pub content_type: ImageContentType,
    /// The image, base64.
    pub data: Base64Data,
    /// This image's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// This image's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// This image's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Media kinds that can be registered for upload (`MediaUploadType`: only `video` today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    /// A video.
    Video,
}

/// Body of `POST /v5/media`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUploadCreate {
    /// What will be uploaded.
    pub media_type: MediaType,
}

/// A registered upload (`POST /v5/media`): where and how to send the file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUpload {
    /// Media id, to poll and to put in a `video_id` media source.
    pub media_id: String,
    /// What is to be uploaded.
    pub media_type: MediaType,
    /// Where to POST the file (a storage host, not the Pinterest API).
    pub upload_url: String,
    /// Form fields to send before the file, in any order Pinterest listed them.
    #[serde(default)]
    pub upload_parameters: BTreeMap<String, String>,
}

/// Prints the parameter names only: they include a short-lived upload signature and security
/// token, which do not belong in logs.
impl fmt::Debug for MediaUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaUpload")
            .field("media_id", &self.media_id)
            .field("media_type", &self.media_type)
            .field("upload_url", &self.upload_url)
            .field("upload_parameters", &self.upload_parameters.keys())
            .finish()
    }
}

/// A registered upload's processing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// Registered, file not received yet.
    Registered,
    /// Received, being processed.
    Processing,
    /// Ready to be used in a pin.
    Succeeded,
    /// Processing failed.
    Failed,
}

/// `GET /v5/media/{media_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// Media id.
    pub media_id: String,
    /// What it is.
    pub media_type: MediaType,
    /// Processing state.
    #[serde(default)]
    pub status: Option<MediaStatus>,
}

/// Which kind of token a revocation names (`token_type_hint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenTypeHint {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenTypeHint {
    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// A successful answer of `POST /v5/oauth/token`, for the authorization-code and refresh
/// grants alike. Not `Serialize`: it holds secrets. Its `Debug` redacts them.
///
/// Pinterest issues continuous refresh tokens: every refresh answers with a new refresh token
/// (valid 60 days) that replaces the old one, so `refresh_token` must be committed before the
/// new access token is used.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The new access token.
    pub access_token: AccessToken,
    /// `bearer`.
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
    /// Granted scopes, comma-separated (see [`TokenResponse::scopes`]).
    #[serde(default)]
    pub scope: String,
    /// The new refresh token, when one was issued.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Refresh-token lifetime in seconds.
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
    /// Refresh-token expiry, Unix seconds.
    #[serde(default)]
    pub refresh_token_expires_at: Option<i64>,
    /// Which grant produced it: `authorization_code`, `refresh_token`, ….
    #[serde(default)]
    pub response_type: Option<String>,
}

fn bearer() -> String {
    "bearer".to_owned()
}

impl TokenResponse {
    /// The granted scopes, parsed. Pinterest separates them with commas; spaces are accepted.
    pub fn scopes(&self) -> Result<Vec<crate::facts::Scope>, UnknownScope> {
        parse_scope_list(&self.scope)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::facts::Scope;

    fn round_trip<T>(value: serde_json::Value) -> T
    where
        T: serde::de::DeserializeOwned + Serialize + PartialEq + fmt::Debug,
    {
        let parsed: T = serde_json::from_value(value.clone()).expect("decodes");
        let again: T = serde_json::from_value(serde_json::to_value(&parsed).expect("encodes"))
            .expect("decodes again");
        assert_eq!(parsed, again);
        parsed
    }

    #[test]
    fn media_sources_are_tagged_by_source_type() {
        let check = |source: PinMediaSource, expected: serde_json::Value| {
            assert_eq!(serde_json::to_value(&source).expect("encodes"), expected);
            assert_eq!(
                serde_json::from_value::<PinMediaSource>(expected).expect("decodes"),
                source
            );
        };
        check(
            PinMediaSource::ImageUrl {
                url: "https://x/a.jpg".into(),
            },
            json!({"source_type": "image_url", "url": "https://x/a.jpg"}),
        );
        check(
            PinMediaSource::ImageBase64 {
                content_type: ImageContentType::Png,
                data: Base64Data("iVBO".into()),
            },
            json!({"source_type": "image_base64", "content_type": "image/png", "data": "iVBO"}),
        );
        check(
            PinMediaSource::MultipleImageUrls {
                items: vec![
                    ImageUrlItem {
                        url: "u1".into(),
                        title: Some("t".into()),
                        description: None,
                        link: None,
                    },
                    ImageUrlItem {
                        url: "u2".into(),
                        title: None,
                        description: None,
                        link: None,
                    },
                ],
                index: None,
            },
            json!({"source_type": "multiple_image_urls", "items": [{"url": "u1", "title": "t"}, {"url": "u2"}]}),
        );
        check(
            PinMediaSource::VideoId {
                media_id: "12345".into(),
                cover_image_url: None,
                cover_image_key_frame_time: Some(3),
                cover_image_content_type: None,
                cover_image_data: None,
            },
            json!({"source_type": "video_id", "media_id": "12345", "cover_image_key_frame_time": 3}),
        );
    }

    #[test]
    fn responses_tolerate_unknown_and_missing_fields() {
        let pin: Pin = round_trip(json!({
            "id": "813744226420795884",
            "title": null,
            "board_id": "549755885175",
            "media": {"media_type": "image", "images": {"150x150": {"url": "u"}}},
            "brand_new_field": {"x": 1}
        }));
        assert_eq!(pin.title, None);
        assert_eq!(
            pin.media.and_then(|media| media.media_type).as_deref(),
            Some("image")
        );

        let board: Board = round_trip(json!({"id": "1", "name": "Recipes"}));
        assert_eq!(board.privacy, BoardPrivacy::Public);

        let account: UserAccount = round_trip(json!({
            "id": "2783136121146311751", "username": "cook", "account_type": "CREATOR",
            "board_count": null
        }));
        assert_eq!(account.account_type, Some(AccountType::Other));

        let page: Page<Board> = round_trip(json!({"items": []}));
        assert_eq!(page.bookmark, None);

        let media: Media =
            round_trip(json!({"media_id": "1", "media_type": "video", "status": "processing"}));
        assert_eq!(media.status, Some(MediaStatus::Processing));
    }

    #[test]
    fn requests_skip_absent_fields() {
        let mut board = BoardCreate::new("Recipes");
        board.privacy = Some(BoardPrivacy::Secret);
        assert_eq!(
            serde_json::to_value(&board).expect("encodes"),
            json!({"name": "Recipes", "privacy": "SECRET"})
        );
        let pin = PinCreate::new("1", PinMediaSource::ImageUrl { url: "u".into() });
        assert_eq!(
            serde_json::to_value(&pin).expect("encodes"),
            json!({"board_id": "1", "media_source": {"source_type": "image_url", "url": "u"}})
        );
    }

    #[test]
    fn pin_limits_are_checked_before_sending() {
        let image = || PinMediaSource::ImageUrl { url: "u".into() };
        let check = |edit: &dyn Fn(&mut PinCreate), ok: bool| {
            let mut pin = PinCreate::new("123", image());
            edit(&mut pin);
            assert_eq!(pin.validate().is_ok(), ok, "{pin:?}");
        };
        check(&|_| {}, true);
        check(&|pin| pin.title = Some("é".repeat(100)), true);
        check(&|pin| pin.title = Some("é".repeat(101)), false);
        check(&|pin| pin.description = Some("d".repeat(801)), false);
        check(&|pin| pin.alt_text = Some("a".repeat(501)), false);
        check(&|pin| pin.link = Some("l".repeat(2049)), false);
        check(&|pin| pin.board_id = "Summer recipes".into(), false);
        check(&|pin| pin.board_section_id = Some("x".into()), false);
        let items = |n: usize| {
            (0..n)
                .map(|i| ImageUrlItem {
                    url: format!("u{i}"),
                    title: None,
                    description: None,
                    link: None,
                })
                .collect::<Vec<_>>()
        };
        check(
            &|pin| {
                pin.media_source = PinMediaSource::MultipleImageUrls {
                    items: items(1),
                    index: None,
                }
            },
            false,
        );
        check(
            &|pin| {
                pin.media_source = PinMediaSource::MultipleImageUrls {
                    items: items(5),
                    index: None,
                }
            },
            true,
        );
        check(
            &|pin| {
                pin.media_source = PinMediaSource::MultipleImageUrls {
                    items: items(6),
                    index: None,
                }
            },
            false,
        );
    }

    #[test]
    fn pin_updates_have_the_same_limits() {
        let check = |edit: &dyn Fn(&mut PinUpdate), ok: bool| {
            let mut update = PinUpdate::default();
            edit(&mut update);
            assert_eq!(update.validate().is_ok(), ok, "{update:?}");
        };
        check(&|_| {}, true);
        check(
            &|update| {
                update.title = Some("é".repeat(100));
                update.description = Some("d".repeat(800));
                update.alt_text = Some("a".repeat(500));
                update.link = Some("l".repeat(2048));
            },
            true,
        );
        check(&|update| update.title = Some("é".repeat(101)), false);
        check(&|update| update.description = Some("d".repeat(801)), false);
        check(&|update| update.alt_text = Some("a".repeat(501)), false);
        check(&|update| update.link = Some("l".repeat(2049)), false);
        check(
            &|update| update.board_id = Some("Summer recipes".into()),
            false,
        );
        check(&|update| update.board_section_id = Some("x".into()), false);
        let refusal = PinUpdate {
            alt_text: Some("a".repeat(501)),
            ..PinUpdate::default()
        }
        .validate();
        assert!(
            matches!(
                refusal,
                Err(Refusal::InvalidField {
                    field: "alt_text",
                    ..
                })
            ),
            "{refusal:?}"
        );
    }

    #[test]
    fn token_responses_decode_both_grants() {
        let code: TokenResponse = serde_json::from_value(json!({
            "access_token": "pina_A", "token_type": "bearer", "expires_in": 2592000,
            "scope": "boards:read,pins:read", "refresh_token": "pinr_R",
            "refresh_token_expires_in": 5184000, "refresh_token_expires_at": 1700000000,
            "response_type": "authorization_code"
        }))
        .expect("decodes");
        assert_eq!(code.access_token.expose_secret(), "pina_A");
        assert_eq!(
            code.refresh_token.as_ref().map(RefreshToken::expose_secret),
            Some("pinr_R")
        );
        assert_eq!(code.scopes(), Ok(vec![Scope::BoardsRead, Scope::PinsRead]));
        let printed = format!("{code:?}");
        assert!(
            !printed.contains("pina_") && !printed.contains("pinr_"),
            "{printed}"
        );

        let minimal: TokenResponse = serde_json::from_value(json!({
            "access_token": "pina_B", "expires_in": 60, "scope": "pins:read"
        }))
        .expect("decodes");
        assert_eq!(minimal.token_type, "bearer");
        assert!(minimal.refresh_token.is_none());
    }

    #[test]
    fn media_upload_debug_hides_upload_parameters() {
        let upload: MediaUpload = serde_json::from_value(json!({
            "media_id": "1", "media_type": "video", "upload_url": "https://upload.example/",
            "upload_parameters": {"x-amz-signature": "sig-value", "key": "k"}
        }))
        .expect("decodes");
        let printed = format!("{upload:?}");
        assert!(
            printed.contains("x-amz-signature") && !printed.contains("sig-value"),
            "{printed}"
        );
        let base64 = format!("{:?}", Base64Data("A".repeat(10_000)));
        assert_eq!(base64, "Base64Data(10000 chars)");
    }
}
