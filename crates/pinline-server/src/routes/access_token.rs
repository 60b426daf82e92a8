//! `POST /v1/accounts/{id}/access-token`: an account's current access token, for a tool that
//! cannot send its calls through the passthrough (it cannot change its base URL).
//!
//! Off unless the operator enables it (`PINLINE_TOKEN_ENDPOINT=1`), and only for keys with
//! `token:read`: a Pinterest access token lives about 30 days and pinline cannot recall one it
//! handed out, and calls made with it bypass pinline's pacer. The answer never carries the
//! refresh token or the app's secret, is marked `Cache-Control: no-store`, and each key may ask
//! a few times a minute. Every token handed out leaves an audit row (its version, never the
//! token).

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pinline_store::AuditRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Id, rfc3339};
use crate::state::AppState;

/// The most `min_valid_for` may ask: a fresh token lives 30 days, so more can never be met.
const MAX_MIN_VALID_FOR_SECS: i64 = 29 * 24 * 60 * 60;

/// The body of `POST /v1/accounts/{id}/access-token`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenRequest {
    /// Seconds the token must still be valid for; pinline refreshes first when less is left.
    /// 0 to 2,505,600 (29 days); 3,600 when absent.
    #[serde(default = "default_min_valid_for")]
    #[schema(minimum = 0, maximum = 2_505_600, default = 3600)]
    pub min_valid_for: i64,
}

fn default_min_valid_for() -> i64 {
    3600
}

/// An account's access token. There is never a refresh token here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessTokenView {
    pub account_id: String,
    /// The Pinterest access token: send it as `Authorization: Bearer …` to Pinterest.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    pub expires_in_secs: Option<i64>,
    /// The scopes Pinterest granted the account.
    pub scopes: Vec<String>,
    /// The account's token version: it changes with every refresh.
    pub version: i64,
}

/// `POST /v1/accounts/{id}/access-token`.
#[utoipa::path(
    post,
    path = "/accounts/{account_id}/access-token",
    operation_id = "issue_access_token",
    tag = "accounts",
    summary = "Take an account's access token",
    description = "For a tool that cannot call Pinterest through `/pinterest/v5`: the account's \
current access token, refreshed first when less than `min_valid_for` seconds are left. Off unless \
the server runs with `PINLINE_TOKEN_ENDPOINT=1`. pinline cannot recall a token once handed out \
(it lives until Pinterest's own expiry, about 30 days), and calls made with it bypass pinline's \
pacing: prefer the passthrough. Never returns a refresh token. Answered with \
`Cache-Control: no-store`; each key may ask a few times a minute.",
    params(("account_id" = String, Path, description = "The account's id.")),
    request_body = AccessTokenRequest,
    responses(
        (status = 200, description = "The token.", body = AccessTokenView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The token endpoint is not enabled on this server (`token_endpoint_disabled`), or the key is bound to other accounts (`account_not_bound`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 429, description = "This key asked for tokens too often (`too_many_token_requests`), or Pinterest's rate limit stopped a refresh; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 502, description = "Pinterest answered a refresh in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["token:read"])),
)]
pub async fn issue_access_token(
    State(state): State<AppState>,
    caller: Scoped<need::TokenRead>,
    ApiPath(account_id): ApiPath<Id>,
    ApiJson(request): ApiJson<AccessTokenRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let credential = state.credential();
    if !credential.settings.token_endpoint {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_endpoint_disabled",
            "this server does not hand out access tokens (PINLINE_TOKEN_ENDPOINT is not set); call Pinterest through /pinterest/v5 with an API key instead",
        ));
    }
    if !(0..=MAX_MIN_VALID_FOR_SECS).contains(&request.min_valid_for) {
        return Err(ApiError::invalid(
            "min_valid_for",
            format!(
                "min_valid_for is {}; it must be 0 to {MAX_MIN_VALID_FOR_SECS} seconds",
                request.min_valid_for
            ),
        ));
    }
    let now = state.now_ms();
    if let Err(wait) = credential.token_limiter.admit(&caller.key_id, now) {
        return Err(ApiError {
            retry_after_secs: Some(wait),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_token_requests",
                "this API key asked for access tokens too often; wait for Retry-After seconds (a token stays valid for days: keep it for the run)",
            )
        });
    }
    let bound = state.store().api_key_accounts(&caller.key_id).await?;
    if !bound.is_empty() && !bound.iter().any(|id| **id == *account_id) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_not_bound",
            "this API key is bound to other accounts; create a key for this one (`pinline keys create --account ID`)",
        ));
    }
    // The profile's account, or a 404 that says nothing about other profiles'.
    let row = state
        .store()
        .account(&caller.profile_id, &account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let vault = state.vault();
    let mut grant = vault.access_token(&row.id).await?;
    let mut refreshed = grant.version != row.token_version;
    let wanted_until = now + request.min_valid_for * 1000;
    if grant
        .account
        .access_expires_at_ms
        .is_none_or(|expires| expires < wanted_until)
    {
        grant = vault.refresh_from(&row.id, grant.version).await?;
        refreshed = true;
    }
    credential.metrics.token_issued();
    let audit = AuditRow {
        id: uuid::Uuid::now_v7().to_string(),
        at: now,
        profile_id: caller.profile_id.clone(),
        api_key_id: caller.key_id.clone(),
        account_id: Some(row.id.clone()),
        kind: AuditRow::ACCESS_TOKEN.to_owned(),
        method: "POST".to_owned(),
        route: "/v1/accounts/{account_id}/access-token".to_owned(),
        category: None,
        status: 200,
        upstream_status: None,
        outcome: "issued".to_owned(),
        pinterest_request_id: None,
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        refreshed,
        retried: false,
        token_version: Some(grant.version),
    };
    // A token handed out is a token on the record: no record, no token.
    state.store().insert_audit(&audit).await?;
    tracing::info!(
        event = "account.access_token_issued",
        account_id = %row.id,
        api_key_id = %caller.key_id,
        version = grant.version,
        "an access token was handed out"
    );
    let expires_at = grant.account.access_expires_at_ms;
    let view = AccessTokenView {
        account_id: row.id.clone(),
        access_token: grant.token.expose_secret().to_owned(),
        token_type: "bearer".to_owned(),
        expires_at: expires_at.map(rfc3339),
        expires_in_secs: expires_at.map(|at| (at - state.now_ms()).max(0) / 1000),
        scopes: grant.account.scopes.clone(),
        version: grant.version,
    };
    let mut response = Json(view).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
