//! Which headers cross the passthrough, each way.
//!
//! Towards Pinterest only what describes the body and what the caller accepts goes: the caller's
//! `Authorization` is its pinline key and is replaced by the account's token, and everything
//! else (cookies, proxy and forwarding headers, pinline's own) is about the hop to pinline, not
//! about the call to Pinterest. Back to the caller goes everything Pinterest said (its status,
//! body, `x-ratelimit-*` and `x-request-id`) except the hop-by-hop headers (RFC 9110 §7.6.1) and
//! the framing, which pinline's own connection sets: relaying `transfer-encoding` beside the
//! length pinline computes would make a malformed response.

use axum::http::header::{self, HeaderMap, HeaderName};

/// Request headers forwarded to Pinterest.
const FORWARDED_REQUEST: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
];

/// Hop-by-hop and framing headers, never relayed back.
const HOP_BY_HOP: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "set-cookie",
];

/// Request headers that would move the call elsewhere if anything read them: refused outright
/// (the upstream is the account's, never the caller's choice).
pub const OVERRIDES: [&str; 4] = [
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-pinterest-base-url",
];

/// The headers of the caller's request that go on to Pinterest.
pub fn to_pinterest(headers: &HeaderMap) -> HeaderMap {
    let mut forwarded = HeaderMap::new();
    for name in FORWARDED_REQUEST {
        for value in headers.get_all(&name) {
            forwarded.append(name.clone(), value.clone());
        }
    }
    forwarded
}

/// The headers of Pinterest's answer that go back to the caller.
pub fn to_caller(headers: &HeaderMap) -> HeaderMap {
    // Headers a `Connection` header names are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut relayed = HeaderMap::new();
    for (name, value) in headers {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower) || named.iter().any(|n| n == lower) {
            continue;
        }
        relayed.append(name.clone(), value.clone());
    }
    relayed
}

/// The first override header present, if any.
pub fn override_in(headers: &HeaderMap) -> Option<&'static str> {
    OVERRIDES
        .into_iter()
        .find(|name| headers.contains_key(*name))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_the_body_description_goes_up_and_hop_by_hop_never_comes_back() {
        let mut request = HeaderMap::new();
        request.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer pl_x"),
        );
        request.insert(header::COOKIE, HeaderValue::from_static("s=1"));
        request.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        request.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
        let up = to_pinterest(&request);
        assert_eq!(up.len(), 1);
        assert!(up.contains_key(header::CONTENT_TYPE));

        let mut answer = HeaderMap::new();
        answer.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-hop"),
        );
        answer.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        answer.insert("x-hop", HeaderValue::from_static("1"));
        answer.insert("x-ratelimit-remaining", HeaderValue::from_static("9"));
        answer.insert("x-request-id", HeaderValue::from_static("abc"));
        let down = to_caller(&answer);
        assert_eq!(down.len(), 2, "{down:?}");
        assert!(down.contains_key("x-ratelimit-remaining") && down.contains_key("x-request-id"));
    }
}
