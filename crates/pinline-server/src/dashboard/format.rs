//! How the dashboard words things for people: relative times, failures in plain words.

use crate::extract::rfc3339;

/// "in 29 days", "3 hours ago", "just now".
pub fn relative(at_ms: i64, now_ms: i64) -> String {
    let delta_secs = (at_ms - now_ms) / 1000;
    let magnitude = delta_secs.unsigned_abs();
    if magnitude < 5 {
        return "just now".to_owned();
    }
    let (count, unit) = if magnitude < 90 {
        (magnitude, "second")
    } else if magnitude < 90 * 60 {
        (magnitude.div_ceil(60), "minute")
    } else if magnitude < 36 * 3600 {
        (magnitude / 3600, "hour")
    } else {
        (magnitude / 86_400, "day")
    };
    let plural = if count == 1 { "" } else { "s" };
    if delta_secs > 0 {
        format!("in {count} {unit}{plural}")
    } else {
        format!("{count} {unit}{plural} ago")
    }
}

/// Time left on a token: "expires in 29 days", "expired 2 hours ago", or "unknown".
pub fn time_left(at_ms: Option<i64>, now_ms: i64) -> String {
    match at_ms {
        None => "unknown".to_owned(),
        Some(at) if at > now_ms => format!("expires {}", relative(at, now_ms)),
        Some(at) => format!("expired {}", relative(at, now_ms)),
    }
}

/// RFC 3339 in UTC, or an empty string.
pub fn timestamp(at_ms: Option<i64>) -> String {
    at_ms.map(rfc3339).unwrap_or_default()
}

/// A failure class and Pinterest's message, in words an operator can act on.
pub fn plain_error(class: &str, message: &str) -> String {
    let what = match class {
        "auth" => "Pinterest refused the account's credentials (reconnect the account)",
        "scope" => "the account did not grant a permission this needs (reconnect and approve it)",
        "rate_limited" => "Pinterest's rate limit was reached; pinline retries later",
        "validation" => "Pinterest rejected the request as invalid",
        "not_found" => "Pinterest could not find the board or pin",
        "transient" => "Pinterest could not be reached or failed briefly; pinline retries",
        "credential_mismatch" => {
            "the account was connected under another app or environment than pinline is configured for (fix the configuration or reconnect the account)"
        }
        _ => "Pinterest answered with an unexpected error",
    };
    if message.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {message}")
    }
}

/// `YYYY-MM-DD` (UTC) and `HH:MM` (UTC) of a time.
pub fn day_and_time(at_ms: i64) -> (String, String) {
    let stamp = rfc3339(at_ms);
    let day = stamp.get(..10).unwrap_or_default().to_owned();
    let time = stamp.get(11..16).unwrap_or_default().to_owned();
    (day, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let day = 86_400_000;
        assert_eq!(relative(29 * day + 1000, 0), "in 29 days");
        assert_eq!(relative(0, 3 * 3_600_000), "3 hours ago");
        assert_eq!(relative(60_000, 0), "in 60 seconds");
        assert_eq!(relative(1000, 0), "just now");
        assert_eq!(relative(0, 120_000), "2 minutes ago");
        assert_eq!(time_left(Some(day * 2), 0), "expires in 2 days");
        assert_eq!(time_left(Some(0), 2 * day), "expired 2 days ago");
        assert_eq!(time_left(Some(0), day), "expired 24 hours ago");
        assert_eq!(time_left(None, 0), "unknown");
    }

    #[test]
    fn days_split_from_times() {
        assert_eq!(
            day_and_time(1_700_000_000_000),
            ("2023-11-14".to_owned(), "22:13".to_owned())
        );
    }
}
