//! Where a post lands in time when its account keeps a schedule: weekly time slots in the
//! account's own time zone, and a spacing rule that keeps pins of the same link or image apart.
//!
//! Slots are wall-clock times ("Monday 09:00 in Europe/Berlin"), so a slot stays at 09:00 local
//! across a daylight-saving change; the instant is computed per date. A slot time that does not
//! exist on a date (skipped by a spring-forward change) moves to the first instant after the gap;
//! one that exists twice (a fall-back change) is the first of the two. Both are the usual
//! "compatible" reading of calendar software.
//!
//! Spacing is Pinterest hygiene: pinning the same link or image to many boards within a short
//! time reads as spam, so a post that would land closer than the account's minimum gap to
//! another live post of the same content is moved later, never refused.
//!
//! Everything here is a pure function of the schedule, what is already booked and "now"; the
//! store runs it inside the transaction that inserts the post, so two replicas cannot book one
//! slot twice.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// The most slots one account's week may hold: a pin every 15 minutes around the clock is far
/// beyond what Pinterest's limits or a sensible plan allow, and the bound keeps a schedule small.
pub const MAX_SLOTS_PER_WEEK: usize = 672;

/// The longest spacing rule: 30 days.
pub const MAX_SPACING_SECS: i64 = 30 * 24 * 3600;

/// How far ahead `next_slot` looks for a free slot before saying there is none.
pub const SLOT_HORIZON_DAYS: i32 = 366;

/// Why a schedule or a placement was refused; each names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// The time zone is not an IANA name the bundled database knows.
    #[error(
        "time_zone `{0}` is not a known IANA time zone name (such as Europe/Berlin or America/New_York)"
    )]
    UnknownTimeZone(String),
    /// A slot's day is not a weekday name.
    #[error("slots[{index}].day `{value}` is not a weekday; use monday … sunday (or mon … sun)")]
    BadDay { index: usize, value: String },
    /// A slot's time is not `HH:MM`.
    #[error("slots[{index}].time `{value}` is not a time of day as HH:MM (24-hour), such as 09:30")]
    BadTime { index: usize, value: String },
    /// More slots than [`MAX_SLOTS_PER_WEEK`].
    #[error("a week holds at most {MAX_SLOTS_PER_WEEK} slots")]
    TooManySlots,
    /// The spacing rule is negative or longer than [`MAX_SPACING_SECS`].
    #[error("spacing_minutes must be between 0 (off) and {} (30 days)", MAX_SPACING_SECS / 60)]
    BadSpacing,
    /// `next_slot` was asked of an account without slots.
    #[error(
        "the account has no time slots; set them with PUT /v1/accounts/{{id}}/slots, or give publish_at as a time"
    )]
    NoSlots,
    /// Every slot in the horizon is taken (or too close to the same content).
    #[error(
        "no free slot in the next {SLOT_HORIZON_DAYS} days; add slots or give publish_at as a time"
    )]
    NoFreeSlot,
}

/// One weekly slot as an API caller writes it: a weekday and a wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    /// Monday is 1, Sunday 7 (ISO 8601), so slots sort through the week.
    weekday: i8,
    hour: i8,
    minute: i8,
}

impl Slot {
    /// Reads `("monday" | "mon", "09:30")`; `index` names the slot in errors.
    pub fn parse(index: usize, day: &str, time: &str) -> Result<Slot, SlotError> {
        let weekday = weekday_number(day).ok_or_else(|| SlotError::BadDay {
            index,
            value: day.to_owned(),
        })?;
        let bad_time = || SlotError::BadTime {
            index,
            value: time.to_owned(),
        };
        let (hour, minute) = time.trim().split_once(':').ok_or_else(bad_time)?;
        let parse = |text: &str, max: i8| -> Option<i8> {
            if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse::<i8>().ok().filter(|value| *value <= max)
        };
        Ok(Slot {
            weekday,
            hour: parse(hour, 23).ok_or_else(bad_time)?,
            minute: parse(minute, 59).ok_or_else(bad_time)?,
        })
    }

    /// The weekday's full English name, as the API writes it back.
    pub fn day_name(&self) -> &'static str {
        DAY_NAMES[(self.weekday - 1) as usize]
    }

    /// `HH:MM`.
    pub fn time_text(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    fn weekday(&self) -> Weekday {
        Weekday::from_monday_one_offset(self.weekday).unwrap_or(Weekday::Monday)
    }

    fn time(&self) -> Time {
        Time::constant(self.hour, self.minute, 0, 0)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.day_name(), self.time_text())
    }
}

const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn weekday_number(day: &str) -> Option<i8> {
    let day = day.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|name| *name == day || (day.len() == 3 && name.starts_with(day.as_str())))
        .map(|position| position as i8 + 1)
}

/// An account's schedule: its time zone, its weekly slots and its spacing rule.
#[derive(Debug, Clone)]
pub struct Schedule {
    zone_name: String,
    zone: TimeZone,
    slots: Vec<Slot>,
    spacing_ms: i64,
}

impl Schedule {
    /// A schedule from its parts, checked: a known zone, at most [`MAX_SLOTS_PER_WEEK`] slots
    /// (duplicates merged), spacing within bounds.
    pub fn new(
        zone_name: &str,
        mut slots: Vec<Slot>,
        spacing_secs: i64,
    ) -> Result<Self, SlotError> {
        let zone = TimeZone::get(zone_name.trim())
            .map_err(|_| SlotError::UnknownTimeZone(zone_name.to_owned()))?;
        slots.sort_unstable();
        slots.dedup();
        if slots.len() > MAX_SLOTS_PER_WEEK {
            return Err(SlotError::TooManySlots);
        }
        if !(0..=MAX_SPACING_SECS).contains(&spacing_secs) {
            return Err(SlotError::BadSpacing);
        }
        Ok(Schedule {
            zone_name: zone.iana_name().unwrap_or(zone_name.trim()).to_owned(),
            zone,
            slots,
            spacing_ms: spacing_secs * 1000,
        })
    }

    /// A schedule as the store keeps it: one `"weekday HH:MM"` per line.
    pub fn from_stored(zone_name: &str, lines: &str, spacing_secs: i64) -> Result<Self, SlotError> {
        let slots = lines
            .lines()
            .enumerate()
            .map(|(index, line)| {
                let (day, time) = line.split_once(' ').unwrap_or((line, ""));
                Slot::parse(index, day, time)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Schedule::new(zone_name, slots, spacing_secs)
    }

    /// The slots as the store keeps them (see [`Schedule::from_stored`]).
    pub fn stored_slots(&self) -> String {
        self.slots
            .iter()
            .map(Slot::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The IANA name of the account's time zone.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The weekly slots, Monday first.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The minimum gap between pins of the same link or image, in seconds (0: no rule).
    pub fn spacing_secs(&self) -> i64 {
        self.spacing_ms / 1000
    }

    /// The time zone, for showing instants as the account's wall clock.
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Slot instants (unix ms) strictly after `after_ms`, in order, for up to
    /// [`SLOT_HORIZON_DAYS`] days.
    pub fn slot_instants_after(&self, after_ms: i64) -> impl Iterator<Item = i64> + '_ {
        let start = Timestamp::from_millisecond(after_ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.zone.clone())
            .date();
        (0..=SLOT_HORIZON_DAYS)
            .filter_map(move |offset| start.checked_add(jiff::Span::new().days(offset)).ok())
            .flat_map(move |date| self.instants_on(date))
            .filter(move |at| *at > after_ms)
    }

    /// The instants of the slots on one local date, in order (a slot skipped by a change of
    /// offset lands after the gap, which may reorder it; sorting keeps the walk monotonic).
    fn instants_on(&self, date: Date) -> Vec<i64> {
        let weekday = date.weekday();
        let mut instants: Vec<i64> = self
            .slots
            .iter()
            .filter(|slot| slot.weekday() == weekday)
            .filter_map(|slot| {
                date.to_datetime(slot.time())
                    .to_zoned(self.zone.clone())
                    .ok()
            })
            .map(|zoned| zoned.timestamp().as_millisecond())
            .collect();
        instants.sort_unstable();
        instants.dedup();
        instants
    }

    /// Where a post goes. `booked` holds the times of the account's live posts still to
    /// publish (any order); `same_content` the times of its live or published posts with the
    /// same link or image.
    pub fn place(
        &self,
        request: Request,
        booked: &[i64],
        same_content: &[i64],
        now_ms: i64,
    ) -> Result<Placed, SlotError> {
        match request {
            Request::NextSlot(not_before) => {
                if self.slots.is_empty() {
                    return Err(SlotError::NoSlots);
                }
                let booked: std::collections::HashSet<i64> = booked.iter().copied().collect();
                // A slot exactly at `not_before` counts; one exactly now has gone.
                let after = not_before.map_or(now_ms, |at| (at - 1).max(now_ms));
                self.slot_instants_after(after)
                    .find(|at| !booked.contains(at) && self.spaced_enough(*at, same_content))
                    .map(|at| Placed {
                        at: Some(at),
                        placement: Some(Placement::Slot),
                    })
                    .ok_or(SlotError::NoFreeSlot)
            }
            Request::At(requested) => {
                let start = requested.unwrap_or(now_ms).max(now_ms);
                let at = self.spaced_from(start, same_content);
                Ok(if at == start {
                    Placed {
                        at: requested,
                        placement: None,
                    }
                } else {
                    Placed {
                        at: Some(at),
                        placement: Some(Placement::Spaced),
                    }
                })
            }
        }
    }

    fn spaced_enough(&self, at: i64, same_content: &[i64]) -> bool {
        self.spacing_ms == 0
            || same_content
                .iter()
                .all(|other| (at - other).abs() >= self.spacing_ms)
    }

    /// The earliest instant at or after `start` that is at least the spacing away from every
    /// time in `same_content`. Each step jumps past the conflict it found, so the walk ends
    /// after at most one step per conflicting time.
    fn spaced_from(&self, start: i64, same_content: &[i64]) -> i64 {
        let mut at = start;
        while let Some(conflict) = same_content
            .iter()
            .filter(|other| (at - **other).abs() < self.spacing_ms)
            .max()
        {
            at = conflict + self.spacing_ms;
        }
        at
    }
}

/// When the caller asked the post to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The next free slot of the account's schedule, at or after the time given if any.
    NextSlot(Option<i64>),
    /// At this time (`None`: as soon as possible), moved later only by the spacing rule.
    At(Option<i64>),
}

/// Why a post's time is not the one its caller gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Put in the account's next free slot.
    Slot,
    /// Moved later to keep the same link or image apart.
    Spaced,
}

impl Placement {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Slot => "slot",
            Placement::Spaced => "spaced",
        }
    }
}

/// Where a post landed: its `publish_at` (`None`: as soon as possible) and why, if it moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub at: Option<i64>,
    pub placement: Option<Placement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().expect("valid").as_millisecond()
    }

    fn daily(zone: &str, times: &[&str]) -> Schedule {
        let mut slots = Vec::new();
        for day in DAY_NAMES {
            for time in times {
                slots.push(Slot::parse(0, day, time).expect("valid"));
            }
        }
        Schedule::new(zone, slots, 0).expect("valid")
    }

    #[test]
    fn slots_keep_their_wall_clock_time_across_a_dst_change() {
        // US daylight saving starts on Sunday 14 March 2027 at 02:00.
        let schedule = daily("America/New_York", &["09:00"]);
        let instants: Vec<i64> = schedule
            .slot_instants_after(ms("2027-03-12T00:00:00Z"))
            .take(4)
            .collect();
        assert_eq!(
            instants,
            vec![
                ms("2027-03-12T14:00:00Z"), // 09:00 EST
                ms("2027-03-13T14:00:00Z"),
                ms("2027-03-14T13:00:00Z"), // 09:00 EDT
                ms("2027-03-15T13:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_slot_in_the_spring_forward_gap_moves_past_it_and_a_repeated_hour_is_taken_once() {
        let schedule = daily("America/New_York", &["02:30"]);
        let spring: Vec<i64> = schedule
            .slot_instants_after(ms("2027-03-13T12:00:00Z"))
            .take(2)
            .collect();
        // 02:30 does not exist on 14 March: 03:30 EDT.
        assert_eq!(spring[0], ms("2027-03-14T07:30:00Z"));
        let schedule = daily("America/New_York", &["01:30"]);
        let fall: Vec<i64> = schedule
            .slot_instants_after(ms("2027-11-06T12:00:00Z"))
            .take(2)
            .collect();
        // 01:30 happens twice on 7 November: the first (EDT) only.
        assert_eq!(
            fall,
            vec![ms("2027-11-07T05:30:00Z"), ms("2027-11-08T06:30:00Z")]
        );
    }

    #[test]
    fn next_slot_skips_booked_slots_and_the_past() {
        let schedule = daily("UTC", &["09:00", "17:00"]);
        let now = ms("2027-01-04T10:00:00Z");
        let booked = [ms("2027-01-04T17:00:00Z")];
        let placed = schedule
            .place(Request::NextSlot(None), &booked, &[], now)
            .expect("valid");
        assert_eq!(placed.at, Some(ms("2027-01-05T09:00:00Z")));
        assert_eq!(placed.placement, Some(Placement::Slot));
    }

    #[test]
    fn next_slot_can_start_at_a_later_time() {
        let schedule = daily("UTC", &["09:00", "17:00"]);
        let now = ms("2027-01-04T10:00:00Z");
        let placed = schedule
            .place(
                Request::NextSlot(Some(ms("2027-01-06T09:00:00Z"))),
                &[],
                &[],
                now,
            )
            .expect("valid");
        assert_eq!(placed.at, Some(ms("2027-01-06T09:00:00Z")));
        // A time already past starts from now.
        let placed = schedule
            .place(Request::NextSlot(Some(0)), &[], &[], now)
            .expect("valid");
        assert_eq!(placed.at, Some(ms("2027-01-04T17:00:00Z")));
    }

    #[test]
    fn spacing_moves_a_duplicate_and_leaves_others_alone() {
        let mut schedule = daily("UTC", &["09:00"]);
        schedule.spacing_ms = 6 * 3600 * 1000;
        let now = ms("2027-01-04T00:00:00Z");
        let same = [ms("2027-01-04T12:00:00Z"), ms("2027-01-04T18:00:00Z")];
        let placed = schedule
            .place(
                Request::At(Some(ms("2027-01-04T13:00:00Z"))),
                &[],
                &same,
                now,
            )
            .expect("valid");
        assert_eq!(placed.at, Some(ms("2027-01-05T00:00:00Z")));
        assert_eq!(placed.placement, Some(Placement::Spaced));
        let free = schedule
            .place(
                Request::At(Some(ms("2027-01-04T05:00:00Z"))),
                &[],
                &same,
                now,
            )
            .expect("valid");
        assert_eq!(free.at, Some(ms("2027-01-04T05:00:00Z")));
        assert_eq!(free.placement, None);
        // As soon as possible stays "as soon as possible" when nothing is close.
        let asap = schedule
            .place(Request::At(None), &[], &[], now)
            .expect("valid");
        assert_eq!(asap.at, None);
        // A slot too close to the same content is passed over.
        let slot = schedule
            .place(
                Request::NextSlot(None),
                &[],
                &[ms("2027-01-04T08:00:00Z")],
                now,
            )
            .expect("valid");
        assert_eq!(slot.at, Some(ms("2027-01-05T09:00:00Z")));
    }

    #[test]
    fn a_stored_schedule_reads_back_the_same() {
        let schedule = Schedule::new(
            "Europe/Berlin",
            vec![
                Slot::parse(0, "fri", "17:45").expect("valid"),
                Slot::parse(1, "Monday", "09:00").expect("valid"),
            ],
            3600,
        )
        .expect("valid");
        assert_eq!(schedule.stored_slots(), "monday 09:00\nfriday 17:45");
        let back =
            Schedule::from_stored("Europe/Berlin", &schedule.stored_slots(), 3600).expect("valid");
        assert_eq!(back.slots(), schedule.slots());
        assert_eq!(back.spacing_secs(), 3600);
    }

    #[test]
    fn bad_schedules_name_the_field() {
        assert!(matches!(
            Slot::parse(2, "mittwoch", "09:00"),
            Err(SlotError::BadDay { index: 2, .. })
        ));
        for time in ["9:00", "24:00", "09:60", "0900", "09:00:00"] {
            assert!(Slot::parse(0, "mon", time).is_err(), "{time}");
        }
        assert_eq!(
            Schedule::new("Mars/Olympus", vec![], 0).expect_err("refused"),
            SlotError::UnknownTimeZone("Mars/Olympus".into())
        );
        assert_eq!(
            Schedule::new("UTC", vec![], -1).expect_err("refused"),
            SlotError::BadSpacing
        );
        assert_eq!(
            daily("UTC", &[])
                .place(Request::NextSlot(None), &[], &[], 0)
                .expect_err("refused"),
            SlotError::NoSlots
        );
    }
}
