//! `/v1/accounts/{id}/slots`: an account's weekly time slots (in its own time zone) and its
//! spacing rule for the same link or image. Posts sent with `"publish_at": "next_slot"` take the
//! next free slot; the spacing rule moves any post that would land too close to the same content.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pinline_queue::slots::{Schedule, Slot, SlotError};
use pinline_store::ScheduleRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Id, rfc3339};
use crate::state::AppState;

/// How many upcoming free slots an answer lists.
const UPCOMING: usize = 5;

/// One weekly slot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotView {
    /// `monday` … `sunday` (`mon` … `sun` are read too).
    #[schema(example = "monday")]
    pub day: String,
    /// The wall-clock time in the account's time zone, `HH:MM` (24-hour).
    #[schema(example = "09:30", pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub time: String,
}

/// The body of `PUT /v1/accounts/{id}/slots`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "time_zone": "Europe/Berlin",
    "slots": [{"day": "monday", "time": "09:00"}, {"day": "thursday", "time": "18:30"}],
    "spacing_minutes": 1440
}))]
pub struct ScheduleInput {
    /// The account's time zone, an IANA name such as `Europe/Berlin`.
    pub time_zone: String,
    /// Weekly slots (at most 672); duplicates are merged.
    #[serde(default)]
    pub slots: Vec<SlotView>,
    /// The minimum time between pins of the same link or image, in minutes (0, the default,
    /// turns the rule off; at most 43200, 30 days). A post that would land closer is moved later.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 43200)]
    pub spacing_minutes: i64,
}

/// An account's schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Schedule)]
pub struct ScheduleView {
    pub account_id: String,
    /// The account's time zone (IANA).
    pub time_zone: String,
    /// Weekly slots, Monday first.
    pub slots: Vec<SlotView>,
    /// The spacing rule in minutes; 0 is off.
    pub spacing_minutes: i64,
    /// The next free slots (up to 5), with the account's UTC offset at that date.
    pub upcoming: Vec<String>,
    /// When the schedule was last set; `null` if it never was.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

/// A slot error as the API refuses it.
pub fn slot_error(field: &str, error: SlotError) -> ApiError {
    match error {
        SlotError::NoSlots => ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_slots",
                error.to_string(),
            )
        },
        SlotError::NoFreeSlot => ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_free_slot",
                error.to_string(),
            )
        },
        SlotError::BadDay { index, .. } => {
            ApiError::invalid(&format!("slots[{index}].day"), error.to_string())
        }
        SlotError::BadTime { index, .. } => {
            ApiError::invalid(&format!("slots[{index}].time"), error.to_string())
        }
        SlotError::UnknownTimeZone(_) => ApiError::invalid("time_zone", error.to_string()),
        SlotError::TooManySlots => ApiError::invalid("slots", error.to_string()),
        SlotError::BadSpacing => ApiError::invalid("spacing_minutes", error.to_string()),
    }
}

/// A stored schedule, read back. A row the queue cannot read (written by a newer pinline, say)
/// is a server fault, not the caller's.
pub fn stored_schedule(row: &ScheduleRow) -> Result<Schedule, ApiError> {
    Schedule::from_stored(&row.time_zone, &row.slots, row.spacing_secs).map_err(|error| {
        tracing::error!(account_id = %row.account_id, %error, "stored schedule cannot be read");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the account's stored schedule cannot be read",
        )
    })
}

/// An instant as the account's wall clock shows it, with its offset.
pub fn local_time(schedule: &Schedule, ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|at| {
            at.to_zoned(schedule.time_zone().clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339(ms))
}

fn view(row: &ScheduleRow, schedule: &Schedule, booked: &[i64], now_ms: i64) -> ScheduleView {
    let booked: std::collections::HashSet<i64> = booked.iter().copied().collect();
    ScheduleView {
        account_id: row.account_id.clone(),
        time_zone: schedule.zone_name().to_owned(),
        slots: schedule
            .slots()
            .iter()
            .map(|slot| SlotView {
                day: slot.day_name().to_owned(),
                time: slot.time_text(),
            })
            .collect(),
        spacing_minutes: schedule.spacing_secs() / 60,
        upcoming: schedule
            .slot_instants_after(now_ms)
            .filter(|at| !booked.contains(at))
            .take(UPCOMING)
            .map(|at| local_time(schedule, at))
            .collect(),
        updated_at: (row.updated_at > 0).then(|| rfc3339(row.updated_at)),
    }
}

async fn show(state: &AppState, row: &ScheduleRow) -> Result<ScheduleView, ApiError> {
    let schedule = stored_schedule(row)?;
    let now = state.now_ms();
    let booked = state.store().booked_times(&row.account_id, now).await?;
    Ok(view(row, &schedule, &booked, now))
}

/// `GET /v1/accounts/{id}/slots`.
#[utoipa::path(
    get,
    path = "/accounts/{account_id}/slots",
    operation_id = "get_account_slots",
    tag = "accounts",
    summary = "Read an account's time slots and spacing rule",
    params(("account_id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The schedule, with its next free slots; an account never given one has no slots, no spacing rule and `updated_at` null.", body = ScheduleView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:read"])),
)]
pub async fn get_account_slots(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsRead>,
    ApiPath(account_id): ApiPath<Id>,
) -> Result<Json<ScheduleView>, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let row = match state.store().account_schedule(&account_id).await? {
        Some(row) => row,
        // An account without a schedule has an empty one: no slots, no spacing.
        None => ScheduleRow {
            account_id: account_id.to_string(),
            time_zone: "UTC".to_owned(),
            slots: String::new(),
            spacing_secs: 0,
            updated_at: 0,
        },
    };
    Ok(Json(show(&state, &row).await?))
}

/// `PUT /v1/accounts/{id}/slots`.
#[utoipa::path(
    put,
    path = "/accounts/{account_id}/slots",
    operation_id = "put_account_slots",
    tag = "accounts",
    summary = "Set an account's time slots and spacing rule",
    description = "Replaces the account's weekly slots (wall-clock times in its time zone, so a \
slot stays at 09:00 local across daylight-saving changes) and its spacing rule. Posts already \
queued keep their times; new posts sent with `\"publish_at\": \"next_slot\"` take the next free \
slot, and any new post that would land closer than `spacing_minutes` to a pin of the same link \
or image is moved later (its `placement` says `spaced`).",
    params(("account_id" = String, Path, description = "The account's id.")),
    request_body = ScheduleInput,
    responses(
        (status = 200, description = "The schedule as stored, with its next free slots.", body = ScheduleView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "A field is invalid; `error.field` names it.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn put_account_slots(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath(account_id): ApiPath<Id>,
    ApiJson(input): ApiJson<ScheduleInput>,
) -> Result<Json<ScheduleView>, ApiError> {
    let schedule = parse_schedule(&input)?;
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    let row = ScheduleRow {
        account_id: account_id.to_string(),
        time_zone: schedule.zone_name().to_owned(),
        slots: schedule.stored_slots(),
        spacing_secs: schedule.spacing_secs(),
        updated_at: state.now_ms(),
    };
    state.store().put_account_schedule(&row).await?;
    Ok(Json(show(&state, &row).await?))
}

/// The body, checked: every slot, the zone and the spacing.
pub fn parse_schedule(input: &ScheduleInput) -> Result<Schedule, ApiError> {
    let slots = input
        .slots
        .iter()
        .enumerate()
        .map(|(index, slot)| Slot::parse(index, &slot.day, &slot.time))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| slot_error("slots", error))?;
    let spacing_secs = input
        .spacing_minutes
        .checked_mul(60)
        .ok_or(SlotError::BadSpacing)
        .map_err(|error| slot_error("spacing_minutes", error))?;
    Schedule::new(&input.time_zone, slots, spacing_secs)
        .map_err(|error| slot_error("time_zone", error))
}

/// `DELETE /v1/accounts/{id}/slots`.
#[utoipa::path(
    delete,
    path = "/accounts/{account_id}/slots",
    operation_id = "delete_account_slots",
    tag = "accounts",
    summary = "Remove an account's time slots and spacing rule",
    description = "Posts already placed keep their times; `next_slot` is refused until slots \
are set again.",
    params(("account_id" = String, Path, description = "The account's id.")),
    responses(
        (status = 204, description = "Removed (or there was none)."),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such account in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["accounts:write"])),
)]
pub async fn delete_account_slots(
    State(state): State<AppState>,
    caller: Scoped<need::AccountsWrite>,
    ApiPath(account_id): ApiPath<Id>,
) -> Result<StatusCode, ApiError> {
    state
        .vault()
        .account(&caller.profile_id, &account_id)
        .await?;
    state.store().delete_account_schedule(&account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
