//! `GET /v1/audit`: the credential path's trail, one row per call a tool made through the
//! Pinterest passthrough and per access token handed out, newest first. It answers "which key
//! spent this account's budget" and "who took a token"; it holds no token and no body.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pinline_store::{AuditFilter, AuditRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Id, rfc3339};
use crate::state::AppState;

/// One audited call.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditView {
    pub id: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The API key that made the call.
    pub api_key_id: String,
    pub account_id: Option<String>,
    /// `passthrough` (a call through `/pinterest/v5`) or `access_token` (a token handed out).
    pub kind: String,
    pub method: String,
    /// The path as Pinterest's template (`/pins/{pin_id}`); never ids or a query.
    pub route: String,
    /// The Pinterest rate-limit category the call counted against.
    pub category: Option<String>,
    /// The status pinline answered.
    pub status: i64,
    /// Pinterest's status, when Pinterest was called.
    pub upstream_status: Option<i64>,
    /// `forwarded` or `issued`, or why pinline answered itself (`budget_exhausted`,
    /// `insufficient_scope`, `path_not_allowed`, `oauth_refused`, `account_unusable`, …).
    pub outcome: String,
    /// Pinterest's `x-request-id`, for Pinterest's support.
    pub pinterest_request_id: Option<String>,
    pub latency_ms: i64,
    /// pinline refreshed the account's token for this call.
    pub refreshed: bool,
    /// pinline sent the call a second time, after Pinterest refused an expired token.
    pub retried: bool,
    /// The account's token version the call used or the token handed out had.
    pub token_version: Option<i64>,
}

impl AuditView {
    fn new(row: AuditRow) -> AuditView {
        AuditView {
            at: rfc3339(row.at),
            id: row.id,
            api_key_id: row.api_key_id,
            account_id: row.account_id,
            kind: row.kind,
            method: row.method,
            route: row.route,
            category: row.category,
            status: row.status,
            upstream_status: row.upstream_status,
            outcome: row.outcome,
            pinterest_request_id: row.pinterest_request_id,
            latency_ms: row.latency_ms,
            refreshed: row.refreshed,
            retried: row.retried,
            token_version: row.token_version,
        }
    }
}

/// A page of the trail.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AuditPage)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditView>,
    /// Pass as `cursor` to read the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query of `GET /v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only calls for this account.
    account_id: Option<String>,
    /// Only calls made with this API key.
    api_key_id: Option<String>,
    /// Only `passthrough` calls or `access_token` issues.
    #[param(pattern = "^(passthrough|access_token)$")]
    kind: Option<String>,
    /// Only calls of this rate-limit category (`org_read`, `org_write`, `org_analytics`).
    #[param(pattern = "^[a-z_]{1,40}$")]
    category: Option<String>,
    /// Only calls at or after this time (RFC 3339 with an offset).
    #[param(format = DateTime)]
    since: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first page.
    #[param(pattern = "^[0-9]{1,18}\\.[0-9a-f-]{36}$")]
    cursor: Option<String>,
    /// Rows per page, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// `GET /v1/audit`.
#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "list_audit",
    tag = "accounts",
    summary = "Read the credential path's audit trail",
    description = "One entry per call a tool made through the Pinterest passthrough \
(`/pinterest/v5`) with a key of this profile, and per access token handed out, newest first. \
No entry holds a token or a body.",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries.", body = AuditPage),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1 to 500"));
    }
    let id = |field: &str, value: Option<String>| -> Result<Option<String>, ApiError> {
        value
            .map(|text| {
                Id::parse(&text)
                    .map(String::from)
                    .ok_or_else(|| ApiError::invalid(field, format!("{field} is not an id")))
            })
            .transpose()
    };
    let kind = match query.kind.as_deref() {
        None => None,
        Some(kind @ (AuditRow::PASSTHROUGH | AuditRow::ACCESS_TOKEN)) => Some(kind.to_owned()),
        Some(_) => {
            return Err(ApiError::invalid(
                "kind",
                "kind is `passthrough` or `access_token`",
            ));
        }
    };
    let category = match query.category {
        None => None,
        Some(name) => Some(
            name.parse::<pinline_pinterest::facts::RateLimitCategory>()
                .map_err(|_| {
                    ApiError::invalid(
                        "category",
                        "category is a Pinterest rate-limit category such as `org_read`",
                    )
                })?
                .as_str()
                .to_owned(),
        ),
    };
    let since = query
        .since
        .map(|text| {
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as i64)
                .map_err(|_| {
                    ApiError::invalid("since", "since must be an RFC 3339 time with an offset")
                })
        })
        .transpose()?;
    let before = query
        .cursor
        .map(|cursor| {
            cursor
                .split_once('.')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, Id::parse(id)?)))
                .map(|(at, id)| (at, String::from(id)))
                .ok_or_else(|| ApiError {
                    field: Some("cursor".to_owned()),
                    ..ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_field",
                        "cursor is not a cursor this endpoint gave",
                    )
                })
        })
        .transpose()?;
    let filter = AuditFilter {
        profile_id: caller.profile_id.clone(),
        account_id: id("account_id", query.account_id)?,
        api_key_id: query.api_key_id,
        kind,
        category,
        since,
        before,
        limit: limit + 1,
    };
    let mut rows = state.store().audit(&filter).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|row| format!("{}.{}", row.at, row.id)))
        .flatten();
    Ok(Json(AuditPage {
        items: rows.into_iter().map(AuditView::new).collect(),
        next_cursor,
    }))
}
