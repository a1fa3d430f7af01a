//! An assistant turn's reads and writes, in as few round trips as the turn allows.
//!
//! A turn reads a lot (the conversation, its dealership's facts, the persona, the customer,
//! recent history) and writes a little twice: the customer's message before the model is
//! called (a reply may fail; the message must not be lost), and the reply with its decision
//! trace afterwards. Each of the two is one statement, a transaction of its own: one round
//! trip each, whatever the network latency to RDS Proxy.
//!
//! The two statements are database functions (`rylie_turn_begin`, `rylie_turn_finish`,
//! migration 0012), whose plans PL/pgSQL keeps in the backend: sent as plain statements, they
//! cost four times as much to parse and plan as to run, and a named prepared statement would
//! pin the client to one RDS Proxy connection. Each scopes its own transaction to the
//! dealership it is given, so no BEGIN, scope setting or COMMIT is sent around it. The SQL of
//! a turn is read there.
//!
//! A routine turn's two commits do not wait for the WAL flush (the WAL writer flushes within
//! 200 ms); a turn that hands over or records an opt-out or opt-in waits before it returns
//! (migration 0013 says what a crash of the database can then lose, and why).

use chrono::{DateTime, NaiveDateTime, Utc};
use rylie_domain::DealershipId;
use tokio_postgres::{Client, types::Type};

use crate::{Scope, StoreError, scope};

/// How many earlier messages a turn reads (the caller trims them to its token budget).
pub const HISTORY_MESSAGES: i64 = 30;

/// One earlier message, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastMessage {
    pub sender: String,
    pub content: String,
}

/// Everything a turn needs, read while the customer's message is stored.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The stored customer message; None when a message with the same idempotency key was
    /// stored before (a retried request).
    pub message_id: Option<i64>,
    pub dealership_active: bool,
    pub dealership_name: String,
    pub timezone: String,
    /// The dealership's wall-clock time now (in `timezone`).
    pub local_time: NaiveDateTime,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub handover_email: Option<String>,
    pub business_hours: serde_json::Value,
    pub ai_config: serde_json::Value,
    pub agent_config: serde_json::Value,
    pub channel: String,
    pub status: String,
    pub ai_paused: bool,
    pub assigned_to: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    /// The customer opted out of automated messages on this conversation's channel.
    pub opted_out: bool,
    pub persona_id: Option<i64>,
    pub persona_name: Option<String>,
    pub prompt_template: Option<String>,
    pub temperature: f64,
    pub max_tokens: i32,
    pub handover_keywords: Vec<String>,
    /// Earlier messages, oldest first, without this one.
    pub history: Vec<PastMessage>,
    /// Customer messages so far, this one included.
    pub customer_turns: i64,
    /// Assistant turns in a row that failed (the model down or its reply refused).
    pub consecutive_failures: i32,
    pub conversation_started: DateTime<Utc>,
    /// The analysis job's summary of the conversation, when it has been analysed (it went
    /// idle and the customer came back): what the prompt gives for turns beyond its budget.
    pub summary: Option<String>,
}

/// Stores the customer's message (unless `idempotency_key` was seen on this conversation
/// before) and reads the turn's context, in one round trip. None: no such conversation in
/// this dealership. An inactive dealership stores nothing and says so in the context.
pub async fn begin(
    client: &Client,
    dealership: DealershipId,
    conversation_id: i64,
    content: &str,
    idempotency_key: Option<&str>,
) -> Result<Option<TurnContext>, StoreError> {
    let rows = client
        .query_typed(
            "SELECT * FROM rylie_turn_begin($1, $2, $3, $4, $5)",
            &[
                (&dealership.0, Type::INT8),
                (&conversation_id, Type::INT8),
                (&content, Type::TEXT),
                (&idempotency_key, Type::TEXT),
                (&HISTORY_MESSAGES, Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("storing a customer message and reading its turn"))?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let (senders, contents): (Vec<String>, Vec<String>) = (row.get(28), row.get(29));
    Ok(Some(TurnContext {
        message_id: row.get(0),
        dealership_active: row.get(1),
        dealership_name: row.get(2),
        timezone: row.get(3),
        local_time: row.get(4),
        contact_phone: row.get(5),
        contact_email: row.get(6),
        website: row.get(7),
        address: row.get(8),
        handover_email: row.get(9),
        business_hours: row.get(10),
        ai_config: row.get(11),
        agent_config: row.get(12),
        channel: row.get(13),
        status: row.get(14),
        ai_paused: row.get(15),
        assigned_to: row.get(16),
        customer_id: row.get(17),
        customer_name: row.get(18),
        customer_email: row.get(19),
        customer_phone: row.get(20),
        opted_out: row.get(21),
        persona_id: row.get(22),
        persona_name: row.get(23),
        prompt_template: row.get(24),
        temperature: row.get(25),
        max_tokens: row.get(26),
        handover_keywords: row.get(27),
        history: senders
            .into_iter()
            .zip(contents)
            .map(|(sender, content)| PastMessage { sender, content })
            .collect(),
        customer_turns: row.get(30),
        consecutive_failures: row.get(31),
        conversation_started: row.get(32),
        summary: row.get(33),
    }))
}

/// What a turn writes at its end.
#[derive(Debug, Clone)]
pub struct TurnResult<'a> {
    /// The message to the customer; None: the assistant stays silent (opted out, a person
    /// owns the conversation).
    pub reply: Option<&'a str>,
    /// `assistant` for the model's or the templates' answers, `system` for compliance
    /// confirmations.
    pub sender: &'a str,
    pub ai_model: Option<&'a str>,
    pub processing_time_ms: i32,
    pub decision_trace: &'a serde_json::Value,
    /// The customer message this answers.
    pub reply_to: Option<i64>,
    pub intents: &'a serde_json::Value,
    pub sentiment: f32,
    /// None: left as it is (an escalation from outside a turn, by the analysis job).
    pub consecutive_failures: Option<i32>,
    /// Set: escalate with these reasons and this dossier.
    pub handover: Option<(&'a serde_json::Value, &'a serde_json::Value)>,
    /// `stop` or `start`: the customer's choice for this channel.
    pub opt: Option<&'a str>,
}

/// What the end of a turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnWritten {
    pub message_id: Option<i64>,
    pub status: String,
    pub assigned_to: Option<i64>,
    /// This turn escalated the conversation (it was not escalated before).
    pub newly_escalated: bool,
}

/// Writes the reply with its trace, the conversation's analysis, its experiment metrics
/// (`prompt_metrics`: response time and handover, when the conversation is enrolled) and, on
/// handover, the escalation (assignee by the dealership's rule: `agent_config.assignment` =
/// `fixed` with `fixed_user_id`, else round-robin among active users available for handover,
/// the one whose last assignment is oldest first) and its `conversation.escalated` event, in
/// one round trip. A handover or a consent change is flushed to the WAL before this returns.
pub async fn finish(
    client: &Client,
    dealership: DealershipId,
    conversation_id: i64,
    result: &TurnResult<'_>,
) -> Result<TurnWritten, StoreError> {
    let escalate = result.handover.is_some();
    let (reasons, dossier) = match result.handover {
        Some((reasons, dossier)) => (Some(reasons), Some(dossier)),
        None => (None, None),
    };
    let metadata = serde_json::json!({ "reply_to": result.reply_to });
    let rows = client
        .query_typed(
            "SELECT * FROM rylie_turn_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                (&dealership.0, Type::INT8),
                (&conversation_id, Type::INT8),
                (&result.reply, Type::TEXT),
                (&result.sender, Type::TEXT),
                (&result.ai_model, Type::TEXT),
                (&result.processing_time_ms, Type::INT4),
                (result.decision_trace, Type::JSONB),
                (&metadata, Type::JSONB),
                (&escalate, Type::BOOL),
                (result.intents, Type::JSONB),
                (&f64::from(result.sentiment), Type::FLOAT8),
                (&result.consecutive_failures, Type::INT4),
                (&reasons, Type::JSONB),
                (&dossier, Type::JSONB),
                (&result.opt, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("writing an assistant turn"))?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Conflict(format!("conversation {conversation_id} vanished during its turn")))?;
    Ok(TurnWritten {
        message_id: row.get(0),
        status: row.get(1),
        assigned_to: row.get(2),
        newly_escalated: row.get(3),
    })
}

/// The reply already given to the customer message `message_id` (a retried request gets it
/// again instead of a second answer).
pub async fn earlier_reply(
    client: &Client,
    dealership: DealershipId,
    conversation_id: i64,
    idempotency_key: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    let rows = scope::one_statement(
        client,
        Scope::Tenant(dealership),
        "SELECT r.id, r.content FROM messages q
           JOIN messages r ON r.dealership_id = q.dealership_id AND r.conversation_id = q.conversation_id
                          AND r.metadata ->> 'reply_to' = q.id::text
          WHERE q.dealership_id = $1 AND q.conversation_id = $2 AND q.external_id = $3
          ORDER BY r.id LIMIT 1",
        &[
            (&dealership.0, Type::INT8),
            (&conversation_id, Type::INT8),
            (&idempotency_key, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("reading an earlier reply"))?;
    Ok(rows.first().map(|row| (row.get(0), row.get(1))))
}
