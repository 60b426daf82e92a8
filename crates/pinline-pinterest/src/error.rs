//! The one error type of this crate, and the classification every failure gets.
//!
//! Error policy:
//! * Every failure is a [`PinterestError`], and every error has an [`ErrorClass`] (`auth`,
//!   `scope`, `rate_limited`, `validation`, `not_found`, `transient`, `unknown`). Whether it is
//!   worth retrying is a property of the error ([`PinterestError::is_retryable`]), never guessed
//!   by callers from status codes.
//! * Pinterest's body `{code, message}` is parsed when present; OAuth-style bodies
//!   `{error, error_description}` and non-JSON bodies (proxies, the upload host) are tolerated.
//! * A request that may have reached Pinterest without us learning the outcome (connection
//!   dropped or timed out after sending, a 500/502/504, or a success whose body did not decode)
//!   is [`PinterestError::outcome_unknown`] when the call has side effects. Such an error is never
//!   `is_retryable`: retrying a pin creation blindly could publish twice, so the caller must
//!   reconcile first (look for the pin) and only then decide.
//! * Messages never contain tokens or request bodies: the client never puts them in an error,
//!   Pinterest's messages are scrubbed of anything shaped like a token, and decode errors of
//!   token responses drop serde's message (which can quote the offending value).
//!
//! Classification, first match wins:
//!
//! | condition | class | why |
//! |---|---|---|
//! | HTTP 429 or code 8 | `rate_limited` | |
//! | HTTP 5xx or 408; transport failure | `transient` | the server or network, not the request |
//! | token endpoint, any other 4xx | `auth` | the code, refresh token or app credentials are unusable: reconnect |
//! | OAuth `invalid_grant`/`invalid_token`/`invalid_client` | `auth` | |
//! | OAuth `invalid_scope` | `scope` | |
//! | code 1 (invalid parameters) | `validation` | |
//! | code 2 (authentication failed) | `auth` | |
//! | code 3 (missing scopes) | `scope` | |
//! | code 7 (not authorized to access board or pin) | `scope` | a valid token lacking permission on the target, e.g. a secret board without `*_secret` scopes, or a board the user cannot write to |
//! | code 29 (not permitted; Trial apps creating pins) | `scope` | a permission of the app or user, not of the token: re-authorizing alone will not fix it, the message says what |
//! | code 40 (board not found), 50 (pin not found) | `not_found` | |
//! | HTTP 401 | `auth` | |
//! | HTTP 403 | `scope` | |
//! | HTTP 404 | `not_found` | |
//! | HTTP 400, 409, 413, 415, 422 | `validation` | |
//! | environment mismatch (refused) | `credential_mismatch` | the credential cannot work here at all; nothing is sent |
//! | invalid id or field (refused) | `validation` | |
//! | anything else, undecodable success bodies | `unknown` | |
//!
//! `scope` therefore means "the token is valid but not allowed to do this". For codes 7 and 29
//! the problem may be the target or the app rather than the granted scopes; callers that pause a
//! whole account on `scope` should first compare the granted scopes with
//! [`crate::facts::Operation::missing_scopes`].

use std::fmt;

use crate::facts::{error_code, operations};
use crate::ratelimit::RateLimitInfo;

/// What kind of failure an error is, for the queue's decisions, metrics and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The token or app credentials are unusable: refresh, or reconnect the account.
    Auth,
    /// The token is valid but not allowed to do this (missing scope, no permission).
    Scope,
    /// Pinterest's rate limit; wait as told and retry.
    RateLimited,
    /// The request itself is wrong; retrying it unchanged cannot help.
    Validation,
    /// The board, pin or media does not exist (any more).
    NotFound,
    /// The network or Pinterest failed; the same request may succeed later.
    Transient,
    /// The stored credential was issued for another app or environment than the one
    /// configured: no request is sent with it. Fixing the configuration or reconnecting the
    /// account under the configured app clears it; retrying cannot.
    CredentialMismatch,
    /// None of the above.
    Unknown,
}

impl ErrorClass {
    /// Every class, for metrics labels and exhaustive tests.
    pub const ALL: [ErrorClass; 8] = [
        ErrorClass::Auth,
        ErrorClass::Scope,
        ErrorClass::RateLimited,
        ErrorClass::Validation,
        ErrorClass::NotFound,
        ErrorClass::Transient,
        ErrorClass::CredentialMismatch,
        ErrorClass::Unknown,
    ];

    /// The stable lower-case name used in logs, metrics and API responses.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Auth => "auth",
            ErrorClass::Scope => "scope",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Validation => "validation",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Transient => "transient",
            ErrorClass::CredentialMismatch => "credential_mismatch",
            ErrorClass::Unknown => "unknown",
        }
    }

    /// The class named by [`ErrorClass::as_str`]; `None` for any other text.
    pub fn parse(name: &str) -> Option<ErrorClass> {
        ErrorClass::ALL
            .into_iter()
            .find(|class| class.as_str() == name)
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong talking to Pinterest.
#[derive(Debug, thiserror::Error)]
pub enum PinterestError {
    /// Pinterest (or the media upload host) answered with a non-success status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// No answer arrived: the connection failed, timed out, or dropped before the response was
    /// read. The source is kept for diagnosis; it names the URL but never a token.
    #[error("Pinterest {operation}: {kind}")]
    Transport {
        /// The operation id (`pins/create`, …).
        operation: &'static str,
        /// What went wrong.
        kind: TransportKind,
        /// False only when the request certainly never left (the connection was not made).
        request_sent: bool,
        /// True when the operation has side effects (anything but GET).
        mutating: bool,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A success response whose body is not what the spec describes.
    #[error(
        "Pinterest {operation} answered HTTP {status} with a body that does not decode: {detail}"
    )]
    Decode {
        /// The operation id.
        operation: &'static str,
        /// The (successful) status.
        status: u16,
        /// True when the operation has side effects: it probably happened.
        mutating: bool,
        /// What did not decode (never a token: see the module doc).
        detail: String,
    },
    /// Refused before anything was sent.
    #[error("refused to call Pinterest {operation}: {reason}")]
    Refused {
        /// The operation id.
        operation: &'static str,
        /// Why.
        reason: Refusal,
    },
    /// The HTTP client could not be built (TLS initialisation).
    #[error("could not build the HTTP client for Pinterest")]
    Setup(#[source] reqwest::Error),
}

/// An error answer from Pinterest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The operation id (`pins/create`, …).
    pub operation: &'static str,
    /// True when the operation has side effects (anything but GET).
    pub mutating: bool,
    /// HTTP status.
    pub status: u16,
    /// Pinterest's `code`, when the body had one.
    pub code: Option<i64>,
    /// Pinterest's `message`, the OAuth `error_description`, the start of a non-JSON body, or
    /// the status's reason phrase; scrubbed of token-shaped words.
    pub message: String,
    /// The OAuth `error` (`invalid_grant`, …) when the body was OAuth-shaped.
    pub oauth_error: Option<String>,
    /// The rate-limit headers of the error response.
    pub rate_limit: RateLimitInfo,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Pinterest {} failed with HTTP {}",
            self.operation, self.status
        )?;
        if let Some(code) = self.code {
            write!(f, " (code {code})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}

/// How a request failed in transit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made (DNS, refused, TLS, connect timeout): nothing was sent.
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// The connection broke while sending or while reading the answer.
    Interrupted,
    /// Anything else the HTTP client reports (such as an unexpected redirect).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Interrupted => "connection interrupted",
            TransportKind::Other => "HTTP failure",
        })
    }
}

/// Why a call was refused before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The credential was issued by another environment than the one this client talks to.
    #[error(
        "the credential belongs to environment `{credential}` but this client talks to `{client}`"
    )]
    EnvironmentMismatch {
        /// The environment stored with the credential.
        credential: String,
        /// The client's environment.
        client: String,
    },
    /// A path id that is not a Pinterest id (digits only).
    #[error("{field} `{value}` is not a Pinterest id (digits only)")]
    InvalidId {
        /// Which id (`board_id`, …).
        field: &'static str,
        /// The rejected value, shortened.
        value: String,
    },
    /// A request field that breaks Pinterest's limits.
    #[error("{field}: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A request that could not be built (a bug or a bad URL, such as a malformed upload URL).
    #[error("could not build the request: {0}")]
    InvalidRequest(String),
    /// The caller's deadline for sending had passed (a worker whose lease on a post ran out
    /// while it waited for a token): nothing was sent.
    #[error("the deadline for sending had passed; nothing was sent")]
    DeadlinePassed,
}

impl Refusal {
    fn class(&self) -> ErrorClass {
        match self {
            Refusal::EnvironmentMismatch { .. } => ErrorClass::CredentialMismatch,
            Refusal::InvalidId { .. } | Refusal::InvalidField { .. } => ErrorClass::Validation,
            Refusal::InvalidRequest(_) => ErrorClass::Unknown,
            Refusal::DeadlinePassed => ErrorClass::Transient,
        }
    }
}

impl PinterestError {
    /// The class of this failure (see the module doc for the table).
    pub fn class(&self) -> ErrorClass {
        match self {
            PinterestError::Api(error) => error.class(),
            PinterestError::Transport { .. } => ErrorClass::Transient,
            PinterestError::Decode { .. } | PinterestError::Setup(_) => ErrorClass::Unknown,
            PinterestError::Refused { reason, .. } => reason.class(),
        }
    }

    /// True when the condition is expected to pass (network or server trouble).
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// True when sending the same request again later is both sensible and safe: transient
    /// failures and rate limits, unless the outcome of a side-effecting call is unknown.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.class(),
            ErrorClass::Transient | ErrorClass::RateLimited
        ) && !self.outcome_unknown()
    }

    /// True when a side-effecting request may have taken effect without us learning it: the
    /// connection dropped or timed out after the request was sent, Pinterest answered 500, 502
    /// or 504 (a gateway may have given up while the backend carried on), or a success body did
    /// not decode. Reconcile (for a pin: look for it on the board) before retrying.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            PinterestError::Api(error) => error.mutating && matches!(error.status, 500 | 502 | 504),
            PinterestError::Transport {
                request_sent,
                mutating,
                ..
            } => *request_sent && *mutating,
            PinterestError::Decode { mutating, .. } => *mutating,
            PinterestError::Refused { .. } | PinterestError::Setup(_) => false,
        }
    }

    /// The rate-limit headers of the answer, when there was one.
    pub fn rate_limit(&self) -> Option<&RateLimitInfo> {
        match self {
            PinterestError::Api(error) => Some(&error.rate_limit),
            _ => None,
        }
    }

    /// `Retry-After` of the answer, when Pinterest sent one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.rate_limit().and_then(RateLimitInfo::retry_after)
    }

    /// The HTTP status, when an answer arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            PinterestError::Api(error) => Some(error.status),
            PinterestError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Pinterest's error `code`, when the answer had one.
    pub fn code(&self) -> Option<i64> {
        match self {
            PinterestError::Api(error) => error.code,
            _ => None,
        }
    }

    /// The error answer, when this is one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            PinterestError::Api(error) => Some(error),
            _ => None,
        }
    }

    pub(crate) fn transport(
        operation: &'static str,
        mutating: bool,
        source: reqwest::Error,
    ) -> Self {
        // Only a failed connection proves that nothing was sent; everything else may have
        // reached Pinterest, so it counts as sent (the safe assumption for `outcome_unknown`).
        let (kind, request_sent) = if source.is_connect() {
            (TransportKind::Connect, false)
        } else if source.is_timeout() {
            (TransportKind::Timeout, true)
        } else if source.is_request() || source.is_body() || source.is_decode() {
            (TransportKind::Interrupted, true)
        } else {
            (TransportKind::Other, true)
        };
        PinterestError::Transport {
            operation,
            kind,
            request_sent,
            mutating,
            source,
        }
    }

    /// A call refused before anything was sent.
    pub fn refused(operation: &'static str, reason: Refusal) -> Self {
        PinterestError::Refused { operation, reason }
    }
}

impl From<ApiError> for PinterestError {
    fn from(error: ApiError) -> Self {
        PinterestError::Api(Box::new(error))
    }
}

/// Longest message kept from an error body; the rest of a long HTML page is noise.
const MESSAGE_MAX_CHARS: usize = 300;

impl ApiError {
    /// Builds the error from an answer's status and body. `operation` decides nothing here but
    /// the classification of token-endpoint answers; the body may be anything.
    pub fn from_response(
        operation: &'static str,
        mutating: bool,
        status: u16,
        body: &[u8],
        rate_limit: RateLimitInfo,
    ) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<serde_json::Value>,
            message: Option<String>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let parsed = serde_json::from_slice::<Body>(body).ok();
        let (code, message, oauth_error) = match parsed {
            Some(body) => (
                body.code.as_ref().and_then(json_integer),
                body.message.or(body.error_description),
                body.error,
            ),
            None => (None, None, None),
        };
        let message = message
            .or_else(|| oauth_error.clone())
            .or_else(|| non_json_message(operation, body))
            .unwrap_or_else(|| reason_phrase(status));
        ApiError {
            operation,
            mutating,
            status,
            code,
            message: scrub(&message),
            // Kept for classification; scrubbed too, since it is free text from the far side.
            oauth_error: oauth_error.map(|error| scrub(&error)),
            rate_limit,
        }
    }

    /// The class of this answer (see the module doc for the table).
    pub fn class(&self) -> ErrorClass {
        classify(
            self.operation,
            self.status,
            self.code,
            self.oauth_error.as_deref(),
        )
    }
}

fn classify(
    operation: &str,
    status: u16,
    code: Option<i64>,
    oauth_error: Option<&str>,
) -> ErrorClass {
    if status == 429 || code == Some(error_code::RATE_LIMITED) {
        return ErrorClass::RateLimited;
    }
    if status >= 500 || status == 408 {
        return ErrorClass::Transient;
    }
    // The token endpoint answers a dead refresh token, a used or expired authorization code, or
    // wrong app credentials with various 4xx bodies; all of them mean "reconnect".
    if operation == operations::OAUTH_TOKEN.id && (400..500).contains(&status) {
        return ErrorClass::Auth;
    }
    match oauth_error {
        Some("invalid_grant" | "invalid_token" | "invalid_client" | "unauthorized_client") => {
            return ErrorClass::Auth;
        }
        Some("invalid_scope" | "insufficient_scope") => return ErrorClass::Scope,
        _ => {}
    }
    match code {
        Some(error_code::INVALID_PARAMETERS) => return ErrorClass::Validation,
        Some(error_code::AUTHENTICATION_FAILED) => return ErrorClass::Auth,
        Some(
            error_code::MISSING_SCOPES | error_code::NOT_AUTHORIZED | error_code::NOT_PERMITTED,
        ) => {
            return ErrorClass::Scope;
        }
        Some(error_code::BOARD_NOT_FOUND | error_code::PIN_NOT_FOUND) => {
            return ErrorClass::NotFound;
        }
        _ => {}
    }
    match status {
        401 => ErrorClass::Auth,
        403 => ErrorClass::Scope,
        404 => ErrorClass::NotFound,
        400 | 409 | 413 | 415 | 422 => ErrorClass::Validation,
        _ => ErrorClass::Unknown,
    }
}

/// Pinterest's `code` is an integer, but tolerate it arriving as a numeric string.
fn json_integer(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(number) => number.as_i64(),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// The start of a non-JSON body (a proxy's page, the upload host's XML), except from the token
/// endpoints, whose bodies are never quoted in case they echo what was sent.
fn non_json_message(operation: &str, body: &[u8]) -> Option<String> {
    if operation == operations::OAUTH_TOKEN.id || operation == operations::TOKEN_REVOKE.id {
        return None;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

fn reason_phrase(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("no message")
        .to_owned()
}

/// Shortens a message and replaces everything that looks like a Pinterest token (`pina_…`,
/// `pinr_…`, or the `pina.`/`pinr.` forms in the spec's examples) with `[REDACTED]`, wherever it
/// stands: after a space, a newline, a quote, a colon or inside a longer word.
pub(crate) fn scrub(message: &str) -> String {
    const PREFIXES: [&str; 4] = ["pina_", "pinr_", "pina.", "pinr."];
    let is_token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=');
    let mut scrubbed = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((at, prefix)) = PREFIXES
        .iter()
        .filter_map(|prefix| rest.find(prefix).map(|at| (at, *prefix)))
        .min_by_key(|(at, _)| *at)
    {
        let after = &rest[at + prefix.len()..];
        let token_len = after
            .char_indices()
            .find(|(_, c)| !is_token_char(*c))
            .map_or(after.len(), |(end, _)| end);
        scrubbed.push_str(&rest[..at]);
        if token_len == 0 {
            // A bare prefix (`pina_` at the end of a sentence) carries no secret.
            scrubbed.push_str(prefix);
        } else {
            scrubbed.push_str(crate::secret::REDACTED);
        }
        rest = &after[token_len..];
    }
    scrubbed.push_str(rest);
    match scrubbed.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &scrubbed[..cut]),
        None => scrubbed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINS_CREATE: &str = operations::PINS_CREATE.id;
    const TOKEN: &str = operations::OAUTH_TOKEN.id;

    /// One case per line: operation, status, body → class and parsed code.
    fn check(
        operation: &'static str,
        status: u16,
        body: &str,
        class: ErrorClass,
        code: Option<i64>,
    ) {
        let error = ApiError::from_response(
            operation,
            true,
            status,
            body.as_bytes(),
            RateLimitInfo::default(),
        );
        assert_eq!(
            (error.class(), error.code),
            (class, code),
            "{status} {body}"
        );
        assert!(!error.message.is_empty());
    }

    #[test]
    fn classification_table() {
        use ErrorClass::*;
        check(
            PINS_CREATE,
            400,
            r#"{"code":1,"message":"Invalid parameters."}"#,
            Validation,
            Some(1),
        );
        check(
            PINS_CREATE,
            401,
            r#"{"code":2,"message":"Authentication failed."}"#,
            Auth,
            Some(2),
        );
        check(
            PINS_CREATE,
            403,
            r#"{"code":3,"message":"Missing scopes"}"#,
            Scope,
            Some(3),
        );
        check(
            PINS_CREATE,
            403,
            r#"{"code":7,"message":"Not authorized"}"#,
            Scope,
            Some(7),
        );
        check(
            PINS_CREATE,
            403,
            r#"{"code":29,"message":"You are not permitted to access that resource."}"#,
            Scope,
            Some(29),
        );
        check(
            PINS_CREATE,
            429,
            r#"{"code":8,"message":"Rate limited"}"#,
            RateLimited,
            Some(8),
        );
        check(
            PINS_CREATE,
            403,
            r#"{"code":8,"message":"Rate limited"}"#,
            RateLimited,
            Some(8),
        );
        check(
            PINS_CREATE,
            404,
            r#"{"code":40,"message":"Board not found."}"#,
            NotFound,
            Some(40),
        );
        check(
            PINS_CREATE,
            400,
            r#"{"code":50,"message":"Pin not found."}"#,
            NotFound,
            Some(50),
        );
        check(
            PINS_CREATE,
            404,
            r#"{"code":404,"message":"Board not found."}"#,
            NotFound,
            Some(404),
        );
        check(PINS_CREATE, 401, "", Auth, None);
        check(PINS_CREATE, 403, "<html>Forbidden</html>", Scope, None);
        check(PINS_CREATE, 404, "", NotFound, None);
        check(PINS_CREATE, 429, "Too Many Requests", RateLimited, None);
        check(PINS_CREATE, 400, "not json", Validation, None);
        check(
            PINS_CREATE,
            409,
            r#"{"code":"1","message":"string code"}"#,
            Validation,
            Some(1),
        );
        check(PINS_CREATE, 422, "{}", Validation, None);
        check(
            PINS_CREATE,
            500,
            r#"{"code":1,"message":"oops"}"#,
            Transient,
            Some(1),
        );
        check(
            PINS_CREATE,
            502,
            "<html>Bad Gateway</html>",
            Transient,
            None,
        );
        check(PINS_CREATE, 503, "", Transient, None);
        check(PINS_CREATE, 408, "", Transient, None);
        check(PINS_CREATE, 418, "", Unknown, None);
        check(PINS_CREATE, 400, r#"{"error":"invalid_grant"}"#, Auth, None);
        check(
            PINS_CREATE,
            400,
            r#"{"error":"invalid_scope"}"#,
            Scope,
            None,
        );
        check(
            TOKEN,
            400,
            r#"{"code":1,"message":"Invalid refresh token"}"#,
            Auth,
            Some(1),
        );
        check(TOKEN, 400, "garbage", Auth, None);
        check(
            TOKEN,
            401,
            r#"{"code":2,"message":"Authentication failed."}"#,
            Auth,
            Some(2),
        );
        check(TOKEN, 429, "", RateLimited, None);
        check(TOKEN, 503, "", Transient, None);
    }

    #[test]
    fn class_names_are_stable() {
        let names: Vec<_> = ErrorClass::ALL.iter().map(|class| class.as_str()).collect();
        assert_eq!(
            names,
            [
                "auth",
                "scope",
                "rate_limited",
                "validation",
                "not_found",
                "transient",
                "credential_mismatch",
                "unknown"
            ]
        );
    }

    #[test]
    fn messages_are_parsed_and_scrubbed() {
        let message = |operation, body: &str| {
            ApiError::from_response(
                operation,
                false,
                400,
                body.as_bytes(),
                RateLimitInfo::default(),
            )
            .message
        };
        assert_eq!(
            message(PINS_CREATE, r#"{"code":1,"message":"Bad title."}"#),
            "Bad title."
        );
        assert_eq!(
            message(
                PINS_CREATE,
                r#"{"error":"invalid_grant","error_description":"Expired."}"#
            ),
            "Expired."
        );
        assert_eq!(
            message(PINS_CREATE, "  <h1>Bad\n Request</h1> "),
            "<h1>Bad Request</h1>"
        );
        assert_eq!(message(PINS_CREATE, ""), "Bad Request");
        // Token-endpoint bodies are never quoted when they are not JSON.
        assert_eq!(message(TOKEN, "refresh_token=pinr_xyz"), "Bad Request");
        let scrubbed = message(
            PINS_CREATE,
            r#"{"code":2,"message":"Token pina_SECRET1 and (pinr.SECRET2) rejected"}"#,
        );
        assert!(!scrubbed.contains("SECRET"), "{scrubbed}");
        assert_eq!(
            message(PINS_CREATE, &"x".repeat(1000)).chars().count(),
            MESSAGE_MAX_CHARS + 1
        );
    }

    fn api(status: u16, mutating: bool) -> PinterestError {
        ApiError::from_response(PINS_CREATE, mutating, status, b"", RateLimitInfo::default()).into()
    }

    #[test]
    fn retryability_is_a_property_of_the_error() {
        assert!(api(503, true).is_retryable());
        assert!(api(429, true).is_retryable());
        assert!(!api(400, true).is_retryable());
        assert!(!api(401, false).is_retryable());
        // A 500 on a create may have published: reconcile, do not retry blindly.
        assert!(api(500, true).outcome_unknown());
        assert!(!api(500, true).is_retryable());
        assert!(api(500, true).is_transient());
        assert!(!api(500, false).outcome_unknown());
        assert!(api(500, false).is_retryable());

        let decode = PinterestError::Decode {
            operation: PINS_CREATE,
            status: 201,
            mutating: true,
            detail: "missing field `id`".to_owned(),
        };
        assert!(decode.outcome_unknown());
        assert_eq!(decode.class(), ErrorClass::Unknown);

        let mismatch = PinterestError::refused(
            PINS_CREATE,
            Refusal::EnvironmentMismatch {
                credential: "pinterest_sandbox".to_owned(),
                client: "production".to_owned(),
            },
        );
        assert_eq!(mismatch.class(), ErrorClass::CredentialMismatch);
        assert!(!mismatch.outcome_unknown());
        assert!(mismatch.to_string().contains("pinterest_sandbox"));
    }

    #[test]
    fn api_errors_display_operation_status_code_and_message() {
        let error: PinterestError = ApiError::from_response(
            PINS_CREATE,
            true,
            403,
            br#"{"code":29,"message":"You are not permitted to access that resource."}"#,
            RateLimitInfo::default(),
        )
        .into();
        assert_eq!(
            error.to_string(),
            "Pinterest pins/create failed with HTTP 403 (code 29): You are not permitted to access that resource."
        );
    }
}
