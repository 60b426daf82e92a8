//! An account's week as a calendar, in the account's own time zone: its weekly slots (free ones
//! shown as free) and its posts at their times, each post that can still move with a reschedule
//! form; below, the account's schedule as a form (time zone, slots, spacing rule). Plain forms,
//! no script.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::{Date, DateTime};
use jiff::{Timestamp, ToSpan};
use pinline_queue::slots::{Schedule, Slot};
use pinline_store::{PostChanges, PostFilter, PostRow, ScheduleRow};
use serde::Deserialize;

use super::pages::Chrome;
use super::{Dashboard, PageError, SessionForm, SignedIn, render};
use crate::auth::Caller;
use crate::routes::campaigns::{self, NewCampaign};
use crate::routes::posts::apply_changes;
use crate::routes::slots::{ScheduleInput, SlotView, parse_schedule, stored_schedule};
use crate::text::MultiLine;

/// Posts shown in one week at most.
const WEEK_MAX_POSTS: usize = 1_000;

#[derive(Debug)]
struct Entry {
    time: String,
    /// A free slot has no post.
    post: Option<CalendarPost>,
    in_slot: bool,
}

#[derive(Debug)]
struct CalendarPost {
    id: String,
    title: String,
    status: String,
    placement: String,
    /// `YYYY-MM-DDTHH:MM` on the account's clock, for the reschedule field; empty when the
    /// post can no longer move.
    movable_at: String,
}

#[derive(Debug)]
struct Day {
    label: String,
    today: bool,
    entries: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "dashboard/calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    account_id: String,
    username: String,
    zone: String,
    week_label: String,
    previous_week: String,
    next_week: String,
    days: Vec<Day>,
    slots_text: String,
    spacing_minutes: i64,
    free_slots: usize,
}

/// `?week=YYYY-MM-DD`: any day of the week to show.
#[derive(Debug, Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
}

fn account_schedule(row: Option<ScheduleRow>, account_id: &str) -> ScheduleRow {
    row.unwrap_or_else(|| ScheduleRow {
        account_id: account_id.to_owned(),
        time_zone: "UTC".to_owned(),
        slots: String::new(),
        spacing_secs: 0,
        updated_at: 0,
    })
}

fn local(schedule: &Schedule, ms: i64) -> DateTime {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(schedule.time_zone().clone())
        .datetime()
}

fn instant(schedule: &Schedule, at: DateTime) -> Option<i64> {
    at.to_zoned(schedule.time_zone().clone())
        .ok()
        .map(|zoned| zoned.timestamp().as_millisecond())
}

/// `GET /dashboard/accounts/{id}/calendar`.
pub async fn calendar_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let account = app
        .vault()
        .account(signed_in.profile_id(), &account_id)
        .await?;
    let row = account_schedule(
        app.store().account_schedule(&account.id).await?,
        &account.id,
    );
    let schedule = stored_schedule(&row)?;
    let now = app.now_ms();
    let today = local(&schedule, now).date();
    let shown = match query
        .week
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        None => today,
        Some(text) => text
            .parse::<Date>()
            .map_err(|_| PageError::bad_request("The week must be a date as YYYY-MM-DD."))?,
    };
    let monday = shown
        .checked_sub((shown.weekday().to_monday_zero_offset() as i64).days())
        .unwrap_or(shown);
    let dates: Vec<Date> = (0..7)
        .filter_map(|offset| monday.checked_add((offset as i64).days()).ok())
        .collect();
    let start =
        instant(&schedule, monday.to_datetime(jiff::civil::Time::midnight())).unwrap_or(now);
    let end = dates
        .last()
        .and_then(|last| last.checked_add(1.day()).ok())
        .and_then(|after| instant(&schedule, after.to_datetime(jiff::civil::Time::midnight())))
        .unwrap_or(start + 7 * 24 * 3600 * 1000);

    let posts = week_posts(&dashboard, &signed_in, &account.id, start, end).await?;
    let slots: Vec<i64> = schedule
        .slot_instants_after(start - 1)
        .take_while(|at| *at < end)
        .collect();
    let mut days: Vec<Day> = dates
        .iter()
        .map(|date| Day {
            label: date.strftime("%a %-d %b").to_string(),
            today: *date == today,
            entries: Vec::new(),
        })
        .collect();
    let mut placed: Vec<(i64, Entry)> = Vec::new();
    let mut free_slots = 0;
    for at in &slots {
        // A free slot already past is of no use to anyone: only the ones ahead are shown.
        if *at > now && !posts.iter().any(|post| post_time(post) == *at) {
            free_slots += 1;
            placed.push((
                *at,
                Entry {
                    time: local(&schedule, *at).strftime("%H:%M").to_string(),
                    post: None,
                    in_slot: true,
                },
            ));
        }
    }
    for post in &posts {
        let at = post_time(post);
        let movable = matches!(post.status.as_str(), PostRow::QUEUED | PostRow::HELD);
        placed.push((
            at,
            Entry {
                time: local(&schedule, at).strftime("%H:%M").to_string(),
                in_slot: slots.contains(&at),
                post: Some(CalendarPost {
                    id: post.id.clone(),
                    title: post
                        .title
                        .clone()
                        .unwrap_or_else(|| "(untitled)".to_owned()),
                    status: post.status.clone(),
                    placement: post.placement.clone().unwrap_or_default(),
                    movable_at: if movable {
                        local(&schedule, at).strftime("%Y-%m-%dT%H:%M").to_string()
                    } else {
                        String::new()
                    },
                }),
            },
        ));
    }
    placed.sort_by_key(|(at, entry)| (*at, entry.post.is_some()));
    for (at, entry) in placed {
        let date = local(&schedule, at).date();
        if let Some(index) = dates.iter().position(|d| *d == date) {
            days[index].entries.push(entry);
        }
    }
    Ok(render(&CalendarPage {
        chrome: Chrome::new("accounts", &signed_in),
        account_id: account.id.clone(),
        username: account.username.clone(),
        zone: schedule.zone_name().to_owned(),
        week_label: format!(
            "{} – {}",
            monday.strftime("%-d %b %Y"),
            dates.last().unwrap_or(&monday).strftime("%-d %b %Y")
        ),
        previous_week: monday.checked_sub(7.days()).unwrap_or(monday).to_string(),
        next_week: monday.checked_add(7.days()).unwrap_or(monday).to_string(),
        days,
        slots_text: schedule
            .slots()
            .iter()
            .map(Slot::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        spacing_minutes: schedule.spacing_secs() / 60,
        free_slots,
    }))
}

/// When a post goes (or went) live, as the calendar places it.
fn post_time(post: &PostRow) -> i64 {
    post.published_at
        .or(post.publish_at)
        .unwrap_or(post.created_at)
}

async fn week_posts(
    dashboard: &Dashboard,
    signed_in: &SignedIn,
    account_id: &str,
    start: i64,
    end: i64,
) -> Result<Vec<PostRow>, PageError> {
    let filter = PostFilter {
        account_id: Some(account_id.to_owned()),
        from: Some(start),
        to: Some(end),
        ..PostFilter::default()
    };
    let mut posts = Vec::new();
    let mut cursor = None;
    loop {
        let page = dashboard
            .app
            .store()
            .list_posts(signed_in.profile_id(), &filter, cursor.as_ref(), 200)
            .await?;
        posts.extend(page.posts);
        cursor = page.next;
        if cursor.is_none() || posts.len() >= WEEK_MAX_POSTS {
            break;
        }
    }
    posts.retain(|post| post.status != PostRow::CANCELED);
    Ok(posts)
}

/// The reschedule form of one post.
#[derive(Debug, Deserialize)]
pub struct RescheduleForm {
    csrf: Option<String>,
    /// `YYYY-MM-DDTHH:MM` on the account's clock (an `<input type="datetime-local">`).
    at: Option<String>,
}

/// `POST /dashboard/posts/{id}/reschedule`: move a queued or held post, then back to its week.
pub async fn reschedule_post(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(post_id): Path<String>,
    form: Result<Form<RescheduleForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = signed_in.checked_form(form)?;
    let app = &dashboard.app;
    let post = app
        .store()
        .post(signed_in.profile_id(), &post_id)
        .await?
        .ok_or_else(|| PageError::not_found("post"))?;
    let row = account_schedule(
        app.store().account_schedule(&post.account_id).await?,
        &post.account_id,
    );
    let schedule = stored_schedule(&row)?;
    let at = form
        .at
        .as_deref()
        .map(str::trim)
        .and_then(|text| text.parse::<DateTime>().ok())
        .ok_or_else(|| PageError::bad_request("Give the new time as a date and a time."))?;
    let at_ms = instant(&schedule, at)
        .ok_or_else(|| PageError::bad_request("That time does not exist in the account's zone."))?;
    let changes = PostChanges {
        publish_at: Some(at_ms),
        ..PostChanges::default()
    };
    apply_changes(app, signed_in.profile_id(), &post_id, &changes).await?;
    Ok(Redirect::to(&format!(
        "/dashboard/accounts/{}/calendar?week={}",
        post.account_id,
        at.date()
    ))
    .into_response())
}

/// The schedule form of one account.
#[derive(Debug, Deserialize)]
pub struct ScheduleForm {
    csrf: Option<String>,
    time_zone: Option<String>,
    /// One `weekday HH:MM` per line.
    slots: Option<MultiLine>,
    spacing_minutes: Option<String>,
}

/// `POST /dashboard/accounts/{id}/slots`: set the account's schedule, then back to its week.
pub async fn save_schedule(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
    form: Result<Form<ScheduleForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = signed_in.checked_form(form)?;
    let app = &dashboard.app;
    let account = app
        .vault()
        .account(signed_in.profile_id(), &account_id)
        .await?;
    let slots = form
        .slots
        .map(MultiLine::into_string)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (day, time) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            SlotView {
                day: day.to_owned(),
                time: time.trim().to_owned(),
            }
        })
        .collect();
    let spacing_minutes = match form.spacing_minutes.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text.parse().map_err(|_| {
            PageError::bad_request("The spacing must be a whole number of minutes.")
        })?,
    };
    let input = ScheduleInput {
        time_zone: form.time_zone.unwrap_or_default(),
        slots,
        spacing_minutes,
    };
    let schedule = parse_schedule(&input)?;
    app.store()
        .put_account_schedule(&ScheduleRow {
            account_id: account.id.clone(),
            time_zone: schedule.zone_name().to_owned(),
            slots: schedule.stored_slots(),
            spacing_secs: schedule.spacing_secs(),
            updated_at: app.now_ms(),
        })
        .await?;
    Ok(Redirect::to(&format!("/dashboard/accounts/{}/calendar", account.id)).into_response())
}

/// The campaign form of one account.
#[derive(Debug, Deserialize)]
pub struct CampaignForm {
    csrf: Option<String>,
    url: Option<String>,
    /// Board names or ids, separated by commas.
    boards: Option<String>,
    pins: Option<String>,
    days: Option<String>,
}

/// `POST /dashboard/accounts/{id}/campaign`: one idea into pins over boards and days, then back
/// to the account's week.
pub async fn start_campaign(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
    form: Result<Form<CampaignForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = signed_in.checked_form(form)?;
    let number = |value: Option<String>, what: &str| -> Result<Option<i64>, PageError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                PageError::bad_request(&format!("The number of {what} must be a whole number."))
            }),
        }
    };
    let pins = number(form.pins, "pins")?;
    let days = number(form.days, "days")?;
    let body = NewCampaign {
        account_id: account_id.clone(),
        url: form.url,
        text: None,
        title: None,
        image_url: None,
        boards: form
            .boards
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|board| !board.is_empty())
            .map(str::to_owned)
            .collect(),
        pins: pins.map(|n| n.clamp(0, 1_000) as usize),
        days,
        start: None,
    };
    let caller = Caller {
        profile_id: signed_in.profile_id().to_owned(),
        key_id: signed_in.key_id().to_owned(),
    };
    campaigns::start_campaign(&dashboard.app, &caller, &body).await?;
    Ok(Redirect::to(&format!("/dashboard/accounts/{account_id}/calendar")).into_response())
}

impl SessionForm for RescheduleForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl SessionForm for ScheduleForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl SessionForm for CampaignForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}
