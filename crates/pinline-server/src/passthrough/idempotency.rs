//! `Idempotency-Key` on `POST /pinterest/v5/pins`: a caller that did not hear the answer to a
//! create may send it again with the same key, and gets the first answer back instead of a
//! second pin.
//!
//! The key is claimed (stored as pending) before the create is sent. Pinterest's answer is
//! stored with it; a refusal (4xx: no pin) frees the key for another try; an unknown outcome
//! (a timeout, a reset, a 5xx) keeps it, and a retry with that key is told so (409) rather than
//! sent: only the caller can look at the board and decide. A key comes back with the hash of
//! the body it was first used with; the same key with another body is refused (422). Keys are
//! forgotten after a day.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pinline_store::{IdempotencyClaim, IdempotencyRow};
use sha2::{Digest, Sha256};

use super::{Answer, Refusal, Unanswered, mark_replayed};
use crate::state::AppState;

/// The request header.
const HEADER: &str = "idempotency-key";

/// How long a key is remembered.
const KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// What looking at a call's key came to.
pub(super) enum Taken {
    /// The key was used before with this body and its answer is known: send that.
    Replay(Response),
    /// The key is new and now held for this call.
    Claimed(Claim),
}

/// A key held for one call.
pub(super) struct Claim {
    account_id: String,
    key: String,
}

impl Claim {
    /// Looks at the call's `Idempotency-Key`, if it has one.
    pub(super) async fn take(
        state: &AppState,
        account_id: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Option<Taken>, Refusal> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| (1..=255).contains(&key.len()))
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_header",
                    "`Idempotency-Key` must be 1 to 255 visible ASCII characters",
                )
                .about("Idempotency-Key")
            })?;
        let body_hash = hex::encode(Sha256::digest(body));
        let now = state.now_ms();
        let claim = state
            .store()
            .claim_idempotency_key(account_id, key, &body_hash, now, now - KEPT_MS)
            .await
            .map_err(|error| Refusal::from(crate::error::ApiError::from(error)))?;
        let row = match claim {
            IdempotencyClaim::Claimed => {
                return Ok(Some(Taken::Claimed(Claim {
                    account_id: account_id.to_owned(),
                    key: key.to_owned(),
                })));
            }
            IdempotencyClaim::Existing(row) => row,
        };
        if row.body_hash != body_hash {
            return Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with another body; use a new key for another pin",
            )
            .about("Idempotency-Key"));
        }
        match row.state.as_str() {
            IdempotencyRow::DONE => Ok(Some(Taken::Replay(replay(&row)))),
            IdempotencyRow::PENDING => Err(Refusal::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a create with this Idempotency-Key is in progress; ask again when it has been answered",
            )
            .about("Idempotency-Key")),
            _ => Err(Refusal::new(
                StatusCode::CONFLICT,
                "idempotency_outcome_unknown",
                "a create with this Idempotency-Key got no answer from Pinterest, so it may have made the pin: look at the board before creating it with a new key",
            )
            .about("Idempotency-Key")),
        }
    }

    /// Records how the call ended and answers it.
    pub(super) async fn finish(
        self,
        state: &AppState,
        sent: Result<Answer, Unanswered>,
    ) -> Result<Response, Refusal> {
        let store = state.store();
        let recorded = match &sent {
            Ok(answer) if answer.status.is_success() => {
                let content_type = answer
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok());
                store
                    .finish_idempotency_key(
                        &self.account_id,
                        &self.key,
                        IdempotencyRow::DONE,
                        Some((
                            i64::from(answer.status.as_u16()),
                            content_type,
                            &answer.body,
                        )),
                    )
                    .await
            }
            // A refusal made no pin: the key may be used again.
            Ok(answer) if answer.status.is_client_error() => {
                store
                    .release_idempotency_key(&self.account_id, &self.key)
                    .await
            }
            Err(Unanswered::Refused(_)) => {
                store
                    .release_idempotency_key(&self.account_id, &self.key)
                    .await
            }
            Ok(_) | Err(Unanswered::Unknown(_)) => {
                store
                    .finish_idempotency_key(
                        &self.account_id,
                        &self.key,
                        IdempotencyRow::UNKNOWN,
                        None,
                    )
                    .await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(error = %error, "could not record an Idempotency-Key's outcome");
        }
        sent.map(IntoResponse::into_response).map_err(Refusal::from)
    }
}

/// The stored answer, as it was first sent.
fn replay(row: &IdempotencyRow) -> Response {
    let status = row
        .status
        .and_then(|status| u16::try_from(status).ok())
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, row.body.clone().unwrap_or_default()).into_response();
    if let Some(value) = row
        .content_type
        .as_deref()
        .and_then(|value| HeaderValue::from_str(value).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    mark_replayed(&mut response);
    response
}
