//! What the passthrough answers when it does not forward a call: a body that both kinds of
//! caller can read. Pinterest's SDKs and tools read Pinterest's error shape (`code`, a number,
//! and `message`); pinline's clients read the API's (`error.code`, a stable name, `message`,
//! `field`). The answer carries both, so neither has to guess whose refusal it was.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pinline_pinterest::facts::error_code;
use serde_json::json;

use crate::error::ApiError;

/// The header naming an account's state when its credentials cannot be used.
pub const ACCOUNT_STATE_HEADER: &str = "x-pinline-account-state";

/// A call the passthrough answered itself.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    /// Pinterest's error code for the same situation.
    pub pinterest_code: i64,
    /// pinline's stable code; also the audit row's outcome.
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
    /// `needs_reauth`, `disconnected`, …, for [`ACCOUNT_STATE_HEADER`].
    pub account_state: Option<&'static str>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        let pinterest_code = match status {
            StatusCode::UNAUTHORIZED => error_code::AUTHENTICATION_FAILED,
            StatusCode::FORBIDDEN => error_code::NOT_PERMITTED,
            StatusCode::TOO_MANY_REQUESTS => error_code::RATE_LIMITED,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                error_code::INVALID_PARAMETERS
            }
            other => i64::from(other.as_u16()),
        };
        Refusal {
            status,
            pinterest_code,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
            account_state: None,
        }
    }

    /// The same refusal about one request header or field.
    pub fn about(mut self, field: &str) -> Refusal {
        self.field = Some(field.to_owned());
        self
    }

    /// An account whose credentials cannot be used: Pinterest's 401, with the state in a header.
    pub fn account_unusable(state: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            account_state: Some(state),
            ..Refusal::new(StatusCode::UNAUTHORIZED, "account_unusable", message)
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Refusal {
        let mut refusal = Refusal::new(error.status, error.code, error.message);
        if error.code == "insufficient_scope" {
            refusal.pinterest_code = error_code::MISSING_SCOPES;
        }
        refusal.field = error.field;
        refusal.retry_after_secs = error.retry_after_secs;
        refusal
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = &self.field {
            error["field"] = json!(field);
        }
        let body = json!({
            "code": self.pinterest_code,
            "message": self.message,
            "error": error,
        });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(state) = self.account_state {
            headers.insert(ACCOUNT_STATE_HEADER, HeaderValue::from_static(state));
        }
        response
    }
}
