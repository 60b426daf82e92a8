//! Analytics: `GET /v5/pins/{pin_id}/analytics` and `GET /v5/user_account/analytics`.
//!
//! The numbers are made up but deterministic: each pin earns, every day from the day it was
//! created, a number of impressions fixed by its id and the day, with clicks, outbound clicks and
//! saves as fixed shares of them. Today's figures are the part of the day already past on the
//! sandbox clock (`ESTIMATE`), so they grow as the clock moves; earlier days are `READY` and never
//! change. An account's figures are the sum over its pins. The dates follow the spec's rules:
//! `start_date` at most 90 days before today (UTC), `end_date` not before it and at most 90 days
//! after it; anything else is 400 code 1.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use pinline_pinterest::facts::analytics_limits::WINDOW_DAYS;
use serde_json::{Map, Value, json};
use time::{Date, OffsetDateTime};

use super::Query;
use super::parse_id;
use super::pins::visible_pin;
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::state::Pin;

/// Pin metrics the spec allows in `metric_types` (standard and video pins).
const PIN_METRICS: [&str; 15] = [
    "IMPRESSION",
    "OUTBOUND_CLICK",
    "PIN_CLICK",
    "SAVE",
    "SAVE_RATE",
    "TOTAL_COMMENTS",
    "TOTAL_REACTIONS",
    "USER_FOLLOW",
    "PROFILE_VISIT",
    "VIDEO_MRC_VIEW",
    "VIDEO_10S_VIEW",
    "QUARTILE_95_PERCENT_VIEW",
    "VIDEO_V50_WATCH_TIME",
    "VIDEO_START",
    "VIDEO_AVG_WATCH_TIME",
];

/// Account metrics the spec allows in `metric_types`.
const ACCOUNT_METRICS: [&str; 9] = [
    "ENGAGEMENT",
    "ENGAGEMENT_RATE",
    "IMPRESSION",
    "OUTBOUND_CLICK",
    "OUTBOUND_CLICK_RATE",
    "PIN_CLICK",
    "PIN_CLICK_RATE",
    "SAVE",
    "SAVE_RATE",
];

const DAY_SECS: i64 = 86_400;

/// The counts of one day (of one pin, or summed over an account's pins).
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    impressions: u64,
    pin_clicks: u64,
    outbound_clicks: u64,
    saves: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.impressions += other.impressions;
        self.pin_clicks += other.pin_clicks;
        self.outbound_clicks += other.outbound_clicks;
        self.saves += other.saves;
    }

    fn rate(&self, part: u64) -> f64 {
        if self.impressions == 0 {
            0.0
        } else {
            // Four decimals, as Pinterest's rates read.
            (part as f64 / self.impressions as f64 * 10_000.0).round() / 10_000.0
        }
    }

    /// The value of `metric`; 0 for a metric the sandbox does not model (video, comments, …).
    fn metric(&self, metric: &str) -> f64 {
        let engagement = self.pin_clicks + self.outbound_clicks + self.saves;
        match metric {
            "IMPRESSION" => self.impressions as f64,
            "PIN_CLICK" => self.pin_clicks as f64,
            "OUTBOUND_CLICK" => self.outbound_clicks as f64,
            "SAVE" => self.saves as f64,
            "ENGAGEMENT" => engagement as f64,
            "SAVE_RATE" => self.rate(self.saves),
            "PIN_CLICK_RATE" => self.rate(self.pin_clicks),
            "OUTBOUND_CLICK_RATE" => self.rate(self.outbound_clicks),
            "ENGAGEMENT_RATE" => self.rate(engagement),
            _ => 0.0,
        }
    }
}

/// A small, fixed mix of two numbers (splitmix64's finaliser), so figures depend on nothing but
/// the pin and the day.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Unix seconds at the start of `day` (UTC).
fn day_start(day: Date) -> i64 {
    day.midnight().assume_utc().unix_timestamp()
}

/// A pin's counts on `day`, seen at `now` (unix seconds).
fn pin_day(pin: &Pin, day: Date, now: i64) -> Counts {
    let start = day_start(day);
    let end = start + DAY_SECS;
    let from = start.max(pin.created_at);
    let until = end.min(now);
    if until <= from {
        return Counts::default();
    }
    // A full day's impressions: 20 to 139 for this pin, rising by a tenth of that per day of
    // the pin's age, and jittered by the day.
    let base = 20 + mix(pin.id, 0) % 120;
    let age_days = ((start - pin.created_at).max(0) / DAY_SECS) as u64;
    let full = base + base * age_days / 10 + mix(pin.id, start as u64) % 10;
    let impressions = full * (until - from) as u64 / DAY_SECS as u64;
    Counts {
        impressions,
        pin_clicks: impressions / 10,
        outbound_clicks: impressions / 20,
        saves: impressions / 25,
    }
}

/// The dates and metrics asked for, checked as Pinterest checks them.
struct Request {
    days: Vec<Date>,
    metrics: Vec<String>,
}

fn parse_date(query: &Query, name: &str) -> ApiResult<Date> {
    let value = query.get(name).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid parameters: '{name}' is a required parameter."
        ))
    })?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format).map_err(|_| {
        ApiError::invalid(format!(
            "Invalid parameters: '{name}' must be a date as YYYY-MM-DD."
        ))
    })
}

fn parse_request(
    raw: Option<&str>,
    allowed: &[&str],
    metrics_required: bool,
    now: i64,
) -> ApiResult<Request> {
    let query = Query::parse(raw)?;
    let start = parse_date(&query, "start_date")?;
    let end = parse_date(&query, "end_date")?;
    let today = OffsetDateTime::from_unix_timestamp(now)
        .map_err(|_| ApiError::invalid("Invalid parameters: the date is out of range."))?
        .date();
    if (today - start).whole_days() > WINDOW_DAYS {
        return Err(ApiError::invalid(format!(
            "Invalid parameters: 'start_date' cannot be more than {WINDOW_DAYS} days back from today."
        )));
    }
    if end < start {
        return Err(ApiError::invalid(
            "Invalid parameters: 'end_date' cannot be before 'start_date'.",
        ));
    }
    if (end - start).whole_days() > WINDOW_DAYS {
        return Err(ApiError::invalid(format!(
            "Invalid parameters: 'end_date' cannot be more than {WINDOW_DAYS} days past 'start_date'."
        )));
    }
    let metrics: Vec<String> = match query.get("metric_types") {
        None | Some("") if metrics_required => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'metric_types' is a required parameter.",
            ));
        }
        None | Some("") => allowed.iter().map(|m| (*m).to_owned()).collect(),
        Some(list) => list.split(',').map(str::to_owned).collect(),
    };
    if let Some(unknown) = metrics.iter().find(|m| !allowed.contains(&m.as_str())) {
        return Err(ApiError::invalid(format!(
            "Invalid parameters: '{unknown}' is not a valid value for 'metric_types'."
        )));
    }
    // Days after today have no figures yet: they are left out.
    let mut days = Vec::new();
    let mut day = start;
    while day <= end.min(today) {
        days.push(day);
        day = match day.next_day() {
            Some(next) => next,
            None => break,
        };
    }
    Ok(Request { days, metrics })
}

/// The spec's `AnalyticsMetricsResponse` for `days` of `counts`, unsplit (group `ALL`).
fn render(request: &Request, counts: &[Counts], today: Date, now: i64) -> Value {
    let mut total = Counts::default();
    let daily: Vec<Value> = request
        .days
        .iter()
        .zip(counts)
        .map(|(day, counts)| {
            total.add(*counts);
            let metrics: Map<String, Value> = request
                .metrics
                .iter()
                .map(|metric| (metric.clone(), json!(counts.metric(metric))))
                .collect();
            let status = if *day == today && now < day_start(today) + DAY_SECS {
                "ESTIMATE"
            } else {
                "READY"
            };
            json!({
                "date": iso_date(*day),
                "data_status": status,
                "metrics": metrics,
            })
        })
        .collect();
    let summary: BTreeMap<String, f64> = request
        .metrics
        .iter()
        .map(|metric| (metric.clone(), total.metric(metric)))
        .collect();
    json!({ "all": { "daily_metrics": daily, "summary_metrics": summary } })
}

fn iso_date(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

fn today(now: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(now)
        .map(OffsetDateTime::date)
        .unwrap_or(Date::MIN)
}

pub async fn pin_analytics(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pin_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pin_id = parse_id("pin_id", &pin_id)?;
    let now = app.now();
    let request = parse_request(raw.as_deref(), &PIN_METRICS, true, now)?;
    let state = app.read();
    let pin = visible_pin(&state, &caller, pin_id)?;
    let counts: Vec<Counts> = request
        .days
        .iter()
        .map(|day| pin_day(pin, *day, now))
        .collect();
    Ok(Json(render(&request, &counts, today(now), now)))
}

pub async fn user_account_analytics(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let now = app.now();
    let request = parse_request(raw.as_deref(), &ACCOUNT_METRICS, false, now)?;
    let state = app.read();
    let pins: Vec<&Pin> = state
        .pins_by_user
        .get(&caller.user)
        .into_iter()
        .flatten()
        .filter_map(|id| state.pins.get(id))
        .collect();
    let counts: Vec<Counts> = request
        .days
        .iter()
        .map(|day| {
            let mut sum = Counts::default();
            for pin in &pins {
                sum.add(pin_day(pin, *day, now));
            }
            sum
        })
        .collect();
    Ok(Json(render(&request, &counts, today(now), now)))
}
