//! What the publisher counts for Prometheus: finished attempts by outcome and class, how late
//! posts went live (from the time they were due to the completion), claims and their duration,
//! posts sent back to the queue because their account's Pinterest budget was spent, and the
//! 429s Pinterest answered. Counted where they happen, with atomics, so a scrape reads them
//! without touching the database; labels are small closed sets (never an account or post id).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pinline_pinterest::ErrorClass;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::worker::Outcome;

/// How an attempt ended, as a label.
fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Published => "published",
        Outcome::Adopted => "adopted",
        Outcome::Retry => "retry",
        Outcome::Unknown => "unknown",
        Outcome::Failed => "failed",
        Outcome::Held => "held",
        Outcome::FencedOut => "fenced_out",
        Outcome::Error => "error",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    outcome: &'static str,
    /// The error class, or `none` for a published post.
    class: &'static str,
}

/// What this process's publisher did since it started, for people (the dashboard).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AttemptTotals {
    /// Published or adopted.
    pub published: u64,
    pub failed: u64,
    pub held: u64,
    /// Sent back to the queue for another attempt (transient errors, 429s, unknown outcomes).
    pub retried: u64,
    /// The mean schedule lag of the published posts, seconds (`None` before the first).
    pub mean_lag_secs: Option<f64>,
}

/// The publisher's metrics (cheap to clone: every field shares its atomics).
#[derive(Debug, Clone)]
pub struct PublisherMetrics {
    attempts: Family<AttemptLabels, Counter>,
    lag: Histogram,
    claims: Counter,
    claimed_posts: Counter,
    claim_duration: Histogram,
    budget_deferrals: Counter,
    rate_limited: Counter,
    /// Published posts and their summed lag in ms, for the mean the dashboard shows (the
    /// histogram keeps its own count and sum for Prometheus but does not hand them out).
    lag_totals: Arc<(AtomicU64, AtomicU64)>,
}

/// Lag buckets, seconds: the goal is under a second, and minutes late is an incident.
const LAG_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
];

/// Claim duration buckets, seconds.
const CLAIM_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

impl Default for PublisherMetrics {
    fn default() -> Self {
        PublisherMetrics {
            attempts: Family::default(),
            lag: Histogram::new(LAG_BUCKETS),
            claims: Counter::default(),
            claimed_posts: Counter::default(),
            claim_duration: Histogram::new(CLAIM_BUCKETS),
            budget_deferrals: Counter::default(),
            rate_limited: Counter::default(),
            lag_totals: Arc::default(),
        }
    }
}

impl PublisherMetrics {
    /// Adds every metric to `registry` (prefix the registry with `pinline`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "post_attempts",
            "Finished publishing attempts, by outcome and error class",
            self.attempts.clone(),
        );
        // Histograms carry their unit in the name only: a `# UNIT` line on a histogram is
        // refused by strict OpenMetrics parsers.
        registry.register(
            "schedule_lag_seconds",
            "From the time a post was due (its publish_at, or its acceptance) to its pin being recorded",
            self.lag.clone(),
        );
        registry.register("claims", "Claims of due posts", self.claims.clone());
        registry.register(
            "claimed_posts",
            "Posts taken by claims",
            self.claimed_posts.clone(),
        );
        registry.register(
            "claim_duration_seconds",
            "How long a claim of due posts took",
            self.claim_duration.clone(),
        );
        registry.register(
            "budget_deferrals",
            "Posts put back in the queue because their account's Pinterest rate budget was spent",
            self.budget_deferrals.clone(),
        );
        registry.register(
            "pinterest_rate_limited",
            "Answers 429 from Pinterest to a publishing attempt",
            self.rate_limited.clone(),
        );
    }

    /// A finished attempt.
    pub fn attempt(&self, outcome: Outcome, class: Option<ErrorClass>) {
        self.attempts
            .get_or_create(&AttemptLabels {
                outcome: outcome_label(outcome),
                class: class.map_or("none", ErrorClass::as_str),
            })
            .inc();
    }

    /// Pinterest answered 429.
    pub fn pinterest_rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// Totals since the process started.
    pub fn totals(&self) -> AttemptTotals {
        let classes = ErrorClass::ALL
            .iter()
            .map(|class| class.as_str())
            .chain(std::iter::once("none"));
        let count = |outcome: Outcome| -> u64 {
            classes
                .clone()
                .map(|class| {
                    let labels = AttemptLabels {
                        outcome: outcome_label(outcome),
                        class,
                    };
                    // Reading never creates a series that was not counted.
                    self.attempts
                        .get(&labels)
                        .map_or(0, |counter| counter.get())
                })
                .sum()
        };
        let mut totals = AttemptTotals {
            published: count(Outcome::Published) + count(Outcome::Adopted),
            failed: count(Outcome::Failed),
            held: count(Outcome::Held),
            retried: count(Outcome::Retry) + count(Outcome::Unknown),
            mean_lag_secs: None,
        };
        let (count, sum_ms) = (
            self.lag_totals.0.load(Ordering::Relaxed),
            self.lag_totals.1.load(Ordering::Relaxed),
        );
        totals.mean_lag_secs = (count > 0).then(|| sum_ms as f64 / 1000.0 / count as f64);
        totals
    }

    /// A post went live `lag_ms` after it was due.
    pub fn published(&self, lag_ms: i64) {
        let lag_ms = lag_ms.max(0);
        self.lag.observe(lag_ms as f64 / 1000.0);
        self.lag_totals.0.fetch_add(1, Ordering::Relaxed);
        self.lag_totals
            .1
            .fetch_add(u64::try_from(lag_ms).unwrap_or(0), Ordering::Relaxed);
    }

    /// A claim that took `posts` in `took`.
    pub fn claim(&self, posts: usize, took: Duration) {
        self.claims.inc();
        self.claimed_posts.inc_by(posts as u64);
        self.claim_duration.observe(took.as_secs_f64());
    }

    /// A post sent back to the queue to wait for its account's budget (not a 429).
    pub fn budget_deferral(&self) {
        self.budget_deferrals.inc();
    }
}
