//! When to try a failed delivery again: exponential backoff with full jitter.
//!
//! A ten-line pure function rather than the `backon` crate: `backon` drives the retry loop
//! itself (sleeping in-process), whereas here the "loop" is durable — the next attempt time is
//! written to the database and any replica may pick it up, possibly after a restart — so only
//! the delay computation is needed, and it must take its randomness as an argument to be tested.

use std::time::Duration;

/// How deliveries are retried and how long one attempt may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a delivery is marked failed (the first attempt counts).
    pub max_attempts: u32,
    /// The cap of the first retry's delay; each later retry doubles the cap.
    pub base_delay: Duration,
    /// The largest cap any retry's delay can have.
    pub max_delay: Duration,
    /// How long one POST may take, connection included, before it counts as failed.
    pub request_timeout: Duration,
    /// After this many deliveries given up in a row, the webhook is disabled (its later
    /// deliveries wait until it is enabled again).
    pub disable_after: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(10),
            disable_after: 5,
        }
    }
}

impl RetryPolicy {
    /// The cap of the delay after failed attempt number `attempt` (1-based):
    /// `min(max_delay, base_delay × 2^(attempt − 1))`.
    pub fn delay_cap(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(30);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay after failed attempt number `attempt`, "full jitter": uniformly spread over
    /// `[0, cap]` by `unit` in `[0, 1)`, so receivers that fail together do not retry together.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        self.delay_cap(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_double_from_the_base_up_to_the_maximum() {
        let policy = RetryPolicy::default();
        let caps: Vec<u64> = (1..=10).map(|n| policy.delay_cap(n).as_secs()).collect();
        assert_eq!(caps, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        assert_eq!(policy.delay_cap(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn jitter_spreads_the_delay_below_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(3, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(3, 0.5), Duration::from_secs(20));
        assert!(policy.delay(3, 0.999_999) <= Duration::from_secs(40));
        assert_eq!(policy.delay(3, 7.0), Duration::from_secs(40));
    }
}
