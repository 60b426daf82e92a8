//! Per-user rate limits with GCRA (the generic cell rate algorithm), on the real monotonic clock:
//! one budget per user per category, and optionally Pinterest's universal budget per user that
//! every request spends whatever its category.
//!
//! GCRA keeps one "theoretical arrival time" per budget, allows a burst of `count` and then
//! exactly one request per `per / count`, so a client pacing at the configured rate never sees a
//! 429 while a client that bursts past it does. It does not use the sandbox clock: clients pace in
//! real time, and moving the token clock forward must not refill budgets.
//!
//! A request spends every budget that applies to it or none: one refused by the universal limit
//! has not used its category's budget, and the other way round, as a refused request did nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pinline_pinterest::facts::RateLimitCategory;

use crate::config::Rate;
use crate::state::Id;

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No limit applies to the request.
    Unlimited,
    /// Allowed; `remaining` more requests fit in the current burst of the tightest budget.
    Allowed { limit: u32, remaining: u32 },
    /// Refused; try again after `retry_after`.
    Limited {
        limit: u32,
        retry_after: Duration,
        reset: Duration,
    },
}

/// Which budget of a user a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Budget {
    Category(RateLimitCategory),
    /// Pinterest's limit across all requests of a user.
    Universal,
}

/// All limits of one sandbox.
#[derive(Debug)]
pub struct RateLimiter {
    rates: HashMap<RateLimitCategory, Rate>,
    universal: Option<Rate>,
    arrivals: Mutex<HashMap<(Id, Budget), Instant>>,
}

/// One budget's answer, before anything is spent.
enum Verdict {
    Admit {
        next_arrival: Instant,
        remaining: u32,
    },
    Refuse {
        retry_after: Duration,
        reset: Duration,
    },
}

/// GCRA for one budget whose theoretical arrival time is `tat` (None: never used).
fn verdict(rate: Rate, tat: Option<Instant>, now: Instant) -> Verdict {
    let interval = rate.per / rate.count;
    // Burst tolerance: a full bucket admits `count` requests at once.
    let tolerance = rate.per.saturating_sub(interval);
    let tat = tat.unwrap_or(now).max(now);
    let earliest = tat.checked_sub(tolerance).unwrap_or(now);
    if now < earliest {
        return Verdict::Refuse {
            retry_after: earliest - now,
            reset: tat - now,
        };
    }
    let next_arrival = tat + interval;
    let free = rate.per.saturating_sub(next_arrival - now);
    let remaining = (free.as_nanos() / interval.as_nanos().max(1)) as u32;
    Verdict::Admit {
        next_arrival,
        remaining: remaining.min(rate.count),
    }
}

impl RateLimiter {
    pub fn new(rates: &[(RateLimitCategory, Rate)], universal: Option<Rate>) -> Self {
        RateLimiter {
            rates: rates.iter().copied().collect(),
            universal,
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every budget (used by `/_sandbox/reset`).
    pub fn clear(&self) {
        self.arrivals.lock().clear();
    }

    /// Counts one request of `user` in `category` at `now` against every budget it spends.
    pub fn check(&self, user: Id, category: RateLimitCategory, now: Instant) -> Decision {
        let budgets = [
            self.rates
                .get(&category)
                .map(|rate| (Budget::Category(category), *rate)),
            self.universal.map(|rate| (Budget::Universal, rate)),
        ];
        if budgets.iter().all(Option::is_none) {
            return Decision::Unlimited;
        }
        let mut arrivals = self.arrivals.lock();
        let verdicts = budgets.map(|budget| {
            budget.map(|(budget, rate)| {
                let tat = arrivals.get(&(user, budget)).copied();
                (budget, rate, verdict(rate, tat, now))
            })
        });
        // Refused by any budget: report the one that frees up last, and spend nothing.
        let refused = verdicts
            .iter()
            .flatten()
            .filter_map(|(_, rate, verdict)| match verdict {
                Verdict::Refuse { retry_after, reset } => Some(Decision::Limited {
                    limit: rate.count,
                    retry_after: *retry_after,
                    reset: *reset,
                }),
                Verdict::Admit { .. } => None,
            })
            .max_by_key(|decision| match decision {
                Decision::Limited { retry_after, .. } => *retry_after,
                _ => Duration::ZERO,
            });
        if let Some(refused) = refused {
            return refused;
        }
        // Admitted by all: spend each, and report the tightest, the one a client paces by.
        let mut tightest = None;
        for (budget, rate, verdict) in verdicts.into_iter().flatten() {
            if let Verdict::Admit {
                next_arrival,
                remaining,
            } = verdict
            {
                arrivals.insert((user, budget), next_arrival);
                if tightest.is_none_or(|(_, least)| remaining < least) {
                    tightest = Some((rate.count, remaining));
                }
            }
        }
        match tightest {
            Some((limit, remaining)) => Decision::Allowed { limit, remaining },
            None => Decision::Unlimited,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(count: u32, per_secs: u64) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(per_secs),
        }
    }

    fn limiter(count: u32, per_secs: u64) -> RateLimiter {
        RateLimiter::new(
            &[(RateLimitCategory::OrgWrite, rate(count, per_secs))],
            None,
        )
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

    #[test]
    fn the_universal_budget_spans_categories() {
        let limiter = RateLimiter::new(
            &[(RateLimitCategory::OrgWrite, rate(10, 1))],
            Some(rate(3, 1)),
        );
        let now = Instant::now();
        // The universal budget is the tighter one, so it is what the headers report.
        assert_eq!(
            limiter.check(1, RateLimitCategory::OrgRead, now),
            Decision::Allowed {
                limit: 3,
                remaining: 2
            }
        );
        assert_eq!(
            limiter.check(1, RateLimitCategory::OrgWrite, now),
            Decision::Allowed {
                limit: 3,
                remaining: 1
            }
        );
        assert!(matches!(
            limiter.check(1, RateLimitCategory::OrgAnalytics, now),
            Decision::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            limiter.check(1, RateLimitCategory::OrgWrite, now),
            Decision::Limited { limit: 3, .. }
        ));
        // Another user has a budget of their own.
        assert!(matches!(
            limiter.check(2, RateLimitCategory::OrgRead, now),
            Decision::Allowed { limit: 3, .. }
        ));
    }

    #[test]
    fn a_refused_request_spends_no_budget() {
        // A write budget of 2 a minute under a universal 3 a minute: writes refused by the
        // category leave the universal budget for reads.
        let limiter = RateLimiter::new(
            &[(RateLimitCategory::OrgWrite, rate(2, 60))],
            Some(rate(3, 60)),
        );
        let now = Instant::now();
        for _ in 0..2 {
            assert!(matches!(
                limiter.check(1, RateLimitCategory::OrgWrite, now),
                Decision::Allowed { .. }
            ));
        }
        for _ in 0..5 {
            assert!(matches!(
                limiter.check(1, RateLimitCategory::OrgWrite, now),
                Decision::Limited { limit: 2, .. }
            ));
        }
        assert_eq!(
            limiter.check(1, RateLimitCategory::OrgRead, now),
            Decision::Allowed {
                limit: 3,
                remaining: 0
            }
        );
        assert!(matches!(
            limiter.check(1, RateLimitCategory::OrgRead, now),
            Decision::Limited { limit: 3, .. }
        ));
    }

    #[test]
    fn without_any_limit_nothing_is_counted() {
        let limiter = RateLimiter::new(&[], None);
        assert_eq!(
            limiter.check(1, RateLimitCategory::OrgWrite, Instant::now()),
            Decision::Unlimited
        );
        assert!(limiter.arrivals.lock().is_empty());
    }
}
