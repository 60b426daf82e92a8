//! `/v1/accounts`: connect, list, inspect, refresh, disconnect, and the account's boards.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinline_pinterest::facts::Scope;
use pinline_pinterest::{BoardCreate, BoardPrivacy};
use pinline_vault::Account;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, rfc3339};
use crate::state::AppState;

/// An account as the API shows it: RFC 3339 times, seconds left, never a token.
pub fn account_json(account: &Account, now_ms: i64) -> Value {
    let left = |at: Option<i64>| at.map(|at| (at - now_ms).max(0) / 1000);
    json!({
        "id": account.id,
        "username": account.username,
        "pinterest_user_id": account.pinterest_user_id,
        "environment": account.environment,
        "app_client_id": account.client_id,
        "status": account.status,
        "status_reason": account.status_reason,
        "scopes": account.scopes,
        "access_token_expires_at": account.access_expires_at_ms.map(rfc3339),
        "access_token_expires_in_secs": left(account.access_expires_at_ms),
        "refresh_token_expires_at": account.refresh_expires_at_ms.map(rfc3339),
        "refresh_token_expires_in_secs": left(account.refresh_expires_at_ms),
        "last_refresh_at": account.last_refresh_at_ms.map(rfc3339),
        "last_error": account.last_error.as_ref().map(|error| json!({
            "class": error.class,
            "message": error.message,
            "at": error.at_ms.map(rfc3339),
        })),
        "created_at": rfc3339(account.created_at_ms),
        "updated_at": rfc3339(account.updated_at_ms),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// Scopes to ask for; the default covers reading the account and publishing to public and
    /// secret boards.
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// `POST /v1/accounts/connect` → the authorize URL to send a person to.
pub async fn connect_account(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    // The body is optional: no body means the default scopes.
    let request: Option<ConnectRequest> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&body).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("the body is not a valid connect request: {error}"),
            )
        })?)
    };
    let scopes = match request.and_then(|request| request.scopes) {
        Some(names) => {
            let mut scopes = Vec::new();
            for name in names {
                scopes.push(name.parse::<Scope>().map_err(|_| {
                    ApiError::invalid(
                        "scopes",
                        format!("unknown scope `{name}`; use Pinterest's names such as pins:write"),
                    )
                })?);
            }
            if !scopes.contains(&Scope::UserAccountsRead) {
                return Err(ApiError::invalid(
                    "scopes",
                    "user_accounts:read is required: pinline reads who connected",
                ));
            }
            Some(scopes)
        }
        None => None,
    };
    let start = state
        .vault()
        .begin_connect(&caller.profile_id, scopes.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "authorize_url": start.authorize_url.as_str(),
            "expires_at": rfc3339(start.expires_at_ms),
        })),
    ))
}

/// `GET /v1/accounts`.
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let now = state.now_ms();
    let accounts = state.vault().accounts(&caller.profile_id).await?;
    let items: Vec<Value> = accounts.iter().map(|a| account_json(a, now)).collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /v1/accounts/{id}`.
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    Ok(Json(account_json(&account, state.now_ms())))
}

/// `POST /v1/accounts/{id}/refresh`: refresh now (single-flight like every refresh).
pub async fn refresh_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let row = state
        .store()
        .account(&caller.profile_id, &account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let _ = account;
    let grant = state
        .vault()
        .refresh_from(&account_id, row.token_version)
        .await?;
    Ok(Json(account_json(&grant.account, state.now_ms())))
}

/// `DELETE /v1/accounts/{id}`: revoke at Pinterest and erase the tokens.
pub async fn delete_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = state
        .vault()
        .disconnect(&caller.profile_id, &account_id)
        .await?;
    Ok(Json(account_json(&account, state.now_ms())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardsQuery {
    bookmark: Option<String>,
    page_size: Option<u32>,
}

/// `GET /v1/accounts/{id}/boards`: the account's boards, one Pinterest page at a time.
pub async fn list_boards(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    ApiQuery(query): ApiQuery<BoardsQuery>,
) -> Result<Json<Value>, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    if let Some(size) = query.page_size
        && !(1..=250).contains(&size)
    {
        return Err(ApiError::invalid(
            "page_size",
            "page_size must be between 1 and 250",
        ));
    }
    let bookmark = query.bookmark;
    let page = state
        .vault()
        .call(&account_id, |client, token| {
            let bookmark = bookmark.clone();
            async move {
                client
                    .list_boards(&token, bookmark.as_deref(), query.page_size, None)
                    .await
            }
        })
        .await?
        .value;
    Ok(Json(json!({
        "items": page.items.iter().map(board_json).collect::<Vec<_>>(),
        "bookmark": page.bookmark,
    })))
}

fn board_json(board: &pinline_pinterest::Board) -> Value {
    json!({
        "id": board.id,
        "name": board.name,
        "description": board.description,
        "privacy": board.privacy,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBoardRequest {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    privacy: Option<BoardPrivacy>,
}

/// `POST /v1/accounts/{id}/boards`.
pub async fn create_board(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<CreateBoardRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let name = body.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "a board needs a name"));
    }
    let mut create = BoardCreate::new(name);
    create.description = body.description;
    create.privacy = body.privacy;
    let board = state
        .vault()
        .call(&account_id, |client, token| {
            let create = create.clone();
            async move { client.create_board(&token, &create).await }
        })
        .await?
        .value;
    state.boards().forget(&account_id);
    Ok((StatusCode::CREATED, Json(board_json(&board))))
}
