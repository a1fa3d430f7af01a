//! When a conversation needs a person, and why.
//!
//! The decision combines what the message says (its [`Classification`]) with what only the
//! caller knows about the turn ([`TurnFacts`]: the vehicle asked for is not in stock, the
//! model's confidence, failures in a row, the turn count, the persona's keywords). Every
//! reason that applies is listed, in the order of [`HandoverReason`], so the decision trace
//! and the dossier say all of why, not just the first.

use serde::Serialize;

use super::classify::Classification;
use super::intent::Intent;
use super::sentiment::STRONGLY_NEGATIVE;
use super::text::{fold, tokens};

/// Below this model confidence (0..1) the turn is handed over.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.5;
/// This many failed model turns in a row (errors, empty or rejected replies) hand over.
pub const DEFAULT_MAX_FAILURES: u32 = 2;
/// A conversation longer than this many customer turns is handed over: it is not converging.
pub const DEFAULT_MAX_TURNS: u32 = 20;

/// Why a conversation goes to a person. Serialised in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverReason {
    /// The customer asks for a person, an agent, a manager or a call.
    HumanRequest,
    /// The customer asks the assistant to agree to a price, a discount, a trade-in value, a
    /// financing approval or a binding offer. The assistant never commits.
    CommitmentRequest,
    /// Financing, credit, payment or lease questions.
    Financing,
    /// A price offer, a discount request or a competing quote.
    Negotiation,
    /// The value of the customer's trade-in.
    TradeIn,
    Complaint,
    /// Lawyer, suing, BBB, dispute…
    Legal,
    /// Sentiment at or below [`STRONGLY_NEGATIVE`].
    NegativeSentiment,
    /// The vehicle the customer wants is not in stock (the caller knows, from the search).
    VehicleNotInStock,
    /// The model said it is unsure (below [`TurnFacts::min_confidence`]).
    LowConfidence,
    /// The model failed [`TurnFacts::max_failures`] times in a row.
    RepeatedFailure,
    /// More than [`TurnFacts::max_turns`] customer turns.
    TurnLimit,
    /// The message contains a keyword the persona hands over on.
    PersonaKeyword,
}

impl HandoverReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HumanRequest => "human_request",
            Self::CommitmentRequest => "commitment_request",
            Self::Financing => "financing",
            Self::Negotiation => "negotiation",
            Self::TradeIn => "trade_in",
            Self::Complaint => "complaint",
            Self::Legal => "legal",
            Self::NegativeSentiment => "negative_sentiment",
            Self::VehicleNotInStock => "vehicle_not_in_stock",
            Self::LowConfidence => "low_confidence",
            Self::RepeatedFailure => "repeated_failure",
            Self::TurnLimit => "turn_limit",
            Self::PersonaKeyword => "persona_keyword",
        }
    }
}

/// Whether to hand over, and every reason why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HandoverDecision {
    pub needed: bool,
    pub reasons: Vec<HandoverReason>,
}

impl HandoverDecision {
    fn from_reasons(mut reasons: Vec<HandoverReason>) -> Self {
        reasons.sort();
        reasons.dedup();
        Self {
            needed: !reasons.is_empty(),
            reasons,
        }
    }
}

/// What the caller knows about this turn that the message alone does not say.
/// `TurnFacts::default()` knows nothing and uses the default limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnFacts<'a> {
    /// The customer's message, for the persona's keywords. Empty: no keyword can match.
    pub message: &'a str,
    /// Keywords or phrases of the persona that always hand over ("fleet", "lease return"),
    /// matched as whole words, case- and accent-insensitive.
    pub persona_keywords: &'a [String],
    /// The customer asked for a vehicle that the inventory search did not find.
    pub vehicle_not_in_stock: bool,
    /// The model's confidence in its reply, 0..1, when it gives one.
    pub model_confidence: Option<f32>,
    pub min_confidence: f32,
    /// Failed model turns in a row, this one included.
    pub consecutive_failures: u32,
    /// Hand over at this many failures in a row; 0 never does.
    pub max_failures: u32,
    /// Customer turns so far, this one included.
    pub turn_count: u32,
    /// Hand over past this many customer turns; 0 never does.
    pub max_turns: u32,
}

impl Default for TurnFacts<'_> {
    fn default() -> Self {
        Self {
            message: "",
            persona_keywords: &[],
            vehicle_not_in_stock: false,
            model_confidence: None,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            consecutive_failures: 0,
            max_failures: DEFAULT_MAX_FAILURES,
            turn_count: 0,
            max_turns: DEFAULT_MAX_TURNS,
        }
    }
}

/// The handover decision for one turn: the message's triggers (intents and sentiment of
/// `classification`) and the caller's (`facts`).
///
/// Financing counts whenever the customer asks about it: the assistant may repeat a listed
/// fact (a listed APR offer, say), but any question about the customer's own credit, payment
/// or approval needs a person, and telling them apart is not worth a wrong answer.
pub fn decide_handover(classification: &Classification, facts: &TurnFacts<'_>) -> HandoverDecision {
    let mut reasons = Vec::new();
    for intent in &classification.intents {
        let reason = match intent {
            Intent::HumanRequest => HandoverReason::HumanRequest,
            Intent::CommitmentRequest => HandoverReason::CommitmentRequest,
            Intent::Financing => HandoverReason::Financing,
            Intent::Negotiation => HandoverReason::Negotiation,
            Intent::TradeIn => HandoverReason::TradeIn,
            Intent::Complaint => HandoverReason::Complaint,
            Intent::Legal => HandoverReason::Legal,
            _ => continue,
        };
        reasons.push(reason);
    }
    if classification.sentiment <= STRONGLY_NEGATIVE {
        reasons.push(HandoverReason::NegativeSentiment);
    }
    if facts.vehicle_not_in_stock {
        reasons.push(HandoverReason::VehicleNotInStock);
    }
    if facts
        .model_confidence
        .is_some_and(|confidence| confidence < facts.min_confidence)
    {
        reasons.push(HandoverReason::LowConfidence);
    }
    if facts.max_failures > 0 && facts.consecutive_failures >= facts.max_failures {
        reasons.push(HandoverReason::RepeatedFailure);
    }
    if facts.max_turns > 0 && facts.turn_count > facts.max_turns {
        reasons.push(HandoverReason::TurnLimit);
    }
    if !persona_keywords_in(facts.message, facts.persona_keywords).is_empty() {
        reasons.push(HandoverReason::PersonaKeyword);
    }
    HandoverDecision::from_reasons(reasons)
}

/// The persona keywords that `message` contains, as whole words (a keyword of several words
/// matches those words in a row), ignoring case and accents. Blank keywords never match.
pub fn persona_keywords_in<'k>(message: &str, keywords: &'k [String]) -> Vec<&'k str> {
    let words = tokens(message);
    keywords
        .iter()
        .filter(|keyword| {
            let wanted = tokens(&fold(keyword));
            !wanted.is_empty() && words.windows(wanted.len()).any(|window| window == wanted.as_slice())
        })
        .map(String::as_str)
        .collect()
}
