//! A dealership's opening hours (`dealerships.business_hours`), so the assistant can say
//! honestly when a person will follow up.
//!
//! The shape: one key per weekday (`mon` … `sun`, or the full English names, any case), each
//! `"09:00-19:00"` or `{"open": "09:00", "close": "19:00"}`; a missing day, `null` or
//! `"closed"` is closed. Times are the dealership's wall clock. An empty object means the
//! hours are not known: nothing is promised about them.

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};
use serde_json::Value;

const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Opening hours per weekday, Monday first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hours {
    days: [Option<(NaiveTime, NaiveTime)>; 7],
    known: bool,
}

impl Hours {
    /// Reads `business_hours`; days it cannot read count as closed.
    pub fn parse(value: &Value) -> Self {
        let mut hours = Hours::default();
        let Value::Object(map) = value else { return hours };
        for (key, day) in map {
            let key = key.to_ascii_lowercase();
            let Some(index) = DAYS
                .iter()
                .position(|(short, long)| key == *short || key == long.to_ascii_lowercase())
            else {
                continue;
            };
            hours.known = true;
            hours.days[index] = match day {
                Value::String(range) => range.split_once('-').and_then(|(open, close)| times(open, close)),
                Value::Object(times_of) => match (times_of.get("open"), times_of.get("close")) {
                    (Some(Value::String(open)), Some(Value::String(close))) => times(open, close),
                    _ => None,
                },
                _ => None,
            };
        }
        hours
    }

    /// Reads hours a person is setting (the settings route): every key a weekday, every value
    /// a range, `{"open", "close"}`, `"closed"` or null; anything else is refused, named.
    pub fn parse_strict(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("must be an object of weekdays, e.g. {\"mon\": \"09:00-19:00\"}".to_owned());
        };
        for (key, day) in map {
            let lower = key.to_ascii_lowercase();
            if !DAYS
                .iter()
                .any(|(short, long)| lower == *short || lower == long.to_ascii_lowercase())
            {
                return Err(format!("{key:?} is not a weekday (mon … sun)"));
            }
            let readable = match day {
                Value::Null => true,
                Value::String(text) if text.eq_ignore_ascii_case("closed") => true,
                Value::String(range) => range
                    .split_once('-')
                    .and_then(|(open, close)| times(open, close))
                    .is_some(),
                Value::Object(times_of) => matches!(
                    (times_of.get("open"), times_of.get("close")),
                    (Some(Value::String(open)), Some(Value::String(close))) if times(open, close).is_some()
                ),
                _ => false,
            };
            if !readable {
                return Err(format!(
                    "{key}: {day} is not \"HH:MM-HH:MM\" (opening before closing), {{\"open\", \"close\"}} or \"closed\""
                ));
            }
        }
        Ok(Self::parse(value))
    }

    /// Whether the hours are set at all.
    pub fn known(&self) -> bool {
        self.known
    }

    pub fn is_open(&self, local: NaiveDateTime) -> bool {
        let day = local.weekday().num_days_from_monday() as usize;
        self.days[day].is_some_and(|(open, close)| local.time() >= open && local.time() < close)
    }

    /// The next opening after `local` within a week; None when never open.
    pub fn next_opening(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        (0..8).find_map(|offset| {
            let date = local.date() + Duration::days(offset);
            let day = date.weekday().num_days_from_monday() as usize;
            let (open, _) = self.days[day]?;
            let at = date.and_time(open);
            (at > local).then_some(at)
        })
    }

    /// "Monday 09:00–19:00, …, Sunday closed", or None when unknown.
    pub fn describe(&self) -> Option<String> {
        self.known.then(|| {
            DAYS.iter()
                .zip(self.days)
                .map(|((_, name), day)| match day {
                    Some((open, close)) => format!("{name} {}–{}", open.format("%H:%M"), close.format("%H:%M")),
                    None => format!("{name} closed"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// When a person will follow up, honestly: soon while open, else at the next opening.
    pub fn follow_up(&self, local: NaiveDateTime) -> String {
        if !self.known {
            return "A member of our team will follow up with you as soon as possible.".to_owned();
        }
        if self.is_open(local) {
            return "We're open now, so a member of our team will follow up with you shortly.".to_owned();
        }
        match self.next_opening(local) {
            Some(at) if at.date() == local.date() => format!(
                "We're closed right now; a member of our team will follow up after we open at {}.",
                at.format("%H:%M")
            ),
            Some(at) => format!(
                "We're closed right now; a member of our team will follow up when we open on {} at {}.",
                at.format("%A"),
                at.format("%H:%M")
            ),
            None => "A member of our team will follow up with you as soon as possible.".to_owned(),
        }
    }
}

fn times(open: &str, close: &str) -> Option<(NaiveTime, NaiveTime)> {
    let parse = |text: &str| NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
    let (open, close) = (parse(open)?, parse(close)?);
    (open < close).then_some((open, close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hours_being_set_are_read_strictly() {
        let hours = Hours::parse_strict(&json!({ "mon": "09:00-19:00", "Sunday": "closed", "sat": null,
                                                 "tue": { "open": "10:00", "close": "18:00" } }))
        .unwrap();
        assert!(hours.known());
        for (bad, says) in [
            (json!({ "funday": "09:00-17:00" }), "not a weekday"),
            (json!({ "mon": "19:00-09:00" }), "opening before closing"),
            (json!({ "mon": "9 to 5" }), "HH:MM"),
            (json!("09:00-17:00"), "must be an object"),
        ] {
            let error = Hours::parse_strict(&bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn open_closed_and_the_next_opening() {
        // 2026-11-23 is a Monday.
        let hours = Hours::parse(&json!({
            "mon": "09:00-19:00", "Tuesday": {"open": "09:00", "close": "19:00"},
            "sat": "10:00 - 16:00", "sun": "closed"
        }));
        assert!(hours.is_open(at("2026-11-23 10:00")));
        assert!(!hours.is_open(at("2026-11-23 19:00")));
        assert_eq!(hours.next_opening(at("2026-11-23 20:00")), Some(at("2026-11-24 09:00")));
        // Tuesday evening: Wednesday to Friday are not given, so Saturday.
        assert_eq!(hours.next_opening(at("2026-11-24 20:00")), Some(at("2026-11-28 10:00")));
        assert!(hours.follow_up(at("2026-11-24 20:00")).contains("Saturday at 10:00"));
        assert!(
            hours
                .follow_up(at("2026-11-23 07:30"))
                .contains("after we open at 09:00")
        );
        assert!(hours.follow_up(at("2026-11-23 12:00")).contains("open now"));
        assert!(
            hours
                .describe()
                .unwrap()
                .starts_with("Monday 09:00–19:00, Tuesday 09:00–19:00, Wednesday closed")
        );
    }

    #[test]
    fn unknown_hours_promise_nothing() {
        let hours = Hours::parse(&json!({}));
        assert!(!hours.known());
        assert_eq!(hours.describe(), None);
        assert!(hours.follow_up(at("2026-11-23 03:00")).contains("as soon as possible"));
        let garbage = Hours::parse(&json!({"mon": "nine to five", "holiday": "10:00-12:00"}));
        assert!(!garbage.is_open(at("2026-11-23 10:00")));
    }
}
