//! The control API under `/_sandbox/…`: what tests, benchmarks and the demo use to set the scene
//! (users, tokens without the consent page, faults, the clock, the app's settings) and to read
//! what happened (stats). It has no authentication: the sandbox listens on loopback and is a test tool.
//! It also routes the media upload target (`uploads`) that stands in for Pinterest's S3 bucket.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pinline_pinterest::facts::{Scope, parse_scope_list};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::RefreshTokenPolicy;
use crate::errors::{ApiError, ApiResult};
use crate::faults::FaultSet;
use crate::state::{CreateUserError, Id, State as Model, User};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{user_id}/revoke", post(revoke_user))
        .route("/users/{user_id}/expire", post(expire_user))
        .route("/users/{user_id}/tokens", post(mint_tokens))
        .route("/stats", get(get_stats))
        .route(
            "/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/clock", get(get_clock).post(advance_clock))
        .route("/reset", post(reset))
        .route("/app", get(get_app).post(set_app))
        .route("/uploads/{media_id}", post(crate::uploads::upload_media))
}

/// Scopes a minted token gets when the request names none: everything pinline uses.
pub const DEFAULT_MINT_SCOPES: &[Scope] = &[
    Scope::BoardsRead,
    Scope::BoardsReadSecret,
    Scope::BoardsWrite,
    Scope::BoardsWriteSecret,
    Scope::PinsRead,
    Scope::PinsReadSecret,
    Scope::PinsWrite,
    Scope::PinsWriteSecret,
    Scope::UserAccountsRead,
];

/// Parses an optional JSON body (empty means all defaults).
fn json_body<T: DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::invalid(format!("Invalid request body: {error}.")))
}

fn user_id(state: &Model, raw: &str) -> ApiResult<Id> {
    raw.parse::<Id>()
        .ok()
        .filter(|id| state.users.contains_key(id))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, 404, "Sandbox user not found."))
}

/// `POST /users`: `{"username": "…", "system": true}`; `system` defaults to false.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    username: Option<String>,
    #[serde(default)]
    system: bool,
}

/// How the control API shows a user.
fn user_json(user: &User) -> Value {
    json!({ "id": user.id.to_string(), "username": user.username, "system": user.system })
}

async fn create_user(State(app): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let request: CreateUser = json_body(&body)?;
    let username = request
        .username
        .ok_or_else(|| ApiError::invalid("Invalid parameters: 'username' is required."))?;
    let now = app.now();
    let user = app
        .write()
        .create_user(&username, request.system, now)
        .map_err(|error| match error {
            CreateUserError::Taken => ApiError::conflict("That username is taken."),
            CreateUserError::Invalid => ApiError::invalid(
                "Invalid parameters: 'username' must be 1–30 letters, digits, '_', '-' or '.'.",
            ),
        })?;
    Ok((StatusCode::CREATED, Json(user_json(&user))).into_response())
}

async fn list_users(State(app): State<AppState>) -> Json<Value> {
    let state = app.read();
    let items: Vec<Value> = state.users.values().map(user_json).collect();
    Json(json!({ "items": items }))
}

/// Revokes every token of the user, as the user removing the app from their Pinterest account
/// settings does. Unlike `POST /v5/oauth/token/revoke` this works for every user: it stands for
/// the user's action, not the app's.
async fn revoke_user(
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut state = app.write();
    let user = user_id(&state, &raw)?;
    state.revoke_user(user);
    Ok(Json(
        json!({ "user_id": user.to_string(), "revoked": true }),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expire {
    #[serde(default)]
    refresh: bool,
}

async fn expire_user(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let request: Expire = json_body(&body)?;
    let now = app.now();
    let mut state = app.write();
    let user = user_id(&state, &raw)?;
    state.expire_user(user, request.refresh, now);
    Ok(Json(json!({
        "user_id": user.to_string(),
        "access_tokens_expired": true,
        "refresh_tokens_expired": request.refresh,
    })))
}

/// `scopes` as a JSON array of names or one comma-separated string.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mint {
    scopes: Option<Value>,
}

async fn mint_tokens(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: Mint = json_body(&body)?;
    let scopes = match request.scopes {
        None => DEFAULT_MINT_SCOPES.to_vec(),
        Some(Value::String(list)) => parse_scope_list(&list)
            .map_err(|error| ApiError::invalid(format!("Invalid parameters: {error}.")))?,
        Some(Value::Array(names)) => {
            let list = names
                .iter()
                .map(|name| name.as_str().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(",");
            parse_scope_list(&list)
                .map_err(|error| ApiError::invalid(format!("Invalid parameters: {error}.")))?
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'scopes' must be an array of scope names.",
            ));
        }
    };
    let user = user_id(&app.read(), &raw)?;
    Ok(crate::oauth::mint_tokens(&app, user, scopes))
}

async fn get_stats(State(app): State<AppState>) -> Json<crate::state::Stats> {
    Json(app.read().stats.clone())
}

async fn get_faults(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "rules": app.faults.rules() }))
}

async fn set_faults(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let set: FaultSet = serde_json::from_slice(&body)
        .map_err(|error| ApiError::invalid(format!("Invalid fault rules: {error}.")))?;
    app.faults
        .set(set)
        .map_err(|error| ApiError::invalid(error.to_string()))?;
    Ok(Json(json!({ "rules": app.faults.rules() })))
}

async fn clear_faults(State(app): State<AppState>) -> StatusCode {
    app.faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    advance_secs: i64,
}

async fn get_clock(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "now": app.now(), "offset_secs": app.clock.offset().as_secs() }))
}

async fn advance_clock(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: Advance = json_body(&body)?;
    if request.advance_secs < 0 {
        return Err(ApiError::invalid(
            "Invalid parameters: 'advance_secs' must not be negative.",
        ));
    }
    app.clock.advance_secs(request.advance_secs);
    Ok(Json(json!({ "now": app.now() })))
}

/// `POST /app`: the app's settings at Pinterest, `{"refresh_tokens": "continuous" |
/// "legacy_app" | "legacy_only"}` (see [`RefreshTokenPolicy`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppSettings {
    refresh_tokens: Option<RefreshTokenPolicy>,
}

async fn get_app(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "refresh_tokens": *app.refresh_tokens.lock() }))
}

async fn set_app(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let settings: AppSettings = json_body(&body)?;
    if let Some(policy) = settings.refresh_tokens {
        *app.refresh_tokens.lock() = policy;
    }
    Ok(get_app(State(app)).await)
}

async fn reset(State(app): State<AppState>) -> StatusCode {
    *app.write() = Model::default();
    app.faults.clear();
    app.limiter.clear();
    StatusCode::NO_CONTENT
}
