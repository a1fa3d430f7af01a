//! Masking e-mail addresses and phone numbers before text reaches a log line.
//!
//! Logs and traces leave the database's access control behind (they go to CloudWatch, to a
//! terminal, into a bug report), so a customer's contact details are masked on the way in:
//! `jane.doe@example.com` → `j***@example.com` (the domain stays: it says which provider
//! bounced), a phone number → `***-***-1234` (the last four digits stay: staff recognise a
//! customer by them). Digit runs of 16 to 19 digits (card numbers) become
//! `****-****-****-1234` and US social security numbers (`123-45-6789`) `***-**-6789`.
//!
//! What counts as a phone number: 10 to 15 digits, optionally after `+`, in groups separated
//! by single spaces, dashes, dots or parentheses ("(831) 555-0100", "+1 831.555.0100",
//! "8315550100"), or the local form 555-0100. Not a phone number: a price ("$23,995"), a
//! date ("2024-11-25"), a year, a mileage, a ZIP code, a VIN or a stock number (digits glued
//! to letters are never masked).

/// `text` with e-mail addresses and phone numbers masked.
pub fn mask_pii(text: &str) -> String {
    mask_phones(&mask_emails(text))
}

fn mask_emails(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let before = &rest[..at];
        let after = &rest[at + 1..];
        let local_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || "._%+-'".contains(*c))
            .last()
            .map_or(before.len(), |(i, _)| i);
        let domain_len = after
            .char_indices()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '.' || *c == '-')
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        let domain = after[..domain_len].trim_end_matches(['.', '-']);
        let local = &before[local_start..];
        let valid_domain = domain.contains('.')
            && domain
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
        // "x@y.co@z.co" is not two addresses sharing "y.coa"; the second "@" starts the
        // address that is looked at next.
        let followed_by_at = after[domain.len()..].starts_with('@');
        if local.is_empty() || !valid_domain || followed_by_at {
            out.push_str(&rest[..=at]);
            rest = after;
            continue;
        }
        out.push_str(&before[..local_start]);
        let first = local.chars().next().expect("local part is not empty");
        out.push(first);
        out.push_str("***@");
        out.push_str(domain);
        rest = &after[domain.len()..];
    }
    out.push_str(rest);
    out
}

fn mask_phones(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied_to = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts_number =
            c.is_ascii_digit() || ((c == '+' || c == '(') && chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit()));
        let glued = i > 0 && is_glue(chars[i - 1].1);
        if !starts_number || glued {
            i += 1;
            continue;
        }
        let (end, groups) = scan_number(&chars, i);
        let end_byte = chars.get(end).map_or(text.len(), |(b, _)| *b);
        // A comma after a number ends a clause ("call 831 555 0100, please"), unless a digit
        // follows it ("23,995").
        let glued_after = match chars.get(end).map(|(_, n)| *n) {
            Some(',' | '.') => chars.get(end + 1).is_some_and(|(_, n)| n.is_ascii_digit()),
            Some(n) => is_glue(n),
            None => false,
        };
        let digits: String = groups.concat();
        let mask = if glued_after { None } else { masked(&digits, &groups) };
        if let Some(mask) = mask {
            out.push_str(&text[copied_to..at]);
            out.push_str(&mask);
            copied_to = end_byte;
        }
        i = end.max(i + 1);
    }
    out.push_str(&text[copied_to..]);
    out
}

/// A character that makes digits next to it part of something else: a VIN, a stock number,
/// a price ("$23,995"), a decimal.
fn is_glue(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '$' | ',' | '_' | '/' | '%' | '€' | '£')
}

/// From a digit, `+` or `(`: the end (char index) of a run of digit groups joined by single
/// separators, and the groups.
fn scan_number(chars: &[(usize, char)], start: usize) -> (usize, Vec<String>) {
    let mut groups = Vec::new();
    let mut i = start;
    if matches!(chars[i].1, '+' | '(') {
        i += 1;
    }
    let mut end = i;
    loop {
        let mut group = String::new();
        while let Some((_, c)) = chars.get(i).filter(|(_, c)| c.is_ascii_digit()) {
            group.push(*c);
            i += 1;
        }
        if group.is_empty() {
            break;
        }
        groups.push(group);
        end = i;
        // A closing parenthesis, then at most one separator: "(831) 555", "831-555", "831.555".
        if chars.get(i).is_some_and(|(_, c)| *c == ')') {
            i += 1;
            end = i;
        }
        match chars.get(i).map(|(_, c)| *c) {
            Some(' ' | '-' | '.') if chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit() || *n == '(') => {
                i += 1;
                if chars.get(i).is_some_and(|(_, c)| *c == '(') {
                    i += 1;
                }
            }
            Some('(') if chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit()) => i += 1,
            _ => break,
        }
    }
    (end, groups)
}

fn masked(digits: &str, groups: &[String]) -> Option<String> {
    let last4 = &digits[digits.len().saturating_sub(4)..];
    let lengths: Vec<usize> = groups.iter().map(String::len).collect();
    match digits.len() {
        10..=15 => Some(format!("***-***-{last4}")),
        16..=19 => Some(format!("****-****-****-{last4}")),
        9 if lengths == [3, 2, 4] => Some(format!("***-**-{last4}")),
        7 if lengths == [3, 4] => Some(format!("***-***-{last4}")),
        _ => None,
    }
}
