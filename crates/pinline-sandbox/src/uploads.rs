//! The upload target `POST /v5/media` hands out, standing in for Pinterest's S3 bucket: a form
//! POST whose `file` part is the video. The upload then goes `processing` and, once the sandbox
//! clock has passed the configured processing time, `succeeded`, so a client must poll
//! `GET /v5/media/{id}` before it can pin the video, as it must on Pinterest.
//!
//! `?status=failed` on the upload URL makes processing end in `failed` instead, to test that
//! path.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::StatusCode;

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::state::{Id, MediaStatus};

/// The form field that carries the file, as in the storage host's form POST.
const FILE_PART: &str = "file";

pub async fn upload_media(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<StatusCode> {
    let media_id: Id = raw.parse().map_err(|_| ApiError::media_not_found())?;
    let invalid = |error: &dyn std::fmt::Display| {
        ApiError::invalid(format!(
            "Invalid upload: {error}; send the video as the `{FILE_PART}` part of a multipart/form-data form."
        ))
    };
    let mut form = form.map_err(|rejection| invalid(&rejection.body_text()))?;
    let mut has_file = false;
    while let Some(field) = form.next_field().await.map_err(|error| invalid(&error))? {
        has_file |= field.name() == Some(FILE_PART);
        // Read to the end, so a truncated body is refused rather than half-accepted.
        field.bytes().await.map_err(|error| invalid(&error))?;
    }
    if !has_file {
        return Err(ApiError::invalid(format!(
            "Invalid upload: the form has no `{FILE_PART}` part."
        )));
    }
    let fails = query.as_deref() == Some("status=failed");
    let processing_millis = app.config.media_processing_secs.saturating_mul(1000);
    let ends_at = app.clock.now_millis().saturating_add(processing_millis);
    let mut state = app.write();
    let media = state
        .media
        .get_mut(&media_id)
        .ok_or_else(ApiError::media_not_found)?;
    if media.recorded_status != MediaStatus::Registered {
        return Err(ApiError::conflict(
            "This media upload was already uploaded.",
        ));
    }
    media.recorded_status = MediaStatus::Processing;
    media.processing_ends_at_millis = Some(ends_at);
    media.processing_fails = fails;
    Ok(StatusCode::NO_CONTENT)
}
