//! Pinterest-shaped error responses: every failure under `/v5` answers with the spec's `Error`
//! body `{"code": int, "message": str}` and the status Pinterest would use, so clients under test
//! exercise their real error parsing. Nothing here ever answers with a 500 for bad input.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pinline_pinterest::facts::{Scope, error_code};
use serde_json::json;

/// An error as Pinterest reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 code 1: invalid parameters. The message names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            error_code::INVALID_PARAMETERS,
            message,
        )
    }

    /// 401 code 2, the exact body Pinterest sends for a bad, expired or revoked token.
    pub fn authentication_failed() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            error_code::AUTHENTICATION_FAILED,
            "Authentication failed.",
        )
    }

    /// 403 code 3, naming every missing scope.
    pub fn missing_scopes(missing: &[Scope]) -> Self {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        ApiError::new(
            StatusCode::FORBIDDEN,
            error_code::MISSING_SCOPES,
            format!(
                "Your application consumer type is not supported or the token is missing required scopes: {}.",
                names.join(", ")
            ),
        )
    }

    /// 403 code 29: what Trial apps get from `pins/create`, and what `token/revoke` answers for
    /// a token that is not a system user's.
    pub fn not_permitted() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            error_code::NOT_PERMITTED,
            "You are not permitted to access that resource.",
        )
    }

    pub fn board_not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            error_code::BOARD_NOT_FOUND,
            "Board not found.",
        )
    }

    pub fn pin_not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            error_code::PIN_NOT_FOUND,
            "Pin not found.",
        )
    }

    /// Sections and media have no code of their own in our tables; the spec's examples use the
    /// HTTP status as the code for board sections, so media follows the same pattern.
    pub fn section_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, 404, "Board section not found.")
    }

    pub fn media_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, 404, "Media upload not found.")
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, 409, message)
    }

    /// 429 code 8.
    pub fn rate_limited() -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            error_code::RATE_LIMITED,
            "You have exceeded your rate limit. Try again later.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response()
    }
}

/// Handlers return this.
pub type ApiResult<T> = Result<T, ApiError>;
