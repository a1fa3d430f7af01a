//! Prompt experiments: which variant (persona) a new conversation gets, and the counts a
//! variant's results are computed from. The statistics are the domain's
//! (`rylie_domain::assistant::stats`); this module only reads and writes rows.

use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantCounts {
    pub id: i64,
    pub name: String,
    pub is_control: bool,
    pub conversations: i64,
    /// Conversations handed to a person.
    pub handed_over: i64,
    /// Conversations where the customer wrote again after the assistant's first reply.
    pub customer_replied: i64,
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
                                                  AND m.sender = 'customer') >= 2)
               FROM prompt_experiments e
               JOIN experiment_variants v ON v.dealership_id = e.dealership_id AND v.experiment_id = e.id
               LEFT JOIN conversations c ON c.dealership_id = e.dealership_id AND c.experiment_id = e.id
                                        AND c.variant_id = v.id
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
            })
            .collect(),
    }))
}
