//! Quiet hours: automated outbound messages (follow-ups, reminders; not replies to a message
//! the customer just sent) go out only during the customer's local daytime.
//!
//! The default window is 08:00–21:00 every day (the TCPA's 8 am – 9 pm); a state may have a
//! stricter one (Florida and Oklahoma: 8 am – 8 pm; some states restrict Sundays), supplied by
//! configuration as a [`Schedule`] per state code. The rules are data, not legal advice: the
//! dealership's counsel decides them.
//!
//! Time zones: the workspace has no time-zone database (chrono-tz or jiff would add megabytes
//! to every Lambda for one check), so the caller resolves the customer's IANA zone (from the
//! dealership's zone or the customer's area code) to its UTC offset at `now` and passes a
//! [`FixedOffset`]; [`parse_utc_offset`] reads "+05:30", "-0500", "UTC" or "Z" and refuses an
//! IANA name, saying so. Across a daylight-saving change the returned next-allowed time may be
//! an hour off: the caller schedules for that time and checks again then.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveTime, TimeZone, Timelike, Utc, Weekday};

/// A daily sending window, local time, `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: NaiveTime,
    end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("a sending window must start before it ends (got {start}–{end})")]
    EmptyWindow { start: NaiveTime, end: NaiveTime },
    #[error("{0:?} is not a UTC offset such as +05:30, -0500 or UTC; resolve an IANA time zone to its offset first")]
    Offset(String),
    #[error("quiet hours setting: {0}")]
    Setting(String),
}

impl Window {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, QuietHoursError> {
        if start >= end {
            return Err(QuietHoursError::EmptyWindow { start, end });
        }
        Ok(Self { start, end })
    }

    /// From whole hours: `Window::hours(8, 21)` is 08:00–21:00; an end of 24 or more is
    /// 23:59:59.
    pub fn hours(start: u32, end: u32) -> Result<Self, QuietHoursError> {
        let time = |hour: u32| NaiveTime::from_hms_opt(hour.min(23), 0, 0).expect("an hour below 24");
        let end_time = if end >= 24 {
            NaiveTime::from_hms_opt(23, 59, 59).expect("valid")
        } else {
            time(end)
        };
        Self::new(time(start), end_time)
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }
}

/// The sending window of each weekday; `None` is a day without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Monday first.
    days: [Option<Window>; 7],
}

impl Schedule {
    /// The same window every day.
    pub fn every_day(window: Window) -> Self {
        Self {
            days: [Some(window); 7],
        }
    }

    /// This schedule with `day` changed (`None`: no sending that day).
    pub fn with_day(mut self, day: Weekday, window: Option<Window>) -> Self {
        self.days[day.num_days_from_monday() as usize] = window;
        self
    }

    pub fn day(&self, day: Weekday) -> Option<Window> {
        self.days[day.num_days_from_monday() as usize]
    }
}

/// The default schedule and stricter ones per state (or province) code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    pub default: Schedule,
    /// Keyed by upper-case code ("FL", "OK").
    pub states: BTreeMap<String, Schedule>,
}

impl Default for QuietHours {
    /// 08:00–21:00 every day, no state overrides.
    fn default() -> Self {
        Self {
            default: Schedule::every_day(Window::hours(8, 21).expect("8 < 21")),
            states: BTreeMap::new(),
        }
    }
}

impl QuietHours {
    /// A dealership's setting (`ai_config.quiet_hours`), whole local hours:
    /// `{"start": 8, "end": 21, "states": {"FL": {"start": 8, "end": 20, "sunday": false}}}`.
    /// Everything is optional; what is missing keeps the default (08–21 every day), and a
    /// state's `"sunday": false` stops sending on Sundays there.
    pub fn from_setting(setting: &serde_json::Value) -> Result<Self, QuietHoursError> {
        let invalid = |what: String| QuietHoursError::Setting(what);
        let schedule = |value: &serde_json::Value, base: Schedule| -> Result<Schedule, QuietHoursError> {
            let hour = |key: &str, default: u32| match value.get(key) {
                None => Ok(default),
                Some(hour) => hour
                    .as_u64()
                    .filter(|hour| *hour <= 24)
                    .map(|hour| hour as u32)
                    .ok_or_else(|| invalid(format!("`{key}` must be a whole hour 0-24, got {hour}"))),
            };
            // A state's hours default to the dealership's own (Monday's window stands for all).
            let base_window = base.day(Weekday::Mon).unwrap_or(Window::hours(8, 21)?);
            let end_hour = match base_window.end.hour() {
                23 if base_window.end.minute() == 59 => 24,
                hour => hour,
            };
            let start = hour("start", base_window.start.hour())?;
            let end = hour("end", end_hour)?;
            let mut schedule = Schedule::every_day(Window::hours(start, end)?);
            if value.get("sunday").and_then(serde_json::Value::as_bool) == Some(false) {
                schedule = schedule.with_day(Weekday::Sun, None);
            }
            Ok(schedule)
        };
        let mut rules = Self::default();
        if !setting.is_object() {
            return if setting.is_null() {
                Ok(rules)
            } else {
                Err(invalid(format!("must be an object, got {setting}")))
            };
        }
        rules.default = schedule(setting, rules.default)?;
        if let Some(states) = setting.get("states") {
            let states = states
                .as_object()
                .ok_or_else(|| invalid("`states` must be an object of state codes".to_owned()))?;
            for (state, value) in states {
                let state_schedule = schedule(value, rules.default)?;
                rules = rules.with_state(state, state_schedule);
            }
        }
        Ok(rules)
    }

    /// These rules with `state`'s schedule set.
    pub fn with_state(mut self, state: &str, schedule: Schedule) -> Self {
        self.states.insert(state.trim().to_ascii_uppercase(), schedule);
        self
    }

    /// The schedule for a customer in `state` (the default when the state has none or is
    /// unknown).
    pub fn schedule(&self, state: Option<&str>) -> &Schedule {
        state
            .and_then(|s| self.states.get(&s.trim().to_ascii_uppercase()))
            .unwrap_or(&self.default)
    }
}

/// Not now; the earliest time when sending is allowed, or `None` when the schedule has no
/// sending day at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextAllowed(pub Option<DateTime<Utc>>);

/// Whether an automated message may go to a customer now: `Ok(())`, or the next time it may.
pub fn may_send_automated(
    now_utc: DateTime<Utc>,
    customer_offset: FixedOffset,
    rules: &QuietHours,
    state: Option<&str>,
) -> Result<(), NextAllowed> {
    let schedule = rules.schedule(state);
    let local = now_utc.with_timezone(&customer_offset);
    let today = local.date_naive();
    for days_ahead in 0..=7u64 {
        let Some(date) = today.checked_add_days(Days::new(days_ahead)) else {
            break;
        };
        let Some(window) = schedule.day(date.weekday()) else {
            continue;
        };
        if days_ahead == 0 {
            let time = local.time();
            if time >= window.start && time < window.end {
                return Ok(());
            }
            if time >= window.end {
                continue;
            }
        }
        let opens = customer_offset
            .from_local_datetime(&date.and_time(window.start))
            .single();
        return Err(NextAllowed(opens.map(|at| at.with_timezone(&Utc))));
    }
    Err(NextAllowed(None))
}

/// Reads a UTC offset: "+05:30", "-05:00", "-0500", "+5", "UTC", "GMT", "Z". An IANA name
/// ("America/Chicago") is an error that says to resolve it first.
pub fn parse_utc_offset(text: &str) -> Result<FixedOffset, QuietHoursError> {
    let error = || QuietHoursError::Offset(text.to_owned());
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    if rest.is_empty() || rest == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return Err(error()),
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at(2),
        None if digits.len() <= 2 => (digits, "0"),
        None => return Err(error()),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return Err(error());
    }
    let hours: i32 = hours.parse().map_err(|_| error())?;
    let minutes: i32 = minutes.parse().map_err(|_| error())?;
    if hours > 14 || minutes > 59 {
        return Err(error());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dealership_setting_sets_the_default_and_stricter_states() {
        let rules = QuietHours::from_setting(&serde_json::json!({
            "start": 9, "end": 20, "states": { "fl": { "end": 19, "sunday": false } }
        }))
        .unwrap();
        assert_eq!(rules.default.day(Weekday::Sun), Some(Window::hours(9, 20).unwrap()));
        let florida = rules.schedule(Some("FL"));
        assert_eq!(florida.day(Weekday::Mon), Some(Window::hours(9, 19).unwrap()));
        assert_eq!(florida.day(Weekday::Sun), None);
        assert_eq!(
            QuietHours::from_setting(&serde_json::Value::Null).unwrap(),
            QuietHours::default()
        );
        for bad in [
            serde_json::json!({ "start": 25 }),
            serde_json::json!({ "start": 21, "end": 8 }),
            serde_json::json!({ "states": [] }),
            serde_json::json!("8-21"),
        ] {
            assert!(QuietHours::from_setting(&bad).is_err(), "{bad}");
        }
    }
}
