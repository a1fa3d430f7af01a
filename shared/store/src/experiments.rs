//! Prompt experiments: which variant (persona) a new conversation gets, and the counts a
//! variant's results are computed from. The statistics are the domain's
//! (`rylie_domain::assistant::stats`); this module only reads and writes rows.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use tokio_postgres::{Row, Transaction, types::Type};

use crate::{StoreError, page::Page};

/// An experiment as staff see it, with its variants.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Experiment {
    pub id: i64,
    pub dealership_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub hypothesis: Option<String>,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    /// Share of new conversations enrolled (the rest get the default persona).
    pub traffic_percentage: i32,
    /// draft, active, paused, completed or cancelled.
    pub status: String,
    pub primary_metric: String,
    pub secondary_metrics: serde_json::Value,
    pub confidence_level: f64,
    pub minimum_sample_size: i32,
    pub winner_variant_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub variants: Vec<Variant>,
}

/// One arm of an experiment: a persona and its share of the enrolled conversations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Variant {
    pub id: i64,
    pub name: String,
    pub persona_id: i64,
    pub is_control: bool,
    pub traffic_percentage: i32,
}

/// Every column of [`Experiment`], variants as one JSON array (one statement, no N+1).
const EXPERIMENT_COLUMNS: &str = "e.id, e.dealership_id, e.name, e.description, e.hypothesis, e.start_date,
    e.end_date, e.traffic_percentage, e.status, e.primary_metric, e.secondary_metrics,
    e.confidence_level::float8, e.minimum_sample_size, e.winner_variant_id, e.created_by, e.created_at,
    e.updated_at,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('id', v.id, 'name', v.name, 'persona_id', v.persona_id,
                                                  'is_control', v.is_control,
                                                  'traffic_percentage', v.traffic_percentage) ORDER BY v.id), '[]')
       FROM experiment_variants v WHERE v.dealership_id = e.dealership_id AND v.experiment_id = e.id)";

fn experiment(row: &Row) -> Result<Experiment, StoreError> {
    let variants: serde_json::Value = row.get(17);
    Ok(Experiment {
        id: row.get(0),
        dealership_id: row.get(1),
        name: row.get(2),
        description: row.get(3),
        hypothesis: row.get(4),
        start_date: row.get(5),
        end_date: row.get(6),
        traffic_percentage: row.get(7),
        status: row.get(8),
        primary_metric: row.get(9),
        secondary_metrics: row.get(10),
        confidence_level: row.get(11),
        minimum_sample_size: row.get(12),
        winner_variant_id: row.get(13),
        created_by: row.get(14),
        created_at: row.get(15),
        updated_at: row.get(16),
        variants: serde_json::from_value(variants)
            .map_err(|error| StoreError::Conflict(format!("an experiment's variants do not read back: {error}")))?,
    })
}

/// A variant to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVariant {
    pub name: String,
    pub persona_id: i64,
    pub is_control: bool,
    pub traffic_percentage: i32,
}

/// An experiment to create, as a draft.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExperiment {
    pub name: String,
    pub description: Option<String>,
    pub hypothesis: Option<String>,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    pub traffic_percentage: i32,
    pub primary_metric: String,
    pub secondary_metrics: Vec<String>,
    pub confidence_level: f64,
    pub minimum_sample_size: i32,
    pub variants: Vec<NewVariant>,
}

/// Creates a draft experiment and its variants in one statement.
pub async fn create(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    new: &NewExperiment,
    created_by: Option<i64>,
) -> Result<Experiment, StoreError> {
    let names: Vec<&str> = new.variants.iter().map(|v| v.name.as_str()).collect();
    let personas: Vec<i64> = new.variants.iter().map(|v| v.persona_id).collect();
    let controls: Vec<bool> = new.variants.iter().map(|v| v.is_control).collect();
    let weights: Vec<i32> = new.variants.iter().map(|v| v.traffic_percentage).collect();
    let secondary = serde_json::json!(new.secondary_metrics);
    let sql = "WITH e AS (
             INSERT INTO prompt_experiments (dealership_id, name, description, hypothesis, start_date, end_date,
                                             traffic_percentage, primary_metric, secondary_metrics,
                                             confidence_level, minimum_sample_size, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::float8::numeric(3,2), $11, $12)
             RETURNING id),
         -- A data-modifying CTE runs once whether or not it is read.
         v AS (
             INSERT INTO experiment_variants (dealership_id, experiment_id, name, persona_id, is_control,
                                              traffic_percentage)
             SELECT $1, e.id, n, p, c, w FROM e, unnest($13::text[], $14::int8[], $15::bool[], $16::int4[]) AS u(n, p, c, w)
             RETURNING id)
         SELECT id FROM e";
    let rows = tx
        .query_typed(
            sql,
            &[
                (&dealership.0, Type::INT8),
                (&new.name, Type::TEXT),
                (&new.description, Type::TEXT),
                (&new.hypothesis, Type::TEXT),
                (&new.start_date, Type::TIMESTAMPTZ),
                (&new.end_date, Type::TIMESTAMPTZ),
                (&new.traffic_percentage, Type::INT4),
                (&new.primary_metric, Type::TEXT),
                (&secondary, Type::JSONB),
                (&new.confidence_level, Type::FLOAT8),
                (&new.minimum_sample_size, Type::INT4),
                (&created_by, Type::INT8),
                (&names, Type::TEXT_ARRAY),
                (&personas, Type::INT8_ARRAY),
                (&controls, Type::BOOL_ARRAY),
                (&weights, Type::INT4_ARRAY),
            ],
        )
        .await
        .map_err(StoreError::query("creating an experiment"))?;
    let id: i64 = rows
        .first()
        .map(|row| row.get(0))
        .ok_or_else(|| StoreError::Conflict("the experiment was not created".into()))?;
    get(tx, dealership, id)
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("experiment {id} vanished after its creation")))
}

/// Sort keys for the list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("created_at", "e.created_at"),
    ("start_date", "e.start_date"),
    ("name", "e.name"),
    ("status", "e.status"),
];

/// One page of the dealership's experiments, optionally of one status, and the total.
pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    status: Option<&str>,
    page: &Page,
) -> Result<(Vec<Experiment>, i64), StoreError> {
    let sql = format!(
        "SELECT {EXPERIMENT_COLUMNS}, count(*) OVER () FROM prompt_experiments e
          WHERE e.dealership_id = $1 AND ($2::text IS NULL OR e.status = $2)
          ORDER BY {} {}, e.id LIMIT $3 OFFSET $4",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&status, Type::TEXT),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing experiments"))?;
    let total = crate::page::total(
        tx,
        &rows,
        18,
        "SELECT count(*) FROM prompt_experiments WHERE dealership_id = $1 AND ($2::text IS NULL OR status = $2)",
        &[(&dealership.0, Type::INT8), (&status, Type::TEXT)],
    )
    .await?;
    Ok((rows.iter().map(experiment).collect::<Result<_, _>>()?, total))
}

/// None: no such experiment in this dealership.
pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Experiment>, StoreError> {
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM prompt_experiments e WHERE e.dealership_id = $1 AND e.id = $2");
    let rows = tx
        .query_typed(&sql, &[(&dealership.0, Type::INT8), (&id, Type::INT8)])
        .await
        .map_err(StoreError::query("reading an experiment"))?;
    rows.first().map(experiment).transpose()
}

/// What staff may change on an experiment (None: unchanged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExperimentChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub hypothesis: Option<String>,
    pub end_date: Option<DateTime<Utc>>,
    pub traffic_percentage: Option<i32>,
    pub status: Option<String>,
    pub winner_variant_id: Option<i64>,
}

/// Applies `changes`; None when the experiment does not exist.
pub async fn update(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    changes: &ExperimentChanges,
) -> Result<Option<Experiment>, StoreError> {
    let rows = tx
        .query_typed(
            "UPDATE prompt_experiments SET name = coalesce($3, name), description = coalesce($4, description),
                    hypothesis = coalesce($5, hypothesis), end_date = coalesce($6, end_date),
                    traffic_percentage = coalesce($7, traffic_percentage), status = coalesce($8, status),
                    winner_variant_id = coalesce($9, winner_variant_id)
              WHERE dealership_id = $1 AND id = $2
              RETURNING id",
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&changes.name, Type::TEXT),
                (&changes.description, Type::TEXT),
                (&changes.hypothesis, Type::TEXT),
                (&changes.end_date, Type::TIMESTAMPTZ),
                (&changes.traffic_percentage, Type::INT4),
                (&changes.status, Type::TEXT),
                (&changes.winner_variant_id, Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("updating an experiment"))?;
    if rows.is_empty() {
        return Ok(None);
    }
    get(tx, dealership, id).await
}

/// Another active experiment of the dealership whose dates overlap `[start, end)`.
pub async fn overlapping_active(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT id FROM prompt_experiments
              WHERE dealership_id = $1 AND id <> $2 AND status = 'active' AND start_date < $4 AND end_date > $3
              LIMIT 1",
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&start, Type::TIMESTAMPTZ),
                (&end, Type::TIMESTAMPTZ),
            ],
        )
        .await
        .map_err(StoreError::query("looking for overlapping experiments"))?;
    Ok(rows.first().map(|row| row.get(0)))
}

/// Deletes an experiment and its variants; false when it does not exist.
pub async fn delete(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<bool, StoreError> {
    let deleted = tx
        .execute_typed(
            "DELETE FROM prompt_experiments WHERE dealership_id = $1 AND id = $2",
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("deleting an experiment"))?;
    Ok(deleted > 0)
}

/// The dealership's running experiment: active, and now between its start and end dates.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningExperiment {
    pub id: i64,
    pub traffic_percentage: i32,
    /// `(variant_id, weight, is_control, persona_id)`, by variant id.
    pub variants: Vec<(i64, i32, bool, i64)>,
}

/// The newest running experiment, if any.
pub async fn running(tx: &Transaction<'_>, dealership: DealershipId) -> Result<Option<RunningExperiment>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT e.id, e.traffic_percentage, v.id, v.traffic_percentage, v.is_control, v.persona_id
               FROM prompt_experiments e
               JOIN experiment_variants v ON v.dealership_id = e.dealership_id AND v.experiment_id = e.id
              WHERE e.dealership_id = $1 AND e.status = 'active' AND now() >= e.start_date AND now() < e.end_date
                AND e.id = (SELECT max(id) FROM prompt_experiments
                             WHERE dealership_id = $1 AND status = 'active' AND now() >= start_date AND now() < end_date)
              ORDER BY v.id",
            &[(&dealership.0, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading the running experiment"))?;
    Ok(rows.first().map(|first| RunningExperiment {
        id: first.get(0),
        traffic_percentage: first.get(1),
        variants: rows
            .iter()
            .map(|row| (row.get(2), row.get(3), row.get(4), row.get(5)))
            .collect(),
    }))
}

/// Puts a new conversation in `variant_id` of `experiment_id`, with the variant's persona.
pub async fn enrol(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    conversation_id: i64,
    experiment_id: i64,
    variant_id: i64,
    persona_id: i64,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE conversations SET experiment_id = $3, variant_id = $4, persona_id = $5
          WHERE dealership_id = $1 AND id = $2",
        &[
            (&dealership.0, Type::INT8),
            (&conversation_id, Type::INT8),
            (&experiment_id, Type::INT8),
            (&variant_id, Type::INT8),
            (&persona_id, Type::INT8),
        ],
    )
    .await
    .map_err(StoreError::query("enrolling a conversation in an experiment"))?;
    Ok(())
}

/// An experiment's settings and, per variant, the counts its metrics come from.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentCounts {
    pub name: String,
    pub status: String,
    pub confidence_level: f64,
    pub minimum_sample_size: i32,
    pub variants: Vec<VariantCounts>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantCounts {
    pub id: i64,
    pub name: String,
    pub is_control: bool,
    pub conversations: i64,
    /// Conversations handed to a person.
    pub handed_over: i64,
    /// Conversations where the customer wrote again after the assistant's first reply.
    pub customer_replied: i64,
    /// Analysed conversations that yielded a lead (a lead, an e-mail or a phone number).
    pub leads_captured: i64,
    /// Analysed conversations.
    pub analysed: i64,
    /// Conversations whose lead was sold, of those whose outcome is known (sold or lost).
    pub converted: i64,
    pub conversion_known: i64,
    /// Mean customer turns until the conversation became a lead for staff.
    pub mean_turns_to_lead: Option<f64>,
    pub mean_lead_score: Option<f64>,
}

/// None: no such experiment in this dealership.
pub async fn counts(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    experiment_id: i64,
) -> Result<Option<ExperimentCounts>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT e.name, e.status, e.confidence_level::float8, e.minimum_sample_size,
                    v.id, v.name, v.is_control,
                    count(c.id),
                    count(c.id) FILTER (WHERE c.escalated_at IS NOT NULL),
                    count(c.id) FILTER (WHERE (SELECT count(*) FROM messages m
                                                WHERE m.dealership_id = $1 AND m.conversation_id = c.id
                                                  AND m.sender = 'customer') >= 2),
                    coalesce(sum(o.captured), 0)::int8, count(o.score),
                    coalesce(sum(o.converted), 0)::int8, count(o.converted),
                    avg(o.turns)::float8, avg(o.score)::float8
               FROM prompt_experiments e
               JOIN experiment_variants v ON v.dealership_id = e.dealership_id AND v.experiment_id = e.id
               LEFT JOIN conversations c ON c.dealership_id = e.dealership_id AND c.experiment_id = e.id
                                        AND c.variant_id = v.id
               -- the analysis job's outcome metrics, one row a conversation
               LEFT JOIN LATERAL (
                   SELECT max(metric_value) FILTER (WHERE metric_name = 'lead_captured') AS captured,
                          max(metric_value) FILTER (WHERE metric_name = 'lead_score') AS score,
                          max(metric_value) FILTER (WHERE metric_name = 'converted') AS converted,
                          max(metric_value) FILTER (WHERE metric_name = 'turns_to_lead') AS turns
                     FROM prompt_metrics pm
                    WHERE pm.dealership_id = $1 AND pm.conversation_id = c.id AND pm.experiment_id = e.id) o ON true
              WHERE e.dealership_id = $1 AND e.id = $2
              GROUP BY e.id, v.id
              ORDER BY v.id",
            &[(&dealership.0, Type::INT8), (&experiment_id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("counting an experiment's conversations"))?;
    Ok(rows.first().map(|first| ExperimentCounts {
        name: first.get(0),
        status: first.get(1),
        confidence_level: first.get(2),
        minimum_sample_size: first.get(3),
        variants: rows
            .iter()
            .map(|row| VariantCounts {
                id: row.get(4),
                name: row.get(5),
                is_control: row.get(6),
                conversations: row.get(7),
                handed_over: row.get(8),
                customer_replied: row.get(9),
                leads_captured: row.get(10),
                analysed: row.get(11),
                converted: row.get(12),
                conversion_known: row.get(13),
                mean_turns_to_lead: row.get(14),
                mean_lead_score: row.get(15),
            })
            .collect(),
    }))
}
