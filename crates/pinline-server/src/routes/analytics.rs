//! `GET /v1/posts/{id}/analytics` and `GET /v1/accounts/{id}/analytics`: a published pin's and
//! an account's Pinterest metrics over a date range, per day or in total.
//!
//! Every read goes through the daily snapshots in the store first: a day Pinterest called
//! `READY` never changes and is served from there for good; any other day (today, still an
//! estimate) is served from there for [`FRESH_MS`] after it was read. Only the days that are
//! missing or stale are asked of Pinterest, in one call over their span, on the account's
//! `org_analytics` budget through the publisher's pacer, and always for the whole metric set, so
//! that any later choice of metrics is answered from the same rows.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pinline_pinterest::AnalyticsReport;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_pinterest::facts::analytics_limits::{ACCOUNT_METRICS, PIN_METRICS, WINDOW_DAYS};
use pinline_store::{AnalyticsDayRow, NewAnalyticsDay};
use pinline_vault::VaultError;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, Id, rfc3339};
use crate::state::AppState;

/// How long a day that is not yet `READY` is served from the snapshots before Pinterest is
/// asked again.
pub const FRESH_MS: i64 = 15 * 60 * 1000;
/// Days in the range when `start_date` is not given.
const DEFAULT_DAYS: i64 = 30;
/// The longest wait for the account's analytics budget before the caller is told to retry.
const MAX_PACER_WAIT: Duration = Duration::from_secs(5);

/// Per day, or one figure per metric over the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    Daily,
    Total,
}

/// The query of both analytics operations.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// The first day (UTC), `YYYY-MM-DD`, at most 90 days before today. Default: 29 days
    /// before `end_date`.
    #[param(format = Date)]
    start_date: Option<String>,
    /// The last day (UTC), `YYYY-MM-DD`, not after today and at most 90 days after
    /// `start_date`. Default: today.
    #[param(format = Date)]
    end_date: Option<String>,
    /// Comma-separated metric names. Pins: `IMPRESSION`, `OUTBOUND_CLICK`, `PIN_CLICK`, `SAVE`,
    /// `SAVE_RATE`; accounts also `ENGAGEMENT`, `ENGAGEMENT_RATE`, `OUTBOUND_CLICK_RATE`,
    /// `PIN_CLICK_RATE`. Default: all of them.
    metrics: Option<String>,
    /// `daily` (default) or `total`.
    granularity: Option<Granularity>,
}

/// One day's metrics.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AnalyticsDay)]
pub struct DayView {
    /// `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    pub date: String,
    /// Pinterest's word for the day's figures: `READY` (final), `ESTIMATE`, `PROCESSING`, ….
    pub data_status: String,
    /// Metric name to value.
    pub metrics: BTreeMap<String, f64>,
}

/// Metrics of a pin or an account over a range.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Analytics)]
pub struct AnalyticsView {
    pub account_id: String,
    /// The post, for a post's analytics.
    pub post_id: Option<String>,
    /// The pin, for a post's analytics.
    pub pin_id: Option<String>,
    #[schema(format = Date)]
    pub start_date: String,
    #[schema(format = Date)]
    pub end_date: String,
    pub granularity: Granularity,
    /// The metrics shown.
    pub metrics: Vec<String>,
    /// One entry per day, oldest first; empty for `granularity=total`.
    pub days: Vec<DayView>,
    /// Each metric over the whole range: counts summed, rates recomputed from the sums.
    pub totals: BTreeMap<String, f64>,
    /// `pinterest` when this read asked Pinterest for some days, `stored` when every day came
    /// from the snapshots.
    pub source: String,
    /// When the oldest of the figures shown was read from Pinterest.
    #[schema(format = DateTime)]
    pub fetched_at: Option<String>,
}

/// Whose metrics: the account's, or one pin's.
#[derive(Debug, Clone, Copy)]
enum Subject<'a> {
    Account,
    Pin(&'a str),
}

impl Subject<'_> {
    fn stored_id(&self) -> &str {
        match self {
            Subject::Account => "",
            Subject::Pin(pin) => pin,
        }
    }

    fn metrics(&self) -> &'static [&'static str] {
        match self {
            Subject::Account => &ACCOUNT_METRICS,
            Subject::Pin(_) => &PIN_METRICS,
        }
    }
}

/// The range and metrics asked for, checked once.
struct Asked {
    start: Date,
    end: Date,
    metrics: Vec<String>,
    granularity: Granularity,
}

fn iso(date: Date) -> String {
    pinline_pinterest::iso_date(date)
}

fn parse_date(field: &str, value: &str) -> Result<Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format)
        .map_err(|_| ApiError::invalid(field, format!("{field} must be a date as YYYY-MM-DD")))
}

fn parse_query(query: AnalyticsQuery, allowed: &[&str], now_ms: i64) -> Result<Asked, ApiError> {
    let today = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .map(OffsetDateTime::date)
        .map_err(|_| ApiError::invalid("end_date", "the server's clock is out of range"))?;
    let end = match query.end_date.as_deref() {
        Some(value) => parse_date("end_date", value)?,
        None => today,
    };
    if end > today {
        return Err(ApiError::invalid(
            "end_date",
            format!("end_date {} is after today ({})", iso(end), iso(today)),
        ));
    }
    let start = match query.start_date.as_deref() {
        Some(value) => parse_date("start_date", value)?,
        None => (end - time::Duration::days(DEFAULT_DAYS - 1))
            .max(today - time::Duration::days(WINDOW_DAYS)),
    };
    if start > end {
        return Err(ApiError::invalid(
            "start_date",
            "start_date must not be after end_date",
        ));
    }
    if (today - start).whole_days() > WINDOW_DAYS {
        return Err(ApiError::invalid(
            "start_date",
            format!(
                "Pinterest keeps analytics for {WINDOW_DAYS} days: start_date may be at most {WINDOW_DAYS} days before today"
            ),
        ));
    }
    let metrics: Vec<String> = match query.metrics.as_deref().map(str::trim) {
        None | Some("") => allowed.iter().map(|m| (*m).to_owned()).collect(),
        Some(list) => {
            let mut metrics = Vec::new();
            for metric in list.split(',').map(|m| m.trim().to_ascii_uppercase()) {
                if !allowed.contains(&metric.as_str()) {
                    return Err(ApiError::invalid(
                        "metrics",
                        format!(
                            "unknown metric `{}`; one of {}",
                            metric.chars().take(40).collect::<String>(),
                            allowed.join(", ")
                        ),
                    ));
                }
                if !metrics.contains(&metric) {
                    metrics.push(metric);
                }
            }
            metrics
        }
    };
    Ok(Asked {
        start,
        end,
        metrics,
        granularity: query.granularity.unwrap_or_default(),
    })
}

/// True when a stored day may be served at `now_ms`.
fn usable(row: &AnalyticsDayRow, now_ms: i64) -> bool {
    row.data_status == "READY" || now_ms - row.fetched_at < FRESH_MS
}

/// The days of `asked`, from the snapshots where they are usable and from Pinterest otherwise.
async fn read_days(
    state: &AppState,
    account_id: &str,
    pinterest_user_id: &str,
    subject: Subject<'_>,
    asked: &Asked,
) -> Result<(Vec<AnalyticsDayRow>, bool), ApiError> {
    let store = state.store();
    let (first, last) = (iso(asked.start), iso(asked.end));
    let now = state.now_ms();
    let stored = store
        .analytics_days(account_id, subject.stored_id(), &first, &last)
        .await?;
    let mut stale: Vec<Date> = Vec::new();
    let mut day = asked.start;
    loop {
        let name = iso(day);
        if !stored.iter().any(|row| row.day == name && usable(row, now)) {
            stale.push(day);
        }
        match day.next_day() {
            Some(next) if next <= asked.end => day = next,
            _ => break,
        }
    }
    let (Some(&from), Some(&to)) = (stale.first(), stale.last()) else {
        return Ok((stored, false));
    };
    let report = fetch(state, account_id, pinterest_user_id, subject, from, to).await?;
    let group = report
        .get("all")
        .or_else(|| report.get("ALL"))
        .or_else(|| report.values().next())
        .cloned()
        .unwrap_or_default();
    let rendered: Vec<(String, String, String)> = group
        .daily_metrics
        .iter()
        .map(|day| {
            let metrics: BTreeMap<&str, f64> = day
                .metrics
                .iter()
                .filter_map(|(name, value)| value.map(|value| (name.as_str(), value)))
                .collect();
            (
                day.date.clone(),
                day.data_status
                    .clone()
                    .unwrap_or_else(|| "READY".to_owned()),
                serde_json::to_string(&metrics).unwrap_or_else(|_| "{}".to_owned()),
            )
        })
        .collect();
    let days: Vec<NewAnalyticsDay<'_>> = rendered
        .iter()
        .map(|(day, status, metrics)| NewAnalyticsDay {
            day,
            data_status: status,
            metrics,
        })
        .collect();
    store
        .save_analytics_days(account_id, subject.stored_id(), &days, now)
        .await?;
    let rows = store
        .analytics_days(account_id, subject.stored_id(), &first, &last)
        .await?;
    Ok((rows, true))
}

/// One live analytics call, paced on the user's `org_analytics` budget.
async fn fetch(
    state: &AppState,
    account_id: &str,
    pinterest_user_id: &str,
    subject: Subject<'_>,
    from: Date,
    to: Date,
) -> Result<AnalyticsReport, ApiError> {
    let pacer = state.publisher().pacer();
    let category = RateLimitCategory::OrgAnalytics;
    if let Err(wait) = pacer
        .acquire_within(pinterest_user_id, category, MAX_PACER_WAIT)
        .await
    {
        return Err(ApiError {
            retry_after_secs: Some(wait.as_secs().max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "pinterest_rate_limited",
                "the account's Pinterest analytics budget is spent; try again after Retry-After seconds",
            )
        });
    }
    let metrics = subject.metrics();
    let result = state
        .vault()
        .call(account_id, |client, token| async move {
            match subject {
                Subject::Account => {
                    client
                        .user_account_analytics(&token, from, to, metrics)
                        .await
                }
                Subject::Pin(pin) => client.pin_analytics(&token, pin, from, to, metrics).await,
            }
        })
        .await;
    match result {
        Ok(response) => {
            pacer.observe(pinterest_user_id, category, &response.rate_limit);
            Ok(response.value)
        }
        Err(error) => {
            if let VaultError::Pinterest(error) = &error
                && let Some(info) = error.rate_limit()
            {
                pacer.observe(pinterest_user_id, category, info);
            }
            Err(error.into())
        }
    }
}

/// Counts summed over the days; rates recomputed from the summed counts (a mean of daily rates
/// would weigh a quiet day like a busy one).
fn totals(days: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for day in days {
        for (name, value) in day {
            if !name.ends_with("_RATE") {
                *sums.entry(name.clone()).or_default() += value;
            }
        }
    }
    let impressions = sums.get("IMPRESSION").copied().unwrap_or(0.0);
    let rate = |part: Option<f64>| match part {
        Some(part) if impressions > 0.0 => (part / impressions * 10_000.0).round() / 10_000.0,
        _ => 0.0,
    };
    for (rate_name, part) in [
        ("SAVE_RATE", "SAVE"),
        ("PIN_CLICK_RATE", "PIN_CLICK"),
        ("OUTBOUND_CLICK_RATE", "OUTBOUND_CLICK"),
        ("ENGAGEMENT_RATE", "ENGAGEMENT"),
    ] {
        let value = rate(sums.get(part).copied());
        sums.insert(rate_name.to_owned(), value);
    }
    sums
}

async fn analytics(
    state: &AppState,
    account_id: &str,
    pinterest_user_id: &str,
    subject: Subject<'_>,
    asked: Asked,
) -> Result<AnalyticsView, ApiError> {
    let (rows, live) = read_days(state, account_id, pinterest_user_id, subject, &asked).await?;
    let all: Vec<(AnalyticsDayRow, BTreeMap<String, f64>)> = rows
        .into_iter()
        .map(|row| {
            let metrics = serde_json::from_str(&row.metrics).unwrap_or_default();
            (row, metrics)
        })
        .collect();
    let summed = totals(&all.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>());
    let pick = |metrics: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        asked
            .metrics
            .iter()
            .map(|name| (name.clone(), metrics.get(name).copied().unwrap_or(0.0)))
            .collect()
    };
    let days = match asked.granularity {
        Granularity::Daily => all
            .iter()
            .map(|(row, metrics)| DayView {
                date: row.day.clone(),
                data_status: row.data_status.clone(),
                metrics: pick(metrics),
            })
            .collect(),
        Granularity::Total => Vec::new(),
    };
    Ok(AnalyticsView {
        account_id: account_id.to_owned(),
        post_id: None,
        pin_id: match subject {
            Subject::Pin(pin) => Some(pin.to_owned()),
            Subject::Account => None,
        },
        start_date: iso(asked.start),
        end_date: iso(asked.end),
        granularity: asked.granularity,
        totals: pick(&summed),
        metrics: asked.metrics,
        days,
        source: if live { "pinterest" } else { "stored" }.to_owned(),
        fetched_at: all.iter().map(|(row, _)| row.fetched_at).min().map(rfc3339),
    })
}

/// `GET /v1/accounts/{id}/analytics`.
#[utoipa::path(
    get,
    path = "/accounts/{account_id}/analytics",
    operation_id = "get_account_analytics",
    tag = "accounts",
    summary = "Read an account's analytics",
    description = "The account's Pinterest metrics (impressions, clicks, saves, engagement and \
their rates) per day or in total over a range of at most 90 days within the last 90. Days \
already read are served from pinline's daily snapshots without a call to Pinterest; the rest \
are read on the account's analytics budget.",
    params(("account_id" = String, Path, description = "The account's id."), AnalyticsQuery),
    responses(
        (status = 200, description = "The metrics.", body = AnalyticsView),
        (status = 400, description = "An unknown query parameter or a malformed value (`invalid_query`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 409, description = "The account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "A date or metric is invalid; `error.field` names it (`invalid_field`). Or Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "The account's Pinterest analytics budget is spent (`pinterest_rate_limited`); `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn account_analytics(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiPath(account_id): ApiPath<Id>,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> Result<Json<AnalyticsView>, ApiError> {
    let account = state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let asked = parse_query(query, &ACCOUNT_METRICS, state.now_ms())?;
    let view = analytics(
        &state,
        &account.id,
        &account.pinterest_user_id,
        Subject::Account,
        asked,
    )
    .await?;
    Ok(Json(view))
}

/// `GET /v1/posts/{id}/analytics`.
#[utoipa::path(
    get,
    path = "/posts/{post_id}/analytics",
    operation_id = "get_post_analytics",
    tag = "posts",
    summary = "Read a published post's analytics",
    description = "The pin's Pinterest metrics (impressions, pin clicks, outbound clicks, saves, \
save rate) per day or in total over a range of at most 90 days within the last 90. Days already \
read are served from pinline's daily snapshots without a call to Pinterest; the rest are read on \
the account's analytics budget.",
    params(("post_id" = String, Path, description = "The post's id."), AnalyticsQuery),
    responses(
        (status = 200, description = "The metrics.", body = AnalyticsView),
        (status = 400, description = "An unknown query parameter or a malformed value (`invalid_query`).", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 403, description = "The account did not grant a scope this needs (`pinterest_scope`).", body = ErrorBody),
        (status = 404, description = "No such post in this key's profile, or Pinterest no longer has the pin (`pinterest_not_found`).", body = ErrorBody),
        (status = 409, description = "The post is not published (`post_not_published`), or its account must be reconnected or was disconnected (`account_needs_reauth`, `account_disconnected`, `credential_mismatch`, `pinterest_auth`).", body = ErrorBody),
        (status = 422, description = "A date or metric is invalid; `error.field` names it (`invalid_field`). Or Pinterest refused the request (`pinterest_validation`).", body = ErrorBody),
        (status = 429, description = "The account's Pinterest analytics budget is spent (`pinterest_rate_limited`); `Retry-After` says when to try again.", body = ErrorBody),
        (status = 500, description = "Stored credentials cannot be opened with the configured master key.", body = ErrorBody),
        (status = 502, description = "Pinterest answered in an unexpected way.", body = ErrorBody),
        (status = 503, description = "The database or Pinterest is not answering; try again shortly.", body = ErrorBody),
    ),
    security(("api_key" = ["posts:read"])),
)]
pub async fn post_analytics(
    State(state): State<AppState>,
    caller: Scoped<need::PostsRead>,
    ApiPath(post_id): ApiPath<Id>,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> Result<Json<AnalyticsView>, ApiError> {
    let post = state
        .store()
        .post(&caller.profile_id, &post_id)
        .await?
        .ok_or_else(|| ApiError::not_found("post"))?;
    let Some(pin_id) = post.pin_id.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "post_not_published",
            format!(
                "the post is {}: only a published post has a pin with analytics",
                post.status
            ),
        ));
    };
    let account = state
        .vault()
        .account(&caller.profile_id, &post.account_id)
        .await?;
    let asked = parse_query(query, &PIN_METRICS, state.now_ms())?;
    let mut view = analytics(
        &state,
        &account.id,
        &account.pinterest_user_id,
        Subject::Pin(&pin_id),
        asked,
    )
    .await?;
    view.post_id = Some(post.id);
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_counts_and_recompute_rates() {
        let day = |impressions: f64, saves: f64| {
            BTreeMap::from([
                ("IMPRESSION".to_owned(), impressions),
                ("SAVE".to_owned(), saves),
                ("SAVE_RATE".to_owned(), saves / impressions),
            ])
        };
        let summed = totals(&[day(100.0, 10.0), day(300.0, 10.0)]);
        assert_eq!(summed["IMPRESSION"], 400.0);
        assert_eq!(summed["SAVE"], 20.0);
        assert_eq!(summed["SAVE_RATE"], 0.05);
    }
}
