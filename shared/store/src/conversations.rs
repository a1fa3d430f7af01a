//! `conversations` and their `messages`: what the assistant and the dealership's staff read
//! and answer. This module opens conversations and appends messages; the assistant's use
//! cases read them.

use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// A conversation about to start. The customer's details are a snapshot: the conversation
/// shows who wrote, even if the customer record changes later.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation<'a> {
    pub customer_id: Option<i64>,
    pub customer_name: Option<&'a str>,
    pub customer_phone: Option<&'a str>,
    pub customer_email: Option<&'a str>,
    /// `web`, `sms`, `email` or `phone`.
    pub channel: &'a str,
    pub lead_id: Option<i64>,
    pub customer_context: serde_json::Value,
    pub inventory_context: serde_json::Value,
}

pub async fn open(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    new: &NewConversation<'_>,
) -> Result<i64, StoreError> {
    let rows = tx
        .query_typed(
            "INSERT INTO conversations (dealership_id, customer_id, customer_name, customer_phone, customer_email,
                                        channel, lead_id, customer_context, inventory_context)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                (&dealership.0, Type::INT8),
                (&new.customer_id, Type::INT8),
                (&new.customer_name, Type::TEXT),
                (&new.customer_phone, Type::TEXT),
                (&new.customer_email, Type::TEXT),
                (&new.channel, Type::TEXT),
                (&new.lead_id, Type::INT8),
                (&new.customer_context, Type::JSONB),
                (&new.inventory_context, Type::JSONB),
            ],
        )
        .await
        .map_err(StoreError::query("opening a conversation"))?;
    Ok(rows[0].get(0))
}

/// A message about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage<'a> {
    pub content: &'a str,
    /// `customer`, `assistant`, `staff` or `system`.
    pub sender: &'a str,
    pub channel: &'a str,
    /// `text` or `system`.
    pub message_type: &'a str,
    /// The provider's id of the message (the SES message id and prospect): a message seen
    /// before is not appended twice.
    pub external_id: Option<&'a str>,
    pub metadata: serde_json::Value,
}

/// Appends a message and moves the conversation's `last_message_at`; returns the new id, or
/// None when a message with the same external id is already there.
pub async fn add_message(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    conversation_id: i64,
    message: &NewMessage<'_>,
) -> Result<Option<i64>, StoreError> {
    let rows = tx
        .query_typed(
            "WITH added AS (
                 INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, message_type,
                                       external_id, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (dealership_id, channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
                 RETURNING id, created_at
             ), touched AS (
                 UPDATE conversations c SET last_message_at = added.created_at
                   FROM added WHERE c.dealership_id = $1 AND c.id = $2
             )
             SELECT id FROM added",
            &[
                (&dealership.0, Type::INT8),
                (&conversation_id, Type::INT8),
                (&message.content, Type::TEXT),
                (&message.sender, Type::TEXT),
                (&message.channel, Type::TEXT),
                (&message.message_type, Type::TEXT),
                (&message.external_id, Type::TEXT),
                (&message.metadata, Type::JSONB),
            ],
        )
        .await
        .map_err(StoreError::query("adding a message"))?;
    Ok(rows.first().map(|row| row.get(0)))
}
