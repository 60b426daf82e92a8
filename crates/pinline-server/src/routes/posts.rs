//! `/v1/posts`: accept posts (one or a batch), read them, reschedule or edit them before they
//! publish, cancel them.
//!
//! Accepting is a promise: every check runs first (fields, board, scopes, environment), then the
//! post is committed, and only then does the API answer 202. A post for an account that needs
//! reconnecting is accepted as `held` with the reason and publishes after the reconnect.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use pinline_pinterest::BoardPrivacy;
use pinline_pinterest::facts::{Scope, operations};
use pinline_store::{
    InsertOutcome, NewPost, PostChange, PostChanges, PostCursor, PostFilter, PostRow,
};
use pinline_vault::AccountStatus;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, rfc3339};
use crate::post_input::{PostInput, parse_time};
use crate::state::AppState;

/// Posts accepted in one batch at most.
const BATCH_MAX: usize = 500;
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// A post as the API shows it.
pub fn post_json(post: &PostRow) -> Value {
    let media: Value = serde_json::from_str(&post.media).unwrap_or(Value::Null);
    json!({
        "id": post.id,
        "status": post.status,
        "account_id": post.account_id,
        "board_id": post.board_id,
        "board_section_id": post.board_section_id,
        "title": post.title,
        "description": post.description,
        "link": post.link,
        "alt_text": post.alt_text,
        "media_source": media,
        "publish_at": post.publish_at.map(rfc3339),
        "held_reason": post.held_reason,
        "attempts": post.attempts,
        "pin": post.pin_id.as_ref().map(|id| json!({"id": id, "url": post.pin_url})),
        "last_error": post.last_error_class.as_ref().map(|class| json!({
            "class": class,
            "message": post.last_error_message,
        })),
        "created_at": rfc3339(post.created_at),
        "updated_at": rfc3339(post.updated_at),
        "published_at": post.published_at.map(rfc3339),
    })
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

/// Validates one post and commits it; returns the HTTP status and the post.
async fn accept(
    state: &AppState,
    caller: &Caller,
    body: Value,
    idempotency_key: Option<String>,
) -> Result<(StatusCode, PostRow), ApiError> {
    let request_hash = hex::encode(Sha256::digest(body.to_string().as_bytes()));
    let input: PostInput = serde_json::from_value(body).map_err(|error| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("the post is not valid: {error}"),
        )
    })?;
    let post = input.validate()?;
    let account = state
        .vault()
        .account(&caller.profile_id, &post.account_id)
        .await
        .map_err(|_| {
            ApiError::invalid(
                "account_id",
                format!(
                    "no account {} in this profile; GET /v1/accounts lists them",
                    post.account_id
                ),
            )
        })?;
    state.vault().ensure_credentials_match(&account)?;
    let held_reason = match account.status {
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
        let board = state
            .boards()
            .resolve(state.vault(), &post.account_id, &post.board, state.now_ms())
            .await?;
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
        board.id
    };
    let media = serde_json::to_string(&post.media)
        .map_err(|_| ApiError::invalid("media_source", "cannot be stored"))?;
    let outcome = state
        .store()
        .insert_post(
            &NewPost {
                profile_id: caller.profile_id.clone(),
                account_id: post.account_id.clone(),
                board_id,
                board_section_id: post.board_section_id.clone(),
                title: post.title.clone(),
                description: post.description.clone(),
                link: post.link.clone(),
                alt_text: post.alt_text.clone(),
                media,
                publish_at: post.publish_at_ms,
                idempotency_key,
                request_hash: Some(request_hash),
                held_reason: held_reason.clone(),
            },
            state.now_ms(),
        )
        .await?;
    match outcome {
        InsertOutcome::Created(row) => {
            if held_reason.is_none() {
                state.publisher().wake();
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
pub async fn create_post(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let (status, row) = accept(&state, &caller, body, key).await?;
    Ok((status, Json(post_json(&row))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    posts: Vec<Value>,
}

/// `POST /v1/posts/batch`: each post validated and answered on its own. With an
/// `Idempotency-Key`, post *i* uses the key `KEY:i`.
pub async fn create_posts_batch(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BatchRequest>,
) -> Result<Json<Value>, ApiError> {
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
        match accept(&state, &caller, post, item_key).await {
            Ok((status, row)) => {
                accepted += 1;
                results.push(
                    json!({"index": index, "status": status.as_u16(), "post": post_json(&row)}),
                );
            }
            Err(error) => {
                refused += 1;
                let mut body = json!({"code": error.code, "message": error.message});
                if let Some(field) = &error.field {
                    body["field"] = json!(field);
                }
                results
                    .push(json!({"index": index, "status": error.status.as_u16(), "error": body}));
            }
        }
    }
    Ok(Json(
        json!({"accepted": accepted, "refused": refused, "results": results}),
    ))
}

/// `GET /v1/posts/{id}`: the post with its attempts.
pub async fn get_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(post_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = state
        .store()
        .post(&caller.profile_id, &post_id)
        .await?
        .ok_or_else(|| ApiError::not_found("post"))?;
    let attempts = state.store().post_attempts(&row.id).await?;
    let mut body = post_json(&row);
    body["attempt_log"] = attempts
        .iter()
        .map(|a| {
            json!({
                "attempt": a.attempt,
                "started_at": rfc3339(a.started_at),
                "finished_at": a.finished_at.map(rfc3339),
                "outcome": a.outcome,
                "error_class": a.error_class,
                "error_message": a.error_message,
            })
        })
        .collect();
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    account_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

const STATUSES: [&str; 6] = [
    "queued",
    "publishing",
    "published",
    "failed",
    "held",
    "canceled",
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
    Ok(PostCursor {
        created_at,
        id: id.to_owned(),
    })
}

/// `GET /v1/posts?status=&account_id=&from=&to=&cursor=&limit=`.
pub async fn list_posts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
        account_id: query.account_id,
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
    Ok(Json(json!({
        "items": page.posts.iter().map(post_json).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(encode_cursor),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchPost {
    title: Option<String>,
    description: Option<String>,
    link: Option<String>,
    alt_text: Option<String>,
    publish_at: Option<String>,
}

/// `PATCH /v1/posts/{id}`: edit or reschedule a post that has not started publishing.
pub async fn patch_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(post_id): Path<String>,
    ApiJson(body): ApiJson<PatchPost>,
) -> Result<Json<Value>, ApiError> {
    use pinline_pinterest::facts::pin_limits;
    for (field, value, max) in [
        ("title", &body.title, pin_limits::TITLE_MAX),
        (
            "description",
            &body.description,
            pin_limits::DESCRIPTION_MAX,
        ),
        ("alt_text", &body.alt_text, pin_limits::ALT_TEXT_MAX),
        ("link", &body.link, pin_limits::LINK_MAX),
    ] {
        if let Some(value) = value
            && value.chars().count() > max
        {
            return Err(ApiError::invalid(
                field,
                format!("{field} is longer than Pinterest's {max} characters"),
            ));
        }
    }
    let changes = PostChanges {
        title: body.title,
        description: body.description,
        link: body.link,
        alt_text: body.alt_text,
        publish_at: body
            .publish_at
            .as_deref()
            .map(|t| parse_time("publish_at", t))
            .transpose()?,
        ..PostChanges::default()
    };
    match state
        .store()
        .update_post(&caller.profile_id, &post_id, &changes, state.now_ms())
        .await?
    {
        PostChange::Changed(row) => {
            state.publisher().wake();
            Ok(Json(post_json(&row)))
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
pub async fn delete_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(post_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
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
        return Ok(Json(post_json(&row)));
    }
    match state
        .store()
        .cancel_post(&caller.profile_id, &post_id, state.now_ms())
        .await?
    {
        PostChange::Changed(row) => Ok(Json(post_json(&row))),
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
