//! The reply post-check: a draft reply may state only what the inventory rows shown to the
//! model this turn say, and may promise nothing.
//!
//! The prompt asks the model to quote inventory; this check makes sure it did, in code. It
//! finds every claim in the draft, each checked against the vehicles the model was shown:
//!
//! - **prices**: every amount of money ("$23,995", "$24k", "23995 dollars", "24 mil dólares").
//!   It must be the price or MSRP of a shown, active vehicle, at the precision it is written
//!   ("$24k" matches $23,995; "$23,900" does not). Any other amount is a violation, whatever it
//!   is: a discount ("$500 off"), a payment ("$399/mo", "$0 down"), a trade-in value. Numbers
//!   without a currency mark are not prices: mileage ("12,345 miles", "24k miles"), years,
//!   phone numbers, percentages ("0% APR" is not an amount; whether the reply may state a rate
//!   is the commitment check's business, and it flags "approved" but not a listed rate);
//! - **VINs**: any 17-character word in the VIN alphabet with at least two digits;
//! - **stock numbers**: a word equal to a shown vehicle's stock number, a word after "stock",
//!   "stk", "stock #" or "inventario", and a word with the same shape (letters and digits in
//!   the same places, five characters or more, mixing both) as a shown stock number;
//! - **vehicles**: "YEAR MAKE MODEL" ("2024 Chevy Tahoe", "2022 Ford F-150"), with the make
//!   recognised from a list of makes sold in the US and the shown vehicles' makes (aliases:
//!   Chevy, VW, Mercedes). The model is matched ignoring case, spaces and dashes ("F150" is
//!   "F-150"); the trim is not checked. "2024 Chevrolet" with no model must have a shown
//!   active 2024 Chevrolet. "YEAR MODEL" without the make ("2024 Tahoe") is a claim when the
//!   model is a shown vehicle's. A make and model without a year ("the Tahoe"), or a year
//!   after them ("Tahoe 2024"), is not a claim.
//!
//! A claim that matches only a shown but inactive (sold) vehicle is a violation of its own,
//! even in "the 2021 RAV4 has been sold": the check cannot tell telling from offering, and
//! [`repair`] drops that sentence. There is no allowance for other legitimate amounts (a
//! documentation fee, a deposit): the prompt keeps them out of replies; should replies need
//! them, the check needs a list of allowed amounts.
//! Besides claims, the draft must not commit the dealership: "that's a deal", "I can offer you
//! $X", "we accept your offer", "legally binding", "you're approved", "we'll give you $X for
//! your trade", "trato hecho", "está aprobado"… (see [`COMMITMENTS`]). "I can offer you a test
//! drive" is fine: an offer is a commitment only with an unlisted amount or a discount,
//! financing or trade word after it.
//!
//! What the caller does with violations: [`repair`] removes the sentences that carry them when
//! that leaves a useful reply, and returns `None` otherwise, and always for a commitment. On
//! `None` the caller sends its safe template (a holding reply and a handover), never the draft.

use std::sync::LazyLock;

use serde::Serialize;

use super::money::{self, Amount};
use super::text::{Patterns, Token, Words, spanned_tokens};
use crate::feed::Cents;
use crate::vin::Vin;

/// One vehicle the model was shown this turn (an inventory search or `get_vehicle` result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownVehicle {
    pub id: i64,
    pub vin: Option<String>,
    pub stock_number: Option<String>,
    pub year: i32,
    pub make: String,
    pub model: String,
    pub trim: Option<String>,
    /// The customer-facing price.
    pub price: Option<Cents>,
    pub msrp: Option<Cents>,
    /// For sale now. A sold, pending or removed vehicle is not active and may not be offered.
    pub active: bool,
}

/// What a claim in the reply is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    Price,
    Vin,
    StockNumber,
    /// "YEAR MAKE MODEL", or "YEAR MAKE" when no model follows.
    Vehicle,
}

/// One checkable statement found in the reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    pub kind: ClaimKind,
    /// As written in the reply.
    pub text: String,
    /// The shown vehicles it matches (active or not); empty when none.
    pub vehicle_ids: Vec<i64>,
    /// Byte range in the reply.
    #[serde(skip)]
    pub start: usize,
    #[serde(skip)]
    pub end: usize,
}

/// Why a reply may not be sent as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// An amount that is not the price or MSRP of a shown active vehicle.
    UnlistedPrice,
    /// A VIN not among the shown vehicles.
    UnknownVin,
    /// A stock number not among the shown vehicles.
    UnknownStockNumber,
    /// A year, make and model not among the shown vehicles.
    UnknownVehicle,
    /// A price, VIN, stock number or vehicle of a shown vehicle that is not active (sold).
    InactiveVehicle,
    /// The reply agrees to a deal, a price, a trade-in value, a financing approval or a
    /// binding offer.
    Commitment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    /// The offending words, as written in the reply.
    pub text: String,
    /// For the decision trace, in English.
    pub reason: String,
    /// Byte range in the reply.
    #[serde(skip)]
    pub start: usize,
    #[serde(skip)]
    pub end: usize,
}

/// Every claim of a draft reply and every violation among them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroundingReport {
    pub claims: Vec<Claim>,
    pub violations: Vec<Violation>,
}

impl GroundingReport {
    /// Whether the reply may be sent as it is.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether the reply commits the dealership (never repairable).
    pub fn has_commitment(&self) -> bool {
        self.violations.iter().any(|v| v.kind == ViolationKind::Commitment)
    }
}

/// Checks a draft reply against the vehicles shown to the model this turn.
pub fn check_reply(reply: &str, shown: &[ShownVehicle]) -> GroundingReport {
    let mut report = GroundingReport::default();
    let amounts = money::amounts(reply);
    check_prices(reply, &amounts, shown, &mut report);
    let words = words(reply);
    check_vins(&words, shown, &mut report);
    let tokens = spanned_tokens(reply);
    let vehicle_spans = check_vehicles(reply, &tokens, shown, &mut report);
    check_stock_numbers(&words, shown, &vehicle_spans, &mut report);
    check_commitments(reply, &tokens, &amounts, shown, &mut report);
    report.claims.sort_by_key(|claim| claim.start);
    report.violations.sort_by_key(|violation| violation.start);
    report
}

/// The reply without the sentences that carry a violation, or `None` when that is not a
/// reply worth sending: the report has a commitment (the whole draft is suspect, and the
/// customer is owed a handover, not half an agreement), or nothing with a letter in it would
/// be left. A clean report returns the reply unchanged.
///
/// The caller sends its safe template on `None`.
pub fn repair(reply: &str, report: &GroundingReport) -> Option<String> {
    if report.has_commitment() {
        return None;
    }
    if report.is_clean() {
        return Some(reply.to_owned());
    }
    let kept: Vec<&str> = sentences(reply)
        .into_iter()
        .filter(|(start, end)| !report.violations.iter().any(|v| v.start < *end && v.end > *start))
        .map(|(start, end)| reply[start..end].trim())
        .filter(|sentence| !sentence.is_empty())
        .collect();
    let repaired = kept.join(" ");
    repaired.chars().any(char::is_alphabetic).then_some(repaired)
}

/// Byte ranges of the sentences of `text`: a sentence ends after `.`, `!`, `?` or `…` followed
/// by white space or the end, or at a line break.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let end = at + c.len_utf8();
        let boundary = match c {
            '\n' => true,
            '.' | '!' | '?' | '…' => chars.peek().is_none_or(|(_, next)| next.is_whitespace()),
            _ => false,
        };
        if boundary {
            out.push((start, end));
            start = end;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

fn check_prices(reply: &str, amounts: &[Amount], shown: &[ShownVehicle], report: &mut GroundingReport) {
    for amount in amounts {
        let text = reply[amount.start..amount.end].to_owned();
        let matching: Vec<&ShownVehicle> = shown
            .iter()
            .filter(|v| v.price.is_some_and(|p| amount.matches(p)) || v.msrp.is_some_and(|p| amount.matches(p)))
            .collect();
        let violation = if matching.iter().any(|v| v.active) {
            None
        } else if let Some(sold) = matching.first() {
            Some((
                ViolationKind::InactiveVehicle,
                format!(
                    "{text} is the price of a vehicle no longer available ({})",
                    describe(sold)
                ),
            ))
        } else {
            Some((
                ViolationKind::UnlistedPrice,
                format!("{text} is not the price or MSRP of any vehicle shown this turn"),
            ))
        };
        push(
            report,
            ClaimKind::Price,
            text,
            amount.start,
            amount.end,
            &matching,
            violation,
        );
    }
}

fn check_vins(words: &[Word<'_>], shown: &[ShownVehicle], report: &mut GroundingReport) {
    for word in words {
        if !looks_like_vin(word.text) {
            continue;
        }
        let matching: Vec<&ShownVehicle> = shown
            .iter()
            .filter(|v| v.vin.as_deref().is_some_and(|vin| vin.eq_ignore_ascii_case(word.text)))
            .collect();
        let violation = verdict(&matching, word.text, "VIN", ViolationKind::UnknownVin);
        push(
            report,
            ClaimKind::Vin,
            word.text.to_owned(),
            word.start,
            word.end,
            &matching,
            violation,
        );
    }
}

fn looks_like_vin(word: &str) -> bool {
    word.len() == 17 && word.bytes().filter(u8::is_ascii_digit).count() >= 2 && Vin::parse(word).is_ok()
}

const STOCK_MARKERS: &[&str] = &["stock", "stk", "inventario", "inventory"];

fn check_stock_numbers(
    words: &[Word<'_>],
    shown: &[ShownVehicle],
    vehicle_spans: &[(usize, usize)],
    report: &mut GroundingReport,
) {
    let known: Vec<(&str, &ShownVehicle)> = shown
        .iter()
        .filter_map(|v| v.stock_number.as_deref().map(|stock| (stock.trim(), v)))
        .filter(|(s, _)| !s.is_empty())
        .collect();
    let shapes: Vec<String> = known
        .iter()
        .map(|(stock, _)| shape(stock))
        .filter(|s| is_distinctive(s))
        .collect();
    let vehicle_words: Vec<String> = shown
        .iter()
        .flat_map(|v| [v.make.as_str(), v.model.as_str(), v.trim.as_deref().unwrap_or("")])
        .flat_map(|text| text.split_whitespace().map(str::to_ascii_lowercase))
        .collect();
    for (index, word) in words.iter().enumerate() {
        if looks_like_vin(word.text) || vehicle_spans.iter().any(|(s, e)| word.start < *e && word.end > *s) {
            continue;
        }
        let matching: Vec<&ShownVehicle> = known
            .iter()
            .filter(|(stock, _)| stock.eq_ignore_ascii_case(word.text))
            .map(|(_, v)| *v)
            .collect();
        let after_marker = word.text.len() >= 3
            && word.text.bytes().any(|b| b.is_ascii_digit())
            && (index.saturating_sub(3)..index).any(|at| is_stock_marker(words, at));
        let same_shape = shapes.contains(&shape(word.text)) && !vehicle_words.contains(&word.text.to_ascii_lowercase());
        if matching.is_empty() && !after_marker && !same_shape {
            continue;
        }
        let violation = verdict(&matching, word.text, "stock number", ViolationKind::UnknownStockNumber);
        push(
            report,
            ClaimKind::StockNumber,
            word.text.to_owned(),
            word.start,
            word.end,
            &matching,
            violation,
        );
    }
}

/// "stock", "stk", "inventario" (with `#`, `:` or `.` after it), but not "in stock".
fn is_stock_marker(words: &[Word<'_>], at: usize) -> bool {
    let lower = words[at].text.to_ascii_lowercase();
    let is_marker = STOCK_MARKERS
        .iter()
        .any(|marker| lower.trim_end_matches(['#', ':', '.']) == *marker);
    let after_in = at > 0
        && matches!(
            words[at - 1].text.to_ascii_lowercase().as_str(),
            "in" | "en" | "out" | "of"
        );
    is_marker && !after_in
}

/// Letters become `A`, digits `9`, the rest stays: "P12345" → "A99999".
fn shape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_ascii_digit() => '9',
            c if c.is_alphabetic() => 'A',
            c => c,
        })
        .collect()
}

/// A shape worth matching on its own: five characters or more, letters and digits both.
fn is_distinctive(shape: &str) -> bool {
    shape.chars().count() >= 5 && shape.contains('9') && shape.contains('A')
}

/// Makes sold in the US (folded words), aliases after the `=`.
const MAKES: &[&str] = &[
    "acura",
    "alfa romeo",
    "aston martin",
    "audi",
    "bentley",
    "bmw",
    "buick",
    "cadillac",
    "chevrolet",
    "chevy=chevrolet",
    "chrysler",
    "dodge",
    "ferrari",
    "fiat",
    "ford",
    "genesis",
    "gmc",
    "honda",
    "hummer",
    "hyundai",
    "infiniti",
    "isuzu",
    "jaguar",
    "jeep",
    "kia",
    "lamborghini",
    "land rover",
    "lexus",
    "lincoln",
    "lotus",
    "lucid",
    "maserati",
    "mazda",
    "mclaren",
    "mercedes benz",
    "mercedes=mercedes benz",
    "mercury",
    "mini",
    "mitsubishi",
    "nissan",
    "oldsmobile",
    "plymouth",
    "polestar",
    "pontiac",
    "porsche",
    "ram",
    "rivian",
    "rolls royce",
    "saab",
    "saturn",
    "scion",
    "smart",
    "subaru",
    "suzuki",
    "tesla",
    "toyota",
    "volkswagen",
    "vw=volkswagen",
    "volvo",
];

/// Words after a make that say no model follows: "2024 Chevrolet models", "2024 Ford in stock".
const NOT_A_MODEL: &[&str] = &[
    "and",
    "or",
    "with",
    "for",
    "in",
    "at",
    "is",
    "are",
    "was",
    "were",
    "models",
    "model",
    "vehicles",
    "vehicle",
    "cars",
    "car",
    "trucks",
    "truck",
    "suvs",
    "suv",
    "lineup",
    "inventory",
    "options",
    "that",
    "which",
    "we",
    "you",
    "from",
    "on",
    "available",
    "today",
    "now",
    "y",
    "o",
    "con",
    "para",
    "que",
    "modelos",
    "modelo",
    "de",
    "del",
    "en",
    "es",
    "esta",
];

/// The canonical folded make for folded words, if they name a make.
fn canonical_make(words: &str, shown: &[ShownVehicle]) -> Option<String> {
    for entry in MAKES {
        let (name, canonical) = entry.split_once('=').unwrap_or((entry, entry));
        if name == words {
            return Some(canonical.to_owned());
        }
    }
    shown.iter().map(|v| make_key(&v.make)).find(|make| make == words)
}

/// A shown vehicle's make as folded words, aliases resolved: "Mercedes-Benz" → "mercedes benz".
fn make_key(make: &str) -> String {
    let folded = super::text::tokens(make).join(" ");
    MAKES
        .iter()
        .find_map(|entry| {
            entry
                .split_once('=')
                .filter(|(name, _)| *name == folded)
                .map(|(_, canonical)| canonical.to_owned())
        })
        .unwrap_or(folded)
}

/// Letters and digits only, lower case: "F-150" → "f150".
fn model_key(model: &str) -> String {
    super::text::tokens(model).concat()
}

/// Finds "YEAR MAKE MODEL" claims; returns their byte ranges (so their words are not taken
/// for stock numbers).
fn check_vehicles(
    reply: &str,
    tokens: &[Token],
    shown: &[ShownVehicle],
    report: &mut GroundingReport,
) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let Some(year) = year_of(&tokens[index].word) else {
            index += 1;
            continue;
        };
        // The make: two words ("land rover") before one ("ford").
        let make = [2, 1].into_iter().find_map(|length| {
            let words = tokens.get(index + 1..index + 1 + length)?;
            let joined: Vec<&str> = words.iter().map(|t| t.word.as_str()).collect();
            canonical_make(&joined.join(" "), shown).map(|make| (make, index + 1 + length))
        });
        let start = tokens[index].start;
        let (end_token, matching, what) = match make {
            Some((make, after_make)) => {
                let same_make: Vec<&ShownVehicle> = shown
                    .iter()
                    .filter(|v| v.year == year && make_key(&v.make) == make)
                    .collect();
                match spelled_model(tokens, after_make, &same_make) {
                    Some((end, vehicles)) => (end, vehicles, "vehicle"),
                    None => match tokens.get(after_make) {
                        Some(next) if !NOT_A_MODEL.contains(&next.word.as_str()) && year_of(&next.word).is_none() => {
                            (after_make + 1, Vec::new(), "vehicle")
                        }
                        // "2024 Chevrolet" alone: any shown 2024 Chevrolet will do.
                        _ => (after_make, same_make, "year and make"),
                    },
                }
            }
            None => {
                // "2024 Tahoe": a shown vehicle's model right after the year, make left out.
                let any: Vec<&ShownVehicle> = shown.iter().collect();
                let Some((end, spelled_by)) = spelled_model(tokens, index + 1, &any) else {
                    index += 1;
                    continue;
                };
                (
                    end,
                    spelled_by.into_iter().filter(|v| v.year == year).collect(),
                    "vehicle",
                )
            }
        };
        let end = word_end(reply, tokens[end_token - 1].end);
        let text = reply[start..end].to_owned();
        let violation = verdict(&matching, &text, what, ViolationKind::UnknownVehicle);
        push(report, ClaimKind::Vehicle, text, start, end, &matching, violation);
        spans.push((start, end));
        index = end_token;
    }
    spans
}

/// The shown vehicles whose model the tokens from `from` spell (ignoring spaces and dashes),
/// the longest spelling winning, and the token index where it ends.
fn spelled_model<'v>(
    tokens: &[Token],
    from: usize,
    candidates: &[&'v ShownVehicle],
) -> Option<(usize, Vec<&'v ShownVehicle>)> {
    let mut best: Option<(usize, Vec<&ShownVehicle>)> = None;
    for vehicle in candidates {
        let wanted = model_key(&vehicle.model);
        if wanted.is_empty() {
            continue;
        }
        let mut spelled = String::new();
        for (offset, token) in tokens.iter().skip(from).take(4).enumerate() {
            spelled.push_str(&token.word);
            if spelled == wanted {
                let end = from + offset + 1;
                match &mut best {
                    Some((best_end, vehicles)) if *best_end == end => vehicles.push(vehicle),
                    Some((best_end, _)) if *best_end > end => {}
                    _ => best = Some((end, vec![vehicle])),
                }
                break;
            }
            if !wanted.starts_with(&spelled) {
                break;
            }
        }
    }
    best
}

fn year_of(word: &str) -> Option<i32> {
    let year: i32 = word.parse().ok().filter(|_| word.len() == 4)?;
    (1950..=2099).contains(&year).then_some(year)
}

/// Extends a byte offset to the end of its white-space-delimited word, without trailing
/// punctuation: the "150" of "F-150," is part of the claim.
fn word_end(text: &str, from: usize) -> usize {
    let rest = &text[from..];
    let word = rest.find(char::is_whitespace).map_or(rest, |at| &rest[..at]);
    let trimmed = word.trim_end_matches(|c: char| !c.is_alphanumeric());
    from + trimmed.len()
}

/// Reply phrases that commit the dealership on their own.
pub const COMMITMENTS: &[&str] = &[
    "thats|its a deal",
    "this is a deal",
    "youve|you got|have a deal",
    "you have a deal",
    "we|weve have|got a deal",
    "deal done",
    "done deal",
    "we|i|well|ill|weve|ive accept|accepted your|the|that|this offer|price|terms",
    "we|i can|will|would|could accept your|the|that|this offer|price|terms",
    "happy|glad to accept your|the|that|this offer|price|terms",
    "offer accepted",
    "legally binding",
    "binding offer|agreement|contract|deal|price|quote",
    "takesies|backsies",
    "no take backs",
    "you are|were pre? approved",
    "you have been pre? approved",
    "youre|youve pre|been? pre? approved",
    "approved for a|the|your? financing|loan|credit|lease",
    "guaranteed approval|financing|price",
    "we|i guarantee|promise",
    "we|i|well agree",
    "agreed",
    "we|well|ill|i will|can|could|ll? match|beat that|their|your|the|any price|offer|quote",
    "we can|could|will match|beat that|their|your|the|any price|offer|quote",
    "price is locked",
    "lock|locked in|it the|your|that|this? price|rate|deal",
    "trato hecho",
    "es un trato",
    "tenemos un trato",
    "acepto|aceptamos|aceptare su|tu|la|esa|esta oferta|propuesta|precio",
    "oferta aceptada",
    "legalmente vinculante",
    "oferta|acuerdo|contrato|precio vinculante",
    "esta|estas|queda|quedas|fue|sido aprobado|aprobada|preaprobado|preaprobada",
    "aprobado|aprobada para el? financiamiento|credito|prestamo",
    "le|te garantizo|garantizamos|prometo|prometemos",
    "aprobacion garantizada",
];

static COMMITMENT_PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns::new(COMMITMENTS));

/// Phrases that commit only with an unlisted amount or a deal word after them: "I can offer
/// you $1" commits; "I can offer you a test drive" does not.
static OFFERS: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "i|we can|could|will|would|ll offer|give|do|sell|let",
        "ill|well|id|wed offer|give|do|sell|let|pay",
        "we are offering|giving",
        "im|were offering|giving",
        "how|what about",
        "le|te puedo|podemos|podria|podriamos ofrecer|dar|dejar|vender",
        "le|te ofrezco|ofrecemos|doy|damos|daremos|dejo|dejamos|vendo|vendemos",
        "se lo|la dejo|dejamos|vendo|vendemos",
        "te lo|la dejo|dejamos|vendo|vendemos",
    ])
});

const DEAL_WORDS: &[&str] = &[
    "discount",
    "discounts",
    "off",
    "rebate",
    "financing",
    "approval",
    "approved",
    "rate",
    "apr",
    "trade",
    "tradein",
    "deal",
    "descuento",
    "rebaja",
    "financiamiento",
    "credito",
    "aprobacion",
    "tasa",
    "intercambio",
];

fn check_commitments(
    reply: &str,
    tokens: &[Token],
    amounts: &[Amount],
    shown: &[ShownVehicle],
    report: &mut GroundingReport,
) {
    let list: Vec<String> = tokens.iter().map(|t| t.word.clone()).collect();
    let words = Words::new(&list);
    let listed = |amount: &Amount| {
        shown
            .iter()
            .filter(|v| v.active)
            .any(|v| v.price.is_some_and(|p| amount.matches(p)) || v.msrp.is_some_and(|p| amount.matches(p)))
    };
    let mut found: Vec<(usize, usize)> = Vec::new();
    for pattern in COMMITMENT_PATTERNS.iter() {
        found.extend(pattern.find_all(&words));
    }
    for pattern in OFFERS.iter() {
        for (start, end) in pattern.find_all(&words) {
            let window_end = (end + 8).min(tokens.len());
            let byte_from = tokens[end - 1].end;
            let byte_to = tokens.get(window_end).map_or(reply.len(), |t| t.start);
            let unlisted_amount = amounts
                .iter()
                .any(|a| a.start >= byte_from && a.start < byte_to && !listed(a));
            let deal_word = list[end..window_end].iter().any(|w| DEAL_WORDS.contains(&w.as_str()));
            if unlisted_amount || deal_word {
                found.push((start, window_end.min(end + 4)));
            }
        }
    }
    found.sort();
    let mut last_end = 0;
    for (start, end) in found {
        if start < last_end {
            continue;
        }
        last_end = end;
        let (byte_start, byte_end) = (tokens[start].start, tokens[end - 1].end);
        let text = reply[byte_start..byte_end].to_owned();
        report.violations.push(Violation {
            kind: ViolationKind::Commitment,
            reason: format!("\"{text}\" commits the dealership; only a person may agree to a price, a trade-in value, financing or an offer"),
            text,
            start: byte_start,
            end: byte_end,
        });
    }
}

/// The violation for a claim matching `matching` shown vehicles: none when one is active.
fn verdict(
    matching: &[&ShownVehicle],
    text: &str,
    what: &str,
    unknown: ViolationKind,
) -> Option<(ViolationKind, String)> {
    if matching.iter().any(|v| v.active) {
        None
    } else if let Some(sold) = matching.first() {
        Some((
            ViolationKind::InactiveVehicle,
            format!("{what} {text} is a vehicle no longer available ({})", describe(sold)),
        ))
    } else {
        Some((
            unknown,
            format!("{what} {text} is not among the vehicles shown this turn"),
        ))
    }
}

fn describe(vehicle: &ShownVehicle) -> String {
    format!(
        "vehicle {}: {} {} {}",
        vehicle.id, vehicle.year, vehicle.make, vehicle.model
    )
}

fn push(
    report: &mut GroundingReport,
    kind: ClaimKind,
    text: String,
    start: usize,
    end: usize,
    matching: &[&ShownVehicle],
    violation: Option<(ViolationKind, String)>,
) {
    if let Some((violation_kind, reason)) = violation {
        report.violations.push(Violation {
            kind: violation_kind,
            text: text.clone(),
            reason,
            start,
            end,
        });
    }
    let mut vehicle_ids: Vec<i64> = matching.iter().map(|v| v.id).collect();
    vehicle_ids.dedup();
    report.claims.push(Claim {
        kind,
        text,
        vehicle_ids,
        start,
        end,
    });
}

/// A white-space-delimited word, without surrounding punctuation and a leading `#`.
struct Word<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '"' | '!' | '?' | ':'))
    {
        let start_in_raw = raw.find(|c: char| c.is_alphanumeric()).unwrap_or(raw.len());
        let trimmed = raw[start_in_raw..].trim_end_matches(|c: char| !c.is_alphanumeric());
        let start = offset + start_in_raw;
        if !trimmed.is_empty() {
            out.push(Word {
                text: trimmed,
                start,
                end: start + trimmed.len(),
            });
        }
        offset += raw.len() + text[offset + raw.len()..].chars().next().map_or(0, char::len_utf8);
    }
    out
}
