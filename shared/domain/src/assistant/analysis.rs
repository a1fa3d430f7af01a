//! A finished or idle conversation, analysed: what the customer wanted, how they felt, and how
//! likely they are to buy (a lead score 0–100 with the factors that make it up).
//!
//! The score is rules, not the model, on purpose: sales staff sort their day by it, so it must
//! be stable (the same conversation scores the same tomorrow), explainable (each point comes
//! from a named factor with its evidence) and comparable across dealerships and model
//! versions. The model may write a better summary and read sentiment better than the word
//! lists; both enter the score only as inputs ([`Signals`]), never as the score itself.
//!
//! The offline analysis ([`analyse`]) needs nothing but the transcript, so the job always has
//! an answer when the model is down.

use serde::Serialize;

use super::classify::classify;
use super::intent::Intent;
use super::sentiment::STRONGLY_NEGATIVE;

/// The version of the scoring rules, stored with the factors so a score can be re-read later.
pub const SCORING_VERSION: u32 = 1;

/// One line of the conversation.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// customer, assistant, staff or system.
    pub sender: &'a str,
    pub content: &'a str,
}

/// What the analysis knows beyond the words.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    pub has_email: bool,
    pub has_phone: bool,
    /// Vehicles the assistant showed the customer (from the turns' decision traces).
    pub vehicles_shown: usize,
    /// The customer opted out of the conversation's channel.
    pub opted_out: bool,
    /// Hours from the customer's last message to the analysis.
    pub hours_since_customer: Option<f64>,
}

/// The inputs of the score: everything the rules read, after the words have been classified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signals {
    pub customer_messages: usize,
    /// In the order of [`Intent`], without repeats.
    pub intents: Vec<Intent>,
    /// -1..1: the mean of the customer's messages, or the model's reading.
    pub sentiment: f32,
    /// The most negative single customer message.
    pub lowest_sentiment: f32,
    pub has_email: bool,
    pub has_phone: bool,
    pub vehicles_shown: usize,
    pub opted_out: bool,
    pub hours_since_customer: Option<f64>,
}

/// One contribution to the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Factor {
    /// A stable name (`test_drive`, `contact_phone`, …) reports can group by.
    pub name: &'static str,
    /// Points added (negative: taken away).
    pub points: i32,
    /// Why, in words staff read.
    pub evidence: String,
}

/// The result of analysing a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub summary: String,
    pub intents: Vec<Intent>,
    pub sentiment: f32,
    pub lead_score: u8,
    pub factors: Vec<Factor>,
    pub signals: Signals,
}

impl Analysis {
    /// A strongly negative customer: an open conversation goes to a person.
    pub fn is_strongly_negative(&self) -> bool {
        self.sentiment <= STRONGLY_NEGATIVE || self.signals.lowest_sentiment <= STRONGLY_NEGATIVE
    }
}

/// Reads the transcript's customer messages into [`Signals`].
pub fn signals(lines: &[Line<'_>], context: &Context) -> Signals {
    let mut intents = Vec::new();
    let mut total = 0.0f32;
    let mut lowest = 0.0f32;
    let mut count = 0usize;
    for line in lines.iter().filter(|line| line.sender == "customer") {
        let classification = classify(line.content);
        intents.extend(classification.intents);
        total += classification.sentiment;
        lowest = lowest.min(classification.sentiment);
        count += 1;
    }
    intents.sort();
    intents.dedup();
    Signals {
        customer_messages: count,
        intents,
        sentiment: if count == 0 { 0.0 } else { round2(total / count as f32) },
        lowest_sentiment: lowest,
        has_email: context.has_email,
        has_phone: context.has_phone,
        vehicles_shown: context.vehicles_shown,
        opted_out: context.opted_out,
        hours_since_customer: context.hours_since_customer,
    }
}

/// The lead score and its factors. The weights (version [`SCORING_VERSION`]):
///
/// | factor | points |
/// |---|---|
/// | base | 10 |
/// | e-mail / phone known | +10 each |
/// | customer messages: 1 / 2–3 / 4 or more | +5 / +10 / +15 |
/// | the assistant showed matching vehicles | +10 |
/// | test drive asked | +20 |
/// | financing, trade-in, negotiation or a commitment asked (buying steps) | +10 each, at most +20 |
/// | price or availability asked | +5 |
/// | asked for a person | +5 |
/// | positive (≥ 0.3) / negative (≤ -0.3) sentiment | +5 / -10 |
/// | complaint or legal words | -10 |
/// | last customer message within 24 hours / older than 7 days | +5 / -10 |
/// | opted out of the channel | -40 |
///
/// clamped to 0–100.
pub fn lead_score(signals: &Signals) -> (u8, Vec<Factor>) {
    let mut factors = vec![Factor {
        name: "base",
        points: 10,
        evidence: "every conversation".into(),
    }];
    let mut add = |name: &'static str, points: i32, evidence: String| factors.push(Factor { name, points, evidence });
    let has = |intent: Intent| signals.intents.contains(&intent);
    if signals.has_email {
        add("contact_email", 10, "the customer's e-mail address is known".into());
    }
    if signals.has_phone {
        add("contact_phone", 10, "the customer's phone number is known".into());
    }
    let engagement = match signals.customer_messages {
        0 => 0,
        1 => 5,
        2 | 3 => 10,
        _ => 15,
    };
    if engagement > 0 {
        add(
            "engagement",
            engagement,
            format!("{} customer message(s)", signals.customer_messages),
        );
    }
    if signals.vehicles_shown > 0 {
        add(
            "vehicles_matched",
            10,
            format!("{} vehicle(s) from inventory shown", signals.vehicles_shown),
        );
    }
    if has(Intent::TestDrive) {
        add("test_drive", 20, "asked for a test drive".into());
    }
    let steps: Vec<&str> = [
        Intent::Financing,
        Intent::TradeIn,
        Intent::Negotiation,
        Intent::CommitmentRequest,
    ]
    .into_iter()
    .filter(|intent| has(*intent))
    .map(Intent::as_str)
    .collect();
    if !steps.is_empty() {
        add(
            "buying_steps",
            (10 * steps.len() as i32).min(20),
            format!("asked about {}", steps.join(", ")),
        );
    }
    if has(Intent::PriceQuestion) || has(Intent::Availability) {
        add("price_or_availability", 5, "asked about price or availability".into());
    }
    if has(Intent::HumanRequest) {
        add("human_request", 5, "asked to talk to a person".into());
    }
    if signals.sentiment >= 0.3 {
        add("positive", 5, format!("sentiment {:.2}", signals.sentiment));
    } else if signals.sentiment <= -0.3 {
        add("negative", -10, format!("sentiment {:.2}", signals.sentiment));
    }
    if has(Intent::Complaint) || has(Intent::Legal) {
        add("complaint", -10, "complaint or legal words".into());
    }
    match signals.hours_since_customer {
        Some(hours) if hours <= 24.0 => add("recent", 5, format!("last customer message {hours:.0} h ago")),
        Some(hours) if hours > 24.0 * 7.0 => add(
            "stale",
            -10,
            format!("last customer message {:.0} days ago", hours / 24.0),
        ),
        _ => {}
    }
    if signals.opted_out {
        add("opted_out", -40, "the customer opted out of this channel".into());
    }
    let total: i32 = factors.iter().map(|factor| factor.points).sum();
    (total.clamp(0, 100) as u8, factors)
}

/// The offline analysis: rules for everything, and a summary built from the transcript.
pub fn analyse(lines: &[Line<'_>], context: &Context) -> Analysis {
    let signals = signals(lines, context);
    let summary = offline_summary(lines, &signals);
    with_summary(signals, summary)
}

/// An analysis from `signals` and a summary written elsewhere (the model's).
pub fn with_summary(signals: Signals, summary: String) -> Analysis {
    let (lead_score, factors) = lead_score(&signals);
    Analysis {
        summary,
        intents: signals.intents.clone(),
        sentiment: signals.sentiment,
        lead_score,
        factors,
        signals,
    }
}

/// "3 customer message(s); asked about: price_question, test_drive. First: "…". Last: "…"."
fn offline_summary(lines: &[Line<'_>], signals: &Signals) -> String {
    let customer: Vec<&str> = lines
        .iter()
        .filter(|line| line.sender == "customer")
        .map(|line| line.content)
        .collect();
    let (Some(first), Some(last)) = (customer.first(), customer.last()) else {
        return "The customer has not written.".into();
    };
    let asked = if signals.intents.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = signals.intents.iter().map(|intent| intent.as_str()).collect();
        format!(" Asked about: {}.", names.join(", "))
    };
    let mut summary = format!(
        "{} customer message(s).{asked} First: \"{}\".",
        customer.len(),
        excerpt(first)
    );
    if customer.len() > 1 {
        summary.push_str(&format!(" Last: \"{}\".", excerpt(last)));
    }
    if signals.vehicles_shown > 0 {
        summary.push_str(&format!(" {} vehicle(s) shown.", signals.vehicles_shown));
    }
    summary
}

/// At most 160 characters of `text`, on one line.
fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(160) {
        Some((end, _)) => format!("{}…", &flat[..end]),
        None => flat,
    }
}

fn round2(value: f32) -> f32 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(content: &str) -> Line<'_> {
        Line {
            sender: "customer",
            content,
        }
    }

    fn assistant(content: &str) -> Line<'_> {
        Line {
            sender: "assistant",
            content,
        }
    }

    #[test]
    fn a_ready_buyer_scores_high_and_every_point_is_explained() {
        let lines = [
            customer("Hi, do you have the 2022 Tacoma in stock? How much is it?"),
            assistant("Yes, stock T123 at $34,995."),
            customer("Great, can I come in for a test drive Saturday? I'd trade in my Civic."),
        ];
        let context = Context {
            has_email: true,
            has_phone: true,
            vehicles_shown: 1,
            hours_since_customer: Some(2.0),
            ..Context::default()
        };
        let analysis = analyse(&lines, &context);
        let names: Vec<&str> = analysis.factors.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "base",
                "contact_email",
                "contact_phone",
                "engagement",
                "vehicles_matched",
                "test_drive",
                "buying_steps",
                "price_or_availability",
                "positive",
                "recent"
            ]
        );
        assert_eq!(analysis.lead_score, 10 + 10 + 10 + 10 + 10 + 20 + 10 + 5 + 5 + 5);
        assert!(analysis.intents.contains(&Intent::TestDrive));
        assert!(
            analysis.summary.starts_with("2 customer message(s)."),
            "{}",
            analysis.summary
        );
        assert!(
            analysis.summary.contains("Last: \"Great, can I come in"),
            "{}",
            analysis.summary
        );
    }

    #[test]
    fn an_angry_customer_who_opted_out_scores_low_and_is_strongly_negative() {
        let lines = [
            customer("This is the worst dealership, you lied to me, I'm calling my lawyer"),
            customer("STOP"),
        ];
        let context = Context {
            opted_out: true,
            hours_since_customer: Some(24.0 * 10.0),
            ..Context::default()
        };
        let analysis = analyse(&lines, &context);
        assert_eq!(analysis.lead_score, 0, "{analysis:#?}");
        assert!(analysis.is_strongly_negative(), "{analysis:#?}");
        assert!(
            analysis
                .factors
                .iter()
                .any(|f| f.name == "opted_out" && f.points == -40)
        );
        assert!(analysis.factors.iter().any(|f| f.name == "stale"));
    }

    #[test]
    fn buying_steps_are_capped_and_a_silent_customer_gets_the_base() {
        let signals = Signals {
            customer_messages: 4,
            intents: vec![
                Intent::Financing,
                Intent::TradeIn,
                Intent::Negotiation,
                Intent::CommitmentRequest,
            ],
            sentiment: 0.0,
            lowest_sentiment: 0.0,
            has_email: false,
            has_phone: false,
            vehicles_shown: 0,
            opted_out: false,
            hours_since_customer: None,
        };
        let (score, factors) = lead_score(&signals);
        assert_eq!(factors.iter().find(|f| f.name == "buying_steps").unwrap().points, 20);
        assert_eq!(score, 10 + 15 + 20);

        let silent = analyse(&[assistant("Hello! How can I help?")], &Context::default());
        assert_eq!(silent.lead_score, 10);
        assert_eq!(silent.summary, "The customer has not written.");
        assert!(!silent.is_strongly_negative());
    }

    #[test]
    fn a_model_summary_keeps_the_rule_score() {
        let lines = [customer("Is the red Civic still available?")];
        let offline = analyse(&lines, &Context::default());
        let with_model = with_summary(offline.signals.clone(), "Wants the red Civic.".into());
        assert_eq!(with_model.lead_score, offline.lead_score);
        assert_eq!(with_model.summary, "Wants the red Civic.");
    }

    #[test]
    fn long_messages_are_cut_in_the_summary() {
        let long = "word ".repeat(100);
        let analysis = analyse(&[customer(&long)], &Context::default());
        assert!(analysis.summary.chars().count() < 220, "{}", analysis.summary);
        assert!(analysis.summary.contains('…'));
    }
}
