//! `GET /v1/accounts/{id}/rate-meter`: what this process knows of an account's Pinterest budget
//! and what it means for the account's queue.
//!
//! Per rate-limit category pinline spends (`org_write` to publish, `org_read` to look for a pin a
//! lost create made, `org_analytics` for analytics): the configured rate and this process's share
//! of it, what Pinterest's last answer said (limit, remaining, reset), and when the pacer would
//! let the next request go. Then the queue: posts due now, in flight, scheduled and held, and when
//! the posts due now (and those waiting to be retried after a 429) are expected to be sent, from
//! the pacer's spacing of writes, its next free slot, the account's own hold-back and the
//! remaining budget Pinterest reported.
//!
//! Everything is read, nothing is taken: asking costs no slot and no call to Pinterest. The
//! pacer is per process, so with several replicas each answers for its own share.

use axum::Json;
use axum::extract::State;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_queue::PaceStatus;
use pinline_store::AccountBacklog;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, Id, rfc3339};
use crate::state::AppState;

/// The categories pinline spends, in the order shown.
const CATEGORIES: [RateLimitCategory; 3] = [
    RateLimitCategory::OrgWrite,
    RateLimitCategory::OrgRead,
    RateLimitCategory::OrgAnalytics,
];

/// A configured rate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfiguredRate {
    /// Requests allowed per `per_secs`.
    pub requests: u32,
    pub per_secs: f64,
    /// Requests that may go at once.
    pub burst: u32,
}

/// One category of an account's budget.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryMeter {
    /// The category's name, as in `x-ratelimit-category` (`org_write`, …).
    pub category: String,
    /// The rate pinline is configured to keep to.
    pub configured: ConfiguredRate,
    /// This process's share of the configured rate (`1 / replicas`).
    pub share: f64,
    /// The least time between two of this process's requests, after the share, in ms.
    pub interval_ms: f64,
    /// The window's budget as Pinterest last reported it (`x-ratelimit-limit`).
    pub observed_limit: Option<u64>,
    /// What was left of it (`x-ratelimit-remaining`).
    pub remaining: Option<u64>,
    /// When the window resets, as last reported.
    #[schema(format = DateTime)]
    pub reset_at: Option<String>,
    /// When that report was read.
    #[schema(format = DateTime)]
    pub observed_at: Option<String>,
    /// When the pacer lets the next request of this category go (now, when it may go now).
    #[schema(format = DateTime)]
    pub next_free_slot_at: String,
    /// Nothing of this category is sent before this (a `Retry-After`, an exhausted window).
    #[schema(format = DateTime)]
    pub blocked_until: Option<String>,
}

impl CategoryMeter {
    fn new(category: RateLimitCategory, status: &PaceStatus) -> CategoryMeter {
        let observed = status.observed;
        CategoryMeter {
            category: category.as_str().to_owned(),
            configured: ConfiguredRate {
                requests: status.rate.requests,
                per_secs: status.rate.per.as_secs_f64(),
                burst: status.rate.burst,
            },
            share: status.share,
            interval_ms: status.interval.as_secs_f64() * 1000.0,
            observed_limit: observed.and_then(|o| o.limit),
            remaining: observed.and_then(|o| o.remaining),
            reset_at: observed.and_then(|o| o.reset_at_ms).map(rfc3339),
            observed_at: observed.map(|o| rfc3339(o.at_ms)),
            next_free_slot_at: rfc3339(status.next_free_at_ms),
            blocked_until: status.blocked_until_ms.map(rfc3339),
        }
    }
}

/// The account's queue and when it drains.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueMeter {
    /// Queued posts whose time has come.
    pub due_now: i64,
    /// Posts being published.
    pub publishing: i64,
    /// Posts refused for the rate limit, waiting for budget to try again.
    pub waiting_for_budget: i64,
    /// Queued posts scheduled later.
    pub scheduled: i64,
    /// Posts held until the account is usable again.
    pub held: i64,
    /// When the earliest post scheduled later is due.
    #[schema(format = DateTime)]
    pub next_scheduled_at: Option<String>,
    /// No post of the account is taken before this (its budget was spent).
    #[schema(format = DateTime)]
    pub not_before: Option<String>,
    /// When the posts due now, in flight and waiting for budget are expected to have been sent;
    /// `null` when there are none.
    #[schema(format = DateTime)]
    pub expected_drain_at: Option<String>,
    /// The same, in seconds from now.
    pub expected_drain_secs: f64,
}

/// An account's rate meter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RateMeter {
    pub account_id: String,
    pub pinterest_user_id: String,
    /// When this was read.
    #[schema(format = DateTime)]
    pub at: String,
    pub categories: Vec<CategoryMeter>,
    pub queue: QueueMeter,
}

/// When `backlog` posts are expected to have been sent, from `now` (unix ms): the first at the
/// pacer's next free write slot (or when the account's hold-back ends, or `retries_from` when the
/// backlog waits for a retry after a 429), then one per write interval; and when Pinterest
/// reported fewer writes left in its window than the backlog, the rest after the window resets.
pub fn expected_drain_at(
    now: i64,
    backlog: i64,
    write: &PaceStatus,
    not_before: Option<i64>,
    retries_from: Option<i64>,
) -> Option<i64> {
    if backlog <= 0 {
        return None;
    }
    let interval_ms = write.interval.as_secs_f64() * 1000.0;
    let start = now
        .max(write.next_free_at_ms)
        .max(not_before.unwrap_or(now))
        .max(retries_from.unwrap_or(now));
    let paced = start as f64 + backlog as f64 * interval_ms;
    let windowed = write.observed.and_then(|observed| {
        let remaining = i64::try_from(observed.remaining?).ok()?;
        let reset_at = observed.reset_at_ms.filter(|at| *at > now)?;
        (remaining < backlog).then(|| reset_at as f64 + (backlog - remaining) as f64 * interval_ms)
    });
    Some(paced.max(windowed.unwrap_or(0.0)).ceil() as i64)
}

fn queue_meter(now: i64, backlog: &AccountBacklog, write: &PaceStatus) -> QueueMeter {
    // Posts due now go first; retries after a 429 cannot go before their time, so when they
    // are the whole backlog the drain starts then.
    let ready = backlog.due_now + backlog.publishing;
    let drain = expected_drain_at(
        now,
        ready + backlog.waiting_for_budget,
        write,
        backlog.not_before,
        if ready == 0 {
            backlog.next_retry_at
        } else {
            None
        },
    );
    QueueMeter {
        due_now: backlog.due_now,
        publishing: backlog.publishing,
        waiting_for_budget: backlog.waiting_for_budget,
        scheduled: backlog.scheduled,
        held: backlog.held,
        next_scheduled_at: backlog.next_scheduled_at.map(rfc3339),
        not_before: backlog.not_before.map(rfc3339),
        expected_drain_at: drain.map(rfc3339),
        expected_drain_secs: drain.map_or(0.0, |at| (at - now).max(0) as f64 / 1000.0),
    }
}

/// `GET /v1/accounts/{id}/rate-meter`.
#[utoipa::path(
    get,
    path = "/accounts/{account_id}/rate-meter",
    operation_id = "get_rate_meter",
    tag = "accounts",
    summary = "Read an account's rate meter",
    description = "Per Pinterest rate-limit category pinline spends: the configured rate, \
what Pinterest last reported (limit, remaining, reset) and the pacer's next free slot; then the \
account's queue (posts due now, in flight, scheduled, held) and when the posts due now are \
expected to have been sent. Reading it costs no call to Pinterest. The pacer is per process: \
with several replicas each answers for its share.",
    params(("account_id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The meter.", body = RateMeter),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn rate_meter(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiPath(account_id): ApiPath<Id>,
) -> Result<Json<RateMeter>, ApiError> {
    let account = state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let now = state.now_ms();
    let backlog = state.store().account_backlog(&account.id, now).await?;
    let pacer = state.publisher().pacer();
    let user = account.pinterest_user_id.as_str();
    let statuses: Vec<(RateLimitCategory, PaceStatus)> = CATEGORIES
        .iter()
        .map(|category| (*category, pacer.status(user, *category)))
        .collect();
    let write = statuses[0].1;
    Ok(Json(RateMeter {
        account_id: account.id.clone(),
        pinterest_user_id: account.pinterest_user_id.clone(),
        at: rfc3339(now),
        categories: statuses
            .iter()
            .map(|(category, status)| CategoryMeter::new(*category, status))
            .collect(),
        queue: queue_meter(now, &backlog, &write),
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pinline_queue::{Observed, Rate};

    use super::*;

    fn write(interval_ms: u64, next_free_at_ms: i64, observed: Option<Observed>) -> PaceStatus {
        PaceStatus {
            rate: Rate::per_second(10),
            share: 1.0,
            interval: Duration::from_millis(interval_ms),
            next_free_at_ms,
            blocked_until_ms: None,
            observed,
        }
    }

    #[test]
    fn a_backlog_drains_at_the_pace_after_the_next_free_slot() {
        let now = 1_000_000;
        assert_eq!(
            expected_drain_at(now, 0, &write(100, now, None), None, None),
            None
        );
        assert_eq!(
            expected_drain_at(now, 50, &write(100, now + 400, None), None, None),
            Some(now + 400 + 5_000)
        );
        // Retries after a 429 go no sooner than their time.
        assert_eq!(
            expected_drain_at(now, 2, &write(100, now, None), None, Some(now + 30_000)),
            Some(now + 30_200)
        );
        // The account's hold-back comes first.
        assert_eq!(
            expected_drain_at(now, 10, &write(100, now, None), Some(now + 60_000), None),
            Some(now + 61_000)
        );
    }

    #[test]
    fn a_window_with_too_little_left_drains_after_its_reset() {
        let now = 1_000_000;
        let observed = Observed {
            limit: Some(100),
            remaining: Some(5),
            reset_at_ms: Some(now + 3_600_000),
            at_ms: now,
        };
        assert_eq!(
            expected_drain_at(now, 20, &write(10, now, Some(observed)), None, None),
            Some(now + 3_600_000 + 150)
        );
        // Enough left: the pace alone decides.
        assert_eq!(
            expected_drain_at(now, 5, &write(10, now, Some(observed)), None, None),
            Some(now + 50)
        );
    }
}
