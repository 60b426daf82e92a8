//! When to try a post again: exponential backoff with full jitter, capped, for a bounded number
//! of attempts, and never sooner than Pinterest's `Retry-After`.
//!
//! Two things are deliberately *not* inputs here. `x-ratelimit-reset` is not a retry hint: it may
//! describe a daily window, and a post must not sleep for a day because of it (the
//! [`Pacer`](crate::pacing::Pacer) holds requests back until the reset instead, while the post
//! keeps its place in the queue). And the error class is decided by
//! [`classify`](crate::classify): validation errors never reach a retry at all.
//!
//! Everything here is a pure function of its inputs; the randomness of the jitter is a number in
//! `[0, 1)` passed in by the caller, so the bounds are testable.

use std::time::Duration;

/// How a post is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The backoff ceiling after the first attempt; it doubles with each attempt after that.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
    /// Attempts in total (the first one included) before a post fails for good.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 2 s doubling to 15 minutes, 8 attempts in all: about an hour of trying at most.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The backoff ceiling after `attempts` attempts: `min(cap, base · 2^(attempts − 1))`.
    pub fn ceiling(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let ceiling = u32::try_from(factor)
            .ok()
            .and_then(|factor| self.base.checked_mul(factor))
            .unwrap_or(self.cap);
        ceiling.min(self.cap)
    }

    /// The full-jitter backoff after `attempts` attempts: `ceiling · jitter`, where `jitter` is
    /// uniform in `[0, 1)` (values outside are clamped).
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.ceiling(attempts).mul_f64(jitter)
    }

    /// How long to wait before the next attempt, after `attempts` attempts; `None` when they
    /// are used up. A `Retry-After` from Pinterest is a floor: the wait is never shorter.
    pub fn next_delay(
        &self,
        attempts: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let backoff = self.backoff(attempts, jitter);
        Some(retry_after.map_or(backoff, |floor| backoff.max(floor)))
    }
}

/// A jitter value from the thread's random generator, for callers outside tests.
pub fn random_jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_attempts: 6,
        }
    }

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let policy = policy();
        let ceilings: Vec<u64> = (1..=7).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(policy.ceiling(0), Duration::from_secs(2));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn attempts_run_out() {
        let policy = policy();
        assert!(policy.next_delay(5, None, 0.5).is_some());
        assert_eq!(policy.next_delay(6, None, 0.5), None);
        assert_eq!(
            policy.next_delay(6, Some(Duration::from_secs(1)), 0.5),
            None
        );
    }

    #[test]
    fn retry_after_is_a_floor_not_a_ceiling() {
        let policy = policy();
        let after = Some(Duration::from_secs(30));
        assert_eq!(
            policy.next_delay(1, after, 0.0),
            Some(Duration::from_secs(30))
        );
        // A long Retry-After is honoured even beyond the cap.
        let long = Some(Duration::from_secs(600));
        assert_eq!(
            policy.next_delay(1, long, 0.9),
            Some(Duration::from_secs(600))
        );
    }

    /// A property test over random inputs (fixed seed, so failures reproduce): every delay lies
    /// within `[retry_after, max(retry_after, ceiling)]`, the ceiling never exceeds the cap, and
    /// bad jitter values cannot produce a delay outside the bounds.
    #[test]
    fn delays_stay_within_their_bounds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let policy = RetryPolicy {
                base: Duration::from_millis(rng.random_range(1..10_000)),
                cap: Duration::from_millis(rng.random_range(1..10_000_000)),
                max_attempts: rng.random_range(1..40),
            };
            let attempts = rng.random_range(0..80);
            let jitter = match rng.random_range(0..10) {
                0 => f64::NAN,
                1 => -1.0,
                2 => 7.0,
                _ => rng.random::<f64>(),
            };
            let retry_after = rng
                .random_bool(0.3)
                .then(|| Duration::from_millis(rng.random_range(0..3_600_000)));
            let ceiling = policy.ceiling(attempts);
            assert!(ceiling <= policy.cap);
            match policy.next_delay(attempts, retry_after, jitter) {
                None => assert!(attempts >= policy.max_attempts),
                Some(delay) => {
                    assert!(attempts < policy.max_attempts);
                    let floor = retry_after.unwrap_or_default();
                    assert!(delay >= floor, "{delay:?} < {floor:?}");
                    assert!(delay <= ceiling.max(floor), "{delay:?} > {ceiling:?}");
                }
            }
        }
    }
}
