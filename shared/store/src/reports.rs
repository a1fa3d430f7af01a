//! Reports: a dealership's figures for a period, and the schedule's record of what it queued.
//!
//! # One statement
//!
//! [`compute`] is one statement of CTEs, one round trip: the period's bounds are resolved in
//! the dealership's time zone by PostgreSQL (the IANA database lives there), each conversation
//! of the period is read once with its first customer message, first reply and whether the
//! customer wrote back, and every section is built from those rows as JSON whose shape is the
//! Rust type's (decoded with serde, so the types below are the single description of a
//! report: the route answers with them, the e-mail and its CSV are rendered from them).
//!
//! The definitions are in the README ("Reports"); in short, times are measured between
//! messages, not from the conversation's row, and messages with the same timestamp (the
//! customer's message and the assistant's reply are written by one statement) are ordered by
//! id.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rylie_domain::{DealershipId, report::ReportPeriod};
use serde::{Deserialize, Serialize};
use tokio_postgres::{
    Transaction,
    types::{Json, Type},
};

use crate::StoreError;

/// One side of a report's period: a local date (midnight in the dealership's time zone) or
/// an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    LocalDate(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Bound {
    fn parts(self) -> (Option<DateTime<Utc>>, Option<NaiveDate>) {
        match self {
            Bound::LocalDate(date) => (None, Some(date)),
            Bound::Instant(at) => (Some(at), None),
        }
    }
}

/// A dealership's figures for `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub dealership_id: i64,
    pub dealership_name: String,
    /// The IANA time zone local dates were read in.
    pub timezone: String,
    /// Start of the period, inclusive.
    pub from: DateTime<Utc>,
    /// End of the period, exclusive.
    pub to: DateTime<Utc>,
    pub conversations: ConversationFigures,
    pub leads: LeadFigures,
    pub handovers: HandoverFigures,
    pub first_response: FirstResponseFigures,
    pub customer_replies: CustomerReplyFigures,
    pub demand: DemandFigures,
    pub inventory: InventoryFigures,
    /// Experiments with at least one conversation started in the period.
    pub experiments: Vec<ExperimentSummary>,
}

/// A count of one value (a channel, a source, a make).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tally {
    pub key: String,
    pub count: i64,
}

/// Conversations created in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConversationFigures {
    pub started: i64,
    /// Most first.
    pub by_channel: Vec<Tally>,
}

/// Leads created in the period, duplicates excluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadFigures {
    pub total: i64,
    /// Most first.
    pub by_source: Vec<Tally>,
}

/// Conversations handed to a person in the period (their `escalated_at` in the period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HandoverFigures {
    pub count: i64,
    /// Median of handover time − conversation start; None without handovers.
    pub median_seconds_to_handover: Option<f64>,
}

/// For conversations started in the period: customer's first message → first assistant or
/// staff message after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FirstResponseFigures {
    /// Conversations with a customer message and a reply after it.
    pub measured: i64,
    /// Conversations with a customer message and no reply yet.
    pub unanswered: i64,
    pub p50_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// For conversations started in the period that have an assistant or staff message: how many
/// times the customer wrote after the first of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerReplyFigures {
    pub conversations_with_outbound: i64,
    pub customer_replied: i64,
    /// customer_replied / conversations_with_outbound; None when there are none.
    pub rate: Option<f64>,
}

/// What customers asked for in the period: makes and models named by leads (their vehicle
/// of interest) and by the assistant's inventory searches, and vehicles named by a lead or
/// shown by the assistant. Ten of each, most first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DemandFigures {
    pub top_makes: Vec<Tally>,
    /// `key` is "Make Model".
    pub top_models: Vec<Tally>,
    pub top_vehicles: Vec<VehicleTally>,
}

/// A vehicle and the number of leads and conversations that named or were shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VehicleTally {
    pub vehicle_id: i64,
    /// "Year Make Model Trim".
    pub description: String,
    pub stock_number: Option<String>,
    pub vin: Option<String>,
    pub count: i64,
}

/// The inventory for sale now (active, not sold), aged at the period's end: days from the
/// in-stock date to the local date of `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InventoryFigures {
    pub active_vehicles: i64,
    /// Vehicles whose feed gives an in-stock date; the ages are over these.
    pub with_in_stock_date: i64,
    pub average_age_days: Option<f64>,
    pub median_age_days: Option<f64>,
    pub aged_0_30_days: i64,
    pub aged_31_60_days: i64,
    pub aged_61_90_days: i64,
    pub aged_over_90_days: i64,
}

/// One experiment's outcomes in the period, per variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExperimentSummary {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub winner_variant_id: Option<i64>,
    pub variants: Vec<VariantSummary>,
}

/// A variant's conversations started in the period and what became of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VariantSummary {
    pub id: i64,
    pub name: String,
    pub is_control: bool,
    pub conversations: i64,
    pub handed_over: i64,
    pub handover_rate: Option<f64>,
    pub conversations_with_outbound: i64,
    pub customer_replied: i64,
    pub reply_rate: Option<f64>,
    /// Median `response_time_ms` metric of the variant's replies in the period.
    pub median_response_ms: Option<f64>,
}

/// Top lists hold this many entries.
pub const TOP: i64 = 10;

const COMPUTE: &str = r#"
WITH b AS (
    SELECT d.id, d.name, d.timezone,
           coalesce($2::timestamptz, ($3::date)::timestamp AT TIME ZONE d.timezone) AS from_at,
           coalesce($4::timestamptz, ($5::date)::timestamp AT TIME ZONE d.timezone) AS to_at
      FROM dealerships d
     WHERE d.id = $1
), conv AS (
    SELECT c.id, c.channel, c.experiment_id, c.variant_id, c.escalated_at,
           fc.created_at AS first_customer_at,
           (SELECT min(r.created_at) FROM messages r
             WHERE r.dealership_id = $1 AND r.conversation_id = c.id AND r.sender IN ('assistant', 'staff')
               AND (r.created_at, r.id) > (fc.created_at, fc.id)) AS first_response_at,
           fo.id IS NOT NULL AS has_outbound,
           EXISTS (SELECT 1 FROM messages r
                    WHERE r.dealership_id = $1 AND r.conversation_id = c.id AND r.sender = 'customer'
                      AND (r.created_at, r.id) > (fo.created_at, fo.id)) AS customer_replied
      FROM b
      JOIN conversations c ON c.dealership_id = $1 AND c.created_at >= b.from_at AND c.created_at < b.to_at
      LEFT JOIN LATERAL (SELECT m.id, m.created_at FROM messages m
                          WHERE m.dealership_id = $1 AND m.conversation_id = c.id AND m.sender = 'customer'
                          ORDER BY m.created_at, m.id LIMIT 1) fc ON true
      LEFT JOIN LATERAL (SELECT m.id, m.created_at FROM messages m
                          WHERE m.dealership_id = $1 AND m.conversation_id = c.id
                            AND m.sender IN ('assistant', 'staff')
                          ORDER BY m.created_at, m.id LIMIT 1) fo ON true
), responded AS (
    SELECT extract(epoch FROM first_response_at - first_customer_at)::float8 AS seconds
      FROM conv WHERE first_response_at IS NOT NULL
), handed AS (
    SELECT extract(epoch FROM c.escalated_at - c.created_at)::float8 AS seconds
      FROM b JOIN conversations c
        ON c.dealership_id = $1 AND c.escalated_at >= b.from_at AND c.escalated_at < b.to_at
), lead_rows AS (
    SELECT l.id, l.source, l.vehicle_id, l.vehicle_of_interest
      FROM b JOIN leads l
        ON l.dealership_id = $1 AND l.created_at >= b.from_at AND l.created_at < b.to_at
       AND l.status <> 'duplicate'
), tool_calls AS (
    SELECT m.conversation_id, call
      FROM b JOIN messages m
        ON m.dealership_id = $1 AND m.created_at >= b.from_at AND m.created_at < b.to_at
       AND m.sender = 'assistant' AND jsonb_typeof(m.decision_trace -> 'tools') = 'array'
     CROSS JOIN LATERAL jsonb_array_elements(m.decision_trace -> 'tools') AS call
), requests AS (
    SELECT nullif(btrim(vehicle_of_interest ->> 'make'), '') AS make,
           nullif(btrim(vehicle_of_interest ->> 'model'), '') AS model
      FROM lead_rows WHERE jsonb_typeof(vehicle_of_interest) = 'object'
    UNION ALL
    SELECT nullif(btrim(call -> 'query' ->> 'make'), ''), nullif(btrim(call -> 'query' ->> 'model'), '')
      FROM tool_calls WHERE call ->> 'tool' = 'search_inventory'
), top_makes AS (
    SELECT mode() WITHIN GROUP (ORDER BY make) AS key, count(*) AS n
      FROM requests WHERE make IS NOT NULL
     GROUP BY lower(make) ORDER BY n DESC, key LIMIT $6
), top_models AS (
    SELECT concat_ws(' ', mode() WITHIN GROUP (ORDER BY make), mode() WITHIN GROUP (ORDER BY model)) AS key,
           count(*) AS n
      FROM requests WHERE model IS NOT NULL
     GROUP BY lower(coalesce(make, '')), lower(model) ORDER BY n DESC, key LIMIT $6
), interest AS (
    SELECT vehicle_id, 'lead:' || id AS who FROM lead_rows WHERE vehicle_id IS NOT NULL
    UNION
    SELECT shown.value::bigint, 'conversation:' || t.conversation_id
      FROM tool_calls t
     CROSS JOIN LATERAL jsonb_array_elements_text(
           CASE WHEN jsonb_typeof(t.call -> 'result_ids') = 'array' THEN t.call -> 'result_ids' ELSE '[]' END) AS shown
     WHERE shown.value ~ '^[0-9]{1,18}$'
), top_vehicles AS (
    SELECT v.id, concat_ws(' ', v.year, v.make, v.model, v."trim") AS description, v.stock_number, v.vin,
           count(DISTINCT i.who) AS n
      FROM interest i JOIN vehicles v ON v.dealership_id = $1 AND v.id = i.vehicle_id
     GROUP BY v.id ORDER BY n DESC, v.id LIMIT $6
), stock AS (
    SELECT CASE WHEN v.in_stock_date IS NOT NULL
                THEN greatest(0, (b.to_at AT TIME ZONE b.timezone)::date - v.in_stock_date) END AS age_days
      FROM b JOIN vehicles v ON v.dealership_id = $1 AND v.is_active AND v.status <> 'sold'
), variant_rows AS (
    SELECT e.id AS experiment_id, e.name, e.status, e.winner_variant_id,
           v.id AS variant_id, v.name AS variant_name, v.is_control,
           count(conv.id) AS conversations,
           count(conv.id) FILTER (WHERE conv.escalated_at IS NOT NULL) AS handed_over,
           count(conv.id) FILTER (WHERE conv.has_outbound) AS with_outbound,
           count(conv.id) FILTER (WHERE conv.customer_replied) AS customer_replied,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pm.metric_value::float8)
              FROM b, prompt_metrics pm
             WHERE pm.dealership_id = $1 AND pm.experiment_id = e.id AND pm.variant_id = v.id
               AND pm.metric_name = 'response_time_ms'
               AND pm.created_at >= b.from_at AND pm.created_at < b.to_at) AS median_response_ms
      FROM (SELECT DISTINCT experiment_id FROM conv WHERE experiment_id IS NOT NULL) enrolled
      JOIN prompt_experiments e ON e.dealership_id = $1 AND e.id = enrolled.experiment_id
      JOIN experiment_variants v ON v.dealership_id = $1 AND v.experiment_id = e.id
      LEFT JOIN conv ON conv.experiment_id = e.id AND conv.variant_id = v.id
     GROUP BY e.id, v.id
), experiments AS (
    SELECT experiment_id, jsonb_build_object(
               'id', experiment_id, 'name', name, 'status', status, 'winner_variant_id', winner_variant_id,
               'variants', jsonb_agg(jsonb_build_object(
                   'id', variant_id, 'name', variant_name, 'is_control', is_control,
                   'conversations', conversations, 'handed_over', handed_over,
                   'handover_rate', CASE WHEN conversations > 0 THEN handed_over::float8 / conversations END,
                   'conversations_with_outbound', with_outbound, 'customer_replied', customer_replied,
                   'reply_rate', CASE WHEN with_outbound > 0 THEN customer_replied::float8 / with_outbound END,
                   'median_response_ms', median_response_ms) ORDER BY variant_id)) AS summary
      FROM variant_rows
     GROUP BY experiment_id, name, status, winner_variant_id
)
SELECT b.name, b.timezone, b.from_at, b.to_at,
       jsonb_build_object(
           'started', (SELECT count(*) FROM conv),
           'by_channel', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', channel, 'count', n)
                                                    ORDER BY n DESC, channel), '[]')
                            FROM (SELECT channel, count(*) AS n FROM conv GROUP BY channel) t)),
       jsonb_build_object(
           'total', (SELECT count(*) FROM lead_rows),
           'by_source', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', source, 'count', n)
                                                   ORDER BY n DESC, source), '[]')
                           FROM (SELECT source, count(*) AS n FROM lead_rows GROUP BY source) t)),
       jsonb_build_object(
           'count', (SELECT count(*) FROM handed),
           'median_seconds_to_handover', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM handed)),
       jsonb_build_object(
           'measured', (SELECT count(*) FROM responded),
           'unanswered', (SELECT count(*) FROM conv
                           WHERE first_customer_at IS NOT NULL AND first_response_at IS NULL),
           'p50_seconds', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM responded),
           'p90_seconds', (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) FROM responded)),
       (SELECT jsonb_build_object(
                   'conversations_with_outbound', count(*) FILTER (WHERE has_outbound),
                   'customer_replied', count(*) FILTER (WHERE customer_replied),
                   'rate', CASE WHEN count(*) FILTER (WHERE has_outbound) > 0
                                THEN (count(*) FILTER (WHERE customer_replied))::float8
                                     / count(*) FILTER (WHERE has_outbound) END)
          FROM conv),
       jsonb_build_object(
           'top_makes', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', key, 'count', n) ORDER BY n DESC, key), '[]')
                           FROM top_makes),
           'top_models', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', key, 'count', n) ORDER BY n DESC, key), '[]')
                            FROM top_models),
           'top_vehicles', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                       'vehicle_id', id, 'description', description, 'stock_number', stock_number,
                                       'vin', vin, 'count', n) ORDER BY n DESC, id), '[]')
                              FROM top_vehicles)),
       (SELECT jsonb_build_object(
                   'active_vehicles', count(*),
                   'with_in_stock_date', count(age_days),
                   'average_age_days', round(avg(age_days), 1)::float8,
                   'median_age_days', percentile_cont(0.5) WITHIN GROUP (ORDER BY age_days),
                   'aged_0_30_days', count(*) FILTER (WHERE age_days <= 30),
                   'aged_31_60_days', count(*) FILTER (WHERE age_days BETWEEN 31 AND 60),
                   'aged_61_90_days', count(*) FILTER (WHERE age_days BETWEEN 61 AND 90),
                   'aged_over_90_days', count(*) FILTER (WHERE age_days > 90))
          FROM stock),
       (SELECT coalesce(jsonb_agg(summary ORDER BY experiment_id), '[]') FROM experiments)
  FROM b
"#;

/// The dealership's report for `[from, to)`, in one statement; None when the dealership does
/// not exist (or the transaction's scope hides it).
pub async fn compute(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    from: Bound,
    to: Bound,
) -> Result<Option<Report>, StoreError> {
    let (from_at, from_date) = from.parts();
    let (to_at, to_date) = to.parts();
    let rows = tx
        .query_typed(
            COMPUTE,
            &[
                (&dealership.0, Type::INT8),
                (&from_at, Type::TIMESTAMPTZ),
                (&from_date, Type::DATE),
                (&to_at, Type::TIMESTAMPTZ),
                (&to_date, Type::DATE),
                (&TOP, Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("computing a report"))?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let decode = StoreError::query("decoding a report");
    let report = (|| {
        Ok::<_, tokio_postgres::Error>(Report {
            dealership_id: dealership.0,
            dealership_name: row.try_get(0)?,
            timezone: row.try_get(1)?,
            from: row.try_get(2)?,
            to: row.try_get(3)?,
            conversations: row.try_get::<_, Json<_>>(4)?.0,
            leads: row.try_get::<_, Json<_>>(5)?.0,
            handovers: row.try_get::<_, Json<_>>(6)?.0,
            first_response: row.try_get::<_, Json<_>>(7)?.0,
            customer_replies: row.try_get::<_, Json<_>>(8)?.0,
            demand: row.try_get::<_, Json<_>>(9)?.0,
            inventory: row.try_get::<_, Json<_>>(10)?.0,
            experiments: row.try_get::<_, Json<_>>(11)?.0,
        })
    })()
    .map_err(decode)?;
    Ok(Some(report))
}

/// What the schedule needs to know about one dealership with report settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub dealership: DealershipId,
    /// `report_settings` as stored; parsed by the caller.
    pub settings: serde_json::Value,
    /// `now` on the dealership's wall clock.
    pub local_now: NaiveDateTime,
}

/// Every active dealership with report settings, and its local time at `now` (platform scope).
pub async fn schedules(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Vec<Schedule>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT id, report_settings, ($1::timestamptz AT TIME ZONE timezone)
               FROM dealerships
              WHERE active AND report_settings <> '{}'::jsonb
              ORDER BY id",
            &[(&now, Type::TIMESTAMPTZ)],
        )
        .await
        .map_err(StoreError::query("reading report schedules"))?;
    Ok(rows
        .iter()
        .map(|row| Schedule {
            dealership: DealershipId(row.get(0)),
            settings: row.get(1),
            local_now: row.get(2),
        })
        .collect())
}

/// A report the schedule wants to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub dealership: DealershipId,
    pub period: ReportPeriod,
}

/// Records `runs` (platform scope) in one statement and returns the keys of those that were
/// not recorded before: only these are to be queued.
pub async fn claim_runs(tx: &Transaction<'_>, runs: &[NewRun]) -> Result<Vec<String>, StoreError> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let dealerships: Vec<i64> = runs.iter().map(|run| run.dealership.0).collect();
    let kinds: Vec<&str> = runs.iter().map(|run| run.period.kind.as_str()).collect();
    let starts: Vec<NaiveDate> = runs.iter().map(|run| run.period.start).collect();
    let ends: Vec<NaiveDate> = runs.iter().map(|run| run.period.end).collect();
    let keys: Vec<String> = runs.iter().map(|run| run.period.key(run.dealership)).collect();
    let rows = tx
        .query_typed(
            "INSERT INTO report_runs (dealership_id, period_kind, period_start, period_end, idempotency_key)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::date[], $4::date[], $5::text[])
             ON CONFLICT DO NOTHING
             RETURNING idempotency_key",
            &[
                (&dealerships, Type::INT8_ARRAY),
                (&kinds, Type::TEXT_ARRAY),
                (&starts, Type::DATE_ARRAY),
                (&ends, Type::DATE_ARRAY),
                (&keys, Type::TEXT_ARRAY),
            ],
        )
        .await
        .map_err(StoreError::query("recording scheduled reports"))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Forgets a claimed run whose job could not be queued, so the next hour tries again.
pub async fn release_run(tx: &Transaction<'_>, key: &str) -> Result<(), StoreError> {
    tx.execute_typed(
        "DELETE FROM report_runs WHERE idempotency_key = $1",
        &[(&key, Type::TEXT)],
    )
    .await
    .map_err(StoreError::query("releasing a scheduled report"))?;
    Ok(())
}

/// Notes that the report was computed and its e-mail handed on (tenant scope). A report run
/// by hand (no schedule row) changes nothing.
pub async fn mark_mailed(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    key: &str,
    recipients: usize,
) -> Result<(), StoreError> {
    let recipients = i32::try_from(recipients).unwrap_or(i32::MAX);
    tx.execute_typed(
        "UPDATE report_runs SET mailed_at = now(), recipients = $3
          WHERE dealership_id = $1 AND idempotency_key = $2",
        &[
            (&dealership.0, Type::INT8),
            (&key, Type::TEXT),
            (&recipients, Type::INT4),
        ],
    )
    .await
    .map_err(StoreError::query("recording a mailed report"))?;
    Ok(())
}

/// Who a dealership's report goes to, and whether it still wants one.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    pub name: String,
    pub active: bool,
    pub settings: serde_json::Value,
    /// The handover address, else the contact address.
    pub fallback_address: Option<String>,
}

/// None: no such dealership.
pub async fn audience(tx: &Transaction<'_>, dealership: DealershipId) -> Result<Option<Audience>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT name, active, report_settings, coalesce(handover_email, contact_email)
               FROM dealerships WHERE id = $1",
            &[(&dealership.0, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a report's recipients"))?;
    Ok(rows.first().map(|row| Audience {
        name: row.get(0),
        active: row.get(1),
        settings: row.get(2),
        fallback_address: row.get(3),
    }))
}
