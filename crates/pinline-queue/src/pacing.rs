//! Outbound pacing: how fast this process sends requests to Pinterest, per Pinterest user and
//! rate-limit category.
//!
//! Each `(user, category)` key has a GCRA (generic cell rate algorithm) bucket: a configured rate
//! and burst per category, so a steady stream is spread evenly instead of sent in bursts that
//! earn 429s. On top of the configured rate, Pinterest's answers correct the pacer through
//! [`Pacer::observe`]: when `x-ratelimit-remaining` reaches 0, nothing more is sent for that key
//! until `x-ratelimit-reset`; when a 429 carries `Retry-After`, nothing until then.
//!
//! Why not `governor`: its limiters read their own clock (`quanta` or a fake relative clock),
//! whereas everything else in pinline compares against one injectable [`Clock`] in unix
//! milliseconds, which tests move forward; and "blocked until this instant" from response headers
//! is not something a governor quota can express, so a second map would be needed anyway. A GCRA
//! is a few lines over one number per key, so the pacer keeps its own.
//!
//! Tools calling Pinterest through pinline's passthrough draw on the same buckets, through
//! [`Pacer::try_acquire_lent`]: every permit they take counts in the shared bucket (so the
//! publisher sees what they spent), and on top of that they have a bucket of their own at
//! `1 - reserved` of the rate, so the reserved part of every budget ([`Pacer::set_reserved`],
//! half by default) is never lent to them and stays for scheduled posts and refreshes.
//!
//! Pacing is per process. Replicas sharing one Pinterest app divide the budget between them: set
//! [`PacerSettings::share`] to `1 / replicas` (the 429 feedback above catches what a static share
//! misses). Cool-downs cross replicas: each block [`Pacer::observe`] sets is also kept for
//! [`Pacer::take_new_cooldowns`], which the server writes to the database, and the blocks other
//! replicas wrote come back through [`Pacer::apply_cooldown`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use pinline_core::clock::SharedClock;
use pinline_pinterest::RateLimitInfo;
use pinline_pinterest::facts::RateLimitCategory;

/// A rate: `requests` per `per`, with bursts of up to `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub requests: u32,
    pub per: Duration,
    pub burst: u32,
}

impl Rate {
    /// `requests` per second with a burst of one (evenly spaced).
    pub fn per_second(requests: u32) -> Rate {
        Rate {
            requests,
            per: Duration::from_secs(1),
            burst: 1,
        }
    }
}

/// How fast to go, per category.
#[derive(Debug, Clone)]
pub struct PacerSettings {
    /// The rate of each category that has one of its own.
    pub rates: HashMap<RateLimitCategory, Rate>,
    /// The rate of every other category.
    pub default_rate: Rate,
    /// This process's share of each rate, in (0, 1]: `1 / replicas`.
    pub share: f64,
}

impl Default for PacerSettings {
    /// Conservative defaults: 10 writes and 20 reads per second per user.
    fn default() -> Self {
        let mut rates = HashMap::new();
        rates.insert(RateLimitCategory::OrgWrite, Rate::per_second(10));
        rates.insert(RateLimitCategory::OrgRead, Rate::per_second(20));
        PacerSettings {
            rates,
            default_rate: Rate::per_second(10),
            share: 1.0,
        }
    }
}

impl PacerSettings {
    /// The least time between two requests of `category` for one user, after the share: what
    /// the queue waits before claiming an account's next post
    /// ([`crate::QueueSettings::account_spacing`]). Whole milliseconds, rounded down, so that
    /// the queue never holds an account back longer than its budget does.
    pub fn spacing(&self, category: RateLimitCategory) -> Duration {
        let rate = self
            .rates
            .get(&category)
            .copied()
            .unwrap_or(self.default_rate);
        let share = self.share.clamp(f64::MIN_POSITIVE, 1.0);
        let per = rate.per.as_micros() as f64 / f64::from(rate.requests.max(1)) / share;
        Duration::from_millis((per / 1000.0).floor() as u64)
    }
}

/// Microseconds, the pacer's unit (milliseconds are too coarse for 100 requests a second).
type Micros = i64;

#[derive(Debug, Default, Clone, Copy)]
struct KeyState {
    /// GCRA's theoretical arrival time of the next request.
    tat: Micros,
    /// Nothing may be sent before this (from `Retry-After` or an exhausted window).
    blocked_until: Micros,
    /// The theoretical arrival time of tools' next request, at their lent part of the rate.
    lent_tat: Micros,
    /// What the last response with rate-limit headers said, for the rate meter.
    observed: Option<Observed>,
}

/// What one response said about a key's window, as of when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// `x-ratelimit-limit`: the window's budget.
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining`: what was left of it.
    pub remaining: Option<u64>,
    /// When the window resets (`x-ratelimit-reset`), unix milliseconds.
    pub reset_at_ms: Option<i64>,
    /// When the response was read, unix milliseconds.
    pub at_ms: i64,
}

/// The pacer's view of one `(user, category)` key, read without taking a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceStatus {
    /// The configured rate of the category (before this process's share).
    pub rate: Rate,
    /// This process's share of it.
    pub share: f64,
    /// The least time between two requests of this process, after the share.
    pub interval: Duration,
    /// When the next request may go, unix milliseconds (now when it may go now).
    pub next_free_at_ms: i64,
    /// Nothing is sent before this because of a `Retry-After` or an exhausted window, unix
    /// milliseconds; None when nothing blocks.
    pub blocked_until_ms: Option<i64>,
    /// What the last response said, if one carried rate-limit headers.
    pub observed: Option<Observed>,
}

/// The part of each budget kept from tools unless set otherwise: half.
pub const DEFAULT_RESERVED: f64 = 0.5;

/// Per-process pacing for outbound Pinterest requests; see the module doc.
#[derive(Debug)]
pub struct Pacer {
    settings: PacerSettings,
    clock: SharedClock,
    keys: Mutex<HashMap<(String, RateLimitCategory), KeyState>>,
    /// The reserved part of each rate, as `f64` bits (see [`Pacer::set_reserved`]).
    reserved: AtomicU64,
    /// Blocks observed here and not yet shared with other replicas: the latest end per key.
    new_cooldowns: Mutex<HashMap<(String, RateLimitCategory), i64>>,
}

/// A cool-down of one `(user, category)`: nothing is sent before `until_ms` (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooldown {
    pub user: String,
    pub category: RateLimitCategory,
    pub until_ms: i64,
}

impl Pacer {
    /// A pacer reading time from `clock`.
    pub fn new(settings: PacerSettings, clock: SharedClock) -> Pacer {
        Pacer {
            settings,
            clock,
            keys: Mutex::new(HashMap::new()),
            reserved: AtomicU64::new(DEFAULT_RESERVED.to_bits()),
            new_cooldowns: Mutex::new(HashMap::new()),
        }
    }

    /// The cool-downs observed by this process since the last call, to share with other
    /// replicas.
    pub fn take_new_cooldowns(&self) -> Vec<Cooldown> {
        std::mem::take(&mut *self.new_cooldowns.lock())
            .into_iter()
            .map(|((user, category), until_ms)| Cooldown {
                user,
                category,
                until_ms,
            })
            .collect()
    }

    /// Honours a cool-down another replica observed: nothing is sent for `(user, category)`
    /// before `until_ms`. Not shared again.
    pub fn apply_cooldown(&self, user: &str, category: RateLimitCategory, until_ms: i64) {
        let until = until_ms.saturating_mul(1000);
        if until <= self.now() {
            return;
        }
        let mut keys = self.keys.lock();
        let state = keys.entry((user.to_owned(), category)).or_default();
        state.blocked_until = state.blocked_until.max(until);
    }

    /// Keeps `reserved` (in [0, 1]) of every rate for scheduled posts and refreshes: tools get
    /// at most the rest ([`Pacer::try_acquire_lent`]).
    pub fn set_reserved(&self, reserved: f64) {
        let reserved = if reserved.is_finite() {
            reserved.clamp(0.0, 1.0)
        } else {
            DEFAULT_RESERVED
        };
        self.reserved.store(reserved.to_bits(), Ordering::Relaxed);
    }

    /// The reserved part of every rate.
    pub fn reserved(&self) -> f64 {
        f64::from_bits(self.reserved.load(Ordering::Relaxed))
    }

    fn now(&self) -> Micros {
        self.clock.now_ms().saturating_mul(1000)
    }

    /// Emission interval and burst tolerance of a category, after the share.
    fn limits(&self, category: RateLimitCategory) -> (Micros, Micros) {
        let rate = self
            .settings
            .rates
            .get(&category)
            .copied()
            .unwrap_or(self.settings.default_rate);
        let share = self.settings.share.clamp(f64::MIN_POSITIVE, 1.0);
        let per = rate.per.as_micros() as f64;
        let interval = (per / f64::from(rate.requests.max(1)) / share).ceil() as Micros;
        let tolerance = interval.saturating_mul(Micros::from(rate.burst.max(1) - 1));
        (interval.max(1), tolerance)
    }

    fn wait(&self, state: &KeyState, category: RateLimitCategory, now: Micros) -> Micros {
        let (_, tolerance) = self.limits(category);
        let ready_at = (state.tat - tolerance).max(state.blocked_until);
        (ready_at - now).max(0)
    }

    /// How long until a request for `(user, category)` may go; zero when it may go now.
    pub fn until_ready(&self, user: &str, category: RateLimitCategory) -> Duration {
        let now = self.now();
        let keys = self.keys.lock();
        let state = keys
            .get(&(user.to_owned(), category))
            .copied()
            .unwrap_or_default();
        micros(self.wait(&state, category, now))
    }

    /// The settings the pacer was built with.
    pub fn settings(&self) -> &PacerSettings {
        &self.settings
    }

    /// What the pacer knows of `(user, category)`, read without taking a slot.
    pub fn status(&self, user: &str, category: RateLimitCategory) -> PaceStatus {
        let now = self.now();
        let state = self
            .keys
            .lock()
            .get(&(user.to_owned(), category))
            .copied()
            .unwrap_or_default();
        let (interval, _) = self.limits(category);
        let wait = self.wait(&state, category, now);
        PaceStatus {
            rate: self
                .settings
                .rates
                .get(&category)
                .copied()
                .unwrap_or(self.settings.default_rate),
            share: self.settings.share.clamp(f64::MIN_POSITIVE, 1.0),
            interval: micros(interval),
            next_free_at_ms: (now + wait).div_euclid(1000),
            blocked_until_ms: (state.blocked_until > now)
                .then(|| state.blocked_until.div_euclid(1000)),
            observed: state.observed,
        }
    }

    /// Takes a slot for a request now if one is free; otherwise says how long to wait.
    pub fn try_acquire(&self, user: &str, category: RateLimitCategory) -> Result<(), Duration> {
        let now = self.now();
        let (interval, _) = self.limits(category);
        let mut keys = self.keys.lock();
        let state = keys.entry((user.to_owned(), category)).or_default();
        let wait = self.wait(state, category, now);
        if wait > 0 {
            return Err(micros(wait));
        }
        state.tat = state.tat.max(now) + interval;
        Ok(())
    }

    /// Takes a slot for a tool's request now if one is free both in the shared bucket and in the
    /// part lent to tools; otherwise says how long to wait. Never waits itself.
    pub fn try_acquire_lent(
        &self,
        user: &str,
        category: RateLimitCategory,
    ) -> Result<(), Duration> {
        let now = self.now();
        let (interval, tolerance) = self.limits(category);
        let lent = 1.0 - self.reserved();
        if lent <= 0.0 {
            // Nothing is lent: a tool has no budget here at all.
            return Err(Duration::from_secs(60));
        }
        let lent_interval = (interval as f64 / lent).ceil() as Micros;
        let lent_tolerance = (tolerance as f64 / lent).ceil() as Micros;
        let mut keys = self.keys.lock();
        let state = keys.entry((user.to_owned(), category)).or_default();
        let shared_wait = self.wait(state, category, now);
        let lent_wait = (state.lent_tat - lent_tolerance - now).max(0);
        let wait = shared_wait.max(lent_wait);
        if wait > 0 {
            return Err(micros(wait));
        }
        state.tat = state.tat.max(now) + interval;
        state.lent_tat = state.lent_tat.max(now) + lent_interval;
        Ok(())
    }

    /// Waits (in real time) until a request for `(user, category)` may go, and takes its slot.
    pub async fn acquire(&self, user: &str, category: RateLimitCategory) {
        while let Err(wait) = self.try_acquire(user, category) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Like [`Pacer::acquire`], but gives up as soon as the wait would exceed `max_wait` (a
    /// `Retry-After` or an exhausted window observed meanwhile) and returns that wait.
    pub async fn acquire_within(
        &self,
        user: &str,
        category: RateLimitCategory,
        max_wait: Duration,
    ) -> Result<(), Duration> {
        loop {
            match self.try_acquire(user, category) {
                Ok(()) => return Ok(()),
                Err(wait) if wait > max_wait => return Err(wait),
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Corrects the pacing of `(user, category)` from what a response said. The response's own
    /// category header wins over `category` (the operation's expected category) when present.
    pub fn observe(&self, user: &str, category: RateLimitCategory, info: &RateLimitInfo) {
        let now = self.now();
        let category = info.category.unwrap_or(category);
        let mut blocked_until = None;
        if let Some(retry_after) = info.retry_after() {
            blocked_until = Some(now + retry_after.as_micros() as Micros);
        }
        if info.is_exhausted()
            && let Some(reset) = info.reset_after
        {
            let reset_at = now + reset.as_micros() as Micros;
            blocked_until = Some(blocked_until.map_or(reset_at, |at: Micros| at.max(reset_at)));
        }
        let seen = info.limit.is_some() || info.remaining.is_some() || info.reset_after.is_some();
        if blocked_until.is_none() && !seen {
            return;
        }
        let mut keys = self.keys.lock();
        let state = keys.entry((user.to_owned(), category)).or_default();
        if let Some(until) = blocked_until {
            if until > state.blocked_until {
                let until_ms = until.div_euclid(1000) + 1;
                let mut shared = self.new_cooldowns.lock();
                let end = shared.entry((user.to_owned(), category)).or_default();
                *end = (*end).max(until_ms);
            }
            state.blocked_until = state.blocked_until.max(until);
        }
        if seen {
            state.observed = Some(Observed {
                limit: info.limit,
                remaining: info.remaining,
                reset_at_ms: info
                    .reset_after
                    .map(|reset| (now + reset.as_micros() as Micros).div_euclid(1000)),
                at_ms: now.div_euclid(1000),
            });
        }
    }
}

fn micros(value: Micros) -> Duration {
    Duration::from_micros(value.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pinline_core::clock::{Clock, OffsetClock};

    use super::*;

    /// A clock that only moves when told (an `OffsetClock` also follows real time).
    #[derive(Debug, Default)]
    struct ManualClock(std::sync::atomic::AtomicI64);

    impl ManualClock {
        fn advance_ms(&self, ms: i64) {
            self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now_ms(&self) -> i64 {
            1_700_000_000_000 + self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    fn pacer(rate: Rate, share: f64) -> (Pacer, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        let settings = PacerSettings {
            rates: HashMap::from([(RateLimitCategory::OrgWrite, rate)]),
            default_rate: Rate::per_second(1),
            share,
        };
        (Pacer::new(settings, clock.clone()), clock)
    }

    const WRITE: RateLimitCategory = RateLimitCategory::OrgWrite;

    #[test]
    fn requests_are_spaced_by_the_rate() {
        let (pacer, clock) = pacer(Rate::per_second(10), 1.0);
        assert_eq!(pacer.try_acquire("u1", WRITE), Ok(()));
        assert_eq!(
            pacer.try_acquire("u1", WRITE),
            Err(Duration::from_millis(100))
        );
        // Another user and another category have budgets of their own.
        assert_eq!(pacer.try_acquire("u2", WRITE), Ok(()));
        assert_eq!(pacer.try_acquire("u1", RateLimitCategory::OrgRead), Ok(()));
        clock.advance_ms(100);
        assert_eq!(pacer.until_ready("u1", WRITE), Duration::ZERO);
        assert_eq!(pacer.try_acquire("u1", WRITE), Ok(()));
    }

    #[test]
    fn a_burst_goes_at_once_then_the_rate_applies() {
        let rate = Rate {
            requests: 5,
            per: Duration::from_secs(1),
            burst: 3,
        };
        let (pacer, clock) = pacer(rate, 1.0);
        for _ in 0..3 {
            assert_eq!(pacer.try_acquire("u", WRITE), Ok(()));
        }
        assert_eq!(
            pacer.try_acquire("u", WRITE),
            Err(Duration::from_millis(200))
        );
        clock.advance_ms(200);
        assert_eq!(pacer.try_acquire("u", WRITE), Ok(()));
        assert!(pacer.try_acquire("u", WRITE).is_err());
    }

    #[test]
    fn a_share_divides_the_rate() {
        let (pacer, _clock) = pacer(Rate::per_second(10), 0.5);
        assert_eq!(pacer.try_acquire("u", WRITE), Ok(()));
        assert_eq!(
            pacer.try_acquire("u", WRITE),
            Err(Duration::from_millis(200))
        );
    }

    #[test]
    fn retry_after_blocks_the_key_until_then() {
        let (pacer, clock) = pacer(Rate::per_second(100), 1.0);
        let info = RateLimitInfo {
            retry_after: Some(Duration::from_secs(7)),
            ..RateLimitInfo::default()
        };
        pacer.observe("u", WRITE, &info);
        assert_eq!(pacer.until_ready("u", WRITE), Duration::from_secs(7));
        assert_eq!(pacer.until_ready("other", WRITE), Duration::ZERO);
        clock.advance_ms(7_000);
        assert_eq!(pacer.try_acquire("u", WRITE), Ok(()));
    }

    #[test]
    fn an_exhausted_window_blocks_until_its_reset_and_the_header_category_wins() {
        let (pacer, _clock) = pacer(Rate::per_second(100), 1.0);
        let info = RateLimitInfo {
            category: Some(RateLimitCategory::OrgRead),
            remaining: Some(0),
            reset_after: Some(Duration::from_secs(30)),
            ..RateLimitInfo::default()
        };
        pacer.observe("u", WRITE, &info);
        assert_eq!(
            pacer.until_ready("u", RateLimitCategory::OrgRead),
            Duration::from_secs(30)
        );
        assert_eq!(pacer.until_ready("u", WRITE), Duration::ZERO);
        // Budget left: the reset is not a reason to wait.
        let info = RateLimitInfo {
            remaining: Some(3),
            reset_after: Some(Duration::from_secs(86_400)),
            ..RateLimitInfo::default()
        };
        pacer.observe("u", WRITE, &info);
        assert_eq!(pacer.until_ready("u", WRITE), Duration::ZERO);
    }

    #[test]
    fn tools_get_the_lent_part_and_count_in_the_shared_bucket() {
        let (pacer, clock) = pacer(Rate::per_second(10), 1.0);
        pacer.set_reserved(0.5);
        assert_eq!(pacer.try_acquire_lent("u", WRITE), Ok(()));
        // The tool's next slot is two intervals away (it has half the rate)...
        assert_eq!(
            pacer.try_acquire_lent("u", WRITE),
            Err(Duration::from_millis(200))
        );
        clock.advance_ms(100);
        // ...while the publisher's comes after one, its permit counted the tool's.
        assert_eq!(pacer.try_acquire("u", WRITE), Ok(()));
        assert!(pacer.try_acquire_lent("u", WRITE).is_err());
        clock.advance_ms(100);
        assert_eq!(pacer.try_acquire_lent("u", WRITE), Ok(()));
        // Nothing lent: tools are refused, the publisher is not.
        pacer.set_reserved(1.0);
        clock.advance_ms(1_000);
        assert!(pacer.try_acquire_lent("u", WRITE).is_err());
        assert_eq!(pacer.try_acquire("u", WRITE), Ok(()));
    }

    #[tokio::test]
    async fn acquire_within_gives_up_on_a_long_block() {
        let (pacer, _clock) = pacer(Rate::per_second(100), 1.0);
        let info = RateLimitInfo {
            retry_after: Some(Duration::from_secs(30)),
            ..RateLimitInfo::default()
        };
        pacer.observe("u", WRITE, &info);
        assert_eq!(
            pacer
                .acquire_within("u", WRITE, Duration::from_secs(5))
                .await,
            Err(Duration::from_secs(30))
        );
        assert_eq!(
            pacer
                .acquire_within("other", WRITE, Duration::from_secs(5))
                .await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn acquire_waits_in_real_time() {
        let settings = PacerSettings {
            rates: HashMap::from([(WRITE, Rate::per_second(50))]),
            ..PacerSettings::default()
        };
        let pacer = Pacer::new(settings, Arc::new(OffsetClock::new()));
        let started = std::time::Instant::now();
        for _ in 0..3 {
            pacer.acquire("u", WRITE).await;
        }
        assert!(
            started.elapsed() >= Duration::from_millis(38),
            "{:?}",
            started.elapsed()
        );
    }
}
