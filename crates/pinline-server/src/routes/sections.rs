//! `/v1/accounts/{id}/boards/{board_id}/sections`: a board's sections, listed, created, renamed
//! and deleted at Pinterest through the account's token. Deleting a section keeps its pins on
//! the board, outside any section, as Pinterest does.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinline_pinterest::BoardSection;
use pinline_pinterest::facts::{board_limits::SECTION_NAME_MAX, is_pinterest_id};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id};
use crate::state::AppState;

/// A board section.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BoardSection)]
pub struct SectionView {
    /// The section's id (digits); posts name it as `board_section_id`.
    pub id: String,
    pub name: String,
}

impl SectionView {
    fn new(section: &BoardSection) -> SectionView {
        SectionView {
            id: section.id.clone().unwrap_or_default(),
            name: section.name.clone(),
        }
    }
}

/// A page of sections.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BoardSectionPage)]
pub struct SectionPage {
    pub items: Vec<SectionView>,
    /// Pass as `bookmark` to read the next page; `null` on the last page.
    pub bookmark: Option<String>,
}

/// The query of `GET …/sections`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SectionsQuery {
    /// The `bookmark` of the previous page; absent for the first page.
    bookmark: Option<String>,
    /// Sections per page, 1–250 (Pinterest's default when absent).
    #[param(minimum = 1, maximum = 250)]
    page_size: Option<u32>,
}

/// The body of `POST …/sections` and `PATCH …/sections/{section_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionRequest {
    /// The section's name, 1 to 180 characters, unique on its board.
    #[schema(
        min_length = 1,
        max_length = 180,
        pattern = "\\S",
        example = "Weeknight dinners"
    )]
    name: String,
}

impl SectionRequest {
    /// The name, trimmed and within Pinterest's limit.
    fn name(&self) -> Result<String, ApiError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(ApiError::invalid("name", "a section needs a name"));
        }
        let len = name.chars().count();
        if len > SECTION_NAME_MAX {
            return Err(ApiError::invalid(
                "name",
                format!(
                    "name is {len} characters; Pinterest allows at most {SECTION_NAME_MAX}: shorten it"
                ),
            ));
        }
        Ok(name.to_owned())
    }
}

/// A Pinterest id from the path, or the 404 an unknown one gets.
fn pinterest_id(value: String, what: &str) -> Result<String, ApiError> {
    if is_pinterest_id(&value) && value.len() <= 32 {
        Ok(value)
    } else {
        Err(ApiError::not_found(what))
    }
}

/// `GET /v1/accounts/{id}/boards/{board_id}/sections`.
#[utoipa::path(
    get,
    path = "/accounts/{account_id}/boards/{board_id}/sections",
    operation_id = "list_board_sections",
    tag = "accounts",
    summary = "List a board's sections",
    description = "The board's sections as Pinterest has them, one page at a time: pass the \
answer's `bookmark` back to read the next page.",
    params(
        ("account_id" = String, Path, description = "The account's id."),
        ("board_id" = String, Path, description = "The board's id (digits)."),
        SectionsQuery
    ),
    responses(
        (status = 200, description = "One page of sections.", body = SectionPage),
        (status = 400, description = "An unknown query parameter or a malformed value (`invalid_query`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the board (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "A parameter is invalid; `error.field` names it (`invalid_field`). Or Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn list_sections(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiPath((account_id, board_id)): ApiPath<(Id, String)>,
    ApiQuery(query): ApiQuery<SectionsQuery>,
) -> Result<Json<SectionPage>, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let board_id = pinterest_id(board_id, "board")?;
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
            let board_id = board_id.clone();
            async move {
                client
                    .list_board_sections(&token, &board_id, bookmark.as_deref(), query.page_size)
                    .await
            }
        })
        .await?
        .value;
    Ok(Json(SectionPage {
        items: page.items.iter().map(SectionView::new).collect(),
        bookmark: page.bookmark,
    }))
}

/// `POST /v1/accounts/{id}/boards/{board_id}/sections`.
#[utoipa::path(
    post,
    path = "/accounts/{account_id}/boards/{board_id}/sections",
    operation_id = "create_board_section",
    tag = "accounts",
    summary = "Create a board section",
    params(
        ("account_id" = String, Path, description = "The account's id."),
        ("board_id" = String, Path, description = "The board's id (digits)."),
    ),
    request_body = SectionRequest,
    responses(
        (status = 201, description = "The new section.", body = SectionView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the board (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "The name is invalid (`invalid_field`), or Pinterest refused it, e.g. another section of the board has it (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn create_section(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath((account_id, board_id)): ApiPath<(Id, String)>,
    ApiJson(body): ApiJson<SectionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let board_id = pinterest_id(board_id, "board")?;
    let name = body.name()?;
    let section = state
        .vault()
        .call(&account_id, |client, token| {
            let (board_id, name) = (board_id.clone(), name.clone());
            async move { client.create_board_section(&token, &board_id, &name).await }
        })
        .await?
        .value;
    Ok((StatusCode::CREATED, Json(SectionView::new(&section))))
}

/// `PATCH /v1/accounts/{id}/boards/{board_id}/sections/{section_id}`.
#[utoipa::path(
    patch,
    path = "/accounts/{account_id}/boards/{board_id}/sections/{section_id}",
    operation_id = "rename_board_section",
    tag = "accounts",
    summary = "Rename a board section",
    params(
        ("account_id" = String, Path, description = "The account's id."),
        ("board_id" = String, Path, description = "The board's id (digits)."),
        ("section_id" = String, Path, description = "The section's id (digits)."),
    ),
    request_body = SectionRequest,
    responses(
        (status = 200, description = "The renamed section.", body = SectionView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the board or section (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "The name is invalid (`invalid_field`), or Pinterest refused it, e.g. another section of the board has it (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn rename_section(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath((account_id, board_id, section_id)): ApiPath<(Id, String, String)>,
    ApiJson(body): ApiJson<SectionRequest>,
) -> Result<Json<SectionView>, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let board_id = pinterest_id(board_id, "board")?;
    let section_id = pinterest_id(section_id, "section")?;
    let name = body.name()?;
    let section = state
        .vault()
        .call(&account_id, |client, token| {
            let (board_id, section_id, name) = (board_id.clone(), section_id.clone(), name.clone());
            async move {
                client
                    .update_board_section(&token, &board_id, &section_id, &name)
                    .await
            }
        })
        .await?
        .value;
    Ok(Json(SectionView::new(&section)))
}

/// `DELETE /v1/accounts/{id}/boards/{board_id}/sections/{section_id}`.
#[utoipa::path(
    delete,
    path = "/accounts/{account_id}/boards/{board_id}/sections/{section_id}",
    operation_id = "delete_board_section",
    tag = "accounts",
    summary = "Delete a board section",
    description = "Deletes the section at Pinterest. Its pins stay on the board, outside any \
section.",
    params(
        ("account_id" = String, Path, description = "The account's id."),
        ("board_id" = String, Path, description = "The board's id (digits)."),
        ("section_id" = String, Path, description = "The section's id (digits)."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile, or Pinterest does not know the board or section (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "Pinterest's rate limit was reached; `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn delete_section(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath((account_id, board_id, section_id)): ApiPath<(Id, String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let board_id = pinterest_id(board_id, "board")?;
    let section_id = pinterest_id(section_id, "section")?;
    state
        .vault()
        .call(&account_id, |client, token| {
            let (board_id, section_id) = (board_id.clone(), section_id.clone());
            async move {
                client
                    .delete_board_section(&token, &board_id, &section_id)
                    .await
            }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
