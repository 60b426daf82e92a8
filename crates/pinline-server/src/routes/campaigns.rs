//! `/v1/campaigns`: one idea turned into a week of pins. From a URL or a text, pinline makes
//! drafts, then queues one post per pin, turn by turn over the chosen boards, each into the
//! account's first free slot on or after its own day, so the pins spread over the days asked
//! for; the account's spacing rule keeps the same link and image apart as it does for any post.
//! Every pin goes through the same acceptance as `POST /v1/posts` (keyed
//! `campaign:<id>:<position>`), so a campaign is read, edited (`PATCH /v1/posts/{id}`) and
//! canceled like the posts it is made of, or canceled as one here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pinline_pinterest::facts::is_pinterest_id;
use pinline_store::{CampaignPinRow, CampaignRow, PostChange, PostRow};
use pinline_vault::AccountStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::{Caller, Scoped, need};
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::extract::{ApiJson, ApiPath, Id, rfc3339};
use crate::post_input::{BoardRef, parse_time};
use crate::routes::drafts::{CreateDrafts, PublishDraft, make_drafts, post_body};
use crate::routes::posts::{PostView, accept};
use crate::state::AppState;

/// Pins one campaign may queue at most.
const MAX_PINS: usize = 30;
/// Boards one campaign may use at most.
const MAX_BOARDS: usize = 10;
/// The longest spread, in days.
const MAX_DAYS: i64 = 90;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The body of `POST /v1/campaigns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "account_id": "0193a5b2-7c1e-7f00-8000-000000000001",
    "url": "https://shop.example/lemon-tart",
    "boards": ["Recipes", "Desserts"],
    "pins": 7,
    "days": 7
}))]
pub struct NewCampaign {
    /// The account that publishes every pin; it must have time slots
    /// (`PUT /v1/accounts/{id}/slots`).
    pub account_id: String,
    /// The idea: a web page. One of `url` and `text` is required.
    pub url: Option<String>,
    /// The idea as a line of text.
    pub text: Option<String>,
    /// A title to use instead of the page's.
    pub title: Option<String>,
    /// The image to use instead of the page's.
    pub image_url: Option<String>,
    /// 1–10 boards, by name or id; pins take them in turn.
    #[schema(min_items = 1, max_items = 10)]
    pub boards: Vec<String>,
    /// How many pins, 1–30 (default 7). Up to five differ in copy and crop; more reuse them on
    /// other boards and days.
    #[schema(minimum = 1, maximum = 30)]
    pub pins: Option<usize>,
    /// Over how many days, 1–90 (default: as many as pins). Pin *i* takes the account's first
    /// free slot from day ⌊i × days / pins⌋ on.
    #[schema(minimum = 1, maximum = 90)]
    pub days: Option<i64>,
    /// When the first day starts (RFC 3339 with an offset); now when absent.
    #[schema(format = DateTime)]
    pub start: Option<String>,
}

/// A campaign and its pins.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Campaign)]
pub struct CampaignView {
    pub id: String,
    pub account_id: String,
    /// `active`, or `canceled` once canceled as one.
    #[schema(pattern = "^(active|canceled)$")]
    pub status: String,
    /// What the campaign was made from.
    #[schema(value_type = Object)]
    pub idea: Value,
    /// Pins asked for.
    pub pins_requested: i64,
    /// Days they spread over.
    pub days: i64,
    /// Pins queued.
    pub accepted: usize,
    /// Pins refused (each says why).
    pub refused: usize,
    /// Every pin, in order.
    pub pins: Vec<CampaignPinView>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// One pin of a campaign: its post (with `publish_at`, `expected_publish_at`, `placement`) or
/// why it was refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignPinView {
    pub position: i64,
    /// The draft whose copy and image it carries.
    pub draft_id: String,
    pub board_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<PostView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

fn filled(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The checks that need nothing but the body: counts, days and the idea.
fn check(body: &NewCampaign) -> Result<(usize, i64), ApiError> {
    let pins = body.pins.unwrap_or(7);
    if !(1..=MAX_PINS).contains(&pins) {
        return Err(ApiError::invalid(
            "pins",
            format!("pins must be between 1 and {MAX_PINS}"),
        ));
    }
    let days = body.days.unwrap_or(pins as i64);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid(
            "days",
            format!("days must be between 1 and {MAX_DAYS}"),
        ));
    }
    if body.boards.is_empty() || body.boards.len() > MAX_BOARDS {
        return Err(ApiError::invalid(
            "boards",
            format!("name 1–{MAX_BOARDS} boards, by name or id"),
        ));
    }
    if filled(&body.url).is_none() && filled(&body.text).is_none() {
        return Err(ApiError::invalid(
            "url",
            "a campaign needs an idea: url (a web page) or text",
        ));
    }
    Ok((pins, days))
}

/// `POST /v1/campaigns`.
#[utoipa::path(
    post,
    path = "/campaigns",
    operation_id = "create_campaign",
    tag = "campaigns",
    summary = "Turn one idea into pins over boards and days",
    description = "Makes drafts from the idea (up to five variants), then queues one post per \
pin, taking the boards in turn, each into the account's first free slot on or after its day \
(pin *i* from day ⌊i × days / pins⌋), with the account's spacing rule held. Each pin is accepted \
exactly as `POST /v1/posts` would accept it and answers with its post (`expected_publish_at` \
says when it goes) or its error. The account needs time slots first.",
    request_body = NewCampaign,
    responses(
        (status = 201, description = "The campaign with every pin's post or error.", body = CampaignView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant the scopes a board needs (`missing_scopes`).", body = ErrorBody),
        (status = 409, description = "The account is disconnected or needs reconnecting (`account_disconnected`, `account_needs_reauth`).", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "A field is invalid (an unknown account or board among them), the account has no slots (`no_slots`), or no draft could be made from the idea; `error.field` names the field (`boards[1]`, say).", body = ErrorBody),
        (status = 429, description = "Drafts are being made for this profile already, or Pinterest's rate limit was reached while checking a board.", body = ErrorBody),
        (status = 502, description = "Pinterest, or the idea's page, answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["drafts:write", "posts:write"])),
)]
pub async fn create_campaign(
    State(state): State<AppState>,
    caller: Scoped<need::DraftsPublish>,
    ApiJson(body): ApiJson<NewCampaign>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    let view = start_campaign(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Makes a campaign (the API's and the dashboard's form): checks, drafts, one accepted post
/// per pin.
pub(crate) async fn start_campaign(
    state: &AppState,
    caller: &Caller,
    body: &NewCampaign,
) -> Result<CampaignView, ApiError> {
    let state = state.clone();
    let (pins, days) = check(body)?;
    let now = state.now_ms();
    let start = match filled(&body.start) {
        Some(text) => parse_time("start", &text)?.max(now),
        None => now,
    };
    let account_id = body.account_id.trim().to_owned();
    let account = state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await
        .map_err(|_| {
            ApiError::invalid(
                "account_id",
                format!("no account {account_id} in this profile; GET /v1/accounts lists them"),
            )
        })?;
    match account.status {
        AccountStatus::Active | AccountStatus::Refreshing => {}
        AccountStatus::NeedsReauth => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "account_needs_reauth",
                "the account needs to be reconnected before a campaign can check its boards",
            ));
        }
        AccountStatus::Disconnected => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "account_disconnected",
                "the account was disconnected; connect it again first",
            ));
        }
    }
    let has_slots = state
        .store()
        .account_schedule(&account.id)
        .await?
        .is_some_and(|row| !row.slots.trim().is_empty());
    if !has_slots {
        return Err(ApiError {
            field: Some("account_id".into()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_slots",
                "the account has no time slots for the campaign's pins; set them with PUT /v1/accounts/{id}/slots",
            )
        });
    }
    // Every board is checked before anything is made, so a wrong name refuses the campaign
    // whole instead of leaving some of it queued.
    let mut boards = Vec::with_capacity(body.boards.len());
    for (index, board) in body.boards.iter().enumerate() {
        let name = board.trim();
        let reference = if is_pinterest_id(name) {
            BoardRef::Id(name.to_owned())
        } else {
            BoardRef::Name(name.to_owned())
        };
        let found = state
            .boards()
            .resolve(state.vault(), &account.id, &reference, now)
            .await
            .map_err(|error| ApiError {
                field: Some(format!("boards[{index}]")),
                ..error
            })?;
        boards.push(found.id);
    }

    let drafts = make_drafts(
        &state,
        &caller.profile_id,
        CreateDrafts {
            url: filled(&body.url),
            text: filled(&body.text),
            title: filled(&body.title),
            image_url: filled(&body.image_url),
            image_base64: None,
            count: Some(pins.min(pinline_drafts::MAX_DRAFTS)),
        },
    )
    .await?;
    let mut images = Vec::with_capacity(drafts.len());
    for draft in &drafts {
        let image = state
            .store()
            .draft_image(&caller.profile_id, &draft.id)
            .await?
            .ok_or_else(|| ApiError::not_found("draft"))?;
        images.push(image);
    }

    let campaign = CampaignRow {
        id: uuid::Uuid::now_v7().to_string(),
        profile_id: caller.profile_id.clone(),
        account_id: account.id.clone(),
        idea: json!({
            "url": filled(&body.url),
            "text": filled(&body.text),
            "title": filled(&body.title),
        })
        .to_string(),
        pins: pins as i64,
        days,
        status: CampaignRow::ACTIVE.to_owned(),
        created_at: now,
        updated_at: now,
    };
    state.store().insert_campaign(&campaign).await?;
    for position in 0..pins {
        let variant = position % drafts.len();
        let draft = &drafts[variant];
        let board_id = boards[position % boards.len()].clone();
        let day = (position as i64 * days) / pins as i64;
        let target = PublishDraft {
            account_id: account.id.clone(),
            board_id: Some(board_id.clone()),
            board: None,
            board_section_id: None,
            publish_at: Some(crate::post_input::NEXT_SLOT.to_owned()),
        };
        let mut post = post_body(draft, &images[variant], &target);
        post["not_before"] = json!(rfc3339(start + day * DAY_MS));
        let key = format!("campaign:{}:{position}", campaign.id);
        let outcome = accept(&state, caller, post, Some(key)).await;
        let (post_id, error) = match &outcome {
            Ok((_, row)) => {
                if position == variant {
                    state
                        .store()
                        .mark_draft_published(&caller.profile_id, &draft.id, &row.id, now)
                        .await?;
                }
                (Some(row.id.clone()), None)
            }
            Err(error) => (None, Some(error.detail())),
        };
        state
            .store()
            .insert_campaign_pin(&CampaignPinRow {
                campaign_id: campaign.id.clone(),
                position: position as i64,
                draft_id: draft.id.clone(),
                board_id,
                post_id,
                error_code: error.as_ref().map(|e| e.code.clone()),
                error_message: error.as_ref().map(|e| e.message.clone()),
            })
            .await?;
    }
    read(&state, caller, &campaign.id).await
}

/// A campaign as the API shows it, its posts read as they are now.
async fn read(state: &AppState, caller: &Caller, id: &str) -> Result<CampaignView, ApiError> {
    let (campaign, pins) = state
        .store()
        .campaign(&caller.profile_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign"))?;
    let mut views = Vec::with_capacity(pins.len());
    for pin in pins {
        let post = match &pin.post_id {
            Some(post_id) => state.store().post(&caller.profile_id, post_id).await?,
            None => None,
        };
        views.push(CampaignPinView {
            position: pin.position,
            draft_id: pin.draft_id,
            board_id: pin.board_id,
            post: post.as_ref().map(PostView::from_row),
            error: pin.error_code.map(|code| ErrorDetail {
                code,
                message: pin.error_message.unwrap_or_default(),
                field: None,
            }),
        });
    }
    let accepted = views.iter().filter(|pin| pin.post.is_some()).count();
    Ok(CampaignView {
        id: campaign.id,
        account_id: campaign.account_id,
        status: campaign.status,
        idea: serde_json::from_str(&campaign.idea).unwrap_or(Value::Null),
        pins_requested: campaign.pins,
        days: campaign.days,
        accepted,
        refused: views.len() - accepted,
        pins: views,
        created_at: rfc3339(campaign.created_at),
    })
}

/// `GET /v1/campaigns/{id}`.
#[utoipa::path(
    get,
    path = "/campaigns/{campaign_id}",
    operation_id = "get_campaign",
    tag = "campaigns",
    summary = "Read a campaign and its pins",
    params(("campaign_id" = String, Path, description = "The campaign's id.")),
    responses(
        (status = 200, description = "The campaign, each pin with its post as it is now.", body = CampaignView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such campaign in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:read"])),
)]
pub async fn get_campaign(
    State(state): State<AppState>,
    caller: Scoped<need::PostsRead>,
    ApiPath(id): ApiPath<Id>,
) -> Result<Json<CampaignView>, ApiError> {
    Ok(Json(read(&state, &caller, &id).await?))
}

/// `DELETE /v1/campaigns/{id}`: cancels every pin that has not published.
#[utoipa::path(
    delete,
    path = "/campaigns/{campaign_id}",
    operation_id = "cancel_campaign",
    tag = "campaigns",
    summary = "Cancel a campaign's pins that have not published",
    description = "Cancels, as `DELETE /v1/posts/{id}` would, every pin of the campaign that is \
`queued`, `held` or `failed`; published pins stay (delete them one by one if need be), and a pin \
whose attempt is running is left to finish. Canceling again changes nothing.",
    params(("campaign_id" = String, Path, description = "The campaign's id.")),
    responses(
        (status = 200, description = "The campaign, canceled, each pin as it is now.", body = CampaignView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such campaign in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:write"])),
)]
pub async fn cancel_campaign(
    State(state): State<AppState>,
    caller: Scoped<need::PostsWrite>,
    ApiPath(id): ApiPath<Id>,
) -> Result<Json<CampaignView>, ApiError> {
    let (campaign, pins) = state
        .store()
        .campaign(&caller.profile_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign"))?;
    let now = state.now_ms();
    for post_id in pins.iter().filter_map(|pin| pin.post_id.as_deref()) {
        match state
            .store()
            .cancel_post(&caller.profile_id, post_id, now)
            .await?
        {
            PostChange::Changed(row) => state.post_committed(&row),
            PostChange::NotAllowed(row) if row.status == PostRow::PUBLISHING => {
                tracing::info!(
                    post_id,
                    "a campaign pin is publishing; it is left to finish"
                );
            }
            PostChange::NotAllowed(_) | PostChange::NotFound => {}
        }
    }
    state
        .store()
        .mark_campaign_canceled(&campaign.id, now)
        .await?;
    Ok(Json(read(&state, &caller, &id).await?))
}
