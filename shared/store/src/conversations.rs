//! `conversations` and their `messages`: what the assistant and the dealership's staff read
//! and answer. This module opens conversations and appends messages; the assistant's use
//! cases read them.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use tokio_postgres::{Row, Transaction, types::Type};

use crate::{StoreError, events, page::Page};

/// A conversation about to start. The customer's details are a snapshot: the conversation
/// shows who wrote, even if the customer record changes later.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation<'a> {
    pub customer_id: Option<i64>,
    pub customer_name: Option<&'a str>,
    pub customer_phone: Option<&'a str>,
    pub customer_email: Option<&'a str>,
    /// `web`, `sms`, `email` or `phone`.
    pub channel: &'a str,
    pub lead_id: Option<i64>,
    pub customer_context: serde_json::Value,
    pub inventory_context: serde_json::Value,
}

pub async fn open(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    new: &NewConversation<'_>,
) -> Result<i64, StoreError> {
    let sql = format!(
        "WITH opened AS (
             INSERT INTO conversations (dealership_id, customer_id, customer_name, customer_phone, customer_email,
                                        channel, lead_id, customer_context, inventory_context)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, channel, customer_id, lead_id, created_at),
              created AS ({})
         SELECT id FROM opened",
        events::queue_sql(
            "$1",
            "conversation.created",
            "jsonb_build_object('conversation_id', opened.id, 'channel', opened.channel,
                                'customer_id', opened.customer_id, 'lead_id', opened.lead_id,
                                'created_at', opened.created_at)",
            "opened",
            "",
        )
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&new.customer_id, Type::INT8),
                (&new.customer_name, Type::TEXT),
                (&new.customer_phone, Type::TEXT),
                (&new.customer_email, Type::TEXT),
                (&new.channel, Type::TEXT),
                (&new.lead_id, Type::INT8),
                (&new.customer_context, Type::JSONB),
                (&new.inventory_context, Type::JSONB),
            ],
        )
        .await
        .map_err(StoreError::query("opening a conversation"))?;
    Ok(rows[0].get(0))
}

/// A message about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage<'a> {
    pub content: &'a str,
    /// `customer`, `assistant`, `staff` or `system`.
    pub sender: &'a str,
    pub channel: &'a str,
    /// `text` or `system`.
    pub message_type: &'a str,
    /// The provider's id of the message (the SES message id and prospect): a message seen
    /// before is not appended twice.
    pub external_id: Option<&'a str>,
    pub metadata: serde_json::Value,
}

/// Appends a message and moves the conversation's `last_message_at`; returns the new id, or
/// None when a message with the same external id is already there.
pub async fn add_message(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    conversation_id: i64,
    message: &NewMessage<'_>,
) -> Result<Option<i64>, StoreError> {
    let rows = tx
        .query_typed(
            "WITH added AS (
                 INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, message_type,
                                       external_id, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (dealership_id, channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
                 RETURNING id, created_at
             ), touched AS (
                 UPDATE conversations c SET last_message_at = added.created_at
                   FROM added WHERE c.dealership_id = $1 AND c.id = $2
             )
             SELECT id FROM added",
            &[
                (&dealership.0, Type::INT8),
                (&conversation_id, Type::INT8),
                (&message.content, Type::TEXT),
                (&message.sender, Type::TEXT),
                (&message.channel, Type::TEXT),
                (&message.message_type, Type::TEXT),
                (&message.external_id, Type::TEXT),
                (&message.metadata, Type::JSONB),
            ],
        )
        .await
        .map_err(StoreError::query("adding a message"))?;
    Ok(rows.first().map(|row| row.get(0)))
}

/// A conversation as staff and integrations see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Conversation {
    pub id: i64,
    pub dealership_id: i64,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
    pub channel: String,
    /// active, waiting, escalated, closed or archived.
    pub status: String,
    pub assigned_to: Option<i64>,
    /// While true the assistant stays silent (a person owns the conversation).
    pub ai_paused: bool,
    pub escalated_at: Option<DateTime<Utc>>,
    pub last_message_at: DateTime<Utc>,
    pub persona_id: Option<i64>,
    pub lead_id: Option<i64>,
    pub handover_reasons: serde_json::Value,
    /// What the person taking over needs: summary, customer, vehicles, intent, next step.
    pub dossier: Option<serde_json::Value>,
    pub intents: serde_json::Value,
    pub sentiment: Option<f64>,
    /// The analysis job's summary of the conversation (when it closed or went idle).
    pub summary: Option<String>,
    /// 0–100: how likely the customer is to buy, by the rules in `lead_score_factors`.
    pub lead_score: Option<i32>,
    /// The score's factors (name, points, evidence), its inputs and who wrote the summary.
    pub lead_score_factors: serde_json::Value,
    pub analysed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.dealership_id, c.customer_id, c.customer_name, c.customer_phone,
    c.customer_email, c.channel, c.status, c.assigned_to, c.ai_paused, c.escalated_at, c.last_message_at,
    c.persona_id, c.lead_id, c.handover_reasons, c.dossier, c.intents, c.sentiment::float8, c.summary,
    c.lead_score, c.lead_score_factors, c.analysed_at, c.created_at, c.updated_at";

fn conversation(row: &Row) -> Conversation {
    Conversation {
        id: row.get(0),
        dealership_id: row.get(1),
        customer_id: row.get(2),
        customer_name: row.get(3),
        customer_phone: row.get(4),
        customer_email: row.get(5),
        channel: row.get(6),
        status: row.get(7),
        assigned_to: row.get(8),
        ai_paused: row.get(9),
        escalated_at: row.get(10),
        last_message_at: row.get(11),
        persona_id: row.get(12),
        lead_id: row.get(13),
        handover_reasons: row.get(14),
        dossier: row.get(15),
        intents: row.get(16),
        sentiment: row.get(17),
        summary: row.get(18),
        lead_score: row.get(19),
        lead_score_factors: row.get(20),
        analysed_at: row.get(21),
        created_at: row.get(22),
        updated_at: row.get(23),
    }
}

/// One message as staff see it, with the assistant's decision trace.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    /// customer, assistant, staff or system.
    pub sender: String,
    pub sender_user_id: Option<i64>,
    pub channel: String,
    pub content: String,
    pub ai_generated: bool,
    pub ai_model: Option<String>,
    pub processing_time_ms: Option<i32>,
    /// Why the assistant answered as it did: intents, tools, guardrails, handover.
    pub decision_trace: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.sender, m.sender_user_id, m.channel, m.content,
    m.ai_generated, m.ai_model, m.processing_time_ms, m.decision_trace, m.created_at";

fn message(row: &Row) -> Message {
    Message {
        id: row.get(0),
        conversation_id: row.get(1),
        sender: row.get(2),
        sender_user_id: row.get(3),
        channel: row.get(4),
        content: row.get(5),
        ai_generated: row.get(6),
        ai_model: row.get(7),
        processing_time_ms: row.get(8),
        decision_trace: row.get(9),
        created_at: row.get(10),
    }
}

/// Sort keys for the list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("last_message_at", "c.last_message_at"),
    ("created_at", "c.created_at"),
    ("status", "c.status"),
];

/// What the list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub assigned_to: Option<i64>,
    pub customer_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    filter: &ConversationFilter,
    page: &Page,
) -> Result<(Vec<Conversation>, i64), StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS}, count(*) OVER () FROM conversations c
          WHERE c.dealership_id = $1
            AND ($2::text IS NULL OR c.status = $2) AND ($3::text IS NULL OR c.channel = $3)
            AND ($4::int8 IS NULL OR c.assigned_to = $4) AND ($5::int8 IS NULL OR c.customer_id = $5)
            AND ($6::timestamptz IS NULL OR c.created_at >= $6) AND ($7::timestamptz IS NULL OR c.created_at < $7)
          ORDER BY {} {}, c.id DESC LIMIT $8 OFFSET $9",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&filter.status, Type::TEXT),
                (&filter.channel, Type::TEXT),
                (&filter.assigned_to, Type::INT8),
                (&filter.customer_id, Type::INT8),
                (&filter.from, Type::TIMESTAMPTZ),
                (&filter.to, Type::TIMESTAMPTZ),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing conversations"))?;
    let total = rows.first().map(|row| row.get::<_, i64>(20)).unwrap_or(0);
    Ok((rows.iter().map(conversation).collect(), total))
}

pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Conversation>, StoreError> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.dealership_id = $1 AND c.id = $2");
    let rows = tx
        .query_typed(&sql, &[(&dealership.0, Type::INT8), (&id, Type::INT8)])
        .await
        .map_err(StoreError::query("reading a conversation"))?;
    Ok(rows.first().map(conversation))
}

/// The conversation's latest `limit` messages, oldest first.
pub async fn messages(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    conversation_id: i64,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "SELECT * FROM (SELECT {MESSAGE_COLUMNS} FROM messages m
                         WHERE m.dealership_id = $1 AND m.conversation_id = $2
                         ORDER BY m.created_at DESC, m.id DESC LIMIT $3) latest
          ORDER BY created_at, id"
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&conversation_id, Type::INT8),
                (&limit, Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("reading a conversation's messages"))?;
    Ok(rows.iter().map(message).collect())
}

/// A change of status, assignee or the assistant's pause, by staff.
#[derive(Debug, Clone, Default)]
pub struct ConversationChanges {
    pub status: Option<String>,
    /// `Some(None)` unassigns.
    pub assigned_to: Option<Option<i64>>,
    pub ai_paused: Option<bool>,
}

/// Applies `changes`; None when the conversation does not exist. An assignee must be an active
/// user of the same dealership (the foreign key alone would accept another dealership's).
pub async fn update(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    changes: &ConversationChanges,
) -> Result<Option<Conversation>, StoreError> {
    let assign = changes.assigned_to.is_some();
    let assignee = changes.assigned_to.flatten();
    let sql = format!(
        "WITH changed AS (
                  -- Closing a closed conversation keeps its closed_at: the event below fires
                  -- only for the close that set it (now(), this transaction's time), also when
                  -- two closes race (the second re-reads the row the first wrote).
                  UPDATE conversations c SET
                      status = coalesce($3, c.status),
                      closed_at = CASE WHEN $3 = 'closed' THEN coalesce(c.closed_at, now())
                                       WHEN $3 IS NOT NULL THEN NULL ELSE c.closed_at END,
                      assigned_to = CASE WHEN $4 THEN $5 ELSE c.assigned_to END,
                      ai_paused = coalesce($6, c.ai_paused)
                   WHERE c.dealership_id = $1 AND c.id = $2
                   RETURNING {CONVERSATION_COLUMNS}, c.closed_at),
              closed AS ({closed})
         SELECT * FROM changed",
        closed = events::queue_sql(
            "$1",
            "conversation.closed",
            "jsonb_build_object('conversation_id', changed.id, 'closed_at', changed.closed_at,
                                'assigned_to', changed.assigned_to)",
            "changed",
            "changed.status = 'closed' AND changed.closed_at = now()",
        )
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&changes.status, Type::TEXT),
                (&assign, Type::BOOL),
                (&assignee, Type::INT8),
                (&changes.ai_paused, Type::BOOL),
            ],
        )
        .await
        .map_err(StoreError::query("updating a conversation"))?;
    Ok(rows.first().map(conversation))
}

/// Appends a message written by a staff user; None when the conversation does not exist.
pub async fn add_staff_message(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    conversation_id: i64,
    user_id: i64,
    content: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "WITH convo AS (SELECT id, channel FROM conversations WHERE dealership_id = $1 AND id = $2),
              m AS (INSERT INTO messages (dealership_id, conversation_id, content, sender, sender_user_id, channel)
                    SELECT $1, convo.id, $4, 'staff', $3, convo.channel FROM convo
                    RETURNING *),
              touched AS (UPDATE conversations c SET last_message_at = m.created_at FROM m
                           WHERE c.dealership_id = $1 AND c.id = $2),
              sent AS ({sent})
         SELECT {MESSAGE_COLUMNS} FROM m",
        sent = events::queue_sql(
            "$1",
            "message.sent",
            "jsonb_build_object('conversation_id', m.conversation_id, 'message_id', m.id, 'sender', 'staff',
                                'sender_user_id', m.sender_user_id, 'channel', m.channel, 'content', m.content,
                                'created_at', m.created_at)",
            "m",
            "",
        )
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&conversation_id, Type::INT8),
                (&user_id, Type::INT8),
                (&content, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("adding a staff message"))?;
    Ok(rows.first().map(message))
}

/// What the handover mail needs: the dossier, where to send it, when the escalation was.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoverTarget {
    pub dealership_name: String,
    pub handover_email: Option<String>,
    pub dossier: serde_json::Value,
    pub escalated_at: DateTime<Utc>,
}

/// The escalated conversation's dossier and the dealership's handover address; None when
/// the conversation does not exist or is not escalated with a dossier.
pub async fn handover_target(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    conversation_id: i64,
) -> Result<Option<HandoverTarget>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT d.name, coalesce(d.handover_email, d.contact_email), c.dossier, c.escalated_at
               FROM conversations c JOIN dealerships d ON d.id = c.dealership_id
              WHERE c.dealership_id = $1 AND c.id = $2 AND c.dossier IS NOT NULL AND c.escalated_at IS NOT NULL",
            &[(&dealership.0, Type::INT8), (&conversation_id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a conversation's handover"))?;
    Ok(rows.first().map(|row| HandoverTarget {
        dealership_name: row.get(0),
        handover_email: row.get(1),
        dossier: row.get(2),
        escalated_at: row.get(3),
    }))
}
