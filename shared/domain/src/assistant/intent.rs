//! What a customer's message asks for, in English and Spanish, by phrase rules.
//!
//! Rules and not a model: the intents drive compliance (opt-out) and handover (a person,
//! financing, a commitment), so they must be predictable, explainable in a decision trace and
//! testable, and they run before and whatever the model answers. A message may carry several
//! intents ("how much is the Tahoe and can I trade in my Civic?"); none is a fine answer too.

use std::sync::LazyLock;

use serde::Serialize;

use super::money;
use super::text::{Patterns, Words, has, tokens};

/// One thing a customer's message asks for or expresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Greeting,
    VehicleSearch,
    PriceQuestion,
    Availability,
    TestDrive,
    Financing,
    TradeIn,
    /// A price offer, a discount, "best price", a competing quote.
    Negotiation,
    /// The customer asks the assistant to agree to a price, a discount, a trade-in value, a
    /// financing approval or a binding offer. The assistant never may: always a handover.
    CommitmentRequest,
    /// Asks for a person: an agent, a manager, a salesperson, a call back.
    HumanRequest,
    Complaint,
    /// Lawyer, suing, BBB, attorney general, dispute, chargeback…
    Legal,
    HoursLocation,
    /// "Are you a bot?": the assistant must say it is automated.
    AutomationQuestion,
    /// The carrier STOP keywords or a plain-language equivalent.
    OptOut,
    /// START / UNSTOP or a plain-language equivalent.
    OptIn,
    /// The carrier HELP / INFO keywords.
    Help,
}

impl Intent {
    /// The snake_case name used in JSON and decision traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::VehicleSearch => "vehicle_search",
            Self::PriceQuestion => "price_question",
            Self::Availability => "availability",
            Self::TestDrive => "test_drive",
            Self::Financing => "financing",
            Self::TradeIn => "trade_in",
            Self::Negotiation => "negotiation",
            Self::CommitmentRequest => "commitment_request",
            Self::HumanRequest => "human_request",
            Self::Complaint => "complaint",
            Self::Legal => "legal",
            Self::HoursLocation => "hours_location",
            Self::AutomationQuestion => "automation_question",
            Self::OptOut => "opt_out",
            Self::OptIn => "opt_in",
            Self::Help => "help",
        }
    }
}

static GREETING: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "hi|hello|hey|hiya|howdy|greetings|yo|hola|buenas|saludos|buenos|buen",
        "good morning|afternoon|evening|day",
    ])
});

static VEHICLE_SEARCH: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "looking|searching|shopping for",
        "in the market for",
        "interested in",
        "do you have|carry|sell|stock",
        "do you guys have",
        "want|need|like to? buy|get|find a|an|the",
        "want|need a|an new|used? car|truck|suv|vehicle|van|minivan|sedan|pickup|coupe|convertible|hatchback|wagon",
        "any|some new|used|certified|cpo? cars|trucks|suvs|vehicles|vans|minivans|sedans|pickups|coupes|convertibles|hatchbacks",
        "busco|buscando|necesito|quiero un|una carro|coche|auto|camioneta|vehiculo|troca|camion|sedan|suv|minivan",
        "estoy interesado|interesada en",
        "me interesa|interesan",
        "tienen|tienes algun|alguna|algunos|algunas? carro*|coche*|auto*|camioneta*|vehiculo*|troca*|suv*|sedan*",
        "quiero|quisiera|necesito comprar",
    ])
});

static PRICE_QUESTION: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "how much",
        "price|prices|pricing|priced|msrp|sticker",
        "cost|costs",
        "out the door",
        "otd",
        "rebate*|incentive*",
        "cuanto cuesta|cuestan|vale|valen|sale|es|seria|cobran",
        "precio|precios|costo|costos",
        "que precio",
    ])
});

static AVAILABILITY: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "in stock",
        "available|availability",
        "still have|there|available|in|around",
        "for sale",
        "is|was it|that|this|one sold",
        "do you have it|this|that|one|any in",
        "do you still have",
        "on the lot",
        "disponible|disponibles|disponibilidad",
        "todavia|aun lo|la|los|las? tienen|tienes|esta|hay",
        "siguen teniendo",
        "tienen|tienes|tendran|tendras el|la|los|las|un|una|algun|alguna",
        "is|was the * sold",
        "is|was the * * sold",
        "hold it|one|that|this|them for me",
        "hold the * for me",
        "apartar|apartarlo|apartarla|apartar*",
        "en existencia|inventario",
        "ya se vendio",
        "esta vendido|vendida",
    ])
});

static TEST_DRIVE: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "test drive|driving|drives",
        "testdrive",
        "drive it|one|the",
        "come by|down|see|look|visit",
        "come in and|to|today|tomorrow|tonight|this|on|for|at",
        "stop|swing|drop by|in",
        "appointment|appt",
        "schedule|book a|an? visit|time|appointment|test",
        "can i see|visit",
        "prueba de manejo",
        "manejarlo|manejarla|probarlo|probarla",
        "cita",
        "visitar|visitarlos",
        "pasar a|por",
        "ir a verlo|verla",
        "see it|them on|this|tomorrow|today|tonight|saturday|sunday|monday|tuesday|wednesday|thursday|friday|in",
        "see the * on|this|tomorrow|today|tonight|saturday|sunday|monday|tuesday|wednesday|thursday|friday|in",
        "bring my wife|husband|partner|family|son|daughter|dad|mom",
    ])
});

static FINANCING: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "financ*",
        "loan|loans|lender|lenders|lien",
        "credit",
        "apr",
        "interest rate|rates",
        "monthly|month payment*",
        "payment|payments",
        "down payment",
        "put|money down",
        "per month|mo",
        "lease|leasing|leases",
        "pre approv*",
        "preapprov*",
        "get|be|am|was|im|being approved",
        "approval",
        "cosign*",
        "co sign*",
        "bankruptcy|repo|repossession",
        "financiamiento|financiar|financiacion|financian|credito|creditos|prestamo|prestamos",
        "pago|pagos mensual|mensuales",
        "mensualidad|mensualidades",
        "enganche",
        "pago inicial",
        "tasa de interes",
        "arrendamiento",
        "aprobado|aprobada|aprobacion",
    ])
});

static TRADE_IN: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "trade|tradein|trading|trades",
        "what|much is|would|s my car|truck|vehicle|suv|trade worth",
        "whats my car|truck|vehicle|suv worth",
        "value|appraise|appraisal of? my car|truck|vehicle|suv|old|current",
        "appraisal|appraise",
        "kbb",
        "kelley blue book",
        "give me for my",
        "a cuenta",
        "dar|entregar mi carro|coche|auto|camioneta|troca",
        "cuanto me dan|darian|das|dan por mi",
        "tomar|toman|tomarian|aceptan mi carro|coche|auto|camioneta|troca",
        "intercambio|intercambiar",
        "avaluo",
        "parte de|del pago",
        "como enganche",
    ])
});

static NEGOTIATION: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "best|lowest|better|final|bottom|cheapest price|deal|offer|number",
        "discount|discounts",
        "negotiat*",
        "come|go down",
        "knock off",
        "knock * off",
        "would|will|could|can you take|accept|do less|lower|better",
        "take|accept less",
        "anything|any less",
        "make|making an? offer",
        "my offer",
        "price match|matching",
        "match|beat the|their|that|this|a price|offer|quote|deal",
        "beat it",
        "competitor|competitors|competing",
        "another|other|different dealer|dealership|dealers|store|lot",
        "have|got|received|gotten|get a|an quote",
        "quote from",
        "quoted",
        "cheaper at|elsewhere|somewhere|online|there|across|down",
        "find it cheaper",
        "wiggle room",
        "lowest|least|cheapest you|youll|youd|youre|u go|take|do|accept|sell",
        "how low can|will|would you go",
        "mejor precio|oferta|trato",
        "precio mas bajo",
        "precio final",
        "descuento|descuentos|rebaja|rebajas",
        "negociar|negociable",
        "me lo|la deja|dejas|dejan en",
        "otro|otra concesionario|agencia|dealer|lote",
        "cotizacion|cotizaron",
        "mas barato|barata en|alla|alli|con",
        "le|te ofrezco",
    ])
});

/// With an amount, words that make it an offer: "I'll give you $20,000 for it".
static MONEY_OFFER: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "give|pay|offer|offering|do|take|accept|sell|budget|max|spend",
        "doy|pago|ofrezco|daria|pagaria|presupuesto|maximo",
        "for it|that|this|the",
        "por el|la|este|esta",
    ])
});

/// Words that ask for an agreement: with money, a discount, a trade or financing nearby, the
/// customer wants a commitment.
static AGREEMENT: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "agree|agrees|agreed|agreement",
        "guarantee*",
        "promise*",
        "lock in|it",
        "commit|commitment",
        "honor",
        "in writing",
        "say yes",
        "garantiza*",
        "prometes|promete|prometen|promesa",
        "por escrito",
    ])
});

/// Words that ask for a commitment on their own.
static COMMITMENT: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "legally binding",
        "accept|take my|our|this|that|the offer|price|deal|terms",
        "aceptas|acepta|aceptan|aceptar mi|la|esta|esa oferta|propuesta|precio",
        "binding offer|agreement|contract|deal|price",
        "takesies|backsies|takebacks",
        "take backs",
        "no take backs",
        "do we have|got a deal",
        "is it|that|this a deal",
        "we have|got a deal",
        "its|thats a deal",
        "you agree|agreed",
        "do you agree",
        "agree with anything|everything",
        "deal or no deal",
        "sell it|them|one|me to? me? for",
        "give it|them to me for",
        "guarantee|guaranteed approval|approved|financing|the price",
        "can|will you approve me",
        "am i approved",
        "me aprueba|aprueban|apruebas",
        "aprobacion garantizada",
        "vinculante|vinculantes",
        "trato hecho",
        "tenemos un trato",
        "es un trato",
        "estas|esta|estan de acuerdo",
        "me lo|la vendes|venden|vende en|por",
        "me garantizas|garantiza|garantizan",
    ])
});

static HUMAN_REQUEST: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "talk|speak|chat|text to|with a|an|the|your|some|someone|somebody|real|live? real|live|actual? person|human|people|agent|representative|rep|manager|salesperson|salesman|saleswoman|sales|someone|somebody|dealer|owner|supervisor|staff|associate|advisor|consultant",
        "talk|speak|chat to|with someone|somebody|anyone|anybody",
        "to|with|want|need|get a|an? real|live|actual person|human|agent",
        "real|live|actual person|human|agent please",
        "real|live|actual person|human|agent i|we can talk|speak|chat",
        "a human|person please",
        "human please",
        "want|need|like|get|give me? a|an|the|your? human|person|agent|representative|manager|salesperson|supervisor",
        "have|get someone|somebody|a|an|the|your? person|salesperson|manager|agent|rep|representative? call|contact|text|email me",
        "call|ring me",
        "give me a call",
        "connect|transfer me",
        "representative|rep please",
        "your boss",
        "hablar con una|un|el|la|alguien|alguna|algun? persona|humano|agente|asesor|asesora|gerente|vendedor|vendedora|encargado|encargada|alguien|representante|supervisor",
        "persona real",
        "un humano",
        "llamame|llamenme|marcame|marquenme",
        "que me llame|llamen|marque|marquen",
    ])
});

static COMPLAINT: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "complain|complaint|complaints|complaining",
        "terrible|awful|horrible|worst|unacceptable|ridiculous|disgusting|pathetic|appalling",
        "disappointed|disappointing|frustrated|frustrating|furious|angry|upset|annoyed",
        "rude|unprofessional|incompetent|liar|liars|lied|lying",
        "scam|scammed|scammer*|ripoff",
        "rip|ripped off",
        "waste of|my time",
        "never again",
        "bad|poor|lousy service|experience|customer",
        "nobody|noone called|answered|responded|replied|got back",
        "no one called|answered|responded|replied|got back",
        "still waiting",
        "never heard back",
        "never called|answered|responded|replied",
        "not happy|satisfied|pleased",
        "queja|quejas|quejarme|reclamo|reclamacion",
        "pesimo|pesima|terrible|horrible|inaceptable|ridiculo|ridicula",
        "decepcionado|decepcionada|frustrado|frustrada|molesto|molesta|enojado|enojada|furioso|furiosa",
        "grosero|grosera|mentirosos|mentiroso|mintieron",
        "estafa|fraude|estafaron",
        "mal|mala servicio|atencion|experiencia",
        "nadie me ha? llamo|llamado|contesto|contestado|respondio|respondido",
        "sigo esperando",
    ])
});

static LEGAL: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "lawyer|lawyers|attorney|attorneys|lawsuit|lawsuits|litigation",
        "sue|suing|sued",
        "legal action|department|team|counsel",
        "take you|this to court",
        "small claims",
        "court",
        "bbb",
        "better business bureau",
        "attorney general",
        "dispute|disputes|disputing",
        "chargeback",
        "charge back",
        "lemon law",
        "consumer protection",
        "ftc|cfpb",
        "dmv complaint",
        "report you",
        "report this|your dealership|dealer|store|business",
        "abogado|abogados|abogada|tribunal|tribunales",
        "demandar*",
        "poner|meter una demanda",
        "accion|acciones legal|legales",
        "a la corte",
        "procuraduria|profeco",
        "denuncia|denunciar|denunciarlos",
    ])
});

static HOURS_LOCATION: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "hours",
        "what time do|does|are|is you|they|it|the? dealership|store? open|close|closes|opening|closing",
        "when do|does|are|is you|they|it|the? dealership|store? open|close|closes|opening|closing",
        "are you open",
        "open today|tomorrow|on|until|till|late|now|sunday|saturday",
        "where are you|they",
        "where is the|your dealership|store|lot|showroom",
        "located|location|address|directions",
        "how do i get there",
        "how do i get to you|your",
        "horario|horarios",
        "a que hora",
        "abren|cierran|abierto|abiertos",
        "donde estan|quedan",
        "donde se encuentran",
        "direccion|ubicacion|ubicados",
    ])
});

static AUTOMATION_QUESTION: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&[
        "are you a|an? bot|robot|ai|machine|computer|human|person|real|automated|chatbot|program",
        "is this a|an? real|actual? bot|robot|ai|machine|computer|human|person|automated|chatbot",
        "am i talking|chatting|speaking|texting to|with a|an? real|actual? bot|robot|ai|machine|computer|human|person",
        "eres|es usted? un|una? robot|bot|maquina|humano|humana|persona|real|ia",
        "estoy hablando con un|una? robot|bot|maquina|humano|persona",
    ])
});

/// The intents of one message, without the channel keywords (see [`super::channel`]), in
/// the order of [`Intent`].
pub(crate) fn intents(text: &str) -> Vec<Intent> {
    let words = tokens(text);
    let index = Words::new(&words);
    let amounts = money::amounts(text);
    let mut found = Vec::new();

    let leading: Vec<String> = words.iter().take(3).cloned().collect();
    if GREETING.has(&Words::new(&leading)) {
        found.push(Intent::Greeting);
    }
    let rules: [(Intent, &Patterns); 6] = [
        (Intent::VehicleSearch, &VEHICLE_SEARCH),
        (Intent::PriceQuestion, &PRICE_QUESTION),
        (Intent::Availability, &AVAILABILITY),
        (Intent::TestDrive, &TEST_DRIVE),
        (Intent::Financing, &FINANCING),
        (Intent::TradeIn, &TRADE_IN),
    ];
    for (intent, patterns) in rules {
        if patterns.has(&index) {
            found.push(intent);
        }
    }
    // "$450 a month": an amount per month is a payment.
    if !found.contains(&Intent::Financing) && !amounts.is_empty() && has(&words, "a|per|al month|mo|mes") {
        found.push(Intent::Financing);
        found.sort();
    }

    // Negotiation: the phrases, or an amount offered ("I'll give you $20,000 for it").
    let offers_money = !amounts.is_empty() && MONEY_OFFER.has(&index);
    let negotiation = NEGOTIATION.has(&index) || offers_money;
    if negotiation {
        found.push(Intent::Negotiation);
    }
    // Commitment: binding words on their own, or an agreement asked about money, a discount,
    // a trade-in or financing.
    let money_context =
        negotiation || !amounts.is_empty() || found.contains(&Intent::TradeIn) || found.contains(&Intent::Financing);
    if COMMITMENT.has(&index) || (money_context && AGREEMENT.has(&index)) {
        found.push(Intent::CommitmentRequest);
    }

    let rules: [(Intent, &Patterns); 5] = [
        (Intent::HumanRequest, &HUMAN_REQUEST),
        (Intent::Complaint, &COMPLAINT),
        (Intent::Legal, &LEGAL),
        (Intent::HoursLocation, &HOURS_LOCATION),
        (Intent::AutomationQuestion, &AUTOMATION_QUESTION),
    ];
    for (intent, patterns) in rules {
        if patterns.has(&index) {
            found.push(intent);
        }
    }
    // "Am I talking to a real person?" asks what the assistant is, not for a person: a person
    // is requested only when the request survives without the question's words.
    if found.contains(&Intent::HumanRequest) && found.contains(&Intent::AutomationQuestion) {
        let mut rest = words.clone();
        while let Some((start, end)) = AUTOMATION_QUESTION.find(&Words::new(&rest)) {
            rest.drain(start..end.max(start + 1));
        }
        if !HUMAN_REQUEST.has(&Words::new(&rest)) {
            found.retain(|intent| *intent != Intent::HumanRequest);
        }
    }
    found
}
