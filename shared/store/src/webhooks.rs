//! Webhooks: a dealership's endpoints (the CRUD routes), and their delivery log, one row per
//! attempt (`webhook_deliveries`, written first by [`crate::events::emit`]). The signing
//! secret is read only by the delivery worker and shown to a caller only when made: no view
//! of an endpoint carries it.
//!
//! The worker's path through a delivery: [`claim`] the attempt, post it (outside any
//! transaction: a receiver's 10 seconds must not hold a database connection), then
//! [`record_success`] or [`record_failure`], which schedules the next attempt
//! ([`schedule_retry`]) or abandons the event, and [`disable`]s an endpoint that has
//! failed for too long. The dispatcher finds due attempts with [`claim_due`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::{Row, Transaction, types::Type};

use crate::{StoreError, page::Page};

/// An endpoint as callers see it (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Webhook {
    pub id: i64,
    pub dealership_id: i64,
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// False once disabled (by a caller, or after 24 hours of failures); PATCH
    /// `is_active: true` re-enables it.
    pub is_active: bool,
    /// Attempts failed in a row since the last success.
    pub consecutive_failures: i32,
    /// When the current run of failures began; None after a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a caller sets.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFields {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub is_active: bool,
}

const COLUMNS: &str = "id, dealership_id, url, events, description, is_active, consecutive_failures, \
                       failing_since, disabled_at, disabled_reason, created_at, updated_at";

fn from_row(row: &Row) -> Webhook {
    Webhook {
        id: row.get(0),
        dealership_id: row.get(1),
        url: row.get(2),
        events: row.get(3),
        description: row.get(4),
        is_active: row.get(5),
        consecutive_failures: row.get(6),
        failing_since: row.get(7),
        disabled_at: row.get(8),
        disabled_reason: row.get(9),
        created_at: row.get(10),
        updated_at: row.get(11),
    }
}

/// Sort keys a caller may choose, mapped to columns.
pub const SORTABLE: &[(&str, &str)] = &[
    ("created_at", "created_at"),
    ("url", "url"),
    ("updated_at", "updated_at"),
];

/// One page of the dealership's endpoints and the total count.
pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    page: &Page,
) -> Result<(Vec<Webhook>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () FROM webhooks WHERE dealership_id = $1
         ORDER BY {} {}, id LIMIT $2 OFFSET $3",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing webhooks"))?;
    let total = crate::page::total(
        tx,
        &rows,
        12,
        "SELECT count(*) FROM webhooks WHERE dealership_id = $1",
        &[(&dealership.0, Type::INT8)],
    )
    .await?;
    Ok((rows.iter().map(from_row).collect(), total))
}

pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Webhook>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("SELECT {COLUMNS} FROM webhooks WHERE dealership_id = $1 AND id = $2"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a webhook"))?;
    Ok(rows.first().map(from_row))
}

/// Creates an endpoint signing with `secret`.
pub async fn create(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    fields: &WebhookFields,
    secret: &str,
) -> Result<Webhook, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "INSERT INTO webhooks (dealership_id, url, events, description, is_active, secret,
                     disabled_at, disabled_reason)
                 VALUES ($1, $2, $3, $4, $5, $6,
                     CASE WHEN $5 THEN NULL ELSE now() END,
                     CASE WHEN $5 THEN NULL ELSE 'created disabled' END)
                 RETURNING {COLUMNS}"
            ),
            &[
                (&dealership.0, Type::INT8),
                (&fields.url, Type::TEXT),
                (&fields.events, Type::TEXT_ARRAY),
                (&fields.description, Type::TEXT),
                (&fields.is_active, Type::BOOL),
                (&secret, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("creating a webhook"))?;
    Ok(from_row(&rows[0]))
}

/// Updates an endpoint. Switching it on again (re-enabling) clears its failure count and
/// disabled reason; switching it off records when and abandons its pending deliveries.
pub async fn update(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    fields: &WebhookFields,
) -> Result<Option<Webhook>, StoreError> {
    // On the right of SET, `is_active` is the value before the update.
    let rows = tx
        .query_typed(
            &format!(
                "UPDATE webhooks SET url = $3, events = $4, description = $5, is_active = $6,
                     consecutive_failures = CASE WHEN $6 AND NOT is_active THEN 0 ELSE consecutive_failures END,
                     failing_since = CASE WHEN $6 AND NOT is_active THEN NULL ELSE failing_since END,
                     disabled_at = CASE WHEN $6 THEN NULL WHEN is_active THEN now() ELSE disabled_at END,
                     disabled_reason = CASE WHEN $6 THEN NULL WHEN is_active THEN 'disabled by a caller'
                                            ELSE disabled_reason END
                 WHERE dealership_id = $1 AND id = $2
                 RETURNING {COLUMNS}"
            ),
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&fields.url, Type::TEXT),
                (&fields.events, Type::TEXT_ARRAY),
                (&fields.description, Type::TEXT),
                (&fields.is_active, Type::BOOL),
            ],
        )
        .await
        .map_err(StoreError::query("updating a webhook"))?;
    let Some(webhook) = rows.first().map(from_row) else {
        return Ok(None);
    };
    if !webhook.is_active {
        abandon_pending(tx, dealership, id, "the endpoint was disabled").await?;
    }
    Ok(Some(webhook))
}

/// Replaces an endpoint's signing secret; None when there is no such endpoint.
pub async fn rotate_secret(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    secret: &str,
) -> Result<Option<Webhook>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("UPDATE webhooks SET secret = $3 WHERE dealership_id = $1 AND id = $2 RETURNING {COLUMNS}"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8), (&secret, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("rotating a webhook secret"))?;
    Ok(rows.first().map(from_row))
}

/// Deletes an endpoint with its delivery log and returns it.
pub async fn delete(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Webhook>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("DELETE FROM webhooks WHERE dealership_id = $1 AND id = $2 RETURNING {COLUMNS}"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("deleting a webhook"))?;
    Ok(rows.first().map(from_row))
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    /// The event's id: the same on every attempt (`Rylie-Event-Id`).
    pub event_id: String,
    pub event_type: String,
    pub attempt: i32,
    /// `pending` (scheduled), `succeeded`, `failed` (a later attempt follows) or `abandoned`
    /// (the last attempt: the retry window ended, or the endpoint was disabled).
    pub status: String,
    /// The receiver's HTTP status, when it answered.
    pub response_status: Option<i32>,
    pub latency_ms: Option<i32>,
    /// The first 500 characters of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    /// When a pending attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub event_created_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id::text, event_type, attempt, status, response_status, \
                                latency_ms, response_excerpt, error, next_attempt_at, attempted_at, \
                                event_created_at, created_at";

fn delivery_from_row(row: &Row) -> Delivery {
    Delivery {
        id: row.get(0),
        webhook_id: row.get(1),
        event_id: row.get(2),
        event_type: row.get(3),
        attempt: row.get(4),
        status: row.get(5),
        response_status: row.get(6),
        latency_ms: row.get(7),
        response_excerpt: row.get(8),
        error: row.get(9),
        next_attempt_at: row.get(10),
        attempted_at: row.get(11),
        event_created_at: row.get(12),
        created_at: row.get(13),
    }
}

/// Sort keys of the delivery log.
pub const DELIVERY_SORTABLE: &[(&str, &str)] = &[("created_at", "created_at"), ("attempt", "attempt")];

/// One page of an endpoint's delivery log (None: no such endpoint in this dealership).
pub async fn deliveries(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    webhook_id: i64,
    page: &Page,
) -> Result<Option<(Vec<Delivery>, i64)>, StoreError> {
    if get(tx, dealership, webhook_id).await?.is_none() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS}, count(*) OVER () FROM webhook_deliveries
          WHERE dealership_id = $1 AND webhook_id = $2
          ORDER BY {} {}, id DESC LIMIT $3 OFFSET $4",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&webhook_id, Type::INT8),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing webhook deliveries"))?;
    let total = crate::page::total(
        tx,
        &rows,
        14,
        "SELECT count(*) FROM webhook_deliveries WHERE dealership_id = $1 AND webhook_id = $2",
        &[(&dealership.0, Type::INT8), (&webhook_id, Type::INT8)],
    )
    .await?;
    Ok(Some((rows.iter().map(delivery_from_row).collect(), total)))
}

/// A due attempt, as the dispatcher hands it to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: i64,
    pub dealership_id: i64,
}

/// Up to `limit` pending attempts that are due and not queued within `requeue_after`, marked
/// queued now (platform scope). Concurrent dispatchers skip each other's rows.
pub async fn claim_due(
    tx: &Transaction<'_>,
    limit: i64,
    requeue_after: Duration,
) -> Result<Vec<DueDelivery>, StoreError> {
    let requeue_seconds = requeue_after.as_secs_f64();
    let rows = tx
        .query_typed(
            "WITH due AS (
                 SELECT id FROM webhook_deliveries
                  WHERE status = 'pending' AND next_attempt_at <= now()
                    AND (queued_at IS NULL OR queued_at < now() - make_interval(secs => $2))
                  ORDER BY next_attempt_at
                  LIMIT $1
                  FOR UPDATE SKIP LOCKED)
             UPDATE webhook_deliveries d SET queued_at = now()
               FROM due WHERE d.id = due.id
             RETURNING d.id, d.dealership_id",
            &[(&limit, Type::INT8), (&requeue_seconds, Type::FLOAT8)],
        )
        .await
        .map_err(StoreError::query("claiming due webhook deliveries"))?;
    Ok(rows
        .iter()
        .map(|row| DueDelivery {
            id: row.get(0),
            dealership_id: row.get(1),
        })
        .collect())
}

/// Marks attempts as not queued after all (their messages could not be sent), so the next
/// dispatch takes them again.
pub async fn unqueue(tx: &Transaction<'_>, ids: &[i64]) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE webhook_deliveries SET queued_at = NULL WHERE id = ANY($1)",
        &[(&ids, Type::INT8_ARRAY)],
    )
    .await
    .map_err(StoreError::query("un-queueing webhook deliveries"))?;
    Ok(())
}

/// An attempt claimed for posting, with what posting it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: String,
    pub event_type: String,
    pub payload: Value,
    pub attempt: i32,
    pub event_created_at: DateTime<Utc>,
    pub url: String,
    /// The signing secret.
    pub secret: String,
    pub webhook_active: bool,
}

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Ours to post until the lease ends.
    Claimed(ClaimedDelivery),
    /// Already done with (`succeeded`, `failed`, `abandoned`): nothing to post.
    Finished { status: String },
    /// Another worker holds it.
    InProgress,
    /// No such attempt (its endpoint was deleted).
    Missing,
}

/// Claims attempt `id` for `lease` if it is pending and nobody else holds it.
pub async fn claim(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    lease: Duration,
) -> Result<Claim, StoreError> {
    let lease_seconds = lease.as_secs_f64();
    let rows = tx
        .query_typed(
            "WITH claimed AS (
                 UPDATE webhook_deliveries
                    SET claimed_until = now() + make_interval(secs => $3), attempted_at = now()
                  WHERE dealership_id = $1 AND id = $2 AND status = 'pending'
                    AND (claimed_until IS NULL OR claimed_until < now())
                 RETURNING id, webhook_id, event_id, event_type, payload, attempt, event_created_at)
             SELECT c.id, c.webhook_id, c.event_id::text, c.event_type, c.payload, c.attempt,
                    c.event_created_at, w.url, w.secret, w.is_active
               FROM claimed c JOIN webhooks w ON w.dealership_id = $1 AND w.id = c.webhook_id",
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&lease_seconds, Type::FLOAT8),
            ],
        )
        .await
        .map_err(StoreError::query("claiming a webhook delivery"))?;
    if let Some(row) = rows.first() {
        return Ok(Claim::Claimed(ClaimedDelivery {
            id: row.get(0),
            webhook_id: row.get(1),
            event_id: row.get(2),
            event_type: row.get(3),
            payload: row.get(4),
            attempt: row.get(5),
            event_created_at: row.get(6),
            url: row.get(7),
            secret: row.get(8),
            webhook_active: row.get(9),
        }));
    }
    let rows = tx
        .query_typed(
            "SELECT status FROM webhook_deliveries WHERE dealership_id = $1 AND id = $2",
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a webhook delivery"))?;
    Ok(match rows.first().map(|row| row.get::<_, String>(0)) {
        None => Claim::Missing,
        Some(status) if status == "pending" => Claim::InProgress,
        Some(status) => Claim::Finished { status },
    })
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub response_status: Option<i32>,
    pub latency_ms: Option<i32>,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

async fn finish_attempt(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    status: &str,
    result: &AttemptResult,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE webhook_deliveries
            SET status = $3, response_status = $4, latency_ms = $5, response_excerpt = $6, error = $7,
                next_attempt_at = NULL, claimed_until = NULL
          WHERE dealership_id = $1 AND id = $2",
        &[
            (&dealership.0, Type::INT8),
            (&id, Type::INT8),
            (&status, Type::TEXT),
            (&result.response_status, Type::INT4),
            (&result.latency_ms, Type::INT4),
            (&result.response_excerpt, Type::TEXT),
            (&result.error, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("recording a webhook attempt"))?;
    Ok(())
}

/// Records a successful attempt, and the endpoint's run of failures as over.
pub async fn record_success(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    delivery: &ClaimedDelivery,
    result: &AttemptResult,
) -> Result<(), StoreError> {
    finish_attempt(tx, dealership, delivery.id, "succeeded", result).await?;
    tx.execute_typed(
        "UPDATE webhooks SET consecutive_failures = 0, failing_since = NULL
          WHERE dealership_id = $1 AND id = $2 AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)",
        &[(&dealership.0, Type::INT8), (&delivery.webhook_id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("resetting a webhook's failures"))?;
    Ok(())
}

/// The endpoint's run of failures, counting the one just recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRun {
    pub consecutive_failures: i32,
    pub failing_since: DateTime<Utc>,
    pub is_active: bool,
}

/// Counts a failed attempt against its endpoint and returns the run of failures so far.
pub async fn count_failure(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    webhook_id: i64,
) -> Result<FailureRun, StoreError> {
    let rows = tx
        .query_typed(
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
                 failing_since = coalesce(failing_since, now())
              WHERE dealership_id = $1 AND id = $2
              RETURNING consecutive_failures, failing_since, is_active",
            &[(&dealership.0, Type::INT8), (&webhook_id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("counting a webhook failure"))?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Conflict(format!("webhook {webhook_id} was deleted while being delivered to")))?;
    Ok(FailureRun {
        consecutive_failures: row.get(0),
        failing_since: row.get(1),
        is_active: row.get(2),
    })
}

/// Records a failed attempt: `failed` when another follows, `abandoned` when it was the last.
pub async fn record_failure(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    delivery: &ClaimedDelivery,
    result: &AttemptResult,
    last: bool,
) -> Result<(), StoreError> {
    let status = if last { "abandoned" } else { "failed" };
    finish_attempt(tx, dealership, delivery.id, status, result).await
}

/// Schedules the attempt after `delivery` at `at`: a row of its own with the same event.
/// A second call for the same attempt adds nothing.
pub async fn schedule_retry(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    delivery: &ClaimedDelivery,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "INSERT INTO webhook_deliveries (dealership_id, webhook_id, event_id, event_type, payload, attempt,
             next_attempt_at, event_created_at)
         SELECT dealership_id, webhook_id, event_id, event_type, payload, attempt + 1, $3, event_created_at
           FROM webhook_deliveries WHERE dealership_id = $1 AND id = $2
         ON CONFLICT (webhook_id, event_id, attempt) DO NOTHING",
        &[
            (&dealership.0, Type::INT8),
            (&delivery.id, Type::INT8),
            (&at, Type::TIMESTAMPTZ),
        ],
    )
    .await
    .map_err(StoreError::query("scheduling a webhook retry"))?;
    Ok(())
}

/// Disables an endpoint with `reason` and abandons its pending deliveries.
pub async fn disable(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    webhook_id: i64,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE webhooks SET is_active = false, disabled_at = now(), disabled_reason = $3
          WHERE dealership_id = $1 AND id = $2",
        &[
            (&dealership.0, Type::INT8),
            (&webhook_id, Type::INT8),
            (&reason, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("disabling a webhook"))?;
    abandon_pending(tx, dealership, webhook_id, "the endpoint was disabled").await
}

/// Ends every pending delivery of an endpoint as `abandoned` with `reason`.
async fn abandon_pending(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    webhook_id: i64,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE webhook_deliveries SET status = 'abandoned', error = $3, next_attempt_at = NULL, claimed_until = NULL
          WHERE dealership_id = $1 AND webhook_id = $2 AND status = 'pending'",
        &[
            (&dealership.0, Type::INT8),
            (&webhook_id, Type::INT8),
            (&reason, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("abandoning a webhook's pending deliveries"))?;
    Ok(())
}
