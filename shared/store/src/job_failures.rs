//! Job messages a worker could not use (an unknown type or version, a payload of the wrong
//! shape): acknowledged so SQS stops handing them out, and recorded here so they are not lost
//! from sight. One row per (type, idempotency key); a repeat counts an attempt.

use serde_json::Value;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// One unusable message. Callers redact secrets from `payload` first.
#[derive(Debug, Clone)]
pub struct JobFailure<'a> {
    pub job_type: &'a str,
    pub dealership_id: Option<i64>,
    pub idempotency_key: Option<&'a str>,
    /// The SQS message id.
    pub message_id: Option<&'a str>,
    pub payload: &'a Value,
    pub error: &'a str,
}

pub async fn record(tx: &Transaction<'_>, failure: &JobFailure<'_>) -> Result<(), StoreError> {
    tx.query_typed(
        "INSERT INTO job_failures (job_type, dealership_id, idempotency_key, message_id, payload, error)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (job_type, idempotency_key) WHERE idempotency_key IS NOT NULL
         DO UPDATE SET attempts = job_failures.attempts + 1, last_failed_at = now(), resolved_at = NULL,
             message_id = EXCLUDED.message_id, error = EXCLUDED.error",
        &[
            (&failure.job_type, Type::TEXT),
            (&failure.dealership_id, Type::INT8),
            (&failure.idempotency_key, Type::TEXT),
            (&failure.message_id, Type::TEXT),
            (&failure.payload, Type::JSONB),
            (&failure.error, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("recording an unusable job message"))?;
    Ok(())
}
