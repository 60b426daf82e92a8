//! `/v1/accounts`: connect, list, inspect, refresh, disconnect, and the account's boards.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinline_pinterest::facts::Scope;
use pinline_pinterest::{BoardCreate, BoardPrivacy};
use pinline_store::{AccountLinkRow, RefreshTokenKind};
use pinline_vault::{Account, AccountStatus, ConnectContext};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, rfc3339};
use crate::state::AppState;
use crate::text::MultiLine;

/// A connected Pinterest account as the API shows it: RFC 3339 times, seconds left, never a
/// token.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    /// pinline's id for the account; posts name it as `account_id`.
    pub id: String,
    /// The Pinterest username.
    pub username: String,
    pub pinterest_user_id: String,
    #[schema(schema_with = crate::schemas::environment)]
    pub environment: String,
    /// The Pinterest app the account was connected through.
    pub app_client_id: String,
    /// The account's health; see [`account_status_schema`].
    #[schema(schema_with = account_status_schema)]
    pub status: AccountStatus,
    /// Why the account is not `active`.
    pub status_reason: Option<String>,
    /// The scopes Pinterest granted.
    pub scopes: Vec<String>,
    #[schema(format = DateTime)]
    pub access_token_expires_at: Option<String>,
    pub access_token_expires_in_secs: Option<i64>,
    #[schema(format = DateTime)]
    pub refresh_token_expires_at: Option<String>,
    pub refresh_token_expires_in_secs: Option<i64>,
    /// Which refresh token the account holds; see [`refresh_token_kind_schema`].
    #[schema(schema_with = refresh_token_kind_schema)]
    pub refresh_token_kind: Option<String>,
    #[schema(format = DateTime)]
    pub last_refresh_at: Option<String>,
    /// The last failure talking to Pinterest for this account.
    pub last_error: Option<AccountErrorView>,
    /// The embedding app's id for the person behind the account, given when it started the
    /// connect (`POST /v1/accounts/connect`); echoed in every account webhook.
    pub external_id: Option<String>,
    /// The small JSON object the embedding app attached to the connect; echoed in every account
    /// webhook.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// The JSON Schema of an account's refresh token kind.
fn refresh_token_kind_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .enum_values(Some([
            Some(RefreshTokenKind::Continuous.as_str()),
            Some(RefreshTokenKind::Legacy.as_str()),
            None,
        ]))
        .description(Some(
            "`continuous` (renewed by every refresh: the account stays connected while it is \
             used) or `legacy` (365 days from the connect, a hard end no refresh moves: \
             reconnect before `refresh_token_expires_at`); `null` when not known (tokens stored \
             before pinline recorded it).",
        ))
        .build()
}

/// The last failure of an account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AccountError)]
pub struct AccountErrorView {
    #[schema(schema_with = crate::schemas::error_class)]
    pub class: String,
    pub message: String,
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

impl AccountView {
    /// The API's view of an account at `now_ms`.
    pub fn new(account: &Account, now_ms: i64) -> AccountView {
        let left = |at: Option<i64>| at.map(|at| (at - now_ms).max(0) / 1000);
        AccountView {
            id: account.id.clone(),
            username: account.username.clone(),
            pinterest_user_id: account.pinterest_user_id.clone(),
            environment: account.environment.clone(),
            app_client_id: account.client_id.clone(),
            status: account.status,
            status_reason: account.status_reason.clone(),
            scopes: account.scopes.clone(),
            access_token_expires_at: account.access_expires_at_ms.map(rfc3339),
            access_token_expires_in_secs: left(account.access_expires_at_ms),
            refresh_token_expires_at: account.refresh_expires_at_ms.map(rfc3339),
            refresh_token_expires_in_secs: left(account.refresh_expires_at_ms),
            refresh_token_kind: account
                .refresh_token_kind
                .as_deref()
                .and_then(RefreshTokenKind::parse)
                .map(|kind| kind.as_str().to_owned()),
            last_refresh_at: account.last_refresh_at_ms.map(rfc3339),
            last_error: account.last_error.as_ref().map(|error| AccountErrorView {
                class: error.class.clone(),
                message: error.message.clone(),
                at: error.at_ms.map(rfc3339),
            }),
            created_at: rfc3339(account.created_at_ms),
            updated_at: rfc3339(account.updated_at_ms),
            external_id: None,
            metadata: None,
        }
    }

    /// With what the embedding app said about the account, if anything.
    fn linked(mut self, links: &[AccountLinkRow]) -> AccountView {
        if let Some(link) = links.iter().find(|link| link.account_id == self.id) {
            self.external_id = link.external_id.clone();
            self.metadata = link
                .metadata
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok());
        }
        self
    }
}

/// The JSON Schema of an account's status, from [`AccountStatus`] itself.
fn account_status_schema() -> Object {
    let all = [
        AccountStatus::Active,
        AccountStatus::Refreshing,
        AccountStatus::NeedsReauth,
        AccountStatus::Disconnected,
    ];
    // A new status fails to compile here until it is listed above.
    for status in all {
        match status {
            AccountStatus::Active
            | AccountStatus::Refreshing
            | AccountStatus::NeedsReauth
            | AccountStatus::Disconnected => {}
        }
    }
    ObjectBuilder::new()
        .description(Some(
            "`active`, `refreshing`, `needs_reauth` (a person must reconnect the account; its \
             posts are accepted as `held` meanwhile) or `disconnected`.",
        ))
        .schema_type(Type::String)
        .enum_values(Some(all.map(AccountStatus::as_str)))
        .build()
}

/// The JSON Schema of a board's privacy, from [`BoardPrivacy`] itself.
fn board_privacy_schema() -> Object {
    let all = [
        BoardPrivacy::Public,
        BoardPrivacy::Protected,
        BoardPrivacy::Secret,
    ];
    // A new privacy fails to compile here until it is listed above.
    for privacy in all {
        match privacy {
            BoardPrivacy::Public | BoardPrivacy::Protected | BoardPrivacy::Secret => {}
        }
    }
    ObjectBuilder::new()
        .description(Some(
            "Who sees the board. Posting to a `SECRET` board needs the `boards:read_secret` and \
             `pins:write_secret` scopes; `PUBLIC` when absent.",
        ))
        .schema_type(Type::String)
        .enum_values(Some(
            all.map(|privacy| serde_json::to_value(privacy).unwrap_or_default()),
        ))
        .build()
}

/// The accounts of a profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AccountList)]
pub struct AccountList {
    pub items: Vec<AccountView>,
}

/// Where to send a person to connect (or reconnect) a Pinterest account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectStarted {
    /// Pinterest's consent page; after it, Pinterest sends the person to pinline's
    /// `/oauth/callback`, which completes the connection.
    pub authorize_url: String,
    /// The link works until this time.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// The (optional) body of `POST /v1/accounts/connect`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// Scopes to ask for, by Pinterest's names (`pins:write`, …); `user_accounts:read` must be
    /// among them. The default covers reading the account and publishing to public and secret
    /// boards.
    #[serde(default)]
    #[schema(example = json!(["user_accounts:read", "boards:read", "pins:read", "pins:write"]))]
    scopes: Option<Vec<String>>,
    /// Your own id for the person connecting (at most 255 characters): stored on the account,
    /// echoed in its webhooks, and a filter of `GET /v1/accounts`.
    #[serde(default)]
    #[schema(example = "user-4711")]
    external_id: Option<String>,
    /// A small JSON object of yours (at most 2,048 bytes as JSON), kept and echoed like
    /// `external_id`.
    #[serde(default)]
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro"}))]
    metadata: Option<serde_json::Value>,
    /// Where the callback sends the person back, with `pinline_outcome` (`connected`,
    /// `reconnected`, `denied` or `failed`), `pinline_account_id` and, on failure,
    /// `pinline_error`. It must start with a URL of `PINLINE_CONNECT_RETURN_URLS`.
    #[serde(default)]
    #[schema(example = "https://app.example.invalid/settings/pinterest")]
    return_to: Option<String>,
}

/// The longest `external_id`.
const EXTERNAL_ID_MAX: usize = 255;
/// The largest `metadata`, as JSON text.
const METADATA_MAX_BYTES: usize = 2048;

/// What an embedding app said, checked: `external_id` and `metadata` sizes, and `return_to`
/// against the allow-list.
fn connect_context(
    state: &AppState,
    external_id: Option<String>,
    metadata: Option<serde_json::Value>,
    return_to: Option<String>,
) -> Result<ConnectContext, ApiError> {
    if let Some(id) = &external_id
        && (id.is_empty() || id.chars().count() > EXTERNAL_ID_MAX)
    {
        return Err(ApiError::invalid(
            "external_id",
            format!("external_id is 1 to {EXTERNAL_ID_MAX} characters"),
        ));
    }
    let metadata = match metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(value @ serde_json::Value::Object(_)) => {
            let text = value.to_string();
            if text.len() > METADATA_MAX_BYTES {
                return Err(ApiError::invalid(
                    "metadata",
                    format!("metadata is at most {METADATA_MAX_BYTES} bytes as JSON"),
                ));
            }
            Some(text)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "metadata",
                "metadata is a JSON object, such as {\"plan\": \"pro\"}",
            ));
        }
    };
    let return_to = match return_to {
        None => None,
        Some(url) => Some(state.allowed_return_to(&url).ok_or_else(|| {
            ApiError::invalid(
                "return_to",
                "return_to must be an http(s) URL under one of PINLINE_CONNECT_RETURN_URLS (none may be set: then no return_to is accepted)",
            )
        })?),
    };
    Ok(ConnectContext {
        external_id,
        metadata,
        return_to,
    })
}

/// `POST /v1/accounts/connect` → the authorize URL to send a person to.
#[utoipa::path(
    post,
    path = "/accounts/connect",
    operation_id = "connect_account",
    tag = "accounts",
    summary = "Start connecting a Pinterest account",
    description = "Answers with an `authorize_url` to send a person to. They approve the scopes \
at Pinterest, Pinterest sends them back to pinline's `/oauth/callback`, and the account appears in \
`GET /v1/accounts`. Connecting an account that is already known reconnects it (and releases its \
`held` posts). The body is optional.",
    request_body(content = Option<ConnectRequest>, description = "Scopes to ask for, and what an app that embeds connecting says about the person; no body asks for the default scopes."),
    responses(
        (status = 201, description = "A connect was started.", body = ConnectStarted),
        (status = 400, description = "The body is not a valid connect request (`invalid_body`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 422, description = "An unknown scope, `user_accounts:read` missing, an `external_id` or `metadata` too long, or a `return_to` outside the allow-list (`invalid_field`).", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn connect_account(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    // The body is optional: no body (or `null`) means the default scopes.
    let request: Option<ConnectRequest> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        crate::body::parse(&body)?
    };
    let (scopes, external_id, metadata, return_to) = match request {
        Some(request) => (
            request.scopes,
            request.external_id,
            request.metadata,
            request.return_to,
        ),
        None => (None, None, None, None),
    };
    let context = connect_context(&state, external_id, metadata, return_to)?;
    let scopes = match scopes {
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
        .begin_connect_with(&caller.profile_id, scopes.as_deref(), &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectStarted {
            authorize_url: start.authorize_url.as_str().to_owned(),
            expires_at: rfc3339(start.expires_at_ms),
        }),
    ))
}

/// `GET /v1/accounts`.
#[utoipa::path(
    get,
    path = "/accounts",
    operation_id = "list_accounts",
    tag = "accounts",
    summary = "List connected accounts",
    description = "Every Pinterest account of this key's profile with its health: status, token \
expiry, granted scopes and the last error; `external_id` filters by the id an embedding app \
gave when it started the connect.",
    params(AccountQuery),
    responses(
        (status = 200, description = "The accounts.", body = AccountList),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<Json<AccountList>, ApiError> {
    let now = state.now_ms();
    let accounts = state.vault().accounts(&caller.profile_id).await?;
    let links = state.store().account_links(&caller.profile_id).await?;
    Ok(Json(AccountList {
        items: accounts
            .iter()
            .map(|a| AccountView::new(a, now).linked(&links))
            .filter(|view| {
                query
                    .external_id
                    .as_ref()
                    .is_none_or(|wanted| view.external_id.as_ref() == Some(wanted))
            })
            .collect(),
    }))
}

/// The query of `GET /v1/accounts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Only the accounts connected with this `external_id`.
    external_id: Option<String>,
}

/// `GET /v1/accounts/{id}`.
#[utoipa::path(
    get,
    path = "/accounts/{account_id}",
    operation_id = "get_account",
    tag = "accounts",
    summary = "Read an account",
    params(("account_id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The account.", body = AccountView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiPath(account_id): ApiPath<Id>,
) -> Result<Json<AccountView>, ApiError> {
    let account = state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let links = state.store().account_links(&caller.profile_id).await?;
    Ok(Json(
        AccountView::new(&account, state.now_ms()).linked(&links),
    ))
}

/// `POST /v1/accounts/{id}/refresh`: refresh now (single-flight like every refresh).
#[utoipa::path(
    post,
    path = "/accounts/{account_id}/refresh",
    operation_id = "refresh_account",
    tag = "accounts",
    summary = "Refresh an account's tokens now",
    description = "pinline refreshes tokens by itself before they expire; this forces a refresh \
(to check an account, say). Concurrent refreshes of one account make one call to Pinterest.",
    params(("account_id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The account after the refresh.", body = AccountView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the thing asked for.", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn refresh_account(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath(account_id): ApiPath<Id>,
) -> Result<Json<AccountView>, ApiError> {
    // Read only to learn the token version this caller saw (and that the account is in its
    // profile): the refresh then happens once, however many callers ask at the same moment.
    let row = state
        .store()
        .account(&caller.profile_id, &account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let grant = state
        .vault()
        .refresh_from(&account_id, row.token_version)
        .await?;
    Ok(Json(AccountView::new(&grant.account, state.now_ms())))
}

/// `DELETE /v1/accounts/{id}`: erase the tokens, after asking Pinterest to revoke them (which it
/// does only for system users' tokens).
#[utoipa::path(
    delete,
    path = "/accounts/{account_id}",
    operation_id = "disconnect_account",
    tag = "accounts",
    summary = "Disconnect an account",
    description = "Erases the account's tokens here, after asking Pinterest to revoke them; the \
account stays listed as `disconnected` and can be connected again. Pinterest revokes only tokens \
issued for system users: for an ordinary user it refuses, and access ends at Pinterest when the \
user removes the app in their Pinterest account settings or when the tokens expire. The \
`account.disconnected` event says which happened.",
    params(("account_id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The disconnected account.", body = AccountView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the thing asked for.", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn delete_account(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath(account_id): ApiPath<Id>,
) -> Result<Json<AccountView>, ApiError> {
    let account = state
        .vault()
        .disconnect(&caller.profile_id, &account_id)
        .await?;
    Ok(Json(AccountView::new(&account, state.now_ms())))
}

/// The query of `GET /v1/accounts/{id}/boards`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardsQuery {
    /// The `bookmark` of the previous page; absent for the first page.
    bookmark: Option<String>,
    /// Boards per page, 1–250 (Pinterest's default when absent).
    #[param(minimum = 1, maximum = 250)]
    page_size: Option<u32>,
}

/// A board of an account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Board)]
pub struct BoardView {
    /// The board's id (digits); posts name it as `board_id`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Who sees the board; see [`board_privacy_schema`].
    #[schema(schema_with = board_privacy_schema)]
    pub privacy: BoardPrivacy,
}

impl BoardView {
    fn new(board: &pinline_pinterest::Board) -> BoardView {
        BoardView {
            id: board.id.clone(),
            name: board.name.clone(),
            description: board.description.clone(),
            privacy: board.privacy,
        }
    }
}

/// A page of boards.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BoardPage)]
pub struct BoardPage {
    pub items: Vec<BoardView>,
    /// Pass as `bookmark` to read the next page; `null` on the last page.
    pub bookmark: Option<String>,
}

/// `GET /v1/accounts/{id}/boards`: the account's boards, one Pinterest page at a time.
#[utoipa::path(
    get,
    path = "/accounts/{account_id}/boards",
    operation_id = "list_boards",
    tag = "accounts",
    summary = "List an account's boards",
    description = "The account's boards as Pinterest has them, one page at a time: pass the \
answer's `bookmark` back to read the next page.",
    params(("account_id" = String, Path, description = "The account's id."), BoardsQuery),
    responses(
        (status = 200, description = "One page of boards.", body = BoardPage),
        (status = 400, description = "An unknown query parameter or a malformed value (`invalid_query`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the thing asked for.", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "A field or parameter is invalid; `error.field` names it (`invalid_field`, `invalid_body`). Or Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn list_boards(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiPath(account_id): ApiPath<Id>,
    ApiQuery(query): ApiQuery<BoardsQuery>,
) -> Result<Json<BoardPage>, ApiError> {
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
    Ok(Json(BoardPage {
        items: page.items.iter().map(BoardView::new).collect(),
        bookmark: page.bookmark,
    }))
}

/// The body of `POST /v1/accounts/{id}/boards`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBoardRequest {
    /// The board's name.
    #[schema(min_length = 1, pattern = "\\S", example = "Recipes")]
    name: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    description: Option<MultiLine>,
    /// Who sees the board; see [`board_privacy_schema`].
    #[serde(default)]
    #[schema(schema_with = board_privacy_schema)]
    privacy: Option<BoardPrivacy>,
}

/// `POST /v1/accounts/{id}/boards`.
#[utoipa::path(
    post,
    path = "/accounts/{account_id}/boards",
    operation_id = "create_board",
    tag = "accounts",
    summary = "Create a board",
    params(("account_id" = String, Path, description = "The account's id.")),
    request_body = CreateBoardRequest,
    responses(
        (status = 201, description = "The new board.", body = BoardView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the thing asked for.", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "A field or parameter is invalid; `error.field` names it (`invalid_field`, `invalid_body`). Or Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn create_board(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath(account_id): ApiPath<Id>,
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
    create.description = body.description.map(MultiLine::into_string);
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
    Ok((StatusCode::CREATED, Json(BoardView::new(&board))))
}
