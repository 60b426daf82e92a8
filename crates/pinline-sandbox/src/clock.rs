//! The sandbox clock: real wall-clock time plus an offset that tests move forward, so token and
//! code expiry can be tested without waiting. Rate limiting deliberately does not use it (it
//! runs on the real monotonic clock, since clients pace in real time).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time shifted by an adjustable offset.
#[derive(Debug, Default)]
pub struct SandboxClock {
    offset_millis: AtomicI64,
}

impl SandboxClock {
    /// A clock that starts at real time.
    pub fn new() -> Self {
        SandboxClock::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_millis.fetch_add(millis, Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs` seconds (negative moves it back).
    pub fn advance_secs(&self, secs: i64) {
        self.offset_millis
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// How far the clock is ahead of real time.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(
            self.offset_millis
                .load(Ordering::SeqCst)
                .max(0)
                .unsigned_abs(),
        )
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        real.saturating_add(self.offset_millis.load(Ordering::SeqCst))
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// Formats Unix seconds as an RFC 3339 date-time, as the spec's `format: date-time` wants.
pub fn rfc3339(unix_secs: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = SandboxClock::new();
        let before = clock.now();
        clock.advance(Duration::from_secs(601));
        assert!(clock.now() >= before + 601);
        clock.advance_secs(100);
        assert!(clock.offset() >= Duration::from_secs(701));
    }

    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
