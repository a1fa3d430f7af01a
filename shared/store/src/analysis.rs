//! Conversation analysis: what the analysis job reads (the transcript and the facts around it,
//! in one round trip), what it writes (summary, intents, sentiment, lead score and factors),
//! and which conversations have gone idle unanalysed.
//!
//! A conversation is analysed *through* its last message: `analysed_at` at or after
//! `last_message_at` means nothing new has been said since the last analysis. That makes the
//! job idempotent without a key store: a redelivered message finds the analysis current and
//! does nothing, and of two concurrent deliveries only the first write lands (the update is
//! conditional), so only one of them can go on to hand the conversation over.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use tokio_postgres::{Client, types::Type};

use crate::{
    StoreError,
    scope::{self, Scope},
};

/// The most recent messages an analysis reads.
pub const TRANSCRIPT_LIMIT: i64 = 200;

/// Everything one analysis reads.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisInput {
    pub status: String,
    pub channel: String,
    pub last_message_at: DateTime<Utc>,
    pub analysed_at: Option<DateTime<Utc>>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    /// The customer opted out of the conversation's channel.
    pub opted_out: bool,
    /// Distinct vehicles the assistant's tools returned in this conversation.
    pub vehicles_shown: i64,
    pub last_customer_message_at: Option<DateTime<Utc>>,
    /// (sender, content), oldest first, at most [`TRANSCRIPT_LIMIT`].
    pub transcript: Vec<(String, String)>,
}

impl AnalysisInput {
    /// Nothing has been said since the last analysis.
    pub fn is_current(&self) -> bool {
        self.analysed_at.is_some_and(|at| at >= self.last_message_at)
    }
}

/// Reads the transcript and its facts; None when the conversation does not exist (in this
/// dealership).
pub async fn input(client: &Client, dealership: DealershipId, id: i64) -> Result<Option<AnalysisInput>, StoreError> {
    let rows = scope::one_statement(
        client,
        Scope::Tenant(dealership),
        "SELECT c.status, c.channel, c.last_message_at, c.analysed_at,
                coalesce(c.customer_name, cu.full_name), coalesce(c.customer_email, cu.email),
                coalesce(c.customer_phone, cu.phone),
                CASE c.channel WHEN 'sms' THEN cu.sms_opted_out_at
                               WHEN 'email' THEN cu.email_opted_out_at
                               ELSE cu.chat_opted_out_at END IS NOT NULL,
                (SELECT count(DISTINCT id) FROM messages m,
                        jsonb_array_elements(CASE jsonb_typeof(m.decision_trace -> 'tools')
                                             WHEN 'array' THEN m.decision_trace -> 'tools' ELSE '[]' END) t,
                        jsonb_array_elements_text(CASE jsonb_typeof(t -> 'result_ids')
                                                  WHEN 'array' THEN t -> 'result_ids' ELSE '[]' END) id
                  WHERE m.dealership_id = $1 AND m.conversation_id = $2 AND m.sender = 'assistant'),
                (SELECT max(created_at) FROM messages m
                  WHERE m.dealership_id = $1 AND m.conversation_id = $2 AND m.sender = 'customer'),
                h.senders, h.contents
           FROM conversations c
           LEFT JOIN customers cu ON cu.dealership_id = c.dealership_id AND cu.id = c.customer_id
           -- the latest messages, read once for both arrays
           CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(sender ORDER BY created_at, id), '{}') AS senders,
                      coalesce(array_agg(content ORDER BY created_at, id), '{}') AS contents
                 FROM (SELECT sender, content, created_at, id FROM messages m
                        WHERE m.dealership_id = $1 AND m.conversation_id = $2
                        ORDER BY created_at DESC, id DESC LIMIT $3) latest) h
          WHERE c.dealership_id = $1 AND c.id = $2",
        &[
            (&dealership.0, Type::INT8),
            (&id, Type::INT8),
            (&TRANSCRIPT_LIMIT, Type::INT8),
        ],
    )
    .await
    .map_err(StoreError::query("reading a conversation for analysis"))?;
    Ok(rows.first().map(|row| {
        let senders: Vec<String> = row.get(10);
        let contents: Vec<String> = row.get(11);
        AnalysisInput {
            status: row.get(0),
            channel: row.get(1),
            last_message_at: row.get(2),
            analysed_at: row.get(3),
            customer_name: row.get(4),
            customer_email: row.get(5),
            customer_phone: row.get(6),
            opted_out: row.get(7),
            vehicles_shown: row.get(8),
            last_customer_message_at: row.get(9),
            transcript: senders.into_iter().zip(contents).collect(),
        }
    }))
}

/// One analysis, as stored on the conversation.
#[derive(Debug, Clone)]
pub struct AnalysisRecord<'a> {
    pub summary: &'a str,
    pub intents: &'a serde_json::Value,
    pub sentiment: f32,
    pub lead_score: i32,
    /// `{"version": …, "factors": [{name, points, evidence}], "source": "model"|"rules"}`.
    pub factors: &'a serde_json::Value,
}

/// Stores the analysis unless the conversation has been analysed since its last message
/// already (another delivery got there first), and, for a conversation enrolled in an
/// experiment, its outcome metrics in `prompt_metrics`: `lead_score`, `lead_captured` (a lead,
/// an e-mail or a phone), `turns_to_lead` (0 for a lead from the start, else the customer turns
/// until a person took over) and `converted` (once the lead is sold or lost). Returns whether
/// this one was written.
pub async fn record(
    client: &Client,
    dealership: DealershipId,
    id: i64,
    analysis: &AnalysisRecord<'_>,
) -> Result<bool, StoreError> {
    let rows = scope::one_statement(
        client,
        Scope::Tenant(dealership),
        "WITH updated AS (
             UPDATE conversations SET summary = $3, intents = $4, sentiment = $5::float8::numeric(4,3),
                    lead_score = $6, lead_score_factors = $7, analysed_at = greatest(now(), last_message_at)
              WHERE dealership_id = $1 AND id = $2
                AND (analysed_at IS NULL OR analysed_at < last_message_at)
              RETURNING id, experiment_id, variant_id, lead_id, escalated_at,
                        lead_id IS NOT NULL OR customer_email IS NOT NULL OR customer_phone IS NOT NULL AS captured),
              -- An enrolled conversation's outcome metrics (issue 6): replaced at each analysis.
              stale AS (
                  DELETE FROM prompt_metrics m USING updated u
                   WHERE m.dealership_id = $1 AND m.conversation_id = $2 AND u.experiment_id IS NOT NULL
                     AND m.metric_name IN ('lead_score', 'lead_captured', 'turns_to_lead', 'converted')),
              outcome AS (
                  INSERT INTO prompt_metrics (dealership_id, conversation_id, experiment_id, variant_id,
                                              metric_name, metric_value, metadata)
                  SELECT $1, $2, u.experiment_id, u.variant_id, m.name, m.value, '{\"source\": \"analysis\"}'
                    FROM updated u CROSS JOIN LATERAL (VALUES
                         ('lead_score', $6::numeric),
                         ('lead_captured', CASE WHEN u.captured THEN 1 ELSE 0 END::numeric),
                         -- a lead from the start (an ADF lead) took no turn; else the customer
                         -- turns until a person took over
                         ('turns_to_lead', CASE WHEN u.lead_id IS NOT NULL THEN 0
                                                WHEN u.escalated_at IS NOT NULL THEN
                                                    (SELECT count(*) FROM messages x
                                                      WHERE x.dealership_id = $1 AND x.conversation_id = $2
                                                        AND x.sender = 'customer' AND x.created_at <= u.escalated_at)
                                           END::numeric),
                         -- known only once the lead is sold or lost
                         ('converted', (SELECT CASE l.status WHEN 'sold' THEN 1 WHEN 'lost' THEN 0 END
                                          FROM leads l WHERE l.dealership_id = $1 AND l.id = u.lead_id)::numeric)
                    ) AS m(name, value)
                   WHERE u.experiment_id IS NOT NULL AND u.variant_id IS NOT NULL AND m.value IS NOT NULL)
         SELECT id FROM updated",
        &[
            (&dealership.0, Type::INT8),
            (&id, Type::INT8),
            (&analysis.summary, Type::TEXT),
            (analysis.intents, Type::JSONB),
            (&f64::from(analysis.sentiment.clamp(-1.0, 1.0)), Type::FLOAT8),
            (&analysis.lead_score, Type::INT4),
            (analysis.factors, Type::JSONB),
        ],
    )
    .await
    .map_err(StoreError::query("recording a conversation's analysis"))?;
    Ok(!rows.is_empty())
}

/// A conversation due for analysis: open and silent for a while, or closed, and not analysed
/// since its last message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueConversation {
    pub dealership: DealershipId,
    pub id: i64,
    pub last_message_at: DateTime<Utc>,
}

/// Open conversations (active, waiting, escalated) silent for at least `idle_seconds`, and
/// conversations closed in the last week, not analysed since their last message, oldest first, across every dealership (platform scope:
/// the schedule serves them all).
pub async fn due(client: &Client, idle_seconds: i64, limit: i64) -> Result<Vec<DueConversation>, StoreError> {
    let rows = scope::one_statement(
        client,
        Scope::Platform,
        "SELECT dealership_id, id, last_message_at FROM conversations
          WHERE (analysed_at IS NULL OR analysed_at < last_message_at)
            AND ((status IN ('active', 'waiting', 'escalated') AND last_message_at < now() - make_interval(secs => $1))
                 -- a closed conversation whose job was lost is caught up within a week
                 OR (status = 'closed' AND closed_at > now() - interval '7 days'))
          ORDER BY last_message_at LIMIT $2",
        &[(&(idle_seconds as f64), Type::FLOAT8), (&limit, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("finding conversations due for analysis"))?;
    Ok(rows
        .iter()
        .map(|row| DueConversation {
            dealership: DealershipId(row.get(0)),
            id: row.get(1),
            last_message_at: row.get(2),
        })
        .collect())
}
