//! `Authorization: Bearer <API key>` → the caller's profile. Every `/v1` handler takes a
//! [`Caller`], so an endpoint cannot forget to scope its data to the key's profile.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::api_keys::hash_api_key;
use crate::error::ApiError;
use crate::lockout::Peer;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub profile_id: String,
    pub key_id: String,
}

/// How fresh an API key's `last_used_at` is kept.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

const HOW_TO: &str = "send `Authorization: Bearer <API key>`; create a key with `pinline keys create --profile NAME`";

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized(format!("missing API key: {HOW_TO}")))?;
        let key = header
            .to_str()
            .ok()
            // RFC 9110 §11.1: the scheme name is case-insensitive (`bearer` works too).
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, key)| key.trim())
            .filter(|key| !key.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(format!("malformed Authorization header: {HOW_TO}"))
            })?;
        // A locked-out address is answered before any lookup, whatever key it sends now.
        let now = state.now_ms();
        let client = state
            .lockout()
            .admit(&Peer::from_parts(parts), now)
            .map_err(ApiError::locked_out)?;
        let Some(row) = state.store().api_key_by_hash(&hash_api_key(key)).await? else {
            if let Some(address) = client {
                state.lockout().fail(address, now);
            }
            return Err(ApiError::unauthorized("unknown or revoked API key"));
        };
        // "Last used" to the minute, written off the request's path: a write per request would
        // queue every API call behind SQLite's single writer.
        if row
            .last_used_at
            .is_none_or(|used| now - used > LAST_USED_RESOLUTION_MS)
        {
            let (store, key_id) = (state.store().clone(), row.id.clone());
            tokio::spawn(async move {
                if let Err(error) = store.touch_api_key(&key_id, now).await {
                    tracing::warn!(key_id, error = %error, "could not record an API key's last use");
                }
            });
        }
        Ok(Caller {
            profile_id: row.profile_id,
            key_id: row.id,
        })
    }
}
