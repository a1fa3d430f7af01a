//! One assistant turn: a customer's message in, the reply (or a deliberate silence) out.
//!
//! The order matters and is the design:
//!
//! 1. The message is stored before anything else can fail (one round trip that also reads
//!    everything the turn needs). A retried request with the same idempotency key gets the
//!    reply already given, never a second one.
//! 2. Compliance first: STOP / HELP / START are answered by fixed texts, and a customer who
//!    opted out of this channel gets no automated message at all.
//! 3. A person owns the conversation (escalated or paused): the assistant stays silent.
//! 4. The message is classified; a handover trigger (a person asked for, a price to agree, a
//!    complaint…) is answered by a handover, without the model.
//! 5. Otherwise the model (or the offline responder) answers with the inventory tools, and
//!    the draft is post-checked: every price, VIN, stock number and vehicle it names must be
//!    one shown to it this turn and still for sale, and it may not commit the dealership.
//!    What fails the check is repaired (its sentences dropped) or replaced by a safe reply.
//! 6. The reply, its decision trace and any escalation (assignee, dossier, webhook event)
//!    are written in one round trip; a new escalation queues the dossier e-mail.
//!
//! The model failing (down, slow, rate limited, after the adapter's own bounded retries)
//! gives the customer a holding reply and hands the conversation to staff.

use std::time::{Duration, Instant};

use rylie_domain::{
    DealershipId,
    assistant::{
        ChannelAction, Classification, DEFAULT_MAX_FAILURES, GroundingReport, HandoverDecision, HandoverReason, Intent,
        TurnFacts, check_reply, classify_turn, decide_handover, detect_injection, repair,
    },
};
use rylie_store::{
    StoreError,
    turns::{self, TurnContext, TurnResult},
};
use serde_json::{Value, json};

use super::{
    Responder,
    hours::Hours,
    offline, prompt,
    tools::{self, InventoryTools},
};
use crate::State;

/// What the caller hands in.
#[derive(Debug, Clone)]
pub struct TurnInput<'a> {
    pub dealership: DealershipId,
    pub conversation_id: i64,
    pub text: &'a str,
    /// The client's `Idempotency-Key`: the same key on the same conversation is one message.
    pub idempotency_key: Option<&'a str>,
    /// Staff asked the assistant to answer even though a person owns the conversation.
    pub ask_assistant: bool,
    /// The whole turn must end by then (the function's own timeout, less a margin).
    pub deadline: tokio::time::Instant,
}

/// What the turn did.
#[derive(Debug, Clone)]
pub struct TurnOutcome {
    pub customer_message_id: Option<i64>,
    /// What the customer is told; None: silence (opted out, or a person owns the conversation).
    pub reply: Option<String>,
    pub reply_id: Option<i64>,
    pub status: String,
    pub assigned_to: Option<i64>,
    pub handover: Value,
    pub trace: Value,
    /// A retried request: the reply is the one given before.
    pub duplicate: bool,
    /// Set when the model failed and the customer got a holding reply.
    pub model_failure: Option<&'static str>,
    /// Database round trips, the turn's own and its tools'.
    pub round_trips: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("no conversation {0}")]
    NoConversation(i64),
    #[error("the dealership is inactive")]
    DealershipInactive,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reply texts the code, not the model, writes.
mod texts {
    pub fn stop(dealership: &str) -> String {
        format!(
            "You're unsubscribed from automated messages from {dealership} on this channel; you won't get \
             another. Reply START to opt back in. / Has cancelado los mensajes automáticos de {dealership} en \
             este canal. Responde START para volver a recibirlos."
        )
    }

    pub fn start(dealership: &str) -> String {
        format!("You're subscribed again to messages from {dealership}. Reply STOP to opt out at any time.")
    }

    pub fn help(dealership: &str, phone: Option<&str>, website: Option<&str>) -> String {
        let mut text = format!("{dealership}: this is our automated assistant.");
        if let Some(phone) = phone {
            text.push_str(&format!(" Call us at {phone}."));
        }
        if let Some(website) = website {
            text.push_str(&format!(" Visit {website}."));
        }
        text.push_str(" Reply STOP to opt out.");
        text
    }

    pub fn handover(follow_up: &str) -> String {
        format!(
            "That's something a member of our team should help you with personally, and I've passed it on. {follow_up}"
        )
    }

    pub fn holding(follow_up: &str) -> String {
        format!(
            "Thanks for your message! I can't answer it properly right now, so I've passed it to our team. {follow_up}"
        )
    }

    pub const UNVERIFIED: &str = "I want to be sure you get accurate details on that, so a member of our team will \
                                  confirm them with you.";

    pub fn disclosure(dealership: &str) -> String {
        format!("I'm the automated assistant of {dealership}.")
    }
}

/// Takes one turn.
pub async fn take_turn(state: &State, input: &TurnInput<'_>) -> Result<TurnOutcome, TurnError> {
    let started = Instant::now();
    let client = state.db.client().await?;
    let context = turns::begin(
        &client,
        input.dealership,
        input.conversation_id,
        input.text,
        input.idempotency_key,
    )
    .await?
    .ok_or(TurnError::NoConversation(input.conversation_id))?;
    if !context.dealership_active {
        return Err(TurnError::DealershipInactive);
    }
    let mut round_trips = 1;
    let Some(message_id) = context.message_id else {
        let key = input.idempotency_key.unwrap_or_default();
        let earlier = turns::earlier_reply(&client, input.dealership, input.conversation_id, key).await?;
        return Ok(TurnOutcome {
            customer_message_id: None,
            reply_id: earlier.as_ref().map(|(id, _)| *id),
            reply: earlier.map(|(_, content)| content),
            status: context.status,
            assigned_to: context.assigned_to,
            handover: json!({ "needed": false, "reasons": [] }),
            trace: json!({ "duplicate": true }),
            duplicate: true,
            model_failure: None,
            round_trips: round_trips + 1,
        });
    };

    let hours = Hours::parse(&context.business_hours);
    let facts = TurnFacts {
        persona_keywords: &context.handover_keywords,
        turn_count: u32::try_from(context.customer_turns).unwrap_or(u32::MAX),
        consecutive_failures: u32::try_from(context.consecutive_failures).unwrap_or(0),
        ..TurnFacts::default()
    };
    let classification = classify_turn(input.text, &facts);
    let mut trace = json!({
        "intents": classification.intents,
        "sentiment": classification.sentiment,
        "channel_action": classification.opt_out,
        "injection": detect_injection(input.text).map(|kind| kind.as_str()),
        "persona_id": context.persona_id,
        "variant_id": null,
    });

    let mut failures = context.consecutive_failures;
    let mut model_failure = None;
    let mut shown = Vec::new();
    let plan = match plan_without_model(&context, &classification, input.ask_assistant) {
        Some(plan) => plan,
        None => {
            let mut tools = InventoryTools::new(&client, input.dealership);
            let draft = match state.responder() {
                Responder::Offline => {
                    Ok(offline::respond(&context, input.text, &classification, &hours, &mut tools).await)
                }
                Responder::Model(model) => {
                    let system = prompt::system_prompt(&context, &hours);
                    let request = super::model::ChatRequest {
                        messages: prompt::messages(system, &context.history, context.summary.as_deref(), input.text),
                        temperature: context.temperature as f32,
                        max_tokens: u32::try_from(context.max_tokens).unwrap_or(500),
                        tools: tools::specs(),
                        deadline: input.deadline,
                    };
                    model.complete(request, &mut tools).await
                }
            };
            round_trips += tools.round_trips;
            trace["tools"] = Value::Array(std::mem::take(&mut tools.calls));
            let not_in_stock = tools.empty_searches > 0 && tools.shown.is_empty();
            let shown_for_check = tools.shown_for_check();
            shown = std::mem::take(&mut tools.shown);
            match draft {
                Ok(completion) => {
                    trace["model"] = json!(completion.model);
                    trace["finish_reason"] = json!(completion.finish_reason);
                    trace["attempts"] = json!(completion.attempts);
                    let report = check_reply(&completion.text, &shown_for_check);
                    let (reply, action) = if prompt::leaks_instructions(&completion.text, &context) {
                        (None, "replaced: the draft recited its instructions")
                    } else {
                        guard(&completion.text, &report)
                    };
                    trace["guardrails"] = json!({ "violations": report.violations, "action": action });
                    let facts = TurnFacts {
                        vehicle_not_in_stock: not_in_stock
                            && classification.intents.iter().any(|i| {
                                matches!(i, Intent::VehicleSearch | Intent::Availability | Intent::PriceQuestion)
                            }),
                        consecutive_failures: if reply.is_some() { 0 } else { (failures + 1) as u32 },
                        ..facts
                    };
                    let mut decision = decide_handover(&classification, &facts);
                    if report.has_commitment() && !decision.reasons.contains(&HandoverReason::CommitmentRequest) {
                        decision.reasons.push(HandoverReason::CommitmentRequest);
                        decision.needed = true;
                    }
                    match reply {
                        Some(text) => {
                            failures = 0;
                            Plan::Reply {
                                text,
                                model: Some(completion.model),
                                handover: decision.needed.then_some(decision),
                            }
                        }
                        None => {
                            failures += 1;
                            Plan::Unverified {
                                handover: decision.needed.then_some(decision),
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, code = error.code(), "the assistant's model failed");
                    trace["model_error"] = json!(error.code());
                    model_failure = Some(error.code());
                    failures += 1;
                    Plan::ModelDown
                }
            }
        }
    };

    let follow_up = hours.follow_up(context.local_time);
    let (reply, sender, model, opt, handover_reasons): (
        Option<String>,
        &str,
        Option<String>,
        Option<&str>,
        Vec<Value>,
    ) = match plan {
        Plan::Compliance(ChannelAction::Stop) => (
            Some(texts::stop(&context.dealership_name)),
            "system",
            None,
            Some("stop"),
            Vec::new(),
        ),
        Plan::Compliance(ChannelAction::Start) => (
            Some(texts::start(&context.dealership_name)),
            "system",
            None,
            Some("start"),
            Vec::new(),
        ),
        Plan::Compliance(ChannelAction::Help) => (
            Some(texts::help(
                &context.dealership_name,
                context.contact_phone.as_deref(),
                context.website.as_deref(),
            )),
            "system",
            None,
            None,
            Vec::new(),
        ),
        Plan::Silent(why) => {
            trace["silent"] = json!(why);
            (None, "assistant", None, None, Vec::new())
        }
        Plan::Handover(decision) => (
            Some(texts::handover(&follow_up)),
            "assistant",
            None,
            None,
            reasons(&decision),
        ),
        Plan::Reply { text, model, handover } => {
            let text = disclosed(text, &context, &classification);
            match handover {
                Some(decision) => (
                    Some(format!("{text} {follow_up}")),
                    "assistant",
                    model,
                    None,
                    reasons(&decision),
                ),
                None => (Some(text), "assistant", model, None, Vec::new()),
            }
        }
        Plan::Unverified { handover } => {
            let mut reasons = handover.as_ref().map(reasons).unwrap_or_default();
            if reasons.is_empty() && failures >= DEFAULT_MAX_FAILURES as i32 {
                reasons.push(json!(HandoverReason::RepeatedFailure.as_str()));
            }
            let text = if reasons.is_empty() {
                texts::UNVERIFIED.to_owned()
            } else {
                format!("{} {follow_up}", texts::UNVERIFIED)
            };
            (Some(text), "assistant", None, None, reasons)
        }
        Plan::ModelDown => (
            Some(texts::holding(&follow_up)),
            "assistant",
            None,
            None,
            vec![json!("model_unavailable")],
        ),
    };

    let handover = json!({ "needed": !handover_reasons.is_empty(), "reasons": handover_reasons });
    trace["handover"] = handover.clone();
    let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    trace["latency_ms"] = json!(latency_ms);
    let dossier = (!handover_reasons.is_empty())
        .then(|| dossier(&context, input.text, &classification, &shown, &handover_reasons));
    let handover_reasons = Value::Array(handover_reasons);
    let intents = json!(classification.intents);
    let written = turns::finish(
        &client,
        input.dealership,
        input.conversation_id,
        &TurnResult {
            reply: reply.as_deref(),
            sender,
            ai_model: model.as_deref(),
            processing_time_ms: latency_ms,
            decision_trace: &trace,
            reply_to: Some(message_id),
            intents: &intents,
            sentiment: classification.sentiment,
            consecutive_failures: Some(failures),
            handover: dossier.as_ref().map(|dossier| (&handover_reasons, dossier)),
            opt,
        },
    )
    .await?;
    round_trips += 1;
    drop(client);
    if written.newly_escalated {
        super::handover::queue_dossier_mail(state, input.dealership, input.conversation_id).await;
    }
    Ok(TurnOutcome {
        customer_message_id: Some(message_id),
        reply,
        reply_id: written.message_id,
        status: written.status,
        assigned_to: written.assigned_to,
        handover,
        trace,
        duplicate: false,
        model_failure,
        round_trips,
    })
}

/// What the turn will do.
enum Plan {
    Compliance(ChannelAction),
    Silent(&'static str),
    Handover(HandoverDecision),
    Reply {
        text: String,
        model: Option<String>,
        handover: Option<HandoverDecision>,
    },
    /// The draft failed the post-check and could not be repaired.
    Unverified {
        handover: Option<HandoverDecision>,
    },
    ModelDown,
}

/// The decisions taken before any model: compliance, silence, handover; None: ask the
/// model (or the offline responder).
fn plan_without_model(context: &TurnContext, classification: &Classification, ask_assistant: bool) -> Option<Plan> {
    match classification.opt_out {
        Some(ChannelAction::Start) => return Some(Plan::Compliance(ChannelAction::Start)),
        Some(action) if !context.opted_out => return Some(Plan::Compliance(action)),
        _ => {}
    }
    if context.opted_out {
        return Some(Plan::Silent("opted_out"));
    }
    let owned = context.ai_paused || context.status == "escalated" || context.status == "closed";
    if owned && !ask_assistant {
        return Some(Plan::Silent("staff_owns_conversation"));
    }
    if classification.handover.needed {
        return Some(Plan::Handover(classification.handover.clone()));
    }
    None
}

/// The reply to send after the post-check, and what the check did.
fn guard(draft: &str, report: &GroundingReport) -> (Option<String>, &'static str) {
    if report.is_clean() {
        return (Some(draft.to_owned()), "none");
    }
    match repair(draft, report) {
        Some(repaired) => (Some(repaired), "repaired"),
        None => (None, "replaced"),
    }
}

/// The reply with the automated-assistant disclosure where it is due: at the start of a
/// conversation (unless the dealership's `ai_config.disclose_at_start` is false) and whenever
/// the customer asks.
fn disclosed(text: String, context: &TurnContext, classification: &Classification) -> String {
    let at_start = context.customer_turns <= 1
        && context.ai_config.get("disclose_at_start").and_then(Value::as_bool) != Some(false);
    let asked = classification.intents.contains(&Intent::AutomationQuestion);
    let already = text.to_lowercase().contains("automated");
    if (at_start || asked) && !already {
        format!("{} {text}", texts::disclosure(&context.dealership_name))
    } else {
        text
    }
}

fn reasons(decision: &HandoverDecision) -> Vec<Value> {
    decision.reasons.iter().map(|reason| json!(reason.as_str())).collect()
}

/// What the person taking over needs, stored on the conversation and mailed.
fn dossier(
    context: &TurnContext,
    message: &str,
    classification: &Classification,
    shown: &[rylie_store::vehicles::Vehicle],
    reasons: &[Value],
) -> Value {
    let asked: Vec<&str> = context
        .history
        .iter()
        .filter(|past| past.sender == "customer")
        .map(|past| past.content.as_str())
        .chain(std::iter::once(message))
        .collect();
    let first_reason = reasons.first().and_then(Value::as_str).unwrap_or_default();
    json!({
        "summary": format!(
            "{} wrote {} message(s) on {}; handed over for: {}.",
            context.customer_name.as_deref().unwrap_or("The customer"),
            asked.len(),
            context.channel,
            reasons.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
        ),
        "customer": {
            "name": context.customer_name,
            "email": context.customer_email,
            "phone": context.customer_phone,
            "channel": context.channel,
        },
        "vehicles": shown.iter().map(|vehicle| json!({
            "description": format!("{} {} {}{}", vehicle.year, vehicle.make, vehicle.model,
                                   vehicle.trim.as_deref().map(|t| format!(" {t}")).unwrap_or_default()),
            "stock_number": vehicle.stock_number,
            "vin": vehicle.vin,
            "price": vehicle.price,
            "link": vehicle.vdp_url,
        })).collect::<Vec<_>>(),
        "intents": classification.intents,
        "sentiment": classification.sentiment,
        "waiting_for": message,
        "recent_messages": asked.iter().rev().take(5).rev().collect::<Vec<_>>(),
        "reasons": reasons,
        "suggested_next_step": suggested_next_step(first_reason),
        "local_time": context.local_time.format("%Y-%m-%d %H:%M").to_string(),
    })
}

/// What the person taking over should do first, by the first handover reason.
pub fn suggested_next_step(reason: &str) -> &'static str {
    match reason {
        "human_request" => "Contact the customer: they asked for a person.",
        "commitment_request" | "negotiation" => "Follow up on price with a manager; the assistant agreed to nothing.",
        "financing" => "Discuss financing: the customer's credit or payment question is open.",
        "trade_in" => "Arrange a trade-in appraisal.",
        "complaint" | "legal" | "negative_sentiment" => "A manager should contact the customer about their concern.",
        "vehicle_not_in_stock" => "Offer alternatives or an incoming vehicle: nothing in stock matched.",
        "turn_limit" => "Take over the conversation: it is long and not converging.",
        "persona_keyword" => "Follow up on the topic the dealership routes to staff.",
        _ => "Answer the customer's last message: the assistant could not.",
    }
}

/// The time a turn may take inside a function of `timeout`.
pub fn deadline_within(timeout: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + timeout.saturating_sub(Duration::from_secs(2))
}
