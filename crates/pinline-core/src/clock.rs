//! Time as pinline sees it. Everything that compares against "now" (token expiry, leases,
//! schedules, webhook retries) asks a [`Clock`], so tests can move time in milliseconds instead of
//! sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in unix milliseconds.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the unix epoch.
    fn now_ms(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64)
    }
}

/// Real time plus an offset that tests advance: time still flows (so deadlines and timeouts
/// behave), but a test can jump over a 30-day token lifetime at once.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset_ms: Arc<AtomicI64>,
}

impl OffsetClock {
    /// A clock that starts at real time.
    pub fn new() -> OffsetClock {
        OffsetClock::default()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(Ordering::SeqCst)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_clock_jumps_forward_for_every_clone() {
        let clock = OffsetClock::new();
        let clone = clock.clone();
        let before = clone.now_ms();
        clock.advance(Duration::from_secs(30 * 24 * 3600));
        assert!(clone.now_ms() - before >= 30 * 24 * 3600 * 1000);
    }
}
