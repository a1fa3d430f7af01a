//! Domain events for webhooks, written as pending `webhook_deliveries` in the transaction
//! that made the change (an outbox): the event exists exactly when the change does. The
//! webhook job delivers them.

use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// The `INSERT` that queues one event for every active webhook of the dealership subscribed
/// to it, under one event id, as a piece of a larger statement (a CTE of the statement that
/// makes the change, so the event costs no round trip of its own). `dealership` and `payload`
/// are SQL expressions; `event_type` is one of ours (a literal, never caller text); `from`
/// adds relations to the FROM list (the change's own CTE: no row there, no event) and `and` a
/// condition.
pub fn queue_sql(dealership: &str, event_type: &'static str, payload: &str, from: &str, and: &str) -> String {
    debug_assert!(
        event_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
    );
    let from = if from.is_empty() {
        String::new()
    } else {
        format!(", {from}")
    };
    let and = if and.is_empty() {
        String::new()
    } else {
        format!(" AND ({and})")
    };
    // The id is drawn once, in a CTE of its own: a volatile call in the FROM list may be
    // evaluated again for each webhook.
    format!(
        "WITH event AS MATERIALIZED (SELECT gen_random_uuid() AS id)
         INSERT INTO webhook_deliveries (dealership_id, webhook_id, event_id, event_type, payload, next_attempt_at)
         SELECT {dealership}, w.id, event.id, '{event_type}', {payload}, now()
           FROM webhooks w, event{from}
          WHERE w.dealership_id = {dealership} AND w.is_active AND '{event_type}' = ANY (w.events){and}"
    )
}

/// Queues `event_type` with `payload` for every active webhook of the dealership subscribed to
/// it, under one event id, as a statement of its own. Returns how many deliveries were queued.
pub async fn emit(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    event_type: &'static str,
    payload: &serde_json::Value,
) -> Result<u64, StoreError> {
    tx.execute_typed(
        &queue_sql("$1", event_type, "$2::jsonb", "", ""),
        &[(&dealership.0, Type::INT8), (payload, Type::JSONB)],
    )
    .await
    .map_err(StoreError::query("queueing a webhook event"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_insert_joins_the_change_and_names_one_event_id() {
        let sql = queue_sql(
            "$1",
            "message.sent",
            "jsonb_build_object('id', reply.id)",
            "reply",
            "$3 IS NOT NULL",
        );
        assert!(sql.contains("FROM webhooks w, event, reply"), "{sql}");
        assert!(
            sql.contains("'message.sent' = ANY (w.events) AND ($3 IS NOT NULL)"),
            "{sql}"
        );
        assert!(!queue_sql("$1", "lead.created", "$2", "", "").contains(" AND ("));
    }
}
