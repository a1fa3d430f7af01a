//! Channel compliance keywords: STOP, HELP and START, as carriers (CTIA) and the TCPA expect
//! them, and what customers actually write instead ("stop texting me", "no me envíen más
//! mensajes").
//!
//! Two kinds of rule, on purpose:
//!
//! - **Keywords** count only as the whole message (case, accents, punctuation, repeats and a
//!   "please"/"por favor" ignored): "STOP", "Stop.", "stop please", "UNSUBSCRIBE!!", "Cancel".
//!   "Cancel my appointment", "the end of the month" or "I want to stop by" are not opt-outs,
//!   and "can you help me find a truck" is not HELP.
//! - **Phrases** count anywhere in the message, but each one names the messages themselves
//!   ("stop texting", "remove me from your list", "darme de baja", "deja de escribirme"), so
//!   a sentence that contains one is unambiguous.
//!
//! When a message has both a STOP and a START signal, STOP wins: honouring an opt-out by
//! mistake costs a message; ignoring one costs a complaint and a fine.

use std::sync::LazyLock;

use serde::Serialize;

use super::text::{Patterns, Words, tokens};

/// What a message asks of the channel itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelAction {
    /// Opt out of automated messages on this channel: confirm once, then send nothing.
    Stop,
    /// Answer with the dealership's name and contact details.
    Help,
    /// Opt back in.
    Start,
}

impl ChannelAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Help => "help",
            Self::Start => "start",
        }
    }
}

/// Whole-message opt-out keywords (after folding). The first nine are the carriers' list.
const STOP_KEYWORDS: &[&str] = &[
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "opt out",
    "optout",
    "remove",
    "remove me",
    "stop texting",
    "stop messaging",
    "alto",
    "parar",
    "para",
    "basta",
    "baja",
    "cancelar",
    "detener",
    "no mas",
    "stop it",
    "stop this",
    "just stop",
];

const HELP_KEYWORDS: &[&str] = &["help", "info", "information", "ayuda", "informacion"];

const START_KEYWORDS: &[&str] = &[
    "start",
    "unstop",
    "subscribe",
    "resubscribe",
    "opt in",
    "optin",
    "comenzar",
    "iniciar",
    "reanudar",
    "alta",
];

/// Words a keyword message may carry around the keyword without changing it.
const FILLERS: &[&str] = &[
    "please", "pls", "plz", "por", "favor", "now", "thanks", "thank", "you", "gracias", "ok",
];

/// Plain-language opt-outs, anywhere in a message.
static STOP_PHRASES: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "stop|quit texting|messaging|emailing|calling|contacting|sending|txting|bothering|spamming",
        "stop the|these|your|all texts|messages|emails|calls",
        "stop text|message|email|call me",
        "dont|never text|message|email|call|contact|sms me",
        "do not text|message|email|call|contact|sms me",
        "no more texts|text|messages|emails|calls|sms",
        "remove|delete|erase me from|off",
        "take me off",
        "remove|delete|erase my number|email|info|information|contact|details|data",
        "take my number|email|info off",
        "unsubscribe|optout",
        "opt me out",
        "opt out of|from the|these|your|this|all? texts|messages|emails|sms|list|marketing|communications|notifications",
        "want|wish|like|need to opt out",
        "leave me alone",
        "lose my number",
        "wrong number",
        "not interested stop",
        "no me envien|envies|envie|manden|mandes|mande|escriban|escribas|escriba|contacten|contactes|contacte|llamen|llames mas|nada|mensajes",
        "no me envien|envies|envie|manden|mandes|mande mas mensajes|correos|textos",
        "ya no me envien|envies|manden|mandes|escriban|escribas|contacten|llamen",
        "no quiero|deseo recibir mas|mensajes|correos|textos",
        "deja|dejen|dejan|deje de escribirme|enviarme|mandarme|llamarme|contactarme|molestarme|textearme",
        "dejen|deja de enviar|mandar mensajes",
        "darme|dame|denme|deme|dar de baja",
        "me quiero dar de baja",
        "quiero darme de baja",
        "sacame|saquenme|quitenme|quitame|borrenme|borrame|eliminenme|eliminame de la|su|tu|sus|esta? lista|listas|base|sistema|contactos",
        "borren|eliminen|quiten mi numero|correo|informacion|datos",
        "numero equivocado",
    ])
});

/// Plain-language opt-ins, anywhere in a message.
static START_PHRASES: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "start texting|messaging|sending|emailing me? again",
        "you can text|message|email|contact me again",
        "opt|sign me back? in",
        "opt back in",
        "resubscribe",
        "subscribe me again",
        "puedes|pueden|puede escribirme|enviarme|mandarme|contactarme de nuevo",
        "puedes|pueden|puede escribirme|enviarme|mandarme|contactarme otra vez",
        "quiero volver a recibir",
        "darme de alta",
    ])
});

/// The channel action `text` asks for, if any.
pub fn channel_action(text: &str) -> Option<ChannelAction> {
    let words = tokens(text);
    let core: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !FILLERS.contains(w))
        .collect();
    let mut deduplicated: Vec<&str> = core.clone();
    deduplicated.dedup();
    // "stop stop stop" is "stop"; "stop please" is "stop"; an empty message is nothing.
    let whole = if core.is_empty() {
        words.join(" ")
    } else {
        deduplicated.join(" ")
    };
    let keyword = |list: &[&str]| !whole.is_empty() && list.contains(&whole.as_str());

    if keyword(STOP_KEYWORDS) || STOP_PHRASES.has(&Words::new(&words)) {
        return Some(ChannelAction::Stop);
    }
    if keyword(START_KEYWORDS) || START_PHRASES.has(&Words::new(&words)) {
        return Some(ChannelAction::Start);
    }
    if keyword(HELP_KEYWORDS) {
        return Some(ChannelAction::Help);
    }
    None
}
