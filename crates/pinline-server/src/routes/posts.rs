//! `/v1/posts`: accept posts (one or a batch), read them, reschedule or edit them before they
//! publish, cancel them.
//!
//! Accepting is a promise: every check runs first (fields, board, scopes, environment), then the
//! post is committed, and only then does the API answer 202. A post for an account that needs
//! reconnecting is accepted as `held` with the reason and publishes after the reconnect.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use pinline_pinterest::BoardPrivacy;
use pinline_pinterest::PinText;
use pinline_pinterest::facts::{Scope, operations};
use pinline_queue::slots::{Placement, Request, SlotError};
use pinline_store::{
    InsertOutcome, NewPost, PlacedTime, PostChange, PostChanges, PostCursor, PostFilter, PostRow,
};
use pinline_vault::{AccountStatus, VaultError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Scoped, need};
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, rfc3339};
use crate::post_input::{PostInput, ValidPost, parse_time, pin_text};
use crate::routes::slots::{slot_error, stored_schedule};
use crate::state::AppState;
use crate::text::MultiLine;

/// Posts accepted in one batch at most.
const BATCH_MAX: usize = 500;

/// The largest body `POST /v1/posts/batch` reads. A post's text at Pinterest's limits (title
/// 100, description 800, alt text 500 characters, up to 4 bytes each in UTF-8, a 2,048-byte
/// link and image URL, ids and JSON's own escapes) stays under 16 KiB, so 500 of them fit in
/// 8 MiB; twice that leaves room without letting one request hold the process's memory. Posts
/// with inline (base64) images are meant to go one by one.
pub const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// A post as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Post)]
pub struct PostView {
    /// The post's id (a UUID v7: ids sort by creation time).
    pub id: String,
    /// The post's status; see [`post_status_schema`] for what each one means.
    #[schema(schema_with = post_status_schema)]
    pub status: String,
    /// The Pinterest account the post publishes as.
    pub account_id: String,
    /// The board's id (a board given by name was resolved to its id when the post was accepted).
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// Pinterest's `media_source` object, as it will be sent.
    #[schema(schema_with = crate::post_input::media_source_schema)]
    pub media_source: Value,
    /// When the post publishes; `null` means as soon as possible.
    #[schema(format = DateTime)]
    pub publish_at: Option<String>,
    /// When the post is expected to go live: its time (or, for a retry, the next attempt's)
    /// while queued, when it went live once published; `null` while held, failed or canceled.
    #[schema(format = DateTime)]
    pub expected_publish_at: Option<String>,
    /// Why `publish_at` is not the time that was asked: `slot` (the account's next free slot,
    /// for `"publish_at": "next_slot"`) or `spaced` (moved later by the account's spacing rule,
    /// away from a pin of the same link or image); `null` when it is.
    #[schema(schema_with = crate::schemas::placement)]
    pub placement: Option<String>,
    /// The time that was asked, when the spacing rule moved the post.
    #[schema(format = DateTime)]
    pub requested_publish_at: Option<String>,
    /// Why a `held` post waits.
    pub held_reason: Option<String>,
    /// Publishing attempts so far.
    pub attempts: i64,
    /// The pin, once published.
    pub pin: Option<PinView>,
    /// The last failure, if any.
    pub last_error: Option<PostErrorView>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub published_at: Option<String>,
}

/// The pin a post became.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Pin)]
pub struct PinView {
    /// Pinterest's pin id.
    pub id: String,
    /// The pin's page on Pinterest.
    pub url: Option<String>,
}

/// Why the last attempt failed, or why the post is held.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PostError)]
pub struct PostErrorView {
    #[schema(schema_with = crate::schemas::error_class)]
    pub class: String,
    pub message: Option<String>,
}

impl PostView {
    /// The API's view of a stored post.
    pub fn from_row(post: &PostRow) -> PostView {
        PostView {
            id: post.id.clone(),
            status: post.status.clone(),
            account_id: post.account_id.clone(),
            board_id: post.board_id.clone(),
            board_section_id: post.board_section_id.clone(),
            title: post.title.clone(),
            description: post.description.clone(),
            link: post.link.clone(),
            alt_text: post.alt_text.clone(),
            media_source: serde_json::from_str(&post.media).unwrap_or(Value::Null),
            publish_at: post.publish_at.map(rfc3339),
            expected_publish_at: expected_publish_at(post).map(rfc3339),
            placement: post.placement.clone(),
            requested_publish_at: post.requested_publish_at.map(rfc3339),
            held_reason: post.held_reason.clone(),
            attempts: post.attempts,
            pin: post.pin_id.as_ref().map(|id| PinView {
                id: id.clone(),
                url: post.pin_url.clone(),
            }),
            last_error: post.last_error_class.as_ref().map(|class| PostErrorView {
                class: class.clone(),
                message: post.last_error_message.clone(),
            }),
            created_at: rfc3339(post.created_at),
            updated_at: rfc3339(post.updated_at),
            published_at: post.published_at.map(rfc3339),
        }
    }
}

/// When a post is expected to go live, as [`PostView::expected_publish_at`] says.
fn expected_publish_at(post: &PostRow) -> Option<i64> {
    match post.status.as_str() {
        PostRow::QUEUED | PostRow::PUBLISHING => Some(post.next_attempt_at),
        PostRow::PUBLISHED | PostRow::DELETED => post.published_at,
        _ => None,
    }
}

/// A post with the log of its publishing attempts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PostDetail)]
pub struct PostDetailView {
    #[serde(flatten)]
    pub post: PostView,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

/// One publishing attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Attempt)]
pub struct AttemptView {
    /// 1 for the first attempt.
    pub attempt: i64,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    #[schema(schema_with = crate::schemas::attempt_outcome)]
    pub outcome: Option<String>,
    #[schema(schema_with = crate::schemas::nullable_error_class)]
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

/// The JSON Schema of a post's status: the values of [`STATUSES`].
fn post_status_schema() -> Object {
    ObjectBuilder::new()
        .description(Some(
            "`queued` (waiting for its time or its turn), `publishing` (an attempt is running), \
             `published`, `failed` (for good; see `last_error`), `held` (its account cannot \
             publish: it must be reconnected, or its credential belongs to another app; see \
             `held_reason` and `last_error`; it publishes once that is fixed), `canceled`, or \
             `deleted` (published, then its pin deleted through pinline).",
        ))
        .schema_type(Type::String)
        .enum_values(Some(STATUSES))
        .build()
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1–{IDEMPOTENCY_KEY_MAX} visible ASCII characters"),
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// Validates one post and commits it; returns the HTTP status and the post. Its span starts the
/// post's trace (target `pinline::trace`, see `pinline_core::trace`).
#[tracing::instrument(
    target = "pinline::trace",
    name = "post.accept",
    skip_all,
    fields(post.id = tracing::field::Empty, post.status = tracing::field::Empty)
)]
pub(crate) async fn accept(
    state: &AppState,
    caller: &Caller,
    body: Value,
    idempotency_key: Option<String>,
) -> Result<(StatusCode, PostRow), ApiError> {
    let request_hash = hex::encode(Sha256::digest(body.to_string().as_bytes()));
    let input: PostInput = crate::body::read(&body)?;
    let mut post = input.validate()?;
    let account = state
        .vault()
        .account(&caller.profile_id, &post.account_id)
        .await
        .map_err(|error| match error {
            // Only a missing account is the caller's mistake; a database that does not answer
            // must not tell a client to drop a post that was fine.
            VaultError::AccountNotFound => ApiError::invalid(
                "account_id",
                format!(
                    "no account {} in this profile; GET /v1/accounts lists them",
                    post.account_id
                ),
            ),
            other => other.into(),
        })?;
    state.vault().ensure_credentials_match(&account)?;
    let mut held_reason = match account.status {
        AccountStatus::Disconnected => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "account_disconnected",
                "the account was disconnected; connect it again before posting",
            ));
        }
        AccountStatus::NeedsReauth => Some(
            account
                .status_reason
                .clone()
                .unwrap_or_else(|| "the account needs to be reconnected".into()),
        ),
        AccountStatus::Active | AccountStatus::Refreshing => None,
    };
    let board_id = if let Some(reason) = &held_reason {
        // The board cannot be checked without a working token: only an id is accepted then.
        match &post.board {
            crate::post_input::BoardRef::Id(_) if post.board_section.is_some() => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "account_needs_reauth",
                    format!(
                        "{reason}; a section name cannot be resolved until the account is reconnected (send board_section_id to queue the post as held)"
                    ),
                ));
            }
            crate::post_input::BoardRef::Id(id) => id.clone(),
            crate::post_input::BoardRef::Name(_) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "account_needs_reauth",
                    format!(
                        "{reason}; a board name cannot be resolved until the account is reconnected (send board_id to queue the post as held)"
                    ),
                ));
            }
        }
    } else {
        let resolved = state
            .boards()
            .resolve(state.vault(), &post.account_id, &post.board, state.now_ms())
            .await;
        let board = match (resolved, &post.board) {
            (Ok(board), _) => board,
            // Pinterest refused the tokens while the board was being checked: this post is
            // the one that found out. Like every post for such an account, it waits as held
            // (with an id there is nothing left to check until the reconnect).
            (Err(error), crate::post_input::BoardRef::Id(id))
                if error.code == "account_needs_reauth" =>
            {
                held_reason = Some(error.message.clone());
                return commit(
                    state,
                    caller,
                    &post,
                    id.clone(),
                    held_reason,
                    idempotency_key,
                    request_hash,
                )
                .await;
            }
            (Err(error), _) => return Err(error),
        };
        let granted: Vec<Scope> = account
            .scopes
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let secret = board.privacy == BoardPrivacy::Secret;
        let missing = operations::PINS_CREATE.missing_scopes(&granted, secret);
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(ApiError {
                field: Some("board_id".into()),
                ..ApiError::new(
                    StatusCode::FORBIDDEN,
                    "missing_scopes",
                    format!(
                        "publishing to {} board `{}` needs {} which the account did not grant; reconnect it (POST /v1/accounts/connect) and approve them",
                        if secret { "secret" } else { "public" },
                        board.name,
                        names.join(", ")
                    ),
                )
            });
        }
        if let Some(name) = post.board_section.take() {
            let section =
                crate::section_names::resolve_section(state, &post.account_id, &board.id, &name)
                    .await?;
            post.board_section_id = Some(section);
        }
        board.id
    };
    commit(
        state,
        caller,
        &post,
        board_id,
        held_reason,
        idempotency_key,
        request_hash,
    )
    .await
}

/// Commits a validated post (queued, or held with the reason).
async fn commit(
    state: &AppState,
    caller: &Caller,
    post: &ValidPost,
    board_id: String,
    held_reason: Option<String>,
    idempotency_key: Option<String>,
    request_hash: String,
) -> Result<(StatusCode, PostRow), ApiError> {
    let media = serde_json::to_string(&post.media)
        .map_err(|_| ApiError::invalid("media_source", "cannot be stored"))?;
    let requested = match post.when {
        Request::At(at) => at,
        Request::NextSlot(_) => None,
    };
    let new = NewPost {
        profile_id: caller.profile_id.clone(),
        account_id: post.account_id.clone(),
        board_id,
        board_section_id: post.board_section_id.clone(),
        title: post.title.clone(),
        description: post.description.clone(),
        link: post.link.clone(),
        alt_text: post.alt_text.clone(),
        media,
        publish_at: requested,
        idempotency_key,
        request_hash: Some(request_hash),
        held_reason: held_reason.clone(),
        image_key: post.image_key(),
        trace_parent: pinline_core::trace::traceparent(&tracing::Span::current()),
    };
    let now = state.now_ms();
    // The account's schedule decides the time inside the insert's transaction, so two posts
    // asking for the next slot at once (on any replica) never get the same one.
    let outcome = state
        .store()
        .insert_post_placed(
            &new,
            now,
            matches!(post.when, Request::NextSlot(_)),
            |row, bookings| {
                let Some(row) = row else {
                    return match post.when {
                        Request::NextSlot(_) => Err(slot_error("publish_at", SlotError::NoSlots)),
                        Request::At(at) => Ok(PlacedTime {
                            publish_at: at,
                            placement: None,
                        }),
                    };
                };
                let schedule = stored_schedule(row)?;
                let placed = schedule
                    .place(post.when, &bookings.booked, &bookings.same_content, now)
                    .map_err(|error| slot_error("publish_at", error))?;
                Ok(PlacedTime {
                    publish_at: placed.at,
                    placement: placed.placement.map(Placement::as_str),
                })
            },
        )
        .await??;
    if let InsertOutcome::Created(row) | InsertOutcome::Existing(row) = &outcome {
        let span = tracing::Span::current();
        span.record("post.id", row.id.as_str());
        span.record("post.status", row.status.as_str());
    }
    match outcome {
        InsertOutcome::Created(row) => {
            if held_reason.is_none() {
                state.post_committed(&row);
            }
            Ok((StatusCode::ACCEPTED, row))
        }
        InsertOutcome::Existing(row) => Ok((StatusCode::OK, row)),
        InsertOutcome::Conflict => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this Idempotency-Key was already used with a different request; use a new key for a new post",
        )),
    }
}

/// `POST /v1/posts`.
#[utoipa::path(
    post,
    path = "/posts",
    operation_id = "create_post",
    tag = "posts",
    summary = "Queue a post",
    description = "Validates the post completely (fields against Pinterest's limits, the board, \
the account's scopes for that board) and commits it before answering `202 Accepted`: an accepted \
post is never lost. It publishes at `publish_at`, or as soon as possible.\n\n\
A post for an account that needs reconnecting is still accepted, with status `held` and a \
`held_reason`; it publishes once the account is reconnected. Such a post must name its board by \
`board_id` (a name cannot be resolved without a working token).\n\n\
Send an `Idempotency-Key` to make retries safe: the same key with the same body answers `200` \
with the post created the first time; the same key with a different body is a `409`.",
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 255, pattern = "^[ -~]*[!-~][ -~]*$",
            description = "1–255 visible ASCII characters naming this post on your side (an order id, say). \
Retrying with the same key and body never creates a second post."),
    ),
    request_body = PostInput,
    responses(
        (status = 202, description = "Accepted and committed: `queued`, or `held` when the account must be reconnected first.", body = PostView),
        (status = 200, description = "A retry: this `Idempotency-Key` already created this post.", body = PostView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant the scopes this board needs (`missing_scopes`, `pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "Pinterest no longer knows the account's user (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The `Idempotency-Key` was used for a different post (`idempotency_conflict`), or the account is disconnected or cannot be used (`account_disconnected`, `account_needs_reauth`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "A field is invalid; `error.field` names it (`invalid_field`, `invalid_body`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached while checking the board; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:write"])),
)]
pub async fn create_post(
    State(state): State<AppState>,
    caller: Scoped<need::PostsWrite>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let (status, row) = accept(&state, &caller, body, key).await?;
    Ok((status, Json(PostView::from_row(&row))))
}

/// The body of `POST /v1/posts/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1–500 posts, each as `POST /v1/posts` takes it. Each is parsed on its own so that one
    /// bad post is refused alone.
    #[schema(value_type = Vec<PostInput>, min_items = 1, max_items = 500)]
    posts: Vec<crate::body::Later>,
}

/// The answer to a batch: a result for each post, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BatchResult)]
pub struct BatchOutcome {
    /// Posts accepted (including retries answered from an earlier `Idempotency-Key`).
    pub accepted: usize,
    /// Posts refused.
    pub refused: usize,
    pub results: Vec<BatchItem>,
}

/// One post of a batch: either `post` or `error` is present.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchItem {
    /// The post's position in the request, from 0.
    pub index: usize,
    /// The status `POST /v1/posts` would have answered for this post alone.
    pub status: u16,
    /// The accepted post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<PostView>,
    /// Why the post was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// `POST /v1/posts/batch`: each post validated and answered on its own. With an
/// `Idempotency-Key`, post *i* uses the key `KEY:i`.
#[utoipa::path(
    post,
    path = "/posts/batch",
    operation_id = "create_posts_batch",
    tag = "posts",
    summary = "Queue many posts",
    description = "Each post is validated and committed on its own, exactly as `POST /v1/posts` \
would: the answer is `200` with one result per post (its status and the post, or its error), so \
one bad post does not refuse the others. With an `Idempotency-Key`, post *i* of the batch uses \
the key `KEY:i`, so a whole batch can be retried safely.",
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 255, pattern = "^[ -~]*[!-~][ -~]*$",
            description = "1–255 visible ASCII characters; post *i* is keyed `KEY:i`."),
    ),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per post, in order.", body = BatchOutcome),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "The batch is empty, has more than 500 posts, is not `{\"posts\": [...]}`, or the `Idempotency-Key` is malformed.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:write"])),
)]
pub async fn create_posts_batch(
    State(state): State<AppState>,
    caller: Scoped<need::PostsWrite>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BatchRequest>,
) -> Result<Json<BatchOutcome>, ApiError> {
    if body.posts.is_empty() || body.posts.len() > BATCH_MAX {
        return Err(ApiError::invalid(
            "posts",
            format!("send 1–{BATCH_MAX} posts per batch"),
        ));
    }
    let key = idempotency_key(&headers)?;
    let mut results = Vec::with_capacity(body.posts.len());
    let (mut accepted, mut refused) = (0, 0);
    for (index, post) in body.posts.into_iter().enumerate() {
        let item_key = key.as_ref().map(|key| format!("{key}:{index}"));
        match accept(&state, &caller, post.0, item_key).await {
            Ok((status, row)) => {
                accepted += 1;
                results.push(BatchItem {
                    index,
                    status: status.as_u16(),
                    post: Some(PostView::from_row(&row)),
                    error: None,
                });
            }
            Err(error) => {
                refused += 1;
                results.push(BatchItem {
                    index,
                    status: error.status.as_u16(),
                    post: None,
                    error: Some(error.detail()),
                });
            }
        }
    }
    Ok(Json(BatchOutcome {
        accepted,
        refused,
        results,
    }))
}

/// `GET /v1/posts/{id}`: the post with its attempts.
#[utoipa::path(
    get,
    path = "/posts/{post_id}",
    operation_id = "get_post",
    tag = "posts",
    summary = "Read a post and its attempts",
    params(("post_id" = String, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post, with `attempt_log`.", body = PostDetailView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such post in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:read"])),
)]
pub async fn get_post(
    State(state): State<AppState>,
    caller: Scoped<need::PostsRead>,
    ApiPath(post_id): ApiPath<Id>,
) -> Result<Json<PostDetailView>, ApiError> {
    let row = state
        .store()
        .post(&caller.profile_id, &post_id)
        .await?
        .ok_or_else(|| ApiError::not_found("post"))?;
    let attempts = state.store().post_attempts(&row.id).await?;
    Ok(Json(PostDetailView {
        post: PostView::from_row(&row),
        attempt_log: attempts
            .iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                started_at: rfc3339(a.started_at),
                finished_at: a.finished_at.map(rfc3339),
                outcome: a.outcome.clone(),
                error_class: a.error_class.clone(),
                error_message: a.error_message.clone(),
            })
            .collect(),
    }))
}

/// The query of `GET /v1/posts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only posts with this status.
    #[param(schema_with = post_status_schema)]
    status: Option<String>,
    /// Only posts of this account.
    account_id: Option<String>,
    /// Only posts created at or after this time (RFC 3339 with an offset).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Only posts created before this time (RFC 3339 with an offset).
    #[param(format = DateTime)]
    to: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first page.
    #[param(pattern = "^-?[0-9]{1,18}\\.")]
    cursor: Option<String>,
    /// Posts per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// A page of posts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PostPage)]
pub struct PostPage {
    /// Newest first.
    pub items: Vec<PostView>,
    /// Pass as `cursor` to read the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

const STATUSES: [&str; 7] = [
    PostRow::QUEUED,
    PostRow::PUBLISHING,
    PostRow::PUBLISHED,
    PostRow::FAILED,
    PostRow::HELD,
    PostRow::CANCELED,
    PostRow::DELETED,
];

fn encode_cursor(cursor: &PostCursor) -> String {
    format!("{}.{}", cursor.created_at, cursor.id)
}

fn decode_cursor(text: &str) -> Result<PostCursor, ApiError> {
    let (at, id) = text.split_once('.').ok_or_else(|| {
        ApiError::invalid(
            "cursor",
            "cursor must be the next_cursor of a previous page",
        )
    })?;
    let created_at = at.parse().map_err(|_| {
        ApiError::invalid(
            "cursor",
            "cursor must be the next_cursor of a previous page",
        )
    })?;
    let id = Id::parse(id).ok_or_else(|| {
        ApiError::invalid(
            "cursor",
            "cursor must be the next_cursor of a previous page",
        )
    })?;
    Ok(PostCursor {
        created_at,
        id: id.into(),
    })
}

/// `GET /v1/posts?status=&account_id=&from=&to=&cursor=&limit=`.
#[utoipa::path(
    get,
    path = "/posts",
    operation_id = "list_posts",
    tag = "posts",
    summary = "List posts",
    description = "Posts of this key's profile, newest first, filtered by status, account and \
creation time. Pages are read with a cursor: the answer's `next_cursor`, passed back as `cursor` \
with the same filters, reads the next page; it is `null` on the last page.",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of posts.", body = PostPage),
        (status = 400, description = "An unknown query parameter or a malformed value (`invalid_query`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 422, description = "A parameter is out of range; `error.field` names it.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:read"])),
)]
pub async fn list_posts(
    State(state): State<AppState>,
    caller: Scoped<need::PostsRead>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PostPage>, ApiError> {
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::invalid(
            "status",
            format!("status is one of {}", STATUSES.join(", ")),
        ));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    let filter = PostFilter {
        status: query.status,
        account_id: query
            .account_id
            .map(|id| {
                Id::parse(&id).map(String::from).ok_or_else(|| {
                    ApiError::invalid(
                        "account_id",
                        "account_id must be an account's id (a UUID, as GET /v1/accounts lists them)",
                    )
                })
            })
            .transpose()?,
        from: query
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?,
    };
    let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state
        .store()
        .list_posts(&caller.profile_id, &filter, cursor.as_ref(), limit)
        .await?;
    Ok(Json(PostPage {
        items: page.posts.iter().map(PostView::from_row).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// The body of `PATCH /v1/posts/{id}`: the fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPost {
    /// At most 100 characters.
    title: Option<String>,
    /// At most 800 characters; may span lines.
    #[schema(value_type = Option<String>)]
    description: Option<MultiLine>,
    /// An http(s) URL of at most 2048 characters.
    link: Option<String>,
    /// At most 500 characters.
    alt_text: Option<String>,
    /// The new publishing time (RFC 3339 with an offset).
    #[schema(format = DateTime)]
    publish_at: Option<String>,
}

/// `PATCH /v1/posts/{id}`: edit or reschedule a post that has not started publishing, or edit
/// the live pin of a published one.
#[utoipa::path(
    patch,
    path = "/posts/{post_id}",
    operation_id = "update_post",
    tag = "posts",
    summary = "Edit or reschedule a post, or edit its live pin",
    description = "Changes the given fields of a `queued` or `held` post. On a `published` post \
the title, description, link and alt text are changed on the live pin at Pinterest first \
(paced on the account's write budget and tried again on transient errors, each try an entry \
of the post's `attempt_log`), then on the post; its `publish_at` cannot change. A post that is \
publishing, failed, canceled or deleted cannot be changed (`409`).",
    params(("post_id" = String, Path, description = "The post's id.")),
    request_body = PatchPost,
    responses(
        (status = 200, description = "The changed post.", body = PostView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant the scope editing the pin needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such post in this key's profile, or its pin is gone at Pinterest (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The post is not `queued`, `held` or `published` (`post_not_editable`), or its account cannot be used (`account_needs_reauth`, `account_disconnected`, `pinterest_auth`, `credential_mismatch`).", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "A field is invalid; `error.field` names it (or Pinterest refused the edit: `pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "The account's Pinterest write budget is spent for now; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:write"])),
)]
pub async fn patch_post(
    State(state): State<AppState>,
    caller: Scoped<need::PostsWrite>,
    ApiPath(post_id): ApiPath<Id>,
    ApiJson(body): ApiJson<PatchPost>,
) -> Result<Json<PostView>, ApiError> {
    // The same rules as POST /v1/posts; a field sent empty is refused rather than read as
    // "no change", which would silently keep what the caller meant to replace.
    let description = body.description.map(MultiLine::into_string);
    for (field, value) in [
        ("title", &body.title),
        ("description", &description),
        ("alt_text", &body.alt_text),
        ("link", &body.link),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ApiError::invalid(
                field,
                format!("{field} is empty; leave it out to keep the current {field}"),
            ));
        }
    }
    let changes = PostChanges {
        title: pin_text(PinText::Title, body.title)?,
        description: pin_text(PinText::Description, description)?,
        link: pin_text(PinText::Link, body.link)?,
        alt_text: pin_text(PinText::AltText, body.alt_text)?,
        publish_at: body
            .publish_at
            .as_deref()
            .map(|t| parse_time("publish_at", t))
            .transpose()?,
        ..PostChanges::default()
    };
    if let Some(post) = state.store().post(&caller.profile_id, &post_id).await?
        && post.status == PostRow::PUBLISHED
    {
        let row =
            crate::routes::live_edit::edit_live_pin(&state, &caller.profile_id, post, &changes)
                .await?;
        return Ok(Json(PostView::from_row(&row)));
    }
    let row = apply_changes(&state, &caller.profile_id, &post_id, &changes).await?;
    Ok(Json(PostView::from_row(&row)))
}

/// Edits a post that has not started publishing (the API's PATCH and the dashboard's
/// reschedule): the changed post, or why it cannot be changed.
pub(crate) async fn apply_changes(
    state: &AppState,
    profile_id: &str,
    post_id: &str,
    changes: &PostChanges,
) -> Result<PostRow, ApiError> {
    match state
        .store()
        .update_post(profile_id, post_id, changes, state.now_ms())
        .await?
    {
        PostChange::Changed(row) => {
            state.post_committed(&row);
            Ok(row)
        }
        PostChange::NotFound => Err(ApiError::not_found("post")),
        PostChange::NotAllowed(row) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "post_not_editable",
            format!(
                "the post is {}; only queued or held posts can be changed",
                row.status
            ),
        )),
    }
}

/// `DELETE /v1/posts/{id}`: cancel a post that has not published; delete the pin of one that has.
#[utoipa::path(
    delete,
    path = "/posts/{post_id}",
    operation_id = "delete_post",
    tag = "posts",
    summary = "Cancel a post, or delete its pin",
    description = "A post that has not published is `canceled`. For a `published` post the pin is \
deleted at Pinterest (a pin already gone counts as deleted). A post whose attempt is running \
can be canceled once that attempt ends (`409`).",
    params(("post_id" = String, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The canceled post, or the published post whose pin was deleted.", body = PostView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant the scope deleting the pin needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such post in this key's profile.", body = ErrorBody),
        (status = 409, description = "An attempt is running (`post_not_cancelable`), or the account cannot be used to delete the pin (`account_needs_reauth`, `account_disconnected`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "Pinterest refused the deletion (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:write"])),
)]
pub async fn delete_post(
    State(state): State<AppState>,
    caller: Scoped<need::PostsWrite>,
    ApiPath(post_id): ApiPath<Id>,
) -> Result<Json<PostView>, ApiError> {
    let row = state
        .store()
        .post(&caller.profile_id, &post_id)
        .await?
        .ok_or_else(|| ApiError::not_found("post"))?;
    if row.status == "published" {
        let pin_id = row.pin_id.clone().unwrap_or_default();
        let deleted = state
            .vault()
            .call(&row.account_id, |client, token| {
                let pin_id = pin_id.clone();
                async move { client.delete_pin(&token, &pin_id).await }
            })
            .await;
        match deleted {
            Ok(_) => {}
            // Already gone at Pinterest: the outcome the caller wanted.
            Err(pinline_vault::VaultError::Pinterest(error))
                if error.class() == pinline_pinterest::ErrorClass::NotFound => {}
            Err(error) => return Err(error.into()),
        }
        let row = state
            .store()
            .mark_post_pin_deleted(&caller.profile_id, &post_id, state.now_ms())
            .await?
            .unwrap_or(row);
        return Ok(Json(PostView::from_row(&row)));
    }
    match state
        .store()
        .cancel_post(&caller.profile_id, &post_id, state.now_ms())
        .await?
    {
        PostChange::Changed(row) => Ok(Json(PostView::from_row(&row))),
        PostChange::NotFound => Err(ApiError::not_found("post")),
        PostChange::NotAllowed(row) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "post_not_cancelable",
            format!(
                "the post is {}; it can be canceled once the attempt in progress ends",
                row.status
            ),
        )),
    }
}
