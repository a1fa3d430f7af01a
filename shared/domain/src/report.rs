//! Scheduled reports: a dealership's report settings, which report periods are due at a given
//! local time, the key that makes each report happen once, and CSV that is safe to open in a
//! spreadsheet.
//!
//! # Why the schedule works on local dates
//!
//! A dealership reads "yesterday" and "last week" on its own wall clock, so periods are whole
//! local days (`start` inclusive, `end` exclusive). Turning a local date into an instant needs
//! the IANA time-zone database; PostgreSQL has it (`date::timestamp AT TIME ZONE tz`, correct
//! across daylight-saving changes), so the store does that conversion and everything here
//! stays pure: give [`due_periods`] the local time and it says what is due.
//!
//! # Why the CSV is neutralised
//!
//! A report goes to people who open it in Excel or Sheets, and some cells hold text that came
//! from customers or feeds (a make, a model, a trim). A cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return is read as a formula by spreadsheets ("CSV injection");
//! [`neutralize_cell`] prefixes such a cell with a single quote, as OWASP recommends, and
//! [`csv_document`] applies it to every cell, so no caller can forget it.

use std::borrow::Cow;
use std::fmt;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::DealershipId;

/// How long a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// One local day.
    Daily,
    /// Seven local days ending the day before the settings' `weekly_day`.
    Weekly,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Daily => "daily",
            PeriodKind::Weekly => "weekly",
        }
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The local days a report covers: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReportPeriod {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl ReportPeriod {
    /// The business key of one dealership's report for this period: the report job, its
    /// e-mail and the schedule's record all derive from it, so it happens once.
    pub fn key(&self, dealership: DealershipId) -> String {
        format!("report:{dealership}:{}:{}", self.kind, self.start)
    }
}

/// When and to whom a dealership's reports go, parsed from `dealerships.report_settings`:
///
/// ```json
/// { "daily": true, "weekly": true, "weekly_day": "mon", "send_hour": 7,
///   "recipients": ["gm@dealer.example"] }
/// ```
///
/// Every field is optional: reports are off until `daily` or `weekly` is true, the week ends
/// on Monday, reports go at 07:00 local time, and with no recipients they go to the
/// dealership's handover address (or, failing that, its contact address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    pub daily: bool,
    pub weekly: bool,
    /// The weekly report goes on this day and covers the seven days before it.
    pub weekly_day: Weekday,
    /// Local hour (0–23) from which a report is due.
    pub send_hour: u32,
    /// Lower-cased addresses; empty: the dealership's own address.
    pub recipients: Vec<String>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            daily: false,
            weekly: false,
            weekly_day: Weekday::Mon,
            send_hour: 7,
            recipients: Vec::new(),
        }
    }
}

/// Why a `report_settings` object was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("report_settings.{field}: {problem}")]
pub struct ReportSettingsError {
    pub field: String,
    pub problem: String,
}

/// At most this many recipients per report.
pub const MAX_RECIPIENTS: usize = 20;

impl ReportSettings {
    /// Parses the JSON object stored in `dealerships.report_settings`. Unknown fields are
    /// refused, so a misspelt `weekly_day` does not silently send on Monday.
    pub fn parse(value: &Value) -> Result<Self, ReportSettingsError> {
        let refuse = |field: &str, problem: &str| ReportSettingsError {
            field: field.to_owned(),
            problem: problem.to_owned(),
        };
        let Value::Object(map) = value else {
            return Err(refuse("", "must be a JSON object"));
        };
        let mut settings = ReportSettings::default();
        for (field, value) in map {
            match field.as_str() {
                "daily" => settings.daily = value.as_bool().ok_or_else(|| refuse(field, "must be true or false"))?,
                "weekly" => settings.weekly = value.as_bool().ok_or_else(|| refuse(field, "must be true or false"))?,
                "weekly_day" => {
                    settings.weekly_day = value
                        .as_str()
                        .and_then(parse_weekday)
                        .ok_or_else(|| refuse(field, "must be a day: mon, tue, wed, thu, fri, sat or sun"))?
                }
                "send_hour" => {
                    settings.send_hour = value
                        .as_u64()
                        .filter(|hour| *hour < 24)
                        .ok_or_else(|| refuse(field, "must be a whole hour from 0 to 23"))?
                        as u32
                }
                "recipients" => {
                    let items = value
                        .as_array()
                        .ok_or_else(|| refuse(field, "must be a list of e-mail addresses"))?;
                    if items.len() > MAX_RECIPIENTS {
                        return Err(refuse(field, &format!("has more than {MAX_RECIPIENTS} addresses")));
                    }
                    let mut recipients = Vec::with_capacity(items.len());
                    for item in items {
                        let address = item
                            .as_str()
                            .map(|address| address.trim().to_lowercase())
                            .filter(|address| is_mailbox(address))
                            .ok_or_else(|| refuse(field, &format!("{item} is not an e-mail address")))?;
                        if !recipients.contains(&address) {
                            recipients.push(address);
                        }
                    }
                    settings.recipients = recipients;
                }
                _ => return Err(refuse(field, "is not a report setting")),
            }
        }
        Ok(settings)
    }

    /// The addresses a report goes to: the configured recipients, else `fallback` (the
    /// dealership's handover or contact address) when there is one.
    pub fn recipients_or(&self, fallback: Option<&str>) -> Vec<String> {
        if !self.recipients.is_empty() {
            return self.recipients.clone();
        }
        fallback
            .map(|address| address.trim().to_lowercase())
            .filter(|address| is_mailbox(address))
            .into_iter()
            .collect()
    }
}

fn parse_weekday(raw: &str) -> Option<Weekday> {
    let lower = raw.trim().to_ascii_lowercase();
    let short = lower.get(..3)?;
    let day = match short {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    };
    // "mon" or the full name, nothing else.
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (lower.len() == 3 || full.contains(&lower.as_str())).then_some(day)
}

/// One `@`, a non-empty local part, a dot in the domain, no spaces or header breaks.
fn is_mailbox(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !address.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',')
        }
        None => false,
    }
}

/// The report periods due at local time `now` under `settings`.
///
/// Nothing is due before `send_hour`. From then on, the daily report covers yesterday, and
/// the weekly report covers the seven days before the most recent `weekly_day` (today, when
/// today is that day). The weekly one stays due all week, so an hour the schedule missed is
/// caught up later; each period is sent once, by its [`ReportPeriod::key`].
pub fn due_periods(settings: &ReportSettings, now: NaiveDateTime) -> Vec<ReportPeriod> {
    if now.hour() < settings.send_hour {
        return Vec::new();
    }
    let today = now.date();
    let mut due = Vec::new();
    if settings.daily
        && let Some(yesterday) = today.checked_sub_days(Days::new(1))
    {
        due.push(ReportPeriod {
            kind: PeriodKind::Daily,
            start: yesterday,
            end: today,
        });
    }
    if settings.weekly {
        let since_weekly_day =
            (7 + today.weekday().num_days_from_monday() - settings.weekly_day.num_days_from_monday()) % 7;
        let end = today.checked_sub_days(Days::new(u64::from(since_weekly_day)));
        if let Some((start, end)) = end.and_then(|end| Some((end.checked_sub_days(Days::new(7))?, end))) {
            due.push(ReportPeriod {
                kind: PeriodKind::Weekly,
                start,
                end,
            });
        }
    }
    due
}

/// A cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading single quote. Numbers are written by us and never start
/// with those (a negative figure cannot occur in a report), so they pass unchanged.
pub fn neutralize_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV document (RFC 4180 quoting, CRLF line ends) of `header` and `rows`, every cell
/// neutralised with [`neutralize_cell`].
pub fn csv_document<R, C>(header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<C>>,
    C: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut write = |cells: Vec<Cow<'_, str>>| {
        writer
            .write_record(cells.iter().map(|cell| cell.as_bytes()))
            .expect("writing CSV to memory cannot fail");
    };
    write(header.iter().map(|cell| neutralize_cell(cell)).collect());
    for row in rows {
        write(row.iter().map(|cell| neutralize_cell(cell.as_ref())).collect());
    }
    let bytes = writer.into_inner().expect("flushing CSV to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 cells is UTF-8")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(raw: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").unwrap()
    }

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn settings_parse_with_defaults_and_name_the_bad_field() {
        assert_eq!(ReportSettings::parse(&json!({})).unwrap(), ReportSettings::default());
        let settings = ReportSettings::parse(&json!({
            "daily": true, "weekly": true, "weekly_day": "Friday", "send_hour": 6,
            "recipients": [" GM@Dealer.example ", "gm@dealer.example", "sales@dealer.example"]
        }))
        .unwrap();
        assert_eq!(
            settings,
            ReportSettings {
                daily: true,
                weekly: true,
                weekly_day: Weekday::Fri,
                send_hour: 6,
                recipients: vec!["gm@dealer.example".into(), "sales@dealer.example".into()],
            }
        );
        for (bad, field) in [
            (json!({"daily": "yes"}), "daily"),
            (json!({"weekly_day": "mo"}), "weekly_day"),
            (json!({"weekly_day": "monkey"}), "weekly_day"),
            (json!({"send_hour": 24}), "send_hour"),
            (json!({"send_hour": -1}), "send_hour"),
            (json!({"recipients": ["not-an-address"]}), "recipients"),
            (json!({"recipients": ["a@b.example\r\nBcc: x@y.example"]}), "recipients"),
            (json!({"weekley": true}), "weekley"),
        ] {
            assert_eq!(ReportSettings::parse(&bad).unwrap_err().field, field, "{bad}");
        }
        assert!(ReportSettings::parse(&json!([])).is_err());
    }

    #[test]
    fn recipients_fall_back_to_the_dealership_address() {
        let none = ReportSettings::default();
        assert_eq!(
            none.recipients_or(Some("Sales@Dealer.example")),
            vec!["sales@dealer.example"]
        );
        assert!(none.recipients_or(None).is_empty());
        assert!(none.recipients_or(Some("nobody")).is_empty());
        let some = ReportSettings {
            recipients: vec!["gm@dealer.example".into()],
            ..ReportSettings::default()
        };
        assert_eq!(
            some.recipients_or(Some("sales@dealer.example")),
            vec!["gm@dealer.example"]
        );
    }

    #[test]
    fn nothing_is_due_before_the_send_hour_then_yesterday_and_last_week_are() {
        let settings = ReportSettings {
            daily: true,
            weekly: true,
            weekly_day: Weekday::Mon,
            send_hour: 7,
            recipients: Vec::new(),
        };
        // 2026-03-02 is a Monday.
        assert!(due_periods(&settings, at("2026-03-02 06:59")).is_empty());
        assert_eq!(
            due_periods(&settings, at("2026-03-02 07:00")),
            vec![
                ReportPeriod {
                    kind: PeriodKind::Daily,
                    start: date("2026-03-01"),
                    end: date("2026-03-02")
                },
                ReportPeriod {
                    kind: PeriodKind::Weekly,
                    start: date("2026-02-23"),
                    end: date("2026-03-02")
                },
            ]
        );
        // Later in the week the same weekly period is still the due one (caught up, sent once
        // by its key); the daily one moves on.
        assert_eq!(
            due_periods(&settings, at("2026-03-04 23:00")),
            vec![
                ReportPeriod {
                    kind: PeriodKind::Daily,
                    start: date("2026-03-03"),
                    end: date("2026-03-04")
                },
                ReportPeriod {
                    kind: PeriodKind::Weekly,
                    start: date("2026-02-23"),
                    end: date("2026-03-02")
                },
            ]
        );
        // Sunday is the last day before the next weekly report.
        assert_eq!(
            due_periods(&settings, at("2026-03-08 08:00"))[1].end,
            date("2026-03-02")
        );
        assert!(due_periods(&ReportSettings::default(), at("2026-03-02 12:00")).is_empty());
    }

    #[test]
    fn a_report_key_names_the_dealership_the_kind_and_the_first_day() {
        let period = ReportPeriod {
            kind: PeriodKind::Weekly,
            start: date("2026-02-23"),
            end: date("2026-03-02"),
        };
        assert_eq!(period.key(DealershipId(7)), "report:7:weekly:2026-02-23");
    }

    #[test]
    fn formula_cells_are_neutralized_and_others_are_not() {
        for (raw, safe) in [
            ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("Toyota", "Toyota"),
            ("12.5", "12.5"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(neutralize_cell(raw), safe, "{raw:?}");
        }
    }

    #[test]
    fn a_csv_document_quotes_and_neutralizes_every_cell() {
        let document = csv_document(
            &["section", "value"],
            vec![vec!["demand", "=1+1"], vec!["make", "Land Rover, \"Defender\""]],
        );
        assert_eq!(
            document,
            "section,value\r\ndemand,'=1+1\r\nmake,\"Land Rover, \"\"Defender\"\"\"\r\n"
        );
    }
}
