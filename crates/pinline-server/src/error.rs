//! The API's one error type and its one JSON shape:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`.
//!
//! Policy: bad input is a 4xx naming the field and the fix; a failure at Pinterest keeps its
//! class in the code (`pinterest_rate_limited`, …); a database that cannot be reached is a 503;
//! only a broken installation (a master key that cannot open stored secrets) is a 500. Messages
//! never carry tokens, secrets or keys.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pinline_core::CoreError;
use pinline_pinterest::ErrorClass;
use pinline_vault::VaultError;
use pinline_webhooks::WebhookError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answered by the API.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// A 400/422 about one input field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    }

    /// A 404 that says the same whether the thing does not exist or belongs to someone else.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what} in this profile"),
        )
    }

    /// 401 for a missing or unknown API key.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 429 for an address locked out after repeated wrong credentials.
    pub fn locked_out(retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failures",
                "too many wrong API keys from this address; wait for Retry-After seconds",
            )
        }
    }

    /// 503 when the database cannot be reached.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(
    as = Error,
    example = json!({"error": {"code": "invalid_field", "field": "title",
        "message": "title is 120 characters; Pinterest allows at most 100: shorten it"}})
)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for programs (`code`, `field`) and for people (`message`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code such as `invalid_field`, `not_found`, `unauthorized`,
    /// `idempotency_conflict`, `account_needs_reauth` or `pinterest_rate_limited`.
    pub code: String,
    /// What happened and how to fix it, in words. Never contains a token or key.
    pub message: String,
    /// The input field at fault (a body field, query parameter or header), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// The error's `error` object (also used for each refused item of a batch).
    pub fn detail(&self) -> ErrorDetail {
        ErrorDetail {
            code: self.code.to_owned(),
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.detail(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<pinline_store::StoreError> for ApiError {
    /// A database that does not answer (or asks to be retried) is a 503 with `Retry-After`; a
    /// write that collides with an existing row is a 409; anything else is pinline's own fault,
    /// a 500 that says so rather than telling the caller to wait for something that will not
    /// change.
    fn from(error: pinline_store::StoreError) -> ApiError {
        if error.is_transient() {
            tracing::warn!(error = %error, "database unavailable");
            ApiError {
                retry_after_secs: Some(1),
                ..ApiError::unavailable("the database is not answering; try again shortly")
            }
        } else if error.is_conflict() {
            tracing::warn!(error = %error, "conflicting write");
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the request conflicts with a change made at the same time; read the resource again and retry",
            )
        } else {
            tracing::error!(error = %error, "database error");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "pinline could not complete the request because of an internal error; the server log has the details",
            )
        }
    }
}

fn pinterest_error(class: ErrorClass, message: String, retry_after: Option<u64>) -> ApiError {
    let (status, code) = match class {
        ErrorClass::Auth => (StatusCode::CONFLICT, "pinterest_auth"),
        ErrorClass::Scope => (StatusCode::FORBIDDEN, "pinterest_scope"),
        ErrorClass::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "pinterest_rate_limited"),
        ErrorClass::Validation => (StatusCode::UNPROCESSABLE_ENTITY, "pinterest_validation"),
        ErrorClass::NotFound => (StatusCode::NOT_FOUND, "pinterest_not_found"),
        ErrorClass::Transient => (StatusCode::SERVICE_UNAVAILABLE, "pinterest_unavailable"),
        ErrorClass::CredentialMismatch => (StatusCode::CONFLICT, "credential_mismatch"),
        ErrorClass::Unknown => (StatusCode::BAD_GATEWAY, "pinterest_error"),
    };
    ApiError {
        retry_after_secs: retry_after,
        ..ApiError::new(status, code, message)
    }
}

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> ApiError {
        match error {
            VaultError::AccountNotFound => ApiError::not_found("account"),
            VaultError::NeedsReauth { reason } => ApiError::new(
                StatusCode::CONFLICT,
                "account_needs_reauth",
                format!("{reason} (POST /v1/accounts/connect starts a reconnect)"),
            ),
            VaultError::Disconnected => ApiError::new(
                StatusCode::CONFLICT,
                "account_disconnected",
                "the account was disconnected; connect it again with POST /v1/accounts/connect",
            ),
            error @ VaultError::CredentialMismatch { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "credential_mismatch",
                error.to_string(),
            ),
            error @ VaultError::ConnectRejected(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "connect_rejected",
                error.to_string(),
            ),
            error @ VaultError::ScopesNotGranted { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                "scopes_not_granted",
                error.to_string(),
            ),
            VaultError::RefreshFailed { class, message } => {
                let class = match ErrorClass::parse(&class) {
                    Some(
                        class @ (ErrorClass::Auth
                        | ErrorClass::RateLimited
                        | ErrorClass::CredentialMismatch),
                    ) => class,
                    _ => ErrorClass::Transient,
                };
                pinterest_error(
                    class,
                    format!("refreshing the account failed: {message}"),
                    None,
                )
            }
            VaultError::Pinterest(error) => {
                let retry_after = error.retry_after().map(|d| d.as_secs().max(1));
                pinterest_error(error.class(), error.to_string(), retry_after)
            }
            VaultError::Store(error) => error.into(),
            VaultError::Cipher(error) => error.into(),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> ApiError {
        tracing::error!(error = %error, "vault failure");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "vault_error",
            format!("{error}; check PINLINE_MASTER_KEY and PINLINE_OLD_MASTER_KEYS"),
        )
    }
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> ApiError {
        match error {
            WebhookError::Store(error) => error.into(),
            error @ WebhookError::InvalidUrl { .. } => ApiError::invalid("url", error.to_string()),
            error @ WebhookError::RefusedTarget { .. } => ApiError {
                field: Some("url".to_owned()),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "url_refused",
                    error.to_string(),
                )
            },
            error @ (WebhookError::UnknownEvent(_) | WebhookError::NoEvents) => {
                ApiError::invalid("events", error.to_string())
            }
            WebhookError::Cipher(error) => error.into(),
            error @ WebhookError::TooMany { .. } => {
                ApiError::new(StatusCode::CONFLICT, "webhook_limit", error.to_string())
            }
            WebhookError::Setup(message) => {
                tracing::error!(error = %message, "webhook deliveries are not set up");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "webhooks are unavailable; see the server log",
                )
            }
        }
    }
}

/// Gives every error answer the API's shape. axum answers some requests itself, before any
/// handler runs: an unknown path (404), a method a path does not serve (405), a body over the
/// limit (413), a path segment that does not parse (400). Those come as plain text, or empty;
/// this turns them into `{"error": …}` with a code, keeping the status. Answers that already
/// have a content type of their own (JSON errors, the dashboard's HTML pages) pass untouched.
pub async fn json_error_shape(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !(content_type.is_empty() || content_type.starts_with("text/plain")) {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    // axum's own rejection texts are short; anything longer is cut, never buffered whole.
    let text = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            "not_found",
            "no such path; GET /docs lists the API's operations".to_owned(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this path does not serve that method; GET /docs lists the API's operations"
                .to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            "the body is larger than this operation accepts; send less per request".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "invalid_body",
            "send the body as application/json".to_owned(),
        ),
        status if status.is_client_error() => (
            "bad_request",
            if text.is_empty() {
                "the request is malformed".to_owned()
            } else {
                text
            },
        ),
        _ => (
            "internal",
            "pinline could not complete the request because of an internal error; the server log has the details"
                .to_owned(),
        ),
    };
    let mut response = ApiError::new(status, code, message).into_response();
    if let Some(value) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
