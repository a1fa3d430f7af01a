//! Domain events for webhooks, written as pending `webhook_deliveries` in the transaction
//! that made the change (an outbox): the event exists exactly when the change does. The
//! webhook job delivers them.

use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// Queues `event_type` with `payload` for every active webhook of the dealership subscribed to
/// it, under one event id. Returns how many deliveries were queued.
pub async fn emit(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<u64, StoreError> {
    tx.execute_typed(
        "WITH event AS (SELECT gen_random_uuid() AS id)
         INSERT INTO webhook_deliveries (dealership_id, webhook_id, event_id, event_type, payload, next_attempt_at)
         SELECT $1, w.id, event.id, $2, $3, now()
           FROM webhooks w, event
          WHERE w.dealership_id = $1 AND w.is_active AND $2 = ANY (w.events)",
        &[
            (&dealership.0, Type::INT8),
            (&event_type, Type::TEXT),
            (payload, Type::JSONB),
        ],
    )
    .await
    .map_err(StoreError::query("queueing a webhook event"))
}
