//! An assistant turn's reads and writes, in as few round trips as the turn allows.
//!
//! A turn reads a lot (the conversation, its dealership's facts, the persona, the customer,
//! recent history) and writes a little twice: the customer's message before the model is
//! called (a reply may fail; the message must not be lost), and the reply with its decision
//! trace afterwards. Each of the two is one statement run as its own pipelined transaction
//! ([`scope::one_statement`]): one round trip each, whatever the network latency to RDS Proxy.

use chrono::{DateTime, NaiveDateTime, Utc};
use rylie_domain::DealershipId;
use tokio_postgres::{Client, types::Type};

use crate::{Scope, StoreError, events, scope};

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
    let rows = scope::one_statement(
        client,
        Scope::Tenant(dealership),
        &format!(
            "WITH d AS (SELECT * FROM dealerships WHERE id = $1),
              c AS (SELECT * FROM conversations WHERE dealership_id = $1 AND id = $2),
              added AS (
                  INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, external_id)
                  SELECT $1, c.id, $3, 'customer', c.channel, $4 FROM c, d WHERE d.active
                  ON CONFLICT (dealership_id, channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
                  RETURNING id, created_at),
              received AS ({received}),
              touched AS (
                  UPDATE conversations t SET last_message_at = added.created_at
                    FROM added WHERE t.dealership_id = $1 AND t.id = $2),
              p AS (
                  SELECT p.* FROM personas p, c
                   WHERE p.dealership_id = $1 AND p.is_active
                     AND (p.id = c.persona_id OR (c.persona_id IS NULL AND p.is_default))
                   ORDER BY p.id = c.persona_id DESC LIMIT 1)
         SELECT (SELECT id FROM added), d.active, d.name, d.timezone, (now() AT TIME ZONE d.timezone),
                d.contact_phone, d.contact_email, d.website,
                nullif(concat_ws(', ', d.street, d.city, nullif(concat_ws(' ', d.region, d.postal_code), '')), ''),
                d.handover_email, d.business_hours, d.ai_config, d.agent_config,
                c.channel, c.status, c.ai_paused, c.assigned_to, c.customer_id,
                coalesce(cu.full_name, nullif(concat_ws(' ', cu.first_name, cu.last_name), ''), c.customer_name),
                coalesce(cu.email, c.customer_email), coalesce(cu.phone, c.customer_phone),
                CASE c.channel WHEN 'sms' THEN cu.sms_opted_out_at WHEN 'email' THEN cu.email_opted_out_at
                               ELSE cu.chat_opted_out_at END IS NOT NULL,
                p.id, p.name, p.prompt_template, coalesce(p.temperature, 0.7)::float8, coalesce(p.max_tokens, 500),
                coalesce(p.handover_keywords, '{{}}'),
                h.senders, h.contents,
                (SELECT count(*) FROM messages WHERE dealership_id = $1 AND conversation_id = $2
                                                 AND sender = 'customer') + 1,
                coalesce((c.ai_context ->> 'consecutive_failures')::int, 0),
                c.created_at, c.summary
           FROM d JOIN c ON true
           LEFT JOIN customers cu ON cu.dealership_id = $1 AND cu.id = c.customer_id
           LEFT JOIN p ON true
           CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(sender ORDER BY created_at, id), '{{}}') AS senders,
                      coalesce(array_agg(content ORDER BY created_at, id), '{{}}') AS contents
                 FROM (SELECT sender, content, created_at, id FROM messages
                        WHERE dealership_id = $1 AND conversation_id = $2
                        ORDER BY created_at DESC, id DESC LIMIT $5) latest) h",
            received = events::queue_sql(
                "$1",
                "message.received",
                "jsonb_build_object('conversation_id', $2::int8, 'message_id', added.id, 'sender', 'customer',
                                    'channel', c.channel, 'content', $3::text, 'created_at', added.created_at)",
                "added, c",
                "",
            )
        ),
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
/// handover, the
/// escalation (assignee by the dealership's rule: `agent_config.assignment` = `fixed` with
/// `fixed_user_id`, else round-robin among active users available for handover, the one
/// whose last assignment is oldest first) and its `conversation.escalated` event, in one
/// round trip.
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
    let rows = scope::one_statement(
        client,
        Scope::Tenant(dealership),
        &format!("WITH d AS (SELECT agent_config FROM dealerships WHERE id = $1),
              before AS (SELECT status, assigned_to, customer_id, channel FROM conversations
                          WHERE dealership_id = $1 AND id = $2 FOR UPDATE),
              reply AS (
                  INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, ai_generated,
                                        ai_model, processing_time_ms, decision_trace, metadata)
                  SELECT $1, $2, $3, $4, before.channel, $4 = 'assistant', $5, $6, $7, $8 FROM before
                   WHERE $3::text IS NOT NULL
                  RETURNING id, created_at),
              assignee AS (
                  SELECT u.id FROM users u, d
                   WHERE $9 AND u.dealership_id = $1 AND u.is_active
                     AND CASE WHEN d.agent_config ->> 'assignment' = 'fixed'
                              THEN u.id = (d.agent_config ->> 'fixed_user_id')::int8
                              ELSE u.available_for_handover END
                   ORDER BY (SELECT max(x.escalated_at) FROM conversations x
                              WHERE x.dealership_id = $1 AND x.assigned_to = u.id) ASC NULLS FIRST, u.id
                   LIMIT 1),
              updated AS (
                  UPDATE conversations c SET
                      last_message_at = coalesce((SELECT created_at FROM reply), c.last_message_at),
                      intents = $10, sentiment = $11::float8::numeric(4,3),
                      ai_context = CASE WHEN $12::int4 IS NULL THEN c.ai_context
                                        ELSE jsonb_set(c.ai_context, '{{consecutive_failures}}', to_jsonb($12::int4)) END,
                      status = CASE WHEN $9 THEN 'escalated' ELSE c.status END,
                      escalated_at = CASE WHEN $9 AND c.status <> 'escalated' THEN now() ELSE c.escalated_at END,
                      assigned_to = CASE WHEN $9 THEN coalesce(c.assigned_to, (SELECT id FROM assignee))
                                         ELSE c.assigned_to END,
                      handover_reasons = CASE WHEN $9 THEN $13 ELSE c.handover_reasons END,
                      dossier = CASE WHEN $9 THEN $14 ELSE c.dossier END
                    FROM before
                   WHERE c.dealership_id = $1 AND c.id = $2
                  RETURNING c.status, c.assigned_to, before.status <> 'escalated' AND c.status = 'escalated' AS newly),
              opted AS (
                  UPDATE customers cu SET
                      sms_opted_out_at = CASE WHEN before.channel = 'sms'
                          THEN CASE $15 WHEN 'stop' THEN now() ELSE NULL END ELSE cu.sms_opted_out_at END,
                      email_opted_out_at = CASE WHEN before.channel = 'email'
                          THEN CASE $15 WHEN 'stop' THEN now() ELSE NULL END ELSE cu.email_opted_out_at END,
                      chat_opted_out_at = CASE WHEN before.channel IN ('web', 'phone')
                          THEN CASE $15 WHEN 'stop' THEN now() ELSE NULL END ELSE cu.chat_opted_out_at END
                    FROM before
                   WHERE $15::text IS NOT NULL AND cu.dealership_id = $1 AND cu.id = before.customer_id),
              escalated AS ({escalated}),
              sent AS ({sent}),
              metrics AS (
                  -- An enrolled conversation's turn feeds its variant's metrics: the time the
                  -- platform took and whether the turn handed over.
                  INSERT INTO prompt_metrics (dealership_id, conversation_id, message_id, experiment_id, variant_id,
                                              metric_name, metric_value)
                  SELECT $1, $2, (SELECT id FROM reply), c.experiment_id, c.variant_id, m.name, m.value
                    FROM conversations c
                   CROSS JOIN (VALUES ('response_time_ms', $6::int4::numeric),
                                      ('handover', CASE WHEN $9 THEN 1 ELSE 0 END::numeric)) AS m(name, value)
                   WHERE c.dealership_id = $1 AND c.id = $2 AND c.experiment_id IS NOT NULL
                     AND c.variant_id IS NOT NULL AND $3::text IS NOT NULL)
         SELECT (SELECT id FROM reply), updated.status, updated.assigned_to, updated.newly FROM updated",
            escalated = events::queue_sql(
                "$1",
                "conversation.escalated",
                "jsonb_build_object('conversation_id', $2::int8, 'reasons', $13::jsonb,
                                    'assigned_to', updated.assigned_to, 'dossier', $14::jsonb)",
                "updated",
                "updated.newly",
            ),
            sent = events::queue_sql(
                "$1",
                "message.sent",
                "jsonb_build_object('conversation_id', $2::int8, 'message_id', reply.id, 'sender', $4::text,
                                    'channel', before.channel, 'content', $3::text, 'created_at', reply.created_at)",
                "reply, before",
                "",
            )
        ),
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
