//! The offline responder: with no model configured (no API key, no base URL) the assistant
//! still answers, from the same inventory tools and templates — a greeting, the matching
//! vehicles with their listed prices, the hours — so the local demo and the tests run end to
//! end. It answers through the same [`Completion`] as the model, and its replies pass the
//! same post-check.

use rylie_domain::assistant::{Classification, Intent};
use rylie_store::{
    turns::TurnContext,
    vehicles::{ShortlistOrder, VehicleQuery},
};

use super::{hours::Hours, model::Completion, tools::InventoryTools};

/// How many vehicles a reply lists.
const SHOWN: i64 = 3;

/// The name the trace gives the offline responder in place of a model.
pub const MODEL_NAME: &str = "offline-templates";

/// Words that never narrow a search.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "for",
    "with",
    "any",
    "you",
    "your",
    "have",
    "has",
    "got",
    "do",
    "does",
    "is",
    "are",
    "i",
    "im",
    "me",
    "my",
    "we",
    "us",
    "our",
    "want",
    "looking",
    "look",
    "need",
    "like",
    "would",
    "could",
    "can",
    "please",
    "show",
    "find",
    "in",
    "on",
    "of",
    "to",
    "at",
    "under",
    "below",
    "less",
    "than",
    "max",
    "about",
    "around",
    "what",
    "which",
    "there",
    "some",
    "car",
    "cars",
    "vehicle",
    "vehicles",
    "stock",
    "available",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "it",
    "that",
    "this",
    "one",
    "ones",
    "price",
    "prices",
    "much",
    "how",
    "cost",
    "tengo",
    "tienen",
    "busco",
    "quiero",
    "un",
    "una",
    "el",
    "la",
    "los",
    "las",
    "de",
    "con",
    "por",
    "para",
    "hola",
    "precio",
    "still",
    "anything",
    "something",
    "else",
    "really",
    "just",
    "more",
    "other",
    "get",
    "buy",
    "sale",
    "today",
    "now",
    "right",
    "know",
    "tell",
    "if",
    "be",
    "algo",
    "alguno",
    "tienes",
];

/// Makes a customer names, as written (lower case) and as feeds spell them: a named make is
/// a structured filter (an index condition), not free text.
const MAKES: &[(&str, &str)] = &[
    ("acura", "Acura"),
    ("audi", "Audi"),
    ("bmw", "BMW"),
    ("buick", "Buick"),
    ("cadillac", "Cadillac"),
    ("chevrolet", "Chevrolet"),
    ("chevy", "Chevrolet"),
    ("chrysler", "Chrysler"),
    ("dodge", "Dodge"),
    ("fiat", "Fiat"),
    ("ford", "Ford"),
    ("genesis", "Genesis"),
    ("gmc", "GMC"),
    ("honda", "Honda"),
    ("hyundai", "Hyundai"),
    ("infiniti", "Infiniti"),
    ("jaguar", "Jaguar"),
    ("jeep", "Jeep"),
    ("kia", "Kia"),
    ("lexus", "Lexus"),
    ("lincoln", "Lincoln"),
    ("mazda", "Mazda"),
    ("mercedes", "Mercedes-Benz"),
    ("mini", "MINI"),
    ("mitsubishi", "Mitsubishi"),
    ("nissan", "Nissan"),
    ("porsche", "Porsche"),
    ("ram", "Ram"),
    ("subaru", "Subaru"),
    ("tesla", "Tesla"),
    ("toyota", "Toyota"),
    ("volkswagen", "Volkswagen"),
    ("vw", "Volkswagen"),
    ("volvo", "Volvo"),
];

/// Answers one message from templates and the inventory.
pub async fn respond(
    context: &TurnContext,
    message: &str,
    classification: &Classification,
    hours: &Hours,
    tools: &mut InventoryTools<'_>,
) -> Completion {
    let asks = |intent: Intent| classification.intents.contains(&intent);
    let mut parts: Vec<String> = Vec::new();
    let first_turn = context.customer_turns <= 1;
    if first_turn || asks(Intent::Greeting) {
        let name = context
            .customer_name
            .as_deref()
            .and_then(|name| name.split_whitespace().next())
            .map(|first| format!(" {first}"))
            .unwrap_or_default();
        parts.push(format!(
            "Hi{name}! I'm the automated assistant of {}.",
            context.dealership_name
        ));
    }
    if asks(Intent::HoursLocation) {
        match (hours.describe(), &context.address) {
            (Some(open), Some(address)) => parts.push(format!("We're at {address}. Our hours: {open}.")),
            (Some(open), None) => parts.push(format!("Our hours: {open}.")),
            (None, Some(address)) => parts.push(format!("We're at {address}.")),
            (None, None) => {}
        }
    }
    let query = search_of(message);
    let wants_vehicles = asks(Intent::VehicleSearch)
        || asks(Intent::PriceQuestion)
        || asks(Intent::Availability)
        || asks(Intent::TestDrive)
        || query.text.is_some() && !asks(Intent::Greeting);
    if wants_vehicles {
        // The searches go into the decision trace through the tools. Every remaining word must match; when that finds nothing, any of them may.
        let mut found = tools.search(&query, ShortlistOrder::Newest, SHOWN).await;
        if matches!(&found, Ok(none) if none.is_empty())
            && let Some(text) = query.text.as_deref().filter(|text| text.contains(' '))
        {
            let any = VehicleQuery {
                text: Some(text.split(' ').collect::<Vec<_>>().join(" or ")),
                ..query.clone()
            };
            found = tools.search(&any, ShortlistOrder::Newest, SHOWN).await;
        }
        match found {
            Ok(found) if found.is_empty() => {
                parts.push("I couldn't find a vehicle matching that in our inventory right now.".to_owned())
            }
            Ok(found) => {
                let lines: Vec<String> = found.iter().map(line).collect();
                parts.push(format!("Here is what we have:\n{}", lines.join("\n")));
                parts.push("Would you like to book a test drive or hear more about one of them?".to_owned());
            }
            Err(error) => {
                tracing::error!(%error, "offline responder: inventory search failed");
                parts.push("I can't look at our inventory just this moment; please try again shortly.".to_owned());
            }
        }
    }
    if parts.is_empty() || (parts.len() == 1 && first_turn && !wants_vehicles) {
        parts.push(
            "I can help you find a vehicle, check prices and availability, or set up a test drive. \
             What are you looking for?"
                .to_owned(),
        );
    }
    Completion {
        text: parts.join(" "),
        model: MODEL_NAME.to_owned(),
        finish_reason: "stop".to_owned(),
        tool_calls: Vec::new(),
        attempts: 0,
        rounds: u32::from(wants_vehicles),
    }
}

/// One vehicle in a line, with its listed price.
fn line(vehicle: &rylie_store::vehicles::Vehicle) -> String {
    let mut text = format!("- {} {} {}", vehicle.year, vehicle.make, vehicle.model);
    if let Some(trim) = &vehicle.trim {
        text.push_str(&format!(" {trim}"));
    }
    if let Some(mileage) = vehicle.mileage {
        text.push_str(&format!(", {} miles", thousands(i64::from(mileage))));
    }
    if let Some(price) = vehicle.price {
        text.push_str(&format!(", ${}", thousands(price.round() as i64)));
    }
    if let Some(stock) = &vehicle.stock_number {
        text.push_str(&format!(" (stock {stock})"));
    }
    text
}

fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// A search from free text: a named make as a filter, the other words that can narrow it (all
/// of them; the caller retries with any of them), and a price ceiling from "under $25,000" /
/// "under 25k".
fn search_of(message: &str) -> VehicleQuery {
    let lower = message.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '$' && c != ',' && c != '.')
        .map(|word| word.trim_matches(|c: char| c == ',' || c == '.'))
        .filter(|word| !word.is_empty())
        .collect();
    let mut price_max = None;
    for pair in words.windows(2) {
        if matches!(pair[0], "under" | "below" | "max" | "menos" | "bajo") {
            price_max = amount(pair[1]);
        }
    }
    let make = words.iter().find_map(|word| {
        MAKES
            .iter()
            .find(|(spelt, _)| spelt == word)
            .map(|(_, make)| (*word, *make))
    });
    let terms: Vec<&str> = words
        .iter()
        .copied()
        .filter(|word| word.chars().all(char::is_alphanumeric))
        .filter(|word| word.len() > 1 && !STOP_WORDS.contains(word))
        .filter(|word| amount(word).is_none() || word.len() == 4)
        .filter(|word| make.is_none_or(|(spelt, _)| spelt != *word))
        .collect();
    VehicleQuery {
        text: (!terms.is_empty()).then(|| terms.join(" ")),
        make: make.map(|(_, make)| make.to_owned()),
        price_max,
        ..VehicleQuery::default()
    }
}

/// "$25,000", "25000", "25k" as dollars.
fn amount(word: &str) -> Option<f64> {
    let cleaned: String = word.chars().filter(|c| *c != '$' && *c != ',').collect();
    match cleaned.strip_suffix('k') {
        Some(thousands) => thousands.parse::<f64>().ok().map(|n| n * 1000.0),
        None => cleaned.parse::<f64>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_becomes_a_search_of_its_words_and_price_ceiling() {
        let query = search_of("Do you have a red Honda Civic under $25,000?");
        assert_eq!(query.make.as_deref(), Some("Honda"), "a named make is a filter");
        assert_eq!(query.text.as_deref(), Some("red civic"));
        assert_eq!(query.price_max, Some(25_000.0));
        let query = search_of("any 2021 chevy trucks under 30k");
        assert_eq!(query.make.as_deref(), Some("Chevrolet"));
        assert_eq!(query.text.as_deref(), Some("2021 trucks"));
        assert_eq!(query.price_max, Some(30_000.0));
        assert_eq!(search_of("hi there").text, None);
    }

    #[test]
    fn prices_and_miles_are_written_with_thousands() {
        assert_eq!(thousands(23995), "23,995");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
