//! One customer message, classified: intents, sentiment, channel action and the handover
//! decision that the message alone supports.

use serde::Serialize;

use super::channel::{ChannelAction, channel_action};
use super::handover::{HandoverDecision, TurnFacts, decide_handover};
use super::intent::{Intent, intents};
use super::sentiment::sentiment;

/// What one customer message says. Serialises exactly as
/// `{"intents":["price_question"],"sentiment":-0.4,"opt_out":null,"handover":{"needed":false,"reasons":[]}}`
/// (`opt_out` is `null`, `"stop"`, `"help"` or `"start"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// In the order of [`Intent`]; empty when nothing is recognised.
    pub intents: Vec<Intent>,
    /// -1 (furious) .. 1 (delighted), two decimals.
    pub sentiment: f32,
    /// The channel action the message asks for. Named `opt_out` on the wire (issue 6) though
    /// it also carries HELP and START.
    pub opt_out: Option<ChannelAction>,
    pub handover: HandoverDecision,
}

/// Classifies one customer message. The handover decision uses the message only (as with
/// [`TurnFacts::default`]); [`classify_turn`] adds what the caller knows about the turn.
pub fn classify(text: &str) -> Classification {
    classify_turn(text, &TurnFacts::default())
}

/// Classifies one customer message and decides the handover with the caller's facts
/// (`facts.message` is replaced by `text`).
pub fn classify_turn(text: &str, facts: &TurnFacts<'_>) -> Classification {
    let opt_out = channel_action(text);
    let mut found = intents(text);
    match opt_out {
        Some(ChannelAction::Stop) => found.push(Intent::OptOut),
        Some(ChannelAction::Start) => found.push(Intent::OptIn),
        Some(ChannelAction::Help) => found.push(Intent::Help),
        None => {}
    }
    found.sort();
    found.dedup();
    let mut classification = Classification {
        intents: found,
        sentiment: sentiment(text),
        opt_out,
        handover: HandoverDecision::default(),
    };
    let facts = TurnFacts {
        message: text,
        ..*facts
    };
    classification.handover = decide_handover(&classification, &facts);
    classification
}
