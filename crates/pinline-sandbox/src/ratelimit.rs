//! Per-user, per-category rate limits with GCRA (the generic cell rate algorithm), on the real
//! monotonic clock.
//!
//! GCRA keeps one "theoretical arrival time" per key, allows a burst of `count` and then exactly
//! one request per `per / count`, so a client pacing at the configured rate never sees a 429 while
//! a client that bursts past it does. It does not use the sandbox clock: clients pace in real
//! time, and moving the token clock forward must not refill budgets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pinline_pinterest::facts::RateLimitCategory;

use crate::config::Rate;
use crate::state::Id;

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The category is not limited.
    Unlimited,
    /// Allowed; `remaining` more requests fit in the current burst.
    Allowed { limit: u32, remaining: u32 },
    /// Refused; try again after `retry_after`.
    Limited {
        limit: u32,
        retry_after: Duration,
        reset: Duration,
    },
}

/// All limits of one sandbox.
#[derive(Debug)]
pub struct RateLimiter {
    rates: HashMap<RateLimitCategory, Rate>,
    arrivals: Mutex<HashMap<(Id, RateLimitCategory), Instant>>,
}

impl RateLimiter {
    pub fn new(rates: &[(RateLimitCategory, Rate)]) -> Self {
        RateLimiter {
            rates: rates.iter().copied().collect(),
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every budget (used by `/_sandbox/reset`).
    pub fn clear(&self) {
        self.arrivals.lock().clear();
    }

    /// Counts one request of `user` in `category` at `now`.
    pub fn check(&self, user: Id, category: RateLimitCategory, now: Instant) -> Decision {
        let Some(rate) = self.rates.get(&category) else {
            return Decision::Unlimited;
        };
        let interval = rate.per / rate.count;
        // Burst tolerance: a full bucket admits `count` requests at once.
        let tolerance = rate.per.saturating_sub(interval);
        let mut arrivals = self.arrivals.lock();
        let tat = arrivals
            .get(&(user, category))
            .copied()
            .unwrap_or(now)
            .max(now);
        let earliest = tat.checked_sub(tolerance).unwrap_or(now);
        if now < earliest {
            return Decision::Limited {
                limit: rate.count,
                retry_after: earliest - now,
                reset: tat - now,
            };
        }
        let new_tat = tat + interval;
        arrivals.insert((user, category), new_tat);
        let used = new_tat - now;
        let free = rate.per.saturating_sub(used);
        let remaining = (free.as_nanos() / interval.as_nanos().max(1)) as u32;
        Decision::Allowed {
            limit: rate.count,
            remaining: remaining.min(rate.count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(count: u32, per_secs: u64) -> RateLimiter {
        RateLimiter::new(&[(
            RateLimitCategory::OrgWrite,
            Rate {
                count,
                per: Duration::from_secs(per_secs),
            },
        )])
    }

    #[test]
    fn burst_of_count_then_limited() {
        let limiter = limiter(5, 1);
        let now = Instant::now();
        for expected_remaining in (0..5).rev() {
            assert_eq!(
                limiter.check(1, RateLimitCategory::OrgWrite, now),
                Decision::Allowed {
                    limit: 5,
                    remaining: expected_remaining
                }
            );
        }
        match limiter.check(1, RateLimitCategory::OrgWrite, now) {
            Decision::Limited { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_millis(200));
            }
            other => panic!("expected a limit, got {other:?}"),
        }
        // Other users and categories have their own budgets.
        assert!(matches!(
            limiter.check(2, RateLimitCategory::OrgWrite, now),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            limiter.check(1, RateLimitCategory::OrgRead, now),
            Decision::Unlimited
        );
    }

    #[test]
    fn pacing_at_the_rate_is_never_limited() {
        let limiter = limiter(10, 1);
        let start = Instant::now();
        for i in 0..1000u32 {
            let at = start + Duration::from_millis(100) * i;
            assert!(
                matches!(
                    limiter.check(1, RateLimitCategory::OrgWrite, at),
                    Decision::Allowed { .. }
                ),
                "request {i} was limited"
            );
        }
    }
}
