//! What every request and every response goes through, whichever route serves it.
//!
//! Requests: exactly one `Authorization` header (with two, which one wins would depend on the
//! reader); no path segment, no query name or value and no field of a form body (the
//! dashboard's) with a character the text rule of [`crate::text`] refuses, so such text is
//! answered here, before any handler or the database sees it (a path that carries one names
//! nothing: 404; a query value or form field: 422 naming it). The dashboard's form fields are
//! one line each, except those named in [`MULTI_LINE_FORM_FIELDS`] (textareas), which may also
//! hold line breaks and tabs; JSON bodies get the rule, multi-line fields included, from
//! [`crate::body`].
//!
//! Responses: `X-Content-Type-Options: nosniff` on all of them; `Cache-Control: no-store` on
//! every answer that does not set its own caching (API answers carry keys, webhook secrets and
//! private data); `Referrer-Policy: no-referrer` unless a page sets its own; and on every HTML
//! page a Content-Security-Policy that loads nothing from elsewhere and forbids framing, unless
//! the page sets a stricter one of its own.

use axum::extract::Request;
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::text::{Lines, first_refused};

/// The policy of an HTML page that sets none of its own: its own inline CSS and images only,
/// no scripts, never framed, forms post back to pinline only.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The most of a form body read here: the dashboard's forms are a few short fields.
const FORM_LIMIT: usize = 1024 * 1024;

/// Refuses a request whose headers, path, query or form body break the rules above.
pub async fn refuse_hostile_requests(request: Request, next: Next) -> Response {
    if let Some(refusal) = refusal(&request) {
        return refusal.into_response();
    }
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the form is larger than pinline accepts",
        )
        .into_response();
    };
    if let Some(refusal) = pairs_refusal(&bytes) {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// The dashboard's textarea fields: an account's slots, one per line.
pub const MULTI_LINE_FORM_FIELDS: &[&str] = &["slots"];

/// The first `name=value` pair of a query or form with a refused character, as a 422.
fn pairs_refusal(encoded: &[u8]) -> Option<ApiError> {
    for (name, value) in url::form_urlencoded::parse(encoded) {
        let field: String = name.escape_debug().collect();
        let lines = if MULTI_LINE_FORM_FIELDS.contains(&name.as_ref()) {
            Lines::Many
        } else {
            Lines::One
        };
        let refused = first_refused(&name, Lines::One).or_else(|| first_refused(&value, lines));
        if let Some(refused) = refused {
            return Some(ApiError::invalid(&field, refused.message(&field)));
        }
    }
    None
}

fn refusal(request: &Request) -> Option<ApiError> {
    if request.headers().get_all(AUTHORIZATION).iter().count() > 1 {
        return Some(ApiError {
            field: Some("Authorization".to_owned()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                "send exactly one Authorization header",
            )
        });
    }
    let path = request.uri().path();
    if path
        .split('/')
        .any(|segment| first_refused(&percent_decode(segment), Lines::One).is_some())
    {
        return Some(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such path: a path with control characters names nothing",
        ));
    }
    pairs_refusal(request.uri().query()?.as_bytes())
}

/// A path segment with its `%XX` escapes decoded (bytes that do not form UTF-8 become U+FFFD).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/html"))
}

/// The response headers, applied around the whole router (see the module documentation).
pub fn with_response_headers<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
) -> axum::Router<S> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            |response: &Response| is_html(response).then(|| HeaderValue::from_static(PAGE_POLICY)),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_FRAME_OPTIONS,
            |response: &Response| is_html(response).then(|| HeaderValue::from_static("DENY")),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded_before_the_rule() {
        assert_eq!(percent_decode("a%00b"), "a\0b");
        assert_eq!(percent_decode("%E2%80%AEx"), "\u{202e}x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
