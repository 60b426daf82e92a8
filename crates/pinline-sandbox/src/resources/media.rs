//! Media uploads: register a video (`POST /v5/media`), read its status, list them. The upload
//! itself goes to the sandbox's own `/_sandbox/uploads/{media_id}` (see `uploads`), standing in
//! for Pinterest's S3 bucket; the status then moves on with the sandbox clock.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Fields, Query, paginated, parse_id, render_media};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::state::{Media, MediaStatus};

pub async fn create_media(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let fields = Fields::parse(&body)?;
    match fields.string("media_type", None)?.as_deref() {
        Some("video") => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'media_type' must be video.",
            ));
        }
        None => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'media_type' is required.",
            ));
        }
    }
    let now = app.now();
    let mut state = app.write();
    let media = Media {
        id: state.next_id(),
        owner: caller.user,
        recorded_status: MediaStatus::Registered,
        processing_ends_at_millis: None,
        processing_fails: false,
        created_at: now,
    };
    state
        .media_by_user
        .entry(caller.user)
        .or_default()
        .insert(media.id);
    state.stats.media_created += 1;
    let id = media.id;
    state.media.insert(id, media);
    drop(state);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "media_id": id.to_string(),
            "media_type": "video",
            "upload_url": format!("{}/_sandbox/uploads/{id}", app.base_url),
            "upload_parameters": {
                "Content-Type": "multipart/form-data",
                "key": format!("uploads/sandbox/{}/{id}", caller.user),
                "policy": "c2FuZGJveC1wb2xpY3k=",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "x-amz-credential": "SANDBOX/20240101/us-east-1/s3/aws4_request",
                "x-amz-date": "20240101T000000Z",
                "x-amz-security-token": "c2FuZGJveA==",
                "x-amz-signature": "0000000000000000000000000000000000000000000000000000000000000000",
            },
        })),
    ))
}

pub async fn get_media(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(media_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let media_id = parse_id("media_id", &media_id)?;
    let now_millis = app.clock.now_millis();
    let state = app.read();
    let media = state
        .media
        .get(&media_id)
        .filter(|media| media.owner == caller.user)
        .ok_or_else(ApiError::media_not_found)?;
    Ok(Json(render_media(media, now_millis)))
}

pub async fn list_media(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = Query::parse(raw.as_deref())?;
    let now_millis = app.clock.now_millis();
    let state = app.read();
    let (ids, bookmark) = query.page(state.media_by_user.get(&caller.user), |_| true);
    let items = ids
        .iter()
        .filter_map(|id| state.media.get(id))
        .map(|media| render_media(media, now_millis))
        .collect();
    Ok(Json(paginated(items, bookmark)))
}
