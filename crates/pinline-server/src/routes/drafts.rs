//! `/v1/drafts`: one idea in (a link, a line of text, an image), Pinterest-ready pin drafts out,
//! then edited, published or scheduled in one call.
//!
//! Making drafts runs [`pinline_drafts::Drafter`]: fetch the page under the fetch policy, read
//! its metadata, write copy within Pinterest's limits and prepare a 1000×1500 JPEG per variant.
//! The drafts of one idea are stored together, so a failure leaves nothing half-made. Publishing
//! a draft goes through exactly the validation and queue of `POST /v1/posts`, with the prepared
//! image sent as `image_base64` and the idempotency key `draft:<id>`, so publishing twice with
//! the same board and time answers with the same post.
//!
//! Making drafts is the API's most expensive call (fetches, image decoding), so one profile may
//! have only [`DRAFTS_PER_PROFILE`] requests in progress and the process
//! [`DRAFTS_IN_PROGRESS`] ([`DraftSlots`]); another is answered at once, before its image is
//! decoded or any link fetched: 429 when its profile is busy, 503 when the process is, both
//! with `Retry-After`. Within the drafter, image and
//! page work take turns and the whole request has one deadline (`pinline_drafts`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pinline_drafts::{DraftError, DraftRequest, MAX_DRAFTS};
use pinline_pinterest::facts::pin_limits;
use pinline_store::{DraftChange, DraftEdit, DraftRow, NewDraft};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, rfc3339};
use crate::routes::posts::{PostView, accept};
use crate::state::AppState;
use crate::text::MultiLine;

/// Drafts made from one idea when the request does not say.
const DEFAULT_COUNT: usize = 3;

/// How many drafts requests one profile may have in progress at once.
pub const DRAFTS_PER_PROFILE: usize = 2;

/// How many drafts requests the process takes on at once, all profiles together. Image and
/// page work take turns one at a time anyway; this bounds what waits for a turn (each request
/// holds its body and up to 10 MiB of fetched image), so that many profiles at once cannot
/// add up past the memory one profile is held to.
pub const DRAFTS_IN_PROGRESS: usize = 6;

/// What a busy caller is told to wait, in seconds: a drafts request takes a few.
const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// The drafts requests in progress in this process, per profile and in all.
#[derive(Debug)]
pub struct DraftSlots {
    per_profile: usize,
    total: usize,
    taken: Mutex<Taken>,
}

#[derive(Debug, Default)]
struct Taken {
    by_profile: HashMap<String, usize>,
    all: usize,
}

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The profile has all of its slots.
    Profile,
    /// The process has all of its slots.
    Process,
}

impl DraftSlots {
    /// Room for `per_profile` requests of each profile and `total` in all.
    pub fn new(per_profile: usize, total: usize) -> DraftSlots {
        DraftSlots {
            per_profile: per_profile.max(1),
            total: total.max(1),
            taken: Mutex::new(Taken::default()),
        }
    }

    /// A slot for one more request of `profile_id`.
    pub fn take(self: &Arc<Self>, profile_id: &str) -> Result<DraftSlot, Busy> {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let mine = taken.by_profile.get(profile_id).copied().unwrap_or(0);
        if mine >= self.per_profile {
            return Err(Busy::Profile);
        }
        if taken.all >= self.total {
            return Err(Busy::Process);
        }
        taken.by_profile.insert(profile_id.to_owned(), mine + 1);
        taken.all += 1;
        Ok(DraftSlot {
            slots: self.clone(),
            profile_id: profile_id.to_owned(),
        })
    }
}

/// One request's slot, given back when dropped (whether the request finished, failed, or its
/// client went away).
#[derive(Debug)]
pub struct DraftSlot {
    slots: Arc<DraftSlots>,
    profile_id: String,
}

impl Drop for DraftSlot {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.all = taken.all.saturating_sub(1);
        if let Some(count) = taken.by_profile.get_mut(&self.profile_id) {
            *count -= 1;
            if *count == 0 {
                // Profiles without drafts in progress take no room.
                taken.by_profile.remove(&self.profile_id);
            }
        }
    }
}

/// The answer to a caller who found no free slot.
fn busy_error(busy: Busy) -> ApiError {
    let (status, code, message) = match busy {
        Busy::Profile => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_drafts",
            format!(
                "this profile already has {DRAFTS_PER_PROFILE} drafts requests in progress; \
                 wait for one to finish, then try again"
            ),
        ),
        Busy::Process => (
            StatusCode::SERVICE_UNAVAILABLE,
            "drafts_busy",
            format!(
                "this pinline is already making {DRAFTS_IN_PROGRESS} sets of drafts; try again \
                 shortly"
            ),
        ),
    };
    ApiError {
        retry_after_secs: Some(BUSY_RETRY_AFTER_SECS),
        ..ApiError::new(status, code, message)
    }
}

/// The body of `POST /v1/drafts`: one idea. At least one of `url`, `text`, `title`,
/// `image_url` and `image_base64` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDrafts {
    /// A web page (a product, an article, a recipe) or a direct image link.
    #[schema(example = "https://shop.example/lemon-tart")]
    pub url: Option<String>,
    /// A line of text describing the idea.
    pub text: Option<String>,
    /// A title to use instead of the page's.
    pub title: Option<String>,
    /// The image to use instead of the page's.
    pub image_url: Option<String>,
    /// The image to use, uploaded: base64 of a JPEG, PNG or WebP file (wins over `image_url`).
    pub image_base64: Option<String>,
    /// How many variants to make, 1–5 (default 3). Variants differ in crop and copy.
    #[schema(minimum = 1, maximum = 5)]
    pub count: Option<usize>,
}

/// A draft's prepared image.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftImageView {
    /// Where the JPEG is served (with the same API key).
    pub url: String,
    pub width: i64,
    pub height: i64,
    /// The window of the source image the pin shows.
    pub crop: Value,
}

/// A pin draft.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Draft)]
pub struct DraftView {
    pub id: String,
    /// Shared by the drafts made from one idea.
    pub idea_id: String,
    /// 0, 1, … within the idea.
    pub variant: i64,
    /// `draft`, or `published` once it became a post.
    pub status: String,
    /// At most 100 characters.
    pub title: String,
    /// At most 800 characters.
    pub description: String,
    /// At most 500 characters.
    pub alt_text: String,
    pub link: Option<String>,
    pub keywords: Vec<String>,
    pub image: DraftImageView,
    /// What the draft was made from: `kind` (`page`, `image_link`, `text`, `image`), the page's
    /// URL, site name, title, description, structured type and image URL.
    pub source: Value,
    /// Who wrote the copy: `{"kind": "rules"}`, `{"kind": "chat", "model"}` or
    /// `{"kind": "rules_after_chat_failed", "reason"}`.
    pub generator: Value,
    /// The post made from this draft, once published.
    pub post_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl DraftView {
    pub fn from_row(row: &DraftRow) -> DraftView {
        let json = |text: &str| serde_json::from_str(text).unwrap_or(Value::Null);
        DraftView {
            id: row.id.clone(),
            idea_id: row.idea_id.clone(),
            variant: row.variant,
            status: row.status.clone(),
            title: row.title.clone(),
            description: row.description.clone(),
            alt_text: row.alt_text.clone(),
            link: row.link.clone(),
            keywords: serde_json::from_str(&row.keywords).unwrap_or_default(),
            image: DraftImageView {
                url: format!("/v1/drafts/{}/image", row.id),
                width: row.image_width,
                height: row.image_height,
                crop: json(&row.crop),
            },
            source: json(&row.source),
            generator: json(&row.generator),
            post_id: row.post_id.clone(),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

/// The drafts made from one idea.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftList {
    pub items: Vec<DraftView>,
}

/// A page of drafts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftPage {
    /// Newest first.
    pub items: Vec<DraftView>,
    /// Pass as `cursor` to read the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The API error for a draft that could not be made; `image_field` is the input the image came
/// from (`image_base64`, `image_url`, or the page at `url`).
fn draft_error(error: DraftError, image_field: &'static str) -> ApiError {
    let message = error.to_string();
    let (status, code, field) = match &error {
        DraftError::InvalidRequest(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "count")
        }
        DraftError::EmptyIdea => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "url"),
        DraftError::InvalidUrl { .. }
        | DraftError::BadScheme { .. }
        | DraftError::PrivateAddress { .. }
        | DraftError::BadRedirect { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "url_refused", "url")
        }
        DraftError::NotHtml { .. } | DraftError::NotImage { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_content",
            "url",
        ),
        DraftError::TooBig { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "too_big", "url"),
        DraftError::ImageUndecodable { .. }
        | DraftError::ImageTooSmall { .. }
        | DraftError::ImageOverSizeCap { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unusable_image",
            image_field,
        ),
        DraftError::ImageTooLarge { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "image_too_large",
            image_field,
        ),
        DraftError::ImageFormatUnsupported { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_content",
            image_field,
        ),
        DraftError::NoImage => (StatusCode::UNPROCESSABLE_ENTITY, "no_image", "image_url"),
        DraftError::Deadline { .. } => {
            return ApiError::new(StatusCode::GATEWAY_TIMEOUT, "deadline_exceeded", message);
        }
        DraftError::Internal(_) => {
            tracing::error!(error = %message, "drafting failed");
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the drafts could not be made; try again",
            );
        }
        _ if error.is_transient() => (StatusCode::BAD_GATEWAY, "source_unreachable", "url"),
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "source_unreachable",
            "url",
        ),
    };
    ApiError {
        field: Some(field.to_owned()),
        ..ApiError::new(status, code, message)
    }
}

fn json_text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// `POST /v1/drafts`.
#[utoipa::path(
    post,
    path = "/drafts",
    operation_id = "create_drafts",
    tag = "drafts",
    summary = "Draft pins from one idea",
    description = "Turns one idea (a page link, a line of text, an image) into 1–5 pin drafts: \
the page is fetched (http and https only, public addresses only, bounded in size, time and \
redirects), its OpenGraph, Twitter card and JSON-LD (Product, Article, Recipe) metadata read, \
copy written within Pinterest's limits (title ≤ 100, description ≤ 800, alt text ≤ 500 \
characters, cut at word boundaries) and the image cropped to 2:3 around its most detailed region \
and saved as a 1000×1500 JPEG. Variants differ in crop and copy. The drafts are stored together \
or not at all. Images are JPEG, PNG or WebP whose header fits the decoding limit (96 MiB for the \
picture and its decoder, 16,384 pixels a side), checked before anything is decoded; a request \
has one 30 s deadline; a profile may have two drafts requests in progress, the process six.",
    request_body = CreateDrafts,
    responses(
        (status = 201, description = "The drafts, stored.", body = DraftList),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "The idea cannot be drafted; `error.code` says why \
(`invalid_field`, `url_refused`, `unsupported_content` (also an image that is not JPEG, PNG or \
WebP, such as a GIF), `too_big`, `image_too_large` (the image's header declares more pixels \
than may be decoded), `unusable_image`, `no_image`, `source_unreachable`) and `error.field` \
names the input.", body = ErrorBody),
        (status = 429, description = "This profile already has as many drafts requests in \
progress as it may (`too_many_drafts`); `Retry-After` says when to try again.", body = ErrorBody),
        (status = 502, description = "The page or image could not be fetched in time (`source_unreachable`).", body = ErrorBody),
        (status = 503, description = "The database is not answering, or this pinline is making as \
many drafts as it takes on at once (`drafts_busy`; `Retry-After` says when to try again).", body = ErrorBody),
        (status = 504, description = "The drafts were not made within the request's deadline \
(`deadline_exceeded`): slow sites, or many drafts being made at once; try again later.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:write"])),
)]
pub async fn create_drafts(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsWrite>,
    ApiJson(body): ApiJson<CreateDrafts>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = make_drafts(&state, &caller.profile_id, body).await?;
    let items = rows.iter().map(DraftView::from_row).collect();
    Ok((StatusCode::CREATED, Json(DraftList { items })))
}

/// Makes and stores the drafts of one idea for a profile (the API and the dashboard).
pub async fn make_drafts(
    state: &AppState,
    profile_id: &str,
    body: CreateDrafts,
) -> Result<Vec<DraftRow>, ApiError> {
    let _slot = state.draft_slots().take(profile_id).map_err(busy_error)?;
    let count = body.count.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_DRAFTS).contains(&count) {
        return Err(ApiError::invalid(
            "count",
            format!("count must be between 1 and {MAX_DRAFTS}"),
        ));
    }
    let image_bytes =
        match body.image_base64.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(STANDARD.decode(text).map_err(|_| {
                ApiError::invalid("image_base64", "image_base64 is not valid base64")
            })?),
            _ => None,
        };
    let image_field = if image_bytes.is_some() {
        "image_base64"
    } else if body
        .image_url
        .as_deref()
        .is_some_and(|link| !link.trim().is_empty())
    {
        "image_url"
    } else {
        "url"
    };
    let request = DraftRequest {
        url: body.url,
        text: body.text,
        title: body.title,
        image_url: body.image_url,
        image_bytes,
        count,
    };
    let drafts = state
        .drafter()
        .draft(request)
        .await
        .map_err(|error| draft_error(error, image_field))?;
    let now = state.now_ms();
    let idea_id = uuid::Uuid::now_v7().to_string();
    // Lists run newest first by (created_at, id); ids are handed out in reverse so that an
    // idea's first variant comes first.
    let mut ids: Vec<String> = (0..drafts.len())
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    ids.reverse();
    let rows: Vec<NewDraft> = drafts
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(variant, (draft, id))| NewDraft {
            row: DraftRow {
                id,
                profile_id: profile_id.to_owned(),
                idea_id: idea_id.clone(),
                variant: variant as i64,
                status: DraftRow::DRAFT.into(),
                title: draft.title,
                description: draft.description,
                alt_text: draft.alt_text,
                link: draft.link.map(String::from),
                keywords: json_text(&draft.keywords),
                source: json_text(&draft.source),
                generator: json_text(&draft.generator),
                image_width: i64::from(draft.image.width),
                image_height: i64::from(draft.image.height),
                crop: json_text(&draft.image.crop),
                post_id: None,
                created_at: now,
                updated_at: now,
            },
            image_jpeg: draft.image.jpeg,
        })
        .collect();
    state.store().insert_drafts(&rows).await?;
    Ok(rows.into_iter().map(|draft| draft.row).collect())
}

/// The query of `GET /v1/drafts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DraftListQuery {
    /// The `next_cursor` of the previous page; absent for the first page.
    #[param(pattern = "^-?[0-9]{1,18}\\.")]
    cursor: Option<String>,
    /// Drafts per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

fn decode_cursor(text: &str) -> Result<(i64, String), ApiError> {
    let invalid = || {
        ApiError::invalid(
            "cursor",
            "cursor must be the next_cursor of a previous page",
        )
    };
    let (at, id) = text.split_once('.').ok_or_else(invalid)?;
    let id = Id::parse(id).ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.into()))
}

/// `GET /v1/drafts`.
#[utoipa::path(
    get,
    path = "/drafts",
    operation_id = "list_drafts",
    tag = "drafts",
    summary = "List drafts",
    description = "Drafts of this key's profile, newest first, read page by page with `cursor`.",
    params(DraftListQuery),
    responses(
        (status = 200, description = "One page of drafts.", body = DraftPage),
        (status = 400, description = "An unknown query parameter or a malformed value (`invalid_query`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 422, description = "A parameter is out of range; `error.field` names it.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:read"])),
)]
pub async fn list_drafts(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsRead>,
    ApiQuery(query): ApiQuery<DraftListQuery>,
) -> Result<Json<DraftPage>, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 100",
        ));
    }
    let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = state
        .store()
        .drafts(
            &caller.profile_id,
            cursor.as_ref().map(|(at, id)| (*at, id.as_str())),
            limit + 1,
        )
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|row| format!("{}.{}", row.created_at, row.id))
    } else {
        None
    };
    Ok(Json(DraftPage {
        items: rows.iter().map(DraftView::from_row).collect(),
        next_cursor,
    }))
}

async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<DraftRow, ApiError> {
    state
        .store()
        .draft(&caller.profile_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("draft"))
}

/// `GET /v1/drafts/{id}`.
#[utoipa::path(
    get,
    path = "/drafts/{id}",
    operation_id = "get_draft",
    tag = "drafts",
    summary = "Read a draft",
    params(("id" = String, Path, description = "The draft's id.")),
    responses(
        (status = 200, description = "The draft.", body = DraftView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such draft in this profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:read"])),
)]
pub async fn get_draft(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsRead>,
    ApiPath(id): ApiPath<Id>,
) -> Result<Json<DraftView>, ApiError> {
    Ok(Json(DraftView::from_row(
        &find(&state, &caller, &id).await?,
    )))
}

/// `GET /v1/drafts/{id}/image`.
#[utoipa::path(
    get,
    path = "/drafts/{id}/image",
    operation_id = "get_draft_image",
    tag = "drafts",
    summary = "Download a draft's image",
    description = "The prepared 1000×1500 JPEG.",
    params(("id" = String, Path, description = "The draft's id.")),
    responses(
        (status = 200, description = "The JPEG.", content_type = "image/jpeg", body = Vec<u8>),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such draft in this profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:read"])),
)]
pub async fn get_draft_image(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsRead>,
    ApiPath(id): ApiPath<Id>,
) -> Result<Response, ApiError> {
    let bytes = state
        .store()
        .draft_image(&caller.profile_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("draft"))?;
    Ok(jpeg_response(bytes))
}

/// A JPEG answer, cacheable by the browser that asked only.
pub fn jpeg_response(bytes: Vec<u8>) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The body of `PATCH /v1/drafts/{id}`: the copy to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDraft {
    /// 1–100 characters.
    title: Option<String>,
    /// At most 800 characters; may span lines.
    #[schema(value_type = Option<String>)]
    description: Option<MultiLine>,
    /// At most 500 characters.
    alt_text: Option<String>,
    /// An http(s) URL of at most 2048 characters; an empty string removes the link.
    link: Option<String>,
    /// Keywords, at most 10 of at most 50 characters each.
    keywords: Option<Vec<String>>,
}

fn check_chars(field: &str, value: &Option<String>, max: usize) -> Result<(), ApiError> {
    if let Some(value) = value {
        let length = value.chars().count();
        if length > max {
            return Err(ApiError::invalid(
                field,
                format!("{field} is {length} characters; Pinterest allows at most {max}"),
            ));
        }
    }
    Ok(())
}

impl PatchDraft {
    fn validate(self) -> Result<DraftEdit, ApiError> {
        let description = self.description.map(MultiLine::into_string);
        check_chars("title", &self.title, pin_limits::TITLE_MAX)?;
        check_chars("description", &description, pin_limits::DESCRIPTION_MAX)?;
        check_chars("alt_text", &self.alt_text, pin_limits::ALT_TEXT_MAX)?;
        check_chars("link", &self.link, pin_limits::LINK_MAX)?;
        if self.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ApiError::invalid("title", "title cannot be empty"));
        }
        let link = match self.link.map(|l| l.trim().to_owned()) {
            None => None,
            Some(link) if link.is_empty() => Some(None),
            Some(link) => {
                if !(link.starts_with("https://") || link.starts_with("http://")) {
                    return Err(ApiError::invalid("link", "link must be an http(s) URL"));
                }
                Some(Some(link))
            }
        };
        let keywords = match self.keywords {
            None => None,
            Some(words) => {
                if words.len() > 10 || words.iter().any(|w| w.chars().count() > 50) {
                    return Err(ApiError::invalid(
                        "keywords",
                        "at most 10 keywords of at most 50 characters each",
                    ));
                }
                Some(json_text(&words))
            }
        };
        Ok(DraftEdit {
            title: self.title,
            description,
            alt_text: self.alt_text,
            link,
            keywords,
        })
    }
}

/// `PATCH /v1/drafts/{id}`.
#[utoipa::path(
    patch,
    path = "/drafts/{id}",
    operation_id = "update_draft",
    tag = "drafts",
    summary = "Edit a draft's copy",
    params(("id" = String, Path, description = "The draft's id.")),
    request_body = PatchDraft,
    responses(
        (status = 200, description = "The edited draft.", body = DraftView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such draft in this profile.", body = ErrorBody),
        (status = 409, description = "The draft was published already (`draft_published`); edit its post instead.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "A field is invalid; `error.field` names it.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:write"])),
)]
pub async fn update_draft(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsWrite>,
    ApiPath(id): ApiPath<Id>,
    ApiJson(body): ApiJson<PatchDraft>,
) -> Result<Json<DraftView>, ApiError> {
    let edit = body.validate()?;
    match state
        .store()
        .edit_draft(&caller.profile_id, &id, &edit, state.now_ms())
        .await?
    {
        DraftChange::Changed(row) => Ok(Json(DraftView::from_row(&row))),
        DraftChange::NotFound => Err(ApiError::not_found("draft")),
        DraftChange::Published(row) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "draft_published",
            format!(
                "the draft was published as post {}; edit the post (PATCH /v1/posts/{}) instead",
                row.post_id.as_deref().unwrap_or("?"),
                row.post_id.as_deref().unwrap_or("?")
            ),
        )),
    }
}

/// `DELETE /v1/drafts/{id}`.
#[utoipa::path(
    delete,
    path = "/drafts/{id}",
    operation_id = "delete_draft",
    tag = "drafts",
    summary = "Delete a draft",
    description = "Deletes the draft and its image. A post made from it is not affected.",
    params(("id" = String, Path, description = "The draft's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such draft in this profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:write"])),
)]
pub async fn delete_draft(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsWrite>,
    ApiPath(id): ApiPath<Id>,
) -> Result<StatusCode, ApiError> {
    if state.store().delete_draft(&caller.profile_id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("draft"))
    }
}

/// The body of `POST /v1/drafts/{id}/publish`: where and when.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishDraft {
    /// The account that publishes it.
    pub account_id: String,
    /// The board's id. One of `board_id` and `board` is required.
    pub board_id: Option<String>,
    /// The board's name, resolved once now.
    pub board: Option<String>,
    /// A section of the board.
    pub board_section_id: Option<String>,
    /// When to publish (RFC 3339 with an offset); now when absent.
    #[schema(format = DateTime)]
    pub publish_at: Option<String>,
}

/// The `POST /v1/posts` body that publishes `draft` as `target` says.
pub fn post_body(draft: &DraftRow, image: &[u8], target: &PublishDraft) -> Value {
    let mut body = json!({
        "account_id": target.account_id,
        "title": draft.title,
        "alt_text": draft.alt_text,
        "media_source": {
            "source_type": "image_base64",
            "content_type": "image/jpeg",
            "data": STANDARD.encode(image),
        },
    });
    let optional = [
        ("board_id", target.board_id.as_deref()),
        ("board", target.board.as_deref()),
        ("board_section_id", target.board_section_id.as_deref()),
        ("publish_at", target.publish_at.as_deref()),
        ("link", draft.link.as_deref()),
        (
            "description",
            Some(draft.description.as_str()).filter(|d| !d.is_empty()),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    body
}

/// Publishes (or schedules) a draft through the posts path; answers like `POST /v1/posts`.
pub async fn publish(
    state: &AppState,
    caller: &Caller,
    id: &str,
    target: &PublishDraft,
) -> Result<(StatusCode, pinline_store::PostRow), ApiError> {
    let draft = find(state, caller, id).await?;
    let image = state
        .store()
        .draft_image(&caller.profile_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("draft"))?;
    let body = post_body(&draft, &image, target);
    let (status, post) = accept(state, caller, body, Some(format!("draft:{id}"))).await?;
    state
        .store()
        .mark_draft_published(&caller.profile_id, id, &post.id, state.now_ms())
        .await?;
    Ok((status, post))
}

/// `POST /v1/drafts/{id}/publish`.
#[utoipa::path(
    post,
    path = "/drafts/{id}/publish",
    operation_id = "publish_draft",
    tag = "drafts",
    summary = "Publish or schedule a draft",
    description = "Queues the draft as a post, with exactly the validation of `POST /v1/posts` \
(board, scopes, environment, limits) and its prepared image uploaded inline. Publishing the same \
draft again with the same board and time answers `200` with the same post; with a different \
board or time it is a `409`.",
    params(("id" = String, Path, description = "The draft's id.")),
    request_body = PublishDraft,
    responses(
        (status = 202, description = "Accepted and committed, as for `POST /v1/posts`.", body = PostView),
        (status = 200, description = "Published before with the same target: the same post.", body = PostView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant the scopes this board needs (`missing_scopes`).", body = ErrorBody),
        (status = 404, description = "No such draft in this profile.", body = ErrorBody),
        (status = 409, description = "Published before with another target (`idempotency_conflict`), or the account cannot be used (`account_disconnected`, `account_needs_reauth`, `credential_mismatch`).", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "A field is invalid; `error.field` names it.", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached while checking the board.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:write", "posts:write"])),
)]
pub async fn publish_draft(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsPublish>,
    ApiPath(id): ApiPath<Id>,
    ApiJson(target): ApiJson<PublishDraft>,
) -> Result<impl IntoResponse, ApiError> {
    let (status, post) = publish(&state, &caller, &id, &target).await?;
    Ok((status, Json(PostView::from_row(&post))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_profile_and_in_all_and_given_back() {
        let slots = Arc::new(DraftSlots::new(2, 3));
        let a1 = slots.take("a").expect("a's first");
        let a2 = slots.take("a").expect("a's second");
        assert_eq!(slots.take("a").err(), Some(Busy::Profile));
        let b1 = slots.take("b").expect("b's first");
        assert_eq!(slots.take("c").err(), Some(Busy::Process));
        assert_eq!(
            slots.take("a").err(),
            Some(Busy::Profile),
            "the profile is named first"
        );
        drop(a1);
        let c1 = slots.take("c").expect("room again");
        drop((a2, b1, c1));
        let taken = slots.taken.lock().expect("not poisoned");
        assert_eq!(taken.all, 0);
        assert!(taken.by_profile.is_empty(), "idle profiles take no room");
    }
}
