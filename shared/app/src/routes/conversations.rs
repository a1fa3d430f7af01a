//! Conversations: `/v1/dealerships/{dealership_id}/conversations[/{conversation_id}[/messages|/replies]]`.
//!
//! The chat widget (a publishable key scoped `conversations:write`, `messages:write`) starts a
//! conversation and sends the customer's messages; each answer carries the assistant's reply.
//! Staff list and read conversations (with every message's decision trace), change status,
//! assignee and the assistant's pause, and reply themselves. The turn itself is
//! [`crate::assistant::turn`].

use std::time::Duration;

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use rylie_domain::{
    adf::values::{DialingRegion, normalize_phone},
    assistant::assign_variant,
};
use rylie_store::{
    StoreError, audit,
    conversations::{self, Conversation, ConversationChanges, ConversationFilter, Message, NewConversation},
    customers::{self, CustomerDetails},
    experiments, users,
};
use serde_json::{Value, json};

use crate::{
    assistant::turn::{self, TurnError, TurnInput},
    http::{
        ApiError, Ctx, envelope,
        envelope::FieldError,
        input::{self, Fields},
    },
};

/// The longest customer or staff message.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// The messages a conversation read returns (the latest).
pub const MESSAGES_SHOWN: i64 = 200;

/// How long a message route may take in all (the function's timeout is 30 s).
const TURN_BUDGET: Duration = Duration::from_secs(25);

const CHANNELS: &[&str] = &["web", "sms", "email", "phone"];
const STATUSES: &[&str] = &["active", "waiting", "escalated", "closed", "archived"];

/// A new conversation as sent.
#[derive(Debug)]
pub struct NewConversationInput {
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_phone: Option<String>,
    channel: String,
}

pub fn read_new_conversation(fields: &mut Fields) -> NewConversationInput {
    let customer_name = fields.string("customer_name", false, 1, 200);
    let customer_email = fields.email("customer_email", false);
    let customer_phone = fields.string("customer_phone", false, 3, 40).and_then(|raw| {
        match normalize_phone(&raw, DialingRegion::NorthAmerica) {
            Ok(phone) => Some(phone),
            Err(error) => {
                fields.error("customer_phone", "INVALID_FORMAT", error.to_string());
                None
            }
        }
    });
    let channel = fields.one_of("channel", CHANNELS).unwrap_or_else(|| "web".to_owned());
    NewConversationInput {
        customer_name,
        customer_email,
        customer_phone,
        channel,
    }
}

/// `{content}`: a customer's or a staff member's message.
pub fn read_message(fields: &mut Fields) -> String {
    fields.string("content", true, 1, MAX_MESSAGE_CHARS).unwrap_or_default()
}

/// A change by staff: status, assignee (0 unassigns), the assistant's pause.
#[derive(Debug)]
pub struct ConversationUpdateInput {
    status: Option<String>,
    assigned_to: Option<i64>,
    ai_paused: Option<bool>,
}

pub fn read_conversation_update(fields: &mut Fields) -> ConversationUpdateInput {
    ConversationUpdateInput {
        status: fields.one_of("status", STATUSES),
        assigned_to: fields.integer("assigned_to", 0, i64::MAX),
        ai_paused: fields.boolean("ai_paused"),
    }
}

/// A conversation with its latest messages and their decision traces.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ConversationDetail {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

/// What a customer message answers.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TurnAnswer {
    pub conversation_id: i64,
    /// The stored customer message (None for a retried request: see `duplicate`).
    pub message_id: Option<i64>,
    /// The assistant's reply; None when it stays silent (the customer opted out of this
    /// channel, or a person owns the conversation).
    pub reply: Option<Reply>,
    pub status: String,
    pub assigned_to: Option<i64>,
    /// `{needed, reasons}`: whether this turn handed the conversation to a person.
    pub handover: Value,
    /// The request repeated an `Idempotency-Key`: nothing new was stored or sent.
    pub duplicate: bool,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Reply {
    pub id: Option<i64>,
    pub content: String,
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no conversation {id}"))
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    // A new conversation has no owner yet: `user` callers may not start one.
    ctx.authorize_owner(None)?;
    let new = input::body(&request, read_new_conversation)?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let customer_id = if new.customer_email.is_some() || new.customer_phone.is_some() {
        let details = CustomerDetails {
            full_name: new.customer_name.clone(),
            email: new.customer_email.clone(),
            phone: new.customer_phone.clone(),
            ..CustomerDetails::default()
        };
        Some(customers::find_or_create(&tx, dealership, &details).await?.0)
    } else {
        None
    };
    let id = conversations::open(
        &tx,
        dealership,
        &NewConversation {
            customer_id,
            customer_name: new.customer_name.as_deref(),
            customer_phone: new.customer_phone.as_deref(),
            customer_email: new.customer_email.as_deref(),
            channel: &new.channel,
            lead_id: None,
            customer_context: json!({}),
            inventory_context: json!({}),
        },
    )
    .await?;
    // A running experiment takes the conversation into one of its variants (a stable hash of
    // the conversation id, within the experiment's traffic), with the variant's persona.
    if let Some(experiment) = experiments::running(&tx, dealership).await? {
        let weights: Vec<(i64, u32, bool)> = experiment
            .variants
            .iter()
            .map(|(variant, weight, control, _)| (*variant, u32::try_from(*weight).unwrap_or(0), *control))
            .collect();
        let traffic = f64::from(experiment.traffic_percentage);
        if let Some(variant) = assign_variant(id, experiment.id, traffic, &weights)
            && let Some((_, _, _, persona)) = experiment.variants.iter().find(|(v, ..)| *v == variant)
        {
            experiments::enrol(&tx, dealership, id, experiment.id, variant, *persona).await?;
        }
    }
    let conversation = conversations::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit()
        .await
        .map_err(StoreError::query("starting a conversation"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &conversation))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, conversations::SORTABLE, "last_message_at")?;
    let mut query = input::Query::new(&request);
    let filter = ConversationFilter {
        status: query.one_of("status", STATUSES),
        channel: query.one_of("channel", CHANNELS),
        assigned_to: query.id("assigned_to"),
        customer_id: query.id("customer_id"),
        from: query.time("from"),
        to: query.time("to"),
    };
    query.finish()?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = conversations::list(&tx, dealership, &filter, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing conversations"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "conversation_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let conversation = conversations::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let messages = conversations::messages(&tx, dealership, id, MESSAGES_SHOWN).await?;
    tx.commit().await.map_err(StoreError::query("reading a conversation"))?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &ConversationDetail { conversation, messages },
    ))
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "conversation_id")?;
    let change = input::body(&request, read_conversation_update)?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = conversations::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    ctx.authorize_owner(old.assigned_to)?;
    if let Some(user) = change.assigned_to.filter(|user| *user > 0)
        && !users::get(&tx, dealership, user)
            .await?
            .is_some_and(|staff| staff.is_active)
    {
        return Err(ApiError::validation(vec![FieldError {
            field: "assigned_to".to_owned(),
            message: format!("user {user} is not an active user of this dealership"),
            code: "INVALID_VALUE",
        }]));
    }
    let changes = ConversationChanges {
        status: change.status,
        assigned_to: change.assigned_to.map(|user| (user > 0).then_some(user)),
        ai_paused: change.ai_paused,
    };
    let new = conversations::update(&tx, dealership, id, &changes)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(
        &tx,
        &ctx.audit("conversation.update", "conversation", id, Some(&old), Some(&new)),
    )
    .await?;
    tx.commit()
        .await
        .map_err(StoreError::query("updating a conversation"))?;
    drop(client);
    if new.status == "closed" && old.status != "closed" {
        // A lost job is caught up by cron-idle-conversations, which also looks at conversations
        // closed in the last week: staff are not failed for it.
        let job = crate::analysis::job_message(dealership, id, new.last_message_at);
        if let Err(error) = crate::analysis::submit(ctx.state, &job).await {
            tracing::error!(%error, conversation_id = id, "the closed conversation's analysis was not queued");
        }
    }
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}

/// A customer's message; the answer carries the assistant's reply.
pub async fn customer_message(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "conversation_id")?;
    let content = input::body(&request, read_message)?;
    let idempotency_key = request
        .headers()
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= 200)
        .map(str::to_owned);
    // Writing as the customer is for the widget and for staff above `user`.
    ctx.authorize_owner(None)?;
    let staff = ctx.principal()?.user_id.is_some();
    let ask_assistant = staff && request.query_string_parameters().first("assistant") == Some("true");
    let input = TurnInput {
        dealership: ctx.dealership()?,
        conversation_id: id,
        text: &content,
        idempotency_key: idempotency_key.as_deref(),
        ask_assistant,
        deadline: tokio::time::Instant::now() + TURN_BUDGET,
    };
    let outcome = turn::take_turn(ctx.state, &input).await.map_err(|error| match error {
        TurnError::NoConversation(id) => not_found(id),
        TurnError::DealershipInactive => ApiError::dealership_inactive(input.dealership),
        TurnError::Store(error) => error.into(),
    })?;
    if let (Some(code), true) = (outcome.model_failure, staff) {
        // Staff get the error with a hint; the customer's message and the holding reply are
        // stored, and the conversation is with staff.
        return Err(ApiError::unavailable(format!(
            "the assistant's model is unavailable ({code}); the message is stored and the conversation handed to \
             staff; retry in a minute"
        )));
    }
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &TurnAnswer {
            conversation_id: id,
            message_id: outcome.customer_message_id,
            reply: outcome.reply.map(|content| Reply {
                id: outcome.reply_id,
                content,
            }),
            status: outcome.status,
            assigned_to: outcome.assigned_to,
            handover: outcome.handover,
            duplicate: outcome.duplicate,
        },
    ))
}

/// A staff member's reply. It pauses nothing by itself: a person owning the conversation is
/// what escalation or `ai_paused` says.
pub async fn staff_reply(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "conversation_id")?;
    let content = input::body(&request, read_message)?;
    let user = ctx
        .principal()?
        .user_id
        .ok_or_else(|| ApiError::forbidden("a staff reply is written by a staff user, not an API key"))?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let conversation = conversations::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    ctx.authorize_owner(conversation.assigned_to)?;
    let message = conversations::add_staff_message(&tx, dealership, id, user, &content)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await.map_err(StoreError::query("adding a staff reply"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &message))
}
