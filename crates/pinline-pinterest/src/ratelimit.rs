//! Rate-limit headers, read from every Pinterest response (successes and errors alike), because
//! the queue paces each user and category from what Pinterest reports rather than from guesses.
//!
//! Pinterest sends `x-ratelimit-category`, `x-ratelimit-limit`, `x-ratelimit-remaining` and
//! `x-ratelimit-reset`, and `Retry-After` on some 429s. Two cautions shape this module:
//!
//! * `x-ratelimit-reset` describes the *window*, and some windows are a whole day. A reset an hour
//!   away is not a hint to retry in an hour; it says when the budget refills. So
//!   [`RateLimitInfo::retry_after`] is only ever `Retry-After`, and the pacer decides what to do
//!   with `reset_after`.
//! * Header shapes vary (`100`, or the IETF draft's `100, 100;w=60`; a reset in seconds or as a
//!   Unix time; `Retry-After` in seconds or as an HTTP-date). Parsing is lenient: a header that
//!   does not parse is treated as absent rather than failing the response.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::facts::RateLimitCategory;

/// Header naming the category the call counted against.
pub const CATEGORY_HEADER: &str = "x-ratelimit-category";
/// Header with the window's request budget.
pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
/// Header with what is left of the budget.
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
/// Header with when the window resets.
pub const RESET_HEADER: &str = "x-ratelimit-reset";

/// Reset values at least this large are Unix times, not delays: 10⁹ seconds is 31 years, far
/// longer than any rate-limit window, and 10⁹ as a Unix time is in 2001.
const UNIX_TIME_THRESHOLD: u64 = 1_000_000_000;

/// What one response said about rate limits. Every field is optional because any of the
/// headers may be missing (the token endpoint, errors from a proxy, the media upload host).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// The category the call counted against, when Pinterest named a known one.
    pub category: Option<RateLimitCategory>,
    /// The window's budget.
    pub limit: Option<u64>,
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// Time until the window resets, relative to when the response was read. May be a day.
    pub reset_after: Option<Duration>,
    /// `Retry-After`, relative to when the response was read.
    pub retry_after: Option<Duration>,
}

impl RateLimitInfo {
    /// Reads the headers of a response received at `now` (the clock is a parameter so that
    /// HTTP-date and Unix-time values are testable and follow the caller's clock).
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Self {
        let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
        RateLimitInfo {
            category: text(CATEGORY_HEADER).and_then(|value| value.trim().parse().ok()),
            limit: text(LIMIT_HEADER).and_then(leading_number),
            remaining: text(REMAINING_HEADER).and_then(leading_number),
            reset_after: text(RESET_HEADER)
                .and_then(leading_number)
                .map(|reset| reset_delay(reset, now)),
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, now)),
        }
    }

    /// How long to wait before retrying, when the server said so in `Retry-After`. Deliberately
    /// not derived from `reset_after`, which may describe a daily window (see the module doc).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// True when Pinterest reported that nothing is left in the window.
    pub fn is_exhausted(&self) -> bool {
        self.remaining == Some(0)
    }

    /// True when the response carried none of the headers.
    pub fn is_empty(&self) -> bool {
        *self == RateLimitInfo::default()
    }
}

/// The first integer of a header value: `100` of `100`, of `100, 100;w=60` and of `100;w=60`.
fn leading_number(value: &str) -> Option<u64> {
    let value = value.trim_start();
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

fn reset_delay(reset: u64, now: SystemTime) -> Duration {
    if reset >= UNIX_TIME_THRESHOLD {
        let at = UNIX_EPOCH + Duration::from_secs(reset);
        at.duration_since(now).unwrap_or(Duration::ZERO)
    } else {
        Duration::from_secs(reset)
    }
}

/// `Retry-After` per RFC 9110 §10.2.3: delay seconds or an HTTP-date. A date in the past means
/// "now".
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    /// 2015-10-21T07:28:00Z, the date in RFC 9110's own `Retry-After` example.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    fn check(headers: &[(&'static str, &'static str)], expected: RateLimitInfo) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        assert_eq!(
            RateLimitInfo::from_headers(&map, now()),
            expected,
            "{headers:?}"
        );
    }

    fn secs(secs: u64) -> Option<Duration> {
        Some(Duration::from_secs(secs))
    }

    #[test]
    fn headers_parse() {
        check(&[], RateLimitInfo::default());
        check(
            &[
                ("x-ratelimit-category", "org_write"),
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "42"),
                ("retry-after", "7"),
            ],
            RateLimitInfo {
                category: Some(RateLimitCategory::OrgWrite),
                limit: Some(100),
                remaining: Some(0),
                reset_after: secs(42),
                retry_after: secs(7),
            },
        );
        // IETF draft shapes and a reset given as a Unix time 90 seconds ahead.
        check(
            &[
                ("x-ratelimit-limit", "1000, 1000;w=60"),
                ("x-ratelimit-remaining", " 998;w=60"),
                ("x-ratelimit-reset", "1445412570"),
            ],
            RateLimitInfo {
                limit: Some(1000),
                remaining: Some(998),
                reset_after: secs(90),
                ..RateLimitInfo::default()
            },
        );
        // Unknown categories and garbage are ignored rather than failing the response.
        check(
            &[
                ("x-ratelimit-category", "future_category"),
                ("x-ratelimit-remaining", "lots"),
                ("retry-after", "soon"),
            ],
            RateLimitInfo::default(),
        );
    }

    #[test]
    fn retry_after_accepts_http_dates() {
        let at = |value: &'static str| RateLimitInfo {
            retry_after: parse_retry_after(value, now()),
            ..RateLimitInfo::default()
        };
        assert_eq!(at("Wed, 21 Oct 2015 07:28:30 GMT").retry_after(), secs(30));
        assert_eq!(at("Wed, 21 Oct 2015 07:00:00 GMT").retry_after(), secs(0));
        check(
            &[("retry-after", "Wed, 21 Oct 2015 07:29:00 GMT")],
            RateLimitInfo {
                retry_after: secs(60),
                ..RateLimitInfo::default()
            },
        );
    }

    #[test]
    fn a_far_reset_is_not_a_retry_hint() {
        let mut map = HeaderMap::new();
        map.insert(RESET_HEADER, HeaderValue::from_static("86400"));
        map.insert(REMAINING_HEADER, HeaderValue::from_static("0"));
        let info = RateLimitInfo::from_headers(&map, now());
        assert!(info.is_exhausted());
        assert_eq!(info.reset_after, secs(86_400));
        assert_eq!(info.retry_after(), None);
    }
}
