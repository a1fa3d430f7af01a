//! Money amounts written in free text: "$23,995", "$23,995.00", "$ 24k", "23995 dollars",
//! "$1.00 USD", "25 grand", "24 mil dólares", "$23.995" (Spanish thousands).
//!
//! Only a number marked as money counts: a `$` (or `US$`) before it, or a currency word after
//! it (dollars, USD, bucks, grand, dólares, dls). "12,345 miles", "2024", "0% APR", a phone
//! number or a stock number are therefore never amounts. Each amount carries the precision it
//! was written with, so "$24k" can be compared with a listed $23,995 without pretending it
//! said $24,000.00 exactly.

use crate::feed::Cents;

/// One amount found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Amount {
    /// Byte range of the amount in the text, currency markers included.
    pub start: usize,
    pub end: usize,
    pub cents: Cents,
    /// Half the unit of the last digit written, in cents: 0 for "$23,995.00", 50 for
    /// "$23,995", 50,000 for "$24k". A listed price within this distance matches.
    pub tolerance_cents: i64,
}

impl Amount {
    /// Whether a listed amount is what this written amount says, at its precision.
    pub fn matches(&self, listed: Cents) -> bool {
        (listed.as_i64() - self.cents.as_i64()).abs() <= self.tolerance_cents
    }
}

const CURRENCY_WORDS: &[(&str, i64)] = &[
    ("dollars", 1),
    ("dollar", 1),
    ("usd", 1),
    ("bucks", 1),
    ("grand", 1000),
    ("dolares", 1),
    ("dolar", 1),
    ("dls", 1),
];

/// Every amount in `text`, in order.
pub(crate) fn amounts(text: &str) -> Vec<Amount> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && is_word_byte(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let Some(number) = read_number(text, i) else {
            i += 1;
            continue;
        };
        // `$` before the number, perhaps with one space: "$23,995", "$ 23,995", "US$23,995".
        let mut start = i;
        let mut before = text[..i].trim_end_matches(' ');
        let dollar_before = before.ends_with('$') && i - before.len() <= 1;
        if dollar_before {
            before = &before[..before.len() - 1];
            start = before.len();
            if before.ends_with("US") || before.ends_with("us") {
                start -= 2;
            }
        }
        let mut end = number.end;
        let mut multiplier = number.multiplier;
        let mut currency_after = false;
        if let Some((word_end, word_multiplier)) = currency_word_after(text, end, multiplier == 1) {
            currency_after = true;
            end = word_end;
            multiplier *= word_multiplier;
        }
        if dollar_before || currency_after {
            let cents = number.cents.saturating_mul(multiplier);
            found.push(Amount {
                start,
                end,
                cents: Cents::new(cents),
                tolerance_cents: number.unit_cents.saturating_mul(multiplier) / 2,
            });
        }
        i = number.end.max(end);
    }
    found
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

struct Number {
    end: usize,
    cents: i64,
    /// The value of one unit of the last digit written, in cents (before the multiplier).
    unit_cents: i64,
    /// 1, or 1000 for a `k` suffix, 1,000,000 for an `M` suffix.
    multiplier: i64,
}

/// Reads "23,995", "23,995.00", "23.995,50", "24.5k" starting at a digit.
fn read_number(text: &str, start: usize) -> Option<Number> {
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b',' || bytes[end] == b'.') {
        end += 1;
    }
    // A sentence may end right after an amount: "$23,995." or "$23,995,".
    while end > start && !bytes[end - 1].is_ascii_digit() {
        end -= 1;
    }
    let raw = &text[start..end];
    if raw.len() > 20 {
        return None;
    }
    let (whole, decimals) = split_decimals(raw)?;
    let whole: i64 = whole.parse().ok()?;
    let (fraction_cents, unit_cents) = match decimals.len() {
        0 => (0, 100),
        1 => (decimals.parse::<i64>().ok()? * 10, 10),
        2 => (decimals.parse::<i64>().ok()?, 1),
        _ => return None,
    };
    let mut number = Number {
        end,
        cents: whole.checked_mul(100)?.checked_add(fraction_cents)?,
        unit_cents,
        multiplier: 1,
    };
    let suffix = bytes.get(end).copied();
    let after_suffix = bytes.get(end + 1).copied();
    if !after_suffix.is_some_and(is_word_byte) {
        match suffix {
            Some(b'k' | b'K') => number.multiplier = 1000,
            Some(b'm' | b'M') => number.multiplier = 1_000_000,
            _ => {}
        }
        if number.multiplier > 1 {
            number.end += 1;
        }
    } else if suffix.is_some_and(is_word_byte) {
        // Glued to letters ("24months", "2024Chevy"): not an amount.
        return None;
    }
    Some(number)
}

/// Splits a run of digits and separators into its whole part (digits only) and decimals.
fn split_decimals(raw: &str) -> Option<(String, &str)> {
    let last_separator = raw.rfind([',', '.']);
    let (whole, decimals) = match last_separator {
        None => (raw, ""),
        Some(at) => {
            let tail = &raw[at + 1..];
            let separators_before = raw[..at].matches([',', '.']).count();
            let other_kind_before = raw[..at].contains(if raw.as_bytes()[at] == b'.' { ',' } else { '.' });
            // "23,995.00" / "23.995,00": the last separator is the decimal one when the other
            // kind comes before it. "24.5", "1.00", "23,99": one separator and one or two
            // digits after it. Otherwise ("23,995", "23.995", "1,234,567") it groups thousands.
            if (other_kind_before || separators_before == 0) && tail.len() <= 2 {
                (&raw[..at], tail)
            } else {
                (raw, "")
            }
        }
    };
    let mut digits = String::with_capacity(whole.len());
    let groups: Vec<&str> = whole.split([',', '.']).collect();
    for (index, group) in groups.iter().enumerate() {
        let well_formed = if index == 0 {
            (!group.is_empty() && group.len() <= 3) || groups.len() == 1
        } else {
            group.len() == 3
        };
        if !well_formed {
            return None;
        }
        digits.push_str(group);
    }
    Some((digits, decimals))
}

/// A currency word after the number ("23995 dollars", "24 mil dólares"): its end and its
/// multiplier. "mil" (Spanish thousand) counts only before a currency word.
fn currency_word_after(text: &str, from: usize, allow_mil: bool) -> Option<(usize, i64)> {
    let (word, word_end) = next_word(text, from)?;
    let folded = super::text::fold(word);
    if allow_mil && folded == "mil" {
        let (after, after_end) = next_word(text, word_end)?;
        let after = super::text::fold(after);
        return CURRENCY_WORDS
            .iter()
            .find(|(name, _)| *name == after && *name != "grand")
            .map(|(_, multiplier)| (after_end, 1000 * multiplier));
    }
    CURRENCY_WORDS
        .iter()
        .find(|(name, _)| *name == folded)
        .map(|(_, multiplier)| (word_end, *multiplier))
}

/// The word starting after at most one space at `from`, and where it ends.
fn next_word(text: &str, from: usize) -> Option<(&str, usize)> {
    let rest = &text[from..];
    let trimmed = rest.strip_prefix(' ').unwrap_or(rest);
    let offset = from + (rest.len() - trimmed.len());
    let length = trimmed.find(|c: char| !c.is_alphanumeric()).unwrap_or(trimmed.len());
    (length > 0).then(|| (&trimmed[..length], offset + length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dollars(text: &str) -> Vec<(i64, i64, &str)> {
        amounts(text)
            .into_iter()
            .map(|a| (a.cents.as_i64(), a.tolerance_cents, &text[a.start..a.end]))
            .collect()
    }

    #[test]
    fn dollar_amounts_in_their_usual_shapes() {
        assert_eq!(dollars("only $23,995 today"), [(2_399_500, 50, "$23,995")]);
        assert_eq!(dollars("for $23,995.00."), [(2_399_500, 0, "$23,995.00")]);
        assert_eq!(dollars("about $24k"), [(2_400_000, 50_000, "$24k")]);
        assert_eq!(dollars("about $23.9K"), [(2_390_000, 5_000, "$23.9K")]);
        assert_eq!(dollars("23995 dollars"), [(2_399_500, 50, "23995 dollars")]);
        assert_eq!(dollars("budget is $1.00 USD"), [(100, 0, "$1.00 USD")]);
        assert_eq!(dollars("US$ 500"), [(50_000, 50, "US$ 500")]);
        assert_eq!(dollars("25 grand"), [(2_500_000, 50_000, "25 grand")]);
        assert_eq!(dollars("24 mil dólares"), [(2_400_000, 50_000, "24 mil dólares")]);
        assert_eq!(dollars("$23.995"), [(2_399_500, 50, "$23.995")]);
        assert_eq!(dollars("$23.995,50"), [(2_399_550, 0, "$23.995,50")]);
        assert_eq!(dollars("$1 and $2"), [(100, 50, "$1"), (200, 50, "$2")]);
    }

    #[test]
    fn numbers_that_are_not_money_are_not_amounts() {
        for text in [
            "12,345 miles",
            "24k miles",
            "the 2024 Tahoe",
            "0% APR for 60 months",
            "call 555-123-4567",
            "(831) 555-0100",
            "stock P12345",
            "VIN 1GNSKCKD4PR123456",
            "$12,34,5",
        ] {
            assert_eq!(dollars(text), [], "{text}");
        }
    }

    #[test]
    fn precision_decides_what_matches() {
        let k = &amounts("$24k")[0];
        assert!(k.matches(Cents::new(2_399_500)));
        assert!(!k.matches(Cents::new(2_300_000)));
        let exact = &amounts("$23,995")[0];
        assert!(exact.matches(Cents::new(2_399_500)));
        assert!(!exact.matches(Cents::new(2_399_600)));
    }
}
