//! The value parsers of the feed: one small function per kind of cell (money, mileage, year,
//! date, condition, status, yes/no, lists, text encoding).
//!
//! Feeds are typed by hand or exported by systems that disagree on every format, so each parser
//! accepts the spellings seen in real exports and rejects the rest with a reason. The reader
//! decides what a failure means (a dropped optional value with a warning, or a rejected row);
//! these functions only say what a cell holds. None of them allocates on success except where
//! the result owns text.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Condition, VehicleStatus};

/// An amount of money in cents (US dollars in practice; feeds carry no reliable currency).
///
/// Serialised as a whole number of cents (`2399500` for $23,995.00), so no float ever touches
/// a price; [`fmt::Display`] writes the decimal form (`23995.00`) that PostgreSQL `numeric`
/// accepts as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Cents(i64);

impl Cents {
    /// The largest amount a `numeric(12,2)` column holds: 9,999,999,999.99.
    pub const MAX: Cents = Cents(999_999_999_999);

    pub const fn new(cents: i64) -> Self {
        Self(cents)
    }

    pub const fn as_i64(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Why a cell could not be read as the value its column promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is not a number")]
    NotANumber,
    #[error("is negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
    #[error("has more than two decimal places")]
    TooManyDecimals,
    #[error("is not a model year between 1900 and 2100")]
    YearOutOfRange,
    #[error("is not a date (expected 2026-11-20, 11/20/2026 or 20261120)")]
    NotADate,
    #[error("is not a condition (expected new, used or certified)")]
    NotACondition,
    #[error("is not a status (expected available, pending, sold or in transit)")]
    NotAStatus,
    #[error("is not yes or no")]
    NotAYesNo,
}

/// Whether a cell says "no value": empty or blank, or one of the markers spreadsheets and
/// exports write for a missing value: `N/A`, `#N/A`, `NA`, `-`, `--`, `null`, `none`
/// (any case).
///
/// `NA` is included because R, pandas and several DMS exports write it for "missing"; no make,
/// model, colour, trim or stock number in a real feed is spelt exactly `NA`, so treating it as
/// missing loses nothing while keeping "NA" out of what the assistant says.
pub fn is_no_value(cell: &str) -> bool {
    const MARKERS: [&str; 7] = ["-", "--", "na", "n/a", "#n/a", "null", "none"];
    let cell = trim(cell);
    cell.is_empty() || (cell.len() <= 4 && MARKERS.iter().any(|marker| cell.eq_ignore_ascii_case(marker)))
}

/// [`str::trim`], with a fast path for the common case of ASCII at both ends.
pub fn trim(text: &str) -> &str {
    let trimmed = text.trim_ascii();
    match (trimmed.as_bytes().first(), trimmed.as_bytes().last()) {
        (Some(first), Some(last)) if !first.is_ascii() || !last.is_ascii() => trimmed.trim(),
        _ => trimmed,
    }
}

/// Decodes one cell: valid UTF-8 is borrowed as is; anything else is read as Windows-1252
/// (a superset of Latin-1 for printable text), which is what dealer systems on Windows write.
/// Deciding per cell rather than per file copes with files that mix the two.
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&byte| windows_1252_char(byte)).collect()),
    }
}

/// One Windows-1252 byte as a char. 0x80–0x9F hold typographic characters where Latin-1 has
/// control codes; the five bytes Windows-1252 leaves undefined map to the same code point, as
/// the WHATWG decoder does.
fn windows_1252_char(byte: u8) -> char {
    const HIGH_CONTROL_RANGE: [char; 32] = [
        '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', //
        '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}', //
        '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', //
        '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
    ];
    match byte {
        0x80..=0x9F => HIGH_CONTROL_RANGE[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Reads an amount of money: `$23,995.00`, `23995`, `23,995`, `USD 23995.00`, `23995 USD`.
///
/// Commas are thousands separators and a dot is the decimal point (US formats); more than two
/// decimals are refused unless the extra ones are zeros (`23995.000` from float exports).
/// Negative amounts (`-500`, `(500)`) and amounts beyond [`Cents::MAX`] are refused.
pub fn parse_money(cell: &str) -> Result<Cents, ValueError> {
    let mut text = cell.trim();
    let mut negative = false;
    if let Some(inner) = text.strip_prefix('(').and_then(|rest| rest.strip_suffix(')')) {
        negative = true;
        text = inner.trim();
    }
    if let Some(rest) = text.strip_prefix('-') {
        negative = true;
        text = rest.trim_start();
    }
    text = strip_currency(text);
    if let Some(rest) = text.strip_prefix('-') {
        negative = true;
        text = rest.trim_start();
    }

    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole = parse_grouped_digits(whole)?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::NotANumber);
    }
    let (cents_digits, beyond) = fraction.split_at(fraction.len().min(2));
    if beyond.bytes().any(|b| b != b'0') {
        return Err(ValueError::TooManyDecimals);
    }
    let mut fraction_cents = 0;
    for (position, digit) in cents_digits.bytes().enumerate() {
        fraction_cents += u64::from(digit - b'0') * if position == 0 { 10 } else { 1 };
    }
    let cents = whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction_cents))
        .ok_or(ValueError::TooLarge)?;
    if negative && cents != 0 {
        return Err(ValueError::Negative);
    }
    match i64::try_from(cents) {
        Ok(cents) if cents <= Cents::MAX.0 => Ok(Cents(cents)),
        _ => Err(ValueError::TooLarge),
    }
}

/// Removes one currency marker before or after the amount: `$`, `US$`, `USD` (any case).
fn strip_currency(text: &str) -> &str {
    const MARKERS: [&str; 3] = ["US$", "USD", "$"];
    for marker in MARKERS {
        if text.len() >= marker.len() && text.is_char_boundary(marker.len()) {
            let (head, rest) = text.split_at(marker.len());
            if head.eq_ignore_ascii_case(marker) {
                return rest.trim_start();
            }
        }
        let tail_start = text.len().wrapping_sub(marker.len());
        if text.len() >= marker.len() && text.is_char_boundary(tail_start) {
            let (rest, tail) = text.split_at(tail_start);
            if tail.eq_ignore_ascii_case(marker) {
                return rest.trim_end();
            }
        }
    }
    text
}

/// Digits with optional comma thousands separators (`23,995`), as a number. A comma must sit
/// between digits; anything else is not a number.
fn parse_grouped_digits(text: &str) -> Result<u64, ValueError> {
    let bytes = text.as_bytes();
    if bytes.first().is_none_or(|b| !b.is_ascii_digit()) || bytes.last().is_some_and(|b| !b.is_ascii_digit()) {
        return Err(ValueError::NotANumber);
    }
    let mut value: u64 = 0;
    let mut previous_was_comma = false;
    for &byte in bytes {
        match byte {
            b'0'..=b'9' => {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(byte - b'0')))
                    .ok_or(ValueError::TooLarge)?;
                previous_was_comma = false;
            }
            b',' if !previous_was_comma => previous_was_comma = true,
            _ => return Err(ValueError::NotANumber),
        }
    }
    Ok(value)
}

/// Reads an odometer reading in miles: `12345`, `12,345`, `12,345 mi`, `12345 miles`.
///
/// A dot is ambiguous between a European thousands separator and a decimal point. When it
/// groups digits in threes (`12.345`, `1.234.567`) it is read as a thousands separator;
/// otherwise it is a decimal point and the fraction is dropped (`12345.0` → 12345,
/// `12.5` → 12), since odometers count whole miles. The result fits the `integer` column and
/// is never negative.
pub fn parse_mileage(cell: &str) -> Result<i32, ValueError> {
    let mut text = cell.trim();
    for unit in ["miles", "mile", "mi.", "mi"] {
        let tail_start = text.len().wrapping_sub(unit.len());
        if text.len() > unit.len() && text.is_char_boundary(tail_start) && text[tail_start..].eq_ignore_ascii_case(unit)
        {
            text = text[..tail_start].trim_end();
            break;
        }
    }
    if text.starts_with('-') {
        return Err(ValueError::Negative);
    }
    let miles = if dots_group_thousands(text) {
        text.split('.').try_fold(0u64, |total, group| {
            let group = parse_grouped_digits(group)?;
            total
                .checked_mul(1000)
                .and_then(|t| t.checked_add(group))
                .ok_or(ValueError::TooLarge)
        })?
    } else {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::NotANumber);
        }
        parse_grouped_digits(whole)?
    };
    i32::try_from(miles).map_err(|_| ValueError::TooLarge)
}

/// `12.345`, `1.234.567`: a first group of one to three digits, then groups of exactly three.
fn dots_group_thousands(text: &str) -> bool {
    let mut groups = text.split('.');
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    let mut rest = groups.peekable();
    first_ok && rest.peek().is_some() && rest.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads a model year: four digits between 1900 and 2100 (the `vehicles.year` check).
pub fn parse_year(cell: &str) -> Result<i32, ValueError> {
    let text = cell.trim();
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::NotANumber);
    }
    let year: i32 = text.parse().map_err(|_| ValueError::NotANumber)?;
    if (1900..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(ValueError::YearOutOfRange)
    }
}

/// Reads a date: `2026-11-20`, `2026/11/20`, `11/20/2026` (US order; one-digit month and day
/// allowed), `20261120`, and timestamps whose date comes first (`2026-11-20T10:00:00Z`,
/// `11/20/2026 10:00 AM`). The time and zone are ignored: the date is taken as written.
pub fn parse_date(cell: &str) -> Result<NaiveDate, ValueError> {
    let text = cell.trim();
    let date_part = text.split(['T', ' ']).next().unwrap_or(text);
    let (year, month, day) = if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
        (&date_part[..4], &date_part[4..6], &date_part[6..])
    } else {
        let separator = if date_part.contains('-') { '-' } else { '/' };
        let mut parts = date_part.split(separator);
        let (Some(first), Some(second), Some(third), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ValueError::NotADate);
        };
        if first.len() == 4 {
            (first, second, third)
        } else {
            (third, first, second)
        }
    };
    let number = |digits: &str, max_len: usize| -> Option<u32> {
        if digits.is_empty() || digits.len() > max_len || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let date = match (number(year, 4), number(month, 2), number(day, 2)) {
        (Some(year), Some(month), Some(day)) if year >= 1000 => {
            NaiveDate::from_ymd_opt(i32::try_from(year).unwrap_or(0), month, day)
        }
        _ => None,
    };
    date.ok_or(ValueError::NotADate)
}

/// Reads new / used / certified: `New`, `N`, `Used`, `U`, `Pre-Owned`, `Certified`, `CPO`,
/// `C`, `Certified Pre-Owned`. Case, spaces and punctuation are ignored.
pub fn parse_condition(cell: &str) -> Result<Condition, ValueError> {
    const CERTIFIED: &[&str] = &["certified", "cpo", "c", "certifiedpreowned", "certifiedused"];
    const USED: &[&str] = &["used", "u", "preowned"];
    const NEW: &[&str] = &["new", "n"];
    if matches_any(cell, CERTIFIED) {
        Ok(Condition::Certified)
    } else if matches_any(cell, USED) {
        Ok(Condition::Used)
    } else if matches_any(cell, NEW) {
        Ok(Condition::New)
    } else {
        Err(ValueError::NotACondition)
    }
}

/// Reads availability: `Available` / `In Stock` / `Active`, `Pending` / `Sale Pending` /
/// `On Hold`, `Sold`, `In Transit` / `On Order`. An empty cell is not an error for the reader:
/// it means [`VehicleStatus::Available`], the default.
pub fn parse_status(cell: &str) -> Result<VehicleStatus, ValueError> {
    const AVAILABLE: &[&str] = &["available", "instock", "active", "forsale", "onlot"];
    const PENDING: &[&str] = &["pending", "salepending", "soldpending", "onhold", "hold", "deposit"];
    const SOLD: &[&str] = &["sold", "delivered"];
    const IN_TRANSIT: &[&str] = &["intransit", "transit", "onorder", "inbound"];
    if matches_any(cell, AVAILABLE) {
        Ok(VehicleStatus::Available)
    } else if matches_any(cell, PENDING) {
        Ok(VehicleStatus::Pending)
    } else if matches_any(cell, SOLD) {
        Ok(VehicleStatus::Sold)
    } else if matches_any(cell, IN_TRANSIT) {
        Ok(VehicleStatus::InTransit)
    } else {
        Err(ValueError::NotAStatus)
    }
}

/// Reads a yes/no cell such as `Certified`: yes/y/true/1/x (and `certified`, `cpo`, which
/// some exports write in their certified column) or no/n/false/0.
pub fn parse_yes_no(cell: &str) -> Result<bool, ValueError> {
    const YES: &[&str] = &["yes", "y", "true", "t", "1", "x", "certified", "cpo"];
    const NO: &[&str] = &["no", "n", "false", "f", "0"];
    if matches_any(cell, YES) {
        Ok(true)
    } else if matches_any(cell, NO) {
        Ok(false)
    } else {
        Err(ValueError::NotAYesNo)
    }
}

/// Whether the cell, reduced to lower-case ASCII letters and digits, equals one of the
/// (already reduced) candidates. Compares in place, without building the reduced string.
fn matches_any(cell: &str, candidates: &[&str]) -> bool {
    candidates.iter().any(|candidate| {
        let mut reduced = cell
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase());
        candidate.bytes().all(|expected| reduced.next() == Some(expected)) && reduced.next().is_none()
    })
}

/// The customer-facing price: the internet (advertised) price, else the selling price, else
/// the MSRP. The invoice price is dealer cost and is never shown to a customer, so it is not
/// even an argument.
pub fn customer_price(internet: Option<Cents>, selling: Option<Cents>, msrp: Option<Cents>) -> Option<Cents> {
    internet.or(selling).or(msrp)
}

/// The separator a list cell (features, options) uses: `|` when the cell has one, else `;`
/// when the cell has one and the feed itself is not `;`-delimited, else `,`.
fn list_separator(cell: &str, feed_delimiter: u8) -> char {
    if cell.contains('|') {
        '|'
    } else if feed_delimiter != b';' && cell.contains(';') {
        ';'
    } else {
        ','
    }
}

/// Appends the items of a list cell to `items`, trimmed, without empty items or "no value"
/// markers. The separator is `|` when the cell has one, else `;` when the cell has one and the
/// feed itself is not `;`-delimited, else `,`.
pub fn push_list_items(cell: &str, feed_delimiter: u8, items: &mut Vec<String>) {
    let separator = list_separator(cell, feed_delimiter);
    items.extend(
        cell.split(separator)
            .map(str::trim)
            .filter(|item| !is_no_value(item))
            .map(str::to_owned),
    );
}

/// Appends the image URLs of a cell to `urls`. `|` and `;` separate as in
/// [`push_list_items`]; otherwise URLs are separated by whitespace or by a comma that starts
/// a new URL (`,http`), so the commas image CDNs put inside a URL (`w_640,h_480`) survive.
pub fn push_image_urls(cell: &str, feed_delimiter: u8, urls: &mut Vec<String>) {
    match list_separator(cell, feed_delimiter) {
        ',' => {
            for chunk in cell.split_whitespace() {
                let mut rest = chunk;
                while let Some(at) = find_comma_before_url(rest) {
                    push_url(&rest[..at], urls);
                    rest = &rest[at + 1..];
                }
                push_url(rest, urls);
            }
        }
        separator => cell.split(separator).for_each(|url| push_url(url, urls)),
    }
}

fn find_comma_before_url(text: &str) -> Option<usize> {
    text.match_indices(',').map(|(at, _)| at).find(|&at| {
        let next = &text.as_bytes()[at + 1..];
        next.len() >= 4 && (next[..4].eq_ignore_ascii_case(b"http") || next.starts_with(b"//"))
    })
}

fn push_url(url: &str, urls: &mut Vec<String>) {
    let url = url.trim().trim_matches(',');
    if !is_no_value(url) {
        urls.push(url.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(cell: &str, feed_delimiter: u8) -> Vec<String> {
        let mut items = Vec::new();
        push_list_items(cell, feed_delimiter, &mut items);
        items
    }

    fn images(cell: &str, feed_delimiter: u8) -> Vec<String> {
        let mut urls = Vec::new();
        push_image_urls(cell, feed_delimiter, &mut urls);
        urls
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid test date")
    }

    #[test]
    fn money_accepts_the_spellings_of_real_feeds() {
        for cell in [
            "$23,995.00",
            "23995",
            "23,995",
            "USD 23995.00",
            "23995 USD",
            " $ 23,995 ",
            "23995.000",
            "usd23995",
        ] {
            assert_eq!(parse_money(cell), Ok(Cents::new(2_399_500)), "{cell}");
        }
        assert_eq!(parse_money("19.9"), Ok(Cents::new(1990)));
        assert_eq!(parse_money("0.05"), Ok(Cents::new(5)));
        assert_eq!(parse_money("0"), Ok(Cents::new(0)));
    }

    #[test]
    fn money_refuses_negative_garbage_and_overflow_with_a_reason() {
        assert_eq!(parse_money("-500"), Err(ValueError::Negative));
        assert_eq!(parse_money("$-500"), Err(ValueError::Negative));
        assert_eq!(parse_money("(500.00)"), Err(ValueError::Negative));
        assert_eq!(parse_money("Call for price"), Err(ValueError::NotANumber));
        assert_eq!(parse_money("23,,995"), Err(ValueError::NotANumber));
        assert_eq!(parse_money("1.2.3"), Err(ValueError::NotANumber));
        assert_eq!(parse_money("$"), Err(ValueError::NotANumber));
        assert_eq!(parse_money("23995.999"), Err(ValueError::TooManyDecimals));
        assert_eq!(parse_money("10000000000"), Err(ValueError::TooLarge));
        assert_eq!(parse_money("99999999999999999999999"), Err(ValueError::TooLarge));
        assert_eq!(parse_money("9999999999.99"), Ok(Cents::MAX));
    }

    #[test]
    fn cents_display_as_a_decimal_and_serialise_as_a_number_of_cents() {
        assert_eq!(Cents::new(2_399_500).to_string(), "23995.00");
        assert_eq!(Cents::new(5).to_string(), "0.05");
        assert_eq!(
            serde_json::to_string(&Cents::new(2_399_500)).expect("serialises"),
            "2399500"
        );
        assert_eq!(Cents::new(42).as_i64(), 42);
    }

    #[test]
    fn mileage_accepts_units_and_thousands_separators() {
        for cell in [
            "12345",
            "12,345",
            "12,345 mi",
            "12345 miles",
            "12345mi",
            "12.345",
            "12345.0",
            "12,345 Miles",
        ] {
            assert_eq!(parse_mileage(cell), Ok(12_345), "{cell}");
        }
        assert_eq!(parse_mileage("1.234.567"), Ok(1_234_567));
        assert_eq!(parse_mileage("12.5"), Ok(12));
        assert_eq!(parse_mileage("0"), Ok(0));
    }

    #[test]
    fn mileage_refuses_negative_garbage_and_values_beyond_an_integer_column() {
        assert_eq!(parse_mileage("-5"), Err(ValueError::Negative));
        assert_eq!(parse_mileage("low"), Err(ValueError::NotANumber));
        assert_eq!(parse_mileage("12 km"), Err(ValueError::NotANumber));
        assert_eq!(parse_mileage("3000000000"), Err(ValueError::TooLarge));
    }

    #[test]
    fn year_is_four_digits_between_1900_and_2100() {
        assert_eq!(parse_year(" 2024 "), Ok(2024));
        assert_eq!(parse_year("1900"), Ok(1900));
        assert_eq!(parse_year("2100"), Ok(2100));
        assert_eq!(parse_year("1899"), Err(ValueError::YearOutOfRange));
        assert_eq!(parse_year("2101"), Err(ValueError::YearOutOfRange));
        assert_eq!(parse_year("24"), Err(ValueError::YearOutOfRange));
        assert_eq!(parse_year("2024.5"), Err(ValueError::NotANumber));
        assert_eq!(parse_year("twenty"), Err(ValueError::NotANumber));
    }

    #[test]
    fn dates_in_iso_us_compact_and_timestamp_forms() {
        for cell in [
            "2026-11-20",
            "11/20/2026",
            "20261120",
            "2026-11-20T10:00:00Z",
            "2026/11/20",
            "11/20/2026 10:00 AM",
        ] {
            assert_eq!(parse_date(cell), Ok(date(2026, 11, 20)), "{cell}");
        }
        assert_eq!(parse_date("1/5/2026"), Ok(date(2026, 1, 5)));
        assert_eq!(parse_date("2026-02-30"), Err(ValueError::NotADate));
        assert_eq!(parse_date("last week"), Err(ValueError::NotADate));
        assert_eq!(parse_date("11/20/26"), Err(ValueError::NotADate));
        assert_eq!(parse_date("2026-11"), Err(ValueError::NotADate));
        assert_eq!(parse_date("2026-11-20-1"), Err(ValueError::NotADate));
    }

    #[test]
    fn condition_spellings() {
        for (cell, expected) in [
            ("New", Condition::New),
            ("N", Condition::New),
            ("used", Condition::Used),
            ("U", Condition::Used),
            ("Pre-Owned", Condition::Used),
            ("Certified", Condition::Certified),
            ("CPO", Condition::Certified),
            ("c", Condition::Certified),
            ("Certified Pre-Owned", Condition::Certified),
        ] {
            assert_eq!(parse_condition(cell), Ok(expected), "{cell}");
        }
        assert_eq!(parse_condition("Excellent"), Err(ValueError::NotACondition));
        assert_eq!(parse_condition("Newish"), Err(ValueError::NotACondition));
    }

    #[test]
    fn status_spellings() {
        for (cell, expected) in [
            ("Available", VehicleStatus::Available),
            ("In Stock", VehicleStatus::Available),
            ("pending", VehicleStatus::Pending),
            ("Sale Pending", VehicleStatus::Pending),
            ("SOLD", VehicleStatus::Sold),
            ("In Transit", VehicleStatus::InTransit),
            ("in-transit", VehicleStatus::InTransit),
        ] {
            assert_eq!(parse_status(cell), Ok(expected), "{cell}");
        }
        assert_eq!(parse_status("lost"), Err(ValueError::NotAStatus));
    }

    #[test]
    fn yes_no_spellings() {
        for cell in ["Yes", "Y", "true", "1", "X", "Certified"] {
            assert_eq!(parse_yes_no(cell), Ok(true), "{cell}");
        }
        for cell in ["No", "n", "FALSE", "0"] {
            assert_eq!(parse_yes_no(cell), Ok(false), "{cell}");
        }
        assert_eq!(parse_yes_no("maybe"), Err(ValueError::NotAYesNo));
    }

    #[test]
    fn no_value_markers() {
        for cell in [
            "", "   ", "#N/A", "N/A", "n/a", "NA", "na", "-", "--", "null", "NULL", "None",
        ] {
            assert!(is_no_value(cell), "{cell:?}");
        }
        for cell in ["0", "Nano", "---", "NAV", "Honda", "N"] {
            assert!(!is_no_value(cell), "{cell:?}");
        }
    }

    #[test]
    fn invalid_utf8_cells_are_read_as_windows_1252() {
        assert_eq!(decode_text(b"Citro\xebn"), "Citroën");
        assert_eq!(decode_text(b"Caf\xe9 \x80 \x96 \x93 \x99"), "Café € – “ ™");
        assert_eq!(decode_text("Citroën".as_bytes()), "Citroën");
        assert!(matches!(decode_text(b"plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn customer_price_prefers_internet_then_selling_then_msrp() {
        let (internet, selling, msrp) = (Some(Cents::new(1)), Some(Cents::new(2)), Some(Cents::new(3)));
        assert_eq!(customer_price(internet, selling, msrp), internet);
        assert_eq!(customer_price(None, selling, msrp), selling);
        assert_eq!(customer_price(None, None, msrp), msrp);
        assert_eq!(customer_price(None, None, None), None);
    }

    #[test]
    fn lists_split_on_pipe_then_semicolon_then_comma() {
        assert_eq!(
            list("A/C | Sunroof| Leather, heated", b'\t'),
            ["A/C", "Sunroof", "Leather, heated"]
        );
        assert_eq!(list("A/C; Sunroof;;N/A", b'\t'), ["A/C", "Sunroof"]);
        assert_eq!(list("A/C, Sunroof", b'\t'), ["A/C", "Sunroof"]);
        assert_eq!(list("A/C; Sunroof, Leather", b';'), ["A/C; Sunroof", "Leather"]);
        assert!(list(" ", b',').is_empty());
    }

    #[test]
    fn image_urls_split_on_whitespace_and_on_commas_that_start_a_url() {
        assert_eq!(
            images(
                "https://cdn.x/a.jpg https://cdn.x/b.jpg,https://cdn.x/c.jpg, http://cdn.x/d.jpg",
                b'\t'
            ),
            [
                "https://cdn.x/a.jpg",
                "https://cdn.x/b.jpg",
                "https://cdn.x/c.jpg",
                "http://cdn.x/d.jpg"
            ]
        );
        assert_eq!(
            images("https://cdn.x/w_640,h_480/a.jpg,https://cdn.x/b.jpg", b','),
            ["https://cdn.x/w_640,h_480/a.jpg", "https://cdn.x/b.jpg"]
        );
        assert_eq!(
            images("https://x/a.jpg|https://x/b.jpg", b','),
            ["https://x/a.jpg", "https://x/b.jpg"]
        );
        assert_eq!(
            images("https://x/a.jpg;https://x/b.jpg", b'\t'),
            ["https://x/a.jpg", "https://x/b.jpg"]
        );
    }
}
