//! The value parsers of ADF: one small function per kind of text (dates, phones, e-mail
//! addresses, money, distances, counts, loose enumeration matching, whitespace).
//!
//! The DTD types every element `#PCDATA`, so each provider writes values its own way. These
//! functions accept the spellings seen in real leads and say why they refuse the rest; the
//! reader decides what a refusal means (a value left empty with a warning, an address
//! dropped). They do not know about XML and are public so that other readers of the same
//! data (the ops bench's naive reader, a future CSV lead import) agree with this one.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::DistanceUnit;

/// Whether `raw` and `word` are the same word once case, spaces and punctuation are ignored:
/// `"Trade-In"`, `"TRADE IN"` and `"tradein"` are all `"trade-in"`. Compares in place.
pub fn same_word(raw: &str, word: &str) -> bool {
    if raw.is_ascii() && word.is_ascii() {
        let mut raw = raw
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase());
        let mut word = word
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase());
        return loop {
            match (raw.next(), word.next()) {
                (None, None) => break true,
                (Some(a), Some(b)) if a == b => {}
                _ => break false,
            }
        };
    }
    let mut raw = raw.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase);
    let mut word = word
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase);
    loop {
        match (raw.next(), word.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// A one-line value (a name, a make, a city): trimmed, runs of whitespace (newlines and tabs
/// included) made one space. `None` when nothing is left.
pub fn collapse_whitespace(raw: &str) -> Option<String> {
    let text = trim(raw);
    if text.is_empty() {
        return None;
    }
    let mut previous_was_space = false;
    let needs_work = if text.is_ascii() {
        text.bytes().any(|b| {
            let space = b.is_ascii_whitespace() || b == 0x0B;
            let odd = space && (previous_was_space || b != b' ');
            previous_was_space = space;
            odd
        })
    } else {
        text.chars().any(|c| {
            let odd = c.is_whitespace() && (previous_was_space || c != ' ');
            previous_was_space = c.is_whitespace();
            odd
        })
    };
    if !needs_work {
        return Some(text.to_owned());
    }
    let mut collapsed = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    Some(collapsed)
}

/// A free-text value (comments): trimmed, line breaks kept. `None` when nothing is left.
pub fn clean_text(raw: &str) -> Option<String> {
    let text = trim(raw);
    (!text.is_empty()).then(|| text.to_owned())
}

/// A `0`/`1` flag (`preferredcontact`); also `true`/`false`, `yes`/`no`.
pub fn parse_flag(raw: &str) -> Option<bool> {
    match raw.trim() {
        "1" => Some(true),
        "0" => Some(false),
        other if ["true", "yes", "y"].iter().any(|word| other.eq_ignore_ascii_case(word)) => Some(true),
        other if ["false", "no", "n"].iter().any(|word| other.eq_ignore_ascii_case(word)) => Some(false),
        _ => None,
    }
}

/// A small whole number written with an optional word after it: `4`, `4dr`, `4 doors`,
/// `640px`. `None` when it does not start with digits.
pub fn parse_count(raw: &str) -> Option<u32> {
    let text = raw.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let rest = text[digits..].trim_start();
    if digits == 0 || digits > 9 || rest.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    text[..digits].parse().ok()
}

/// A signed whole number (`preference`, `weighting`): `1`, `-50`, `+25`.
pub fn parse_integer(raw: &str) -> Option<i32> {
    let text = raw.trim();
    text.strip_prefix('+').unwrap_or(text).parse().ok()
}

/// Why a text is not a number of the kind asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("is not a number")]
    NotANumber,
    #[error("is too large")]
    TooLarge,
}

/// An amount of money: `23995`, `23,995.00`, `$23,995`, `USD 23995.00`, `23995 USD`,
/// `-500`, `(500.00)`, `5%` (a percentage delta). Commas group thousands and a dot is the
/// decimal point (the US notation every ADF provider uses).
///
/// A float, not cents, because ADF amounts include percentages and deltas and the operator's
/// JSON wants a number; prices are compared and shown, never summed here.
pub fn parse_amount(raw: &str) -> Result<f64, NumberError> {
    const MARKERS: [&str; 11] = ["US$", "USD", "CA$", "C$", "CAD", "EUR", "GBP", "$", "€", "£", "%"];
    let mut text = trim(raw);
    let mut negative = false;
    if let Some(inner) = text.strip_prefix('(').and_then(|rest| rest.strip_suffix(')')) {
        negative = true;
        text = inner.trim();
    }
    let plain = |text: &str| {
        text.as_bytes().first().is_some_and(u8::is_ascii_digit)
            && text.as_bytes().last().is_some_and(u8::is_ascii_digit)
    };
    for _ in 0..2 {
        if plain(text) {
            break;
        }
        if let Some(rest) = text.strip_prefix('-') {
            negative = !negative;
            text = rest.trim_start();
        } else if let Some(rest) = text.strip_prefix('+') {
            text = rest.trim_start();
        }
        for marker in MARKERS {
            text = strip_prefix_ignore_case(text, marker).map_or(text, str::trim_start);
            text = strip_suffix_ignore_case(text, marker).map_or(text, str::trim_end);
        }
    }
    let magnitude = parse_grouped_decimal(text)?;
    if magnitude >= 1e12 {
        return Err(NumberError::TooLarge);
    }
    Ok(if negative && magnitude != 0.0 {
        -magnitude
    } else {
        magnitude
    })
}

/// `23,995.50` → 23995.5: digits with optional comma groups of three, then an optional
/// fraction.
fn parse_grouped_decimal(text: &str) -> Result<f64, NumberError> {
    const MAX_WHOLE_DIGITS: usize = 15;
    const MAX_FRACTION_DIGITS: usize = 9;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(NumberError::NotANumber);
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > MAX_FRACTION_DIGITS {
        return Err(NumberError::NotANumber);
    }
    // The digits without separators, on the stack: `whole.fraction`.
    let mut digits = [0u8; MAX_WHOLE_DIGITS + 1 + MAX_FRACTION_DIGITS];
    let mut length = 0;
    let grouped = whole.contains(',');
    for (index, group) in whole.split(',').enumerate() {
        let size_ok = !group.is_empty() && (!grouped || index == 0 || group.len() == 3);
        if !whole.is_empty() && (!size_ok || !group.bytes().all(|b| b.is_ascii_digit())) {
            return Err(NumberError::NotANumber);
        }
        if length + group.len() > MAX_WHOLE_DIGITS {
            return Err(NumberError::TooLarge);
        }
        digits[length..length + group.len()].copy_from_slice(group.as_bytes());
        length += group.len();
    }
    if length == 0 {
        digits[0] = b'0';
        length = 1;
    }
    if !fraction.is_empty() {
        digits[length] = b'.';
        digits[length + 1..length + 1 + fraction.len()].copy_from_slice(fraction.as_bytes());
        length += 1 + fraction.len();
    }
    std::str::from_utf8(&digits[..length])
        .ok()
        .and_then(|number| number.parse().ok())
        .ok_or(NumberError::NotANumber)
}

/// An odometer reading: `12345`, `12,345`, `12,345 mi`, `20000 km`, `12345.0 miles`. The
/// unit written after the number, if any, is returned beside it; a fraction is dropped
/// (odometers count whole units).
pub fn parse_distance(raw: &str) -> Result<(u32, Option<DistanceUnit>), NumberError> {
    const UNITS: [(&str, DistanceUnit); 8] = [
        ("kilometres", DistanceUnit::Kilometers),
        ("kilometers", DistanceUnit::Kilometers),
        ("kms", DistanceUnit::Kilometers),
        ("km", DistanceUnit::Kilometers),
        ("miles", DistanceUnit::Miles),
        ("mile", DistanceUnit::Miles),
        ("mi.", DistanceUnit::Miles),
        ("mi", DistanceUnit::Miles),
    ];
    let mut text = trim(raw);
    let mut unit = None;
    let ends_with_letter = text
        .as_bytes()
        .last()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'.');
    for (word, which) in UNITS.into_iter().filter(|_| ends_with_letter) {
        if let Some(rest) = strip_suffix_ignore_case(text, word)
            && rest.ends_with(|c: char| c.is_ascii_digit() || c.is_whitespace())
        {
            text = rest.trim_end();
            unit = Some(which);
            break;
        }
    }
    let value = parse_grouped_decimal(text)?;
    if value >= f64::from(u32::MAX) {
        return Err(NumberError::TooLarge);
    }
    // In range and non-negative (the grammar has no sign), so the cast is exact.
    Ok((value.trunc() as u32, unit))
}

/// Why an e-mail address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is empty")]
    Empty,
    #[error("contains a space or a character that cannot be in an address")]
    BadCharacter,
    #[error("does not have exactly one @")]
    NotOneAt,
    #[error("has nothing before the @")]
    EmptyLocalPart,
    #[error("does not have a domain with a dot after the @")]
    BadDomain,
    #[error("is longer than 254 characters")]
    TooLong,
}

/// An e-mail address: trimmed (a `mailto:` prefix removed), lower-cased, with one `@`, a
/// non-empty local part, a domain with a dot and no empty label, and no whitespace.
///
/// Deliberately not RFC 5322: quoted local parts and IP-literal domains do not occur in leads,
/// while typos (`john@gmail`, `john@@gmail.com`, `john smith@x.com`) do, and an address we
/// cannot write to is worse than none.
pub fn parse_email(raw: &str) -> Result<String, EmailError> {
    let mut text = trim(raw);
    if let Some(rest) = strip_prefix_ignore_case(text, "mailto:") {
        text = rest.trim_start();
    }
    if text.is_empty() {
        return Err(EmailError::Empty);
    }
    if text.len() > 254 {
        return Err(EmailError::TooLong);
    }
    let forbidden = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '"' | '\\')
    };
    let bad_character = if text.is_ascii() {
        text.bytes().any(|b| forbidden(char::from(b)))
    } else {
        text.chars().any(forbidden)
    };
    if bad_character {
        return Err(EmailError::BadCharacter);
    }
    let mut parts = text.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EmailError::NotOneAt);
    };
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(EmailError::BadDomain);
    }
    Ok(if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.to_lowercase()
    })
}

/// Where a phone number without a `+` is dialled: only North American numbers are
/// normalised without one, because their shape is unambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialingRegion {
    /// The North American Numbering Plan (US, Canada): the default for ADF, whose providers
    /// are North American, when the address names no country.
    NorthAmerica,
    Elsewhere,
}

/// The dialling region of a contact whose address names `country` (absent or blank: North
/// America).
pub fn dialing_region(country: Option<&str>) -> DialingRegion {
    const NORTH_AMERICA: [&str; 7] = [
        "us",
        "usa",
        "united states",
        "united states of america",
        "ca",
        "can",
        "canada",
    ];
    match country.map(str::trim) {
        None | Some("") => DialingRegion::NorthAmerica,
        Some(country) if NORTH_AMERICA.iter().any(|name| same_word(country, name)) => DialingRegion::NorthAmerica,
        Some(_) => DialingRegion::Elsewhere,
    }
}

/// Why a phone number could not be written in E.164.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("has no digits")]
    NoDigits,
    #[error("has characters other than digits and separators")]
    NotANumber,
    #[error("has a + but not 8 to 15 digits")]
    WrongLength,
    #[error("is not a North American number (10 digits, area code and exchange starting 2-9)")]
    NotNorthAmerican,
    #[error("has no + and the country is not in North America, so its country code is unknown")]
    CountryUnknown,
}

/// A phone number in E.164 (`+15551234567`):
///
/// - a number written with `+` and 8 to 15 digits: `+` and the digits;
/// - in North America, 10 digits whose area code and exchange start with 2–9, or 11 digits
///   starting with 1: `+1` and the ten;
/// - anything else is refused (the caller keeps the text as given).
///
/// Separators (`()-./` and spaces) are ignored and an extension (`x123`, `ext. 123`,
/// `extension 123`, `#123`) is dropped.
pub fn normalize_phone(raw: &str, region: DialingRegion) -> Result<String, PhoneError> {
    const MAX_DIGITS: usize = 15;
    let main = strip_phone_extension(trim(raw));
    // `+`, a country code and the digits, on the stack until the end.
    let mut number = [0u8; 2 + MAX_DIGITS];
    let mut count = 0;
    let mut plus = false;
    for c in main.chars() {
        match c {
            '0'..='9' => {
                if count == MAX_DIGITS {
                    return Err(if plus {
                        PhoneError::WrongLength
                    } else {
                        PhoneError::NotNorthAmerican
                    });
                }
                number[2 + count] = c as u8;
                count += 1;
            }
            '+' if count == 0 && !plus => plus = true,
            ' ' | '-' | '.' | '(' | ')' | '/' | '\t' | '\u{a0}' => {}
            _ => return Err(PhoneError::NotANumber),
        }
    }
    let digits = &number[2..2 + count];
    if digits.is_empty() {
        return Err(PhoneError::NoDigits);
    }
    let e164 = if plus {
        if !(8..=MAX_DIGITS).contains(&digits.len()) {
            return Err(PhoneError::WrongLength);
        }
        number[1] = b'+';
        &number[1..2 + count]
    } else {
        if region == DialingRegion::Elsewhere {
            return Err(PhoneError::CountryUnknown);
        }
        let national = match digits.len() {
            10 => digits,
            11 if digits[0] == b'1' => &digits[1..],
            _ => return Err(PhoneError::NotNorthAmerican),
        };
        if national[0] < b'2' || national[3] < b'2' {
            return Err(PhoneError::NotNorthAmerican);
        }
        // "+1" goes right before the ten national digits.
        let start = 2 + count - 10 - 2;
        number[start] = b'+';
        number[start + 1] = b'1';
        &number[start..2 + count]
    };
    Ok(String::from_utf8_lossy(e164).into_owned())
}

/// The number without its extension: `555-123-4567 x89` → `555-123-4567 `. An extension
/// marker counts only after a digit and only when digits (and nothing else) follow it.
fn strip_phone_extension(text: &str) -> &str {
    const MARKERS: [&str; 4] = ["extension", "ext", "x", "#"];
    if !text.bytes().any(|b| b.is_ascii_alphabetic() || b == b'#') {
        return text;
    }
    let mut seen_digit = false;
    for (index, c) in text.char_indices() {
        if c.is_ascii_digit() {
            seen_digit = true;
            continue;
        }
        if !seen_digit {
            continue;
        }
        for marker in MARKERS {
            let Some(rest) = text
                .get(index..)
                .and_then(|rest| strip_prefix_ignore_case(rest, marker))
            else {
                continue;
            };
            let digits = rest.trim_start_matches(['.', ':', ' ', '-']);
            if !digits.is_empty() && digits.len() <= 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
                return &text[..index];
            }
        }
    }
    text
}

/// A point in time read from an ADF date, and how much of it the text said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTime {
    pub at: DateTime<FixedOffset>,
    /// Whether the text gave a time of day (else midnight).
    pub had_time: bool,
    /// Whether the text gave a time zone (else UTC was assumed).
    pub had_zone: bool,
}

/// A date or timestamp in the notations providers use:
///
/// - RFC 3339 / ISO 8601: `2026-03-14T09:30:00-05:00`, `…Z`, `…+0530`, fractions of a second;
/// - ISO without a zone: `2026-03-14T09:30:00`, `2026-03-14 09:30:00`, `2026-03-14 09:30`;
/// - a date alone: `2026-03-14`, `2026/03/14`;
/// - US: `03/14/2026`, `3/14/2026 9:30 AM`, `03/14/2026 21:30:05`;
/// - compact: `20260314T093000`, `20260314093000`, `20260314`;
/// - a zone after any time: `Z`, `UTC`, `GMT`, `+05:00`, `-0500`, `-05`, and the US
///   abbreviations `EST`, `EDT`, `CST`, `CDT`, `MST`, `MDT`, `PST`, `PDT`;
/// - RFC 2822 (`Sat, 14 Mar 2026 09:30:00 -0500`), as mail headers write it.
///
/// Without a zone the time is taken as UTC ([`ParsedTime::had_zone`] says so, for the
/// caller's warning); a date alone is midnight UTC. `None` when the text is none of these.
pub fn parse_timestamp(raw: &str) -> Option<ParsedTime> {
    let text = trim(raw);
    parse_numeric_timestamp(text).or_else(|| {
        DateTime::parse_from_rfc2822(text).ok().map(|at| ParsedTime {
            at,
            had_time: true,
            had_zone: true,
        })
    })
}

fn parse_numeric_timestamp(text: &str) -> Option<ParsedTime> {
    let mut scan = Scan(text);
    let (date, compact) = scan.date()?;
    if scan.0.trim().is_empty() {
        let at = FixedOffset::east_opt(0)?
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .single()?;
        return Some(ParsedTime {
            at,
            had_time: false,
            had_zone: false,
        });
    }
    if !(scan.eat('T') || scan.eat('t')) {
        let before = scan.0.len();
        scan.0 = scan.0.trim_start();
        if scan.0.len() == before && !compact {
            return None;
        }
    }
    let time = scan.time()?;
    let zone = scan.0.trim();
    let offset = if zone.is_empty() { None } else { Some(parse_zone(zone)?) };
    let at = offset
        .unwrap_or(FixedOffset::east_opt(0)?)
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()?;
    Some(ParsedTime {
        at,
        had_time: true,
        had_zone: offset.is_some(),
    })
}

/// A time zone after a time: `Z`, `UTC`, `GMT`, `±HH:MM`, `±HHMM`, `±HH`, `UTC-05:00`, or a
/// US abbreviation.
fn parse_zone(zone: &str) -> Option<FixedOffset> {
    const ABBREVIATIONS: [(&str, i32); 13] = [
        ("Z", 0),
        ("UT", 0),
        ("UTC", 0),
        ("GMT", 0),
        ("EST", -5),
        ("EDT", -4),
        ("CST", -6),
        ("CDT", -5),
        ("MST", -7),
        ("MDT", -6),
        ("PST", -8),
        ("PDT", -7),
        ("HST", -10),
    ];
    if let Some((_, hours)) = ABBREVIATIONS.iter().find(|(name, _)| zone.eq_ignore_ascii_case(name)) {
        return FixedOffset::east_opt(hours * 3600);
    }
    let numeric = ["UTC", "GMT"]
        .iter()
        .find_map(|prefix| strip_prefix_ignore_case(zone, prefix))
        .unwrap_or(zone)
        .trim_start();
    let (sign, rest) = match numeric.as_bytes().first() {
        Some(b'+') => (1, &numeric[1..]),
        Some(b'-') => (-1, &numeric[1..]),
        _ => return None,
    };
    let (hours, minutes) = match (rest.len(), rest.split_once(':')) {
        (_, Some((hours, minutes))) => (hours, minutes),
        (4, None) if rest.bytes().all(|b| b.is_ascii_digit()) => rest.split_at(2),
        (1 | 2, None) => (rest, "0"),
        _ => return None,
    };
    let number = |digits: &str| -> Option<i32> {
        if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (hours, minutes) = (number(hours)?, number(minutes)?);
    if hours > 18 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// A cursor over the text of a date.
struct Scan<'t>(&'t str);

impl Scan<'_> {
    fn eat(&mut self, expected: char) -> bool {
        match self.0.strip_prefix(expected) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    fn leading_digits(&self) -> usize {
        self.0.bytes().take_while(u8::is_ascii_digit).count()
    }

    /// Exactly `count` digits, as a number.
    fn digits(&mut self, count: usize) -> Option<u32> {
        if self.leading_digits() < count {
            return None;
        }
        let (digits, rest) = self.0.split_at(count);
        self.0 = rest;
        digits.parse().ok()
    }

    /// One or two digits.
    fn short_number(&mut self) -> Option<u32> {
        match self.leading_digits() {
            1 => self.digits(1),
            2 => self.digits(2),
            _ => None,
        }
    }

    /// The date at the start: `YYYY-MM-DD` (or `/`, `.`), `YYYYMMDD`, or US `M/D/YYYY`
    /// (or `-`). Also whether it was the compact form (after which a time may follow with
    /// no separator at all).
    fn date(&mut self) -> Option<(NaiveDate, bool)> {
        match self.leading_digits() {
            4 => {
                let year = self.digits(4)?;
                let separator = ['-', '/', '.'].into_iter().find(|&c| self.eat(c))?;
                let month = self.short_number()?;
                if !self.eat(separator) {
                    return None;
                }
                let day = self.short_number()?;
                Some((NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?, false))
            }
            8 | 14 => {
                let (year, month, day) = (self.digits(4)?, self.digits(2)?, self.digits(2)?);
                Some((NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?, true))
            }
            1 | 2 => {
                let month = self.short_number()?;
                let separator = ['/', '-'].into_iter().find(|&c| self.eat(c))?;
                let day = self.short_number()?;
                if !self.eat(separator) || self.leading_digits() != 4 {
                    return None;
                }
                let year = self.digits(4)?;
                Some((NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?, false))
            }
            _ => None,
        }
    }

    /// A time of day: `H:MM[:SS[.fraction]]` or compact `HHMM[SS]`, then an optional
    /// `AM`/`PM` (`a.m.`, any case).
    fn time(&mut self) -> Option<NaiveTime> {
        let (mut hour, minute, second) = match self.leading_digits() {
            6 => (self.digits(2)?, self.digits(2)?, self.digits(2)?),
            4 => (self.digits(2)?, self.digits(2)?, 0),
            1 | 2 => {
                let hour = self.short_number()?;
                if !self.eat(':') {
                    return None;
                }
                let minute = self.digits(2)?;
                let second = if self.eat(':') { self.digits(2)? } else { 0 };
                (hour, minute, second)
            }
            _ => return None,
        };
        let mut nanos = 0;
        if self.eat('.') || self.eat(',') {
            let count = self.leading_digits();
            if count == 0 {
                return None;
            }
            let (digits, rest) = self.0.split_at(count);
            self.0 = rest;
            for (position, digit) in digits.bytes().take(9).enumerate() {
                nanos += u32::from(digit - b'0') * 10u32.pow(8 - position as u32);
            }
        }
        let after_space = self.0.trim_start();
        for (marker, afternoon) in [("am", false), ("a.m.", false), ("pm", true), ("p.m.", true)] {
            if let Some(rest) = strip_prefix_ignore_case(after_space, marker)
                && !rest.starts_with(|c: char| c.is_alphabetic())
            {
                if !(1..=12).contains(&hour) {
                    return None;
                }
                hour = match (afternoon, hour) {
                    (false, 12) => 0,
                    (true, 12) => 12,
                    (true, hour) => hour + 12,
                    (false, hour) => hour,
                };
                self.0 = rest;
                break;
            }
        }
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
    }
}

/// [`str::trim`], quick when both ends are ASCII (as they nearly always are).
pub fn trim(text: &str) -> &str {
    crate::feed::values::trim(text)
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn strip_suffix_ignore_case<'t>(text: &'t str, suffix: &str) -> Option<&'t str> {
    let start = text.len().checked_sub(suffix.len())?;
    let tail = text.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        parse_timestamp(text)
            .map(|parsed| parsed.at.to_rfc3339())
            .unwrap_or_else(|| "none".to_owned())
    }

    #[test]
    fn same_word_ignores_case_spaces_and_punctuation() {
        for raw in ["trade-in", "Trade-In", "TRADE-IN", "tradein", " trade in ", "Trade_In"] {
            assert!(same_word(raw, "trade-in"), "{raw}");
        }
        assert!(!same_word("trade", "trade-in"));
        assert!(!same_word("trade-ins", "trade-in"));
        assert!(!same_word("", "buy"));
        assert!(same_word("", ""));
    }

    #[test]
    fn whitespace_collapses_in_one_line_values() {
        assert_eq!(collapse_whitespace("  Mary \n\t Ann  "), Some("Mary Ann".to_owned()));
        assert_eq!(collapse_whitespace("José"), Some("José".to_owned()));
        assert_eq!(collapse_whitespace(" \n "), None);
        assert_eq!(
            clean_text("  line one\nline two \n"),
            Some("line one\nline two".to_owned())
        );
    }

    #[test]
    fn timestamps_in_every_notation_providers_use() {
        for (text, expected) in [
            ("2026-03-14T09:30:00-05:00", "2026-03-14T09:30:00-05:00"),
            ("2026-03-14T14:30:00Z", "2026-03-14T14:30:00+00:00"),
            ("2026-03-14T09:30:00.250-05:00", "2026-03-14T09:30:00.250-05:00"),
            ("2026-03-14 09:30:00 -0500", "2026-03-14T09:30:00-05:00"),
            ("2026-03-14T09:30:00+05:00", "2026-03-14T09:30:00+05:00"),
            ("2026-03-14T09:30:00", "2026-03-14T09:30:00+00:00"),
            ("2026-03-14 09:30:00", "2026-03-14T09:30:00+00:00"),
            ("2026-03-14 09:30", "2026-03-14T09:30:00+00:00"),
            ("2026-03-14", "2026-03-14T00:00:00+00:00"),
            ("2026/03/14", "2026-03-14T00:00:00+00:00"),
            ("03/14/2026", "2026-03-14T00:00:00+00:00"),
            ("3/14/2026 9:30 AM", "2026-03-14T09:30:00+00:00"),
            ("3/14/2026 9:30 pm", "2026-03-14T21:30:00+00:00"),
            ("03/14/2026 12:05:09 AM", "2026-03-14T00:05:09+00:00"),
            ("03/14/2026 21:30:05", "2026-03-14T21:30:05+00:00"),
            ("20260314T093000", "2026-03-14T09:30:00+00:00"),
            ("20260314T093000Z", "2026-03-14T09:30:00+00:00"),
            ("20260314093000", "2026-03-14T09:30:00+00:00"),
            ("20260314", "2026-03-14T00:00:00+00:00"),
            ("2026-03-14 09:30:00 EST", "2026-03-14T09:30:00-05:00"),
            ("2026-03-14T09:30:00 UTC", "2026-03-14T09:30:00+00:00"),
            ("2026-03-14T09:30:00-05", "2026-03-14T09:30:00-05:00"),
            ("Sat, 14 Mar 2026 09:30:00 -0500", "2026-03-14T09:30:00-05:00"),
        ] {
            assert_eq!(at(text), expected, "{text}");
        }
    }

    #[test]
    fn timestamps_say_whether_the_zone_and_time_were_given() {
        let zoned = parse_timestamp("2026-03-14T09:30:00Z").expect("a timestamp");
        assert!(zoned.had_zone && zoned.had_time);
        let local = parse_timestamp("2026-03-14 09:30:00").expect("a timestamp");
        assert!(!local.had_zone && local.had_time);
        let date = parse_timestamp("2026-03-14").expect("a date");
        assert!(!date.had_zone && !date.had_time);
    }

    #[test]
    fn not_timestamps() {
        for text in [
            "",
            "yesterday",
            "2026-02-30",
            "2026-13-01",
            "14/03/2026",
            "2026-03-14T25:00:00",
            "2026-03-14T09:30:00+25:00",
            "2026-03-14T09:30:00 Mars",
            "13/14/26",
            "2026-03-14T9",
            "13:00 PM",
            "03/14/2026 13:00 PM",
            "２０２６-03-14",
        ] {
            assert_eq!(at(text), "none", "{text}");
        }
    }

    #[test]
    fn amounts_with_currency_groups_and_signs() {
        for (text, expected) in [
            ("23995", 23995.0),
            ("23,995.00", 23995.0),
            ("$23,995", 23995.0),
            ("USD 23995.00", 23995.0),
            ("23995 USD", 23995.0),
            ("$ 1,234,567.89", 1_234_567.89),
            ("-500", -500.0),
            ("$-500", -500.0),
            ("(500.00)", -500.0),
            ("5%", 5.0),
            ("0", 0.0),
            (".5", 0.5),
            ("349.99", 349.99),
        ] {
            assert_eq!(parse_amount(text), Ok(expected), "{text}");
        }
        for text in ["", "Call for price", "23,99,5", "1.2.3", "$", "12,34", "--", "1e5"] {
            assert_eq!(parse_amount(text), Err(NumberError::NotANumber), "{text}");
        }
        assert_eq!(parse_amount("99999999999999999999"), Err(NumberError::TooLarge));
        assert_eq!(parse_amount("9,999,999,999,999"), Err(NumberError::TooLarge));
    }

    #[test]
    fn distances_with_units() {
        assert_eq!(parse_distance("12,345"), Ok((12_345, None)));
        assert_eq!(parse_distance("12345 mi"), Ok((12_345, Some(DistanceUnit::Miles))));
        assert_eq!(parse_distance("12,345 Miles"), Ok((12_345, Some(DistanceUnit::Miles))));
        assert_eq!(parse_distance("20000km"), Ok((20_000, Some(DistanceUnit::Kilometers))));
        assert_eq!(parse_distance("12345.7"), Ok((12_345, None)));
        assert_eq!(parse_distance("low"), Err(NumberError::NotANumber));
        assert_eq!(parse_distance("-5"), Err(NumberError::NotANumber));
        assert_eq!(parse_distance("km"), Err(NumberError::NotANumber));
        assert_eq!(parse_distance("99999999999"), Err(NumberError::TooLarge));
    }

    #[test]
    fn counts_and_integers() {
        assert_eq!(parse_count("4"), Some(4));
        assert_eq!(parse_count("4dr"), Some(4));
        assert_eq!(parse_count(" 4 doors"), Some(4));
        assert_eq!(parse_count("four"), None);
        assert_eq!(parse_count("4.5"), None);
        assert_eq!(parse_count("99999999999"), None);
        assert_eq!(parse_integer("-50"), Some(-50));
        assert_eq!(parse_integer("+25"), Some(25));
        assert_eq!(parse_integer("lots"), None);
        assert_eq!(parse_flag("1"), Some(true));
        assert_eq!(parse_flag("No"), Some(false));
        assert_eq!(parse_flag("maybe"), None);
    }

    #[test]
    fn emails_are_validated_and_lower_cased() {
        assert_eq!(
            parse_email("  Jane.Doe@Example.COM "),
            Ok("jane.doe@example.com".to_owned())
        );
        assert_eq!(parse_email("mailto:sam@example.org"), Ok("sam@example.org".to_owned()));
        assert_eq!(parse_email("josé@exämple.de"), Ok("josé@exämple.de".to_owned()));
        assert_eq!(parse_email(""), Err(EmailError::Empty));
        assert_eq!(parse_email("jane doe@example.com"), Err(EmailError::BadCharacter));
        assert_eq!(parse_email("jane@@example.com"), Err(EmailError::NotOneAt));
        assert_eq!(parse_email("jane.example.com"), Err(EmailError::NotOneAt));
        assert_eq!(parse_email("@example.com"), Err(EmailError::EmptyLocalPart));
        assert_eq!(parse_email("jane@example"), Err(EmailError::BadDomain));
        assert_eq!(parse_email("jane@example..com"), Err(EmailError::BadDomain));
        assert_eq!(parse_email("jane@.example.com"), Err(EmailError::BadDomain));
        assert_eq!(parse_email("Jane <jane@example.com>"), Err(EmailError::BadCharacter));
    }

    #[test]
    fn north_american_phones_become_e164() {
        let na = DialingRegion::NorthAmerica;
        for text in [
            "(555) 234-5678",
            "555-234-5678",
            "555.234.5678",
            "5552345678",
            "1-555-234-5678",
            "+1 555 234 5678",
            "555-234-5678 x123",
            "555-234-5678 ext. 123",
            "(555) 234-5678 Extension 9",
            "555 234 5678 #12",
        ] {
            assert_eq!(normalize_phone(text, na), Ok("+15552345678".to_owned()), "{text}");
        }
        assert_eq!(normalize_phone("+44 20 7946 0958", na), Ok("+442079460958".to_owned()));
        assert_eq!(normalize_phone("155-234-5678", na), Err(PhoneError::NotNorthAmerican));
        assert_eq!(normalize_phone("555-134-5678", na), Err(PhoneError::NotNorthAmerican));
        assert_eq!(normalize_phone("234-5678", na), Err(PhoneError::NotNorthAmerican));
        assert_eq!(normalize_phone("555-CALL-NOW", na), Err(PhoneError::NotANumber));
        assert_eq!(normalize_phone("+12345", na), Err(PhoneError::WrongLength));
        assert_eq!(normalize_phone("n/a", na), Err(PhoneError::NotANumber));
        assert_eq!(normalize_phone("", na), Err(PhoneError::NoDigits));
        let elsewhere = DialingRegion::Elsewhere;
        assert_eq!(
            normalize_phone("020 7946 0958", elsewhere),
            Err(PhoneError::CountryUnknown)
        );
        assert_eq!(
            normalize_phone("+44 20 7946 0958", elsewhere),
            Ok("+442079460958".to_owned())
        );
    }

    #[test]
    fn the_dialing_region_follows_the_country() {
        for country in [
            None,
            Some(""),
            Some("US"),
            Some("usa"),
            Some("Canada"),
            Some("United States"),
        ] {
            assert_eq!(dialing_region(country), DialingRegion::NorthAmerica, "{country:?}");
        }
        assert_eq!(dialing_region(Some("GB")), DialingRegion::Elsewhere);
        assert_eq!(dialing_region(Some("Mexico")), DialingRegion::Elsewhere);
    }
}
