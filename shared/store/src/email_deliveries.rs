//! Outbound e-mail deliveries: one row per e-mail, unique by the job's idempotency key, so a
//! redelivered job message finds what became of its e-mail instead of sending it again.
//!
//! A row moves `queued` → `sending` (claimed by a worker, `attempts` counted) → `sent` (with
//! the provider's message id), `failed` (refused for good, with the reason) or `suppressed`
//! (not sent on purpose, with the reason). A claim is a lease: a row left `sending` by a
//! worker that died can be claimed again once the lease has run out, never earlier, so two
//! deliveries of the same message at the same moment do not both send.

use std::time::Duration;

use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// The e-mail a job is about to send.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    /// None for system mail (a super admin's password reset).
    pub dealership_id: Option<i64>,
    pub idempotency_key: &'a str,
    /// One of the table's `email_type` values (`password_reset`, …).
    pub email_type: &'a str,
    pub to_address: &'a str,
    pub subject: &'a str,
}

/// What claiming a delivery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This worker may send now; the row is `sending`.
    Claimed { id: i64, attempts: i32 },
    /// Already finished (`sent`, `failed` or `suppressed`): nothing to do.
    Finished { id: i64, status: String },
    /// Another worker claimed it less than a lease ago and may be sending right now.
    InProgress { id: i64 },
}

/// Records the delivery if it is new, locks it, and claims it for sending when it is
/// `queued`, or `sending` under a lease older than `lease`.
pub async fn claim(tx: &Transaction<'_>, delivery: &NewDelivery<'_>, lease: Duration) -> Result<Claim, StoreError> {
    tx.query_typed(
        "INSERT INTO email_deliveries (dealership_id, idempotency_key, email_type, to_address, subject)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO NOTHING",
        &[
            (&delivery.dealership_id, Type::INT8),
            (&delivery.idempotency_key, Type::TEXT),
            (&delivery.email_type, Type::TEXT),
            (&delivery.to_address, Type::TEXT),
            (&delivery.subject, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("recording an e-mail delivery"))?;
    let lease_seconds = lease.as_secs_f64();
    let rows = tx
        .query_typed(
            "SELECT id, status, updated_at < now() - make_interval(secs => $2)
             FROM email_deliveries WHERE idempotency_key = $1 FOR UPDATE",
            &[(&delivery.idempotency_key, Type::TEXT), (&lease_seconds, Type::FLOAT8)],
        )
        .await
        .map_err(StoreError::query("locking an e-mail delivery"))?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Conflict(format!("e-mail delivery {} vanished", delivery.idempotency_key)))?;
    let (id, status, lease_expired): (i64, String, bool) = (row.get(0), row.get(1), row.get(2));
    match status.as_str() {
        "queued" => {}
        "sending" if lease_expired => {}
        "sending" => return Ok(Claim::InProgress { id }),
        _ => return Ok(Claim::Finished { id, status }),
    }
    let rows = tx
        .query_typed(
            "UPDATE email_deliveries SET status = 'sending', attempts = attempts + 1,
                 to_address = $2, subject = $3
             WHERE id = $1 RETURNING attempts",
            &[
                (&id, Type::INT8),
                (&delivery.to_address, Type::TEXT),
                (&delivery.subject, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("claiming an e-mail delivery"))?;
    Ok(Claim::Claimed {
        id,
        attempts: rows[0].get(0),
    })
}

/// The provider accepted the message.
pub async fn mark_sent(tx: &Transaction<'_>, id: i64, provider_message_id: &str) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE email_deliveries SET status = 'sent', ses_message_id = $2, error = NULL, sent_at = now() WHERE id = $1",
        &[(&id, Type::INT8), (&provider_message_id, Type::TEXT)],
    )
    .await
    .map_err(StoreError::query("recording an e-mail as sent"))?;
    Ok(())
}

/// Ends a delivery without sending: `failed` (refused for good) or `suppressed` (on purpose).
pub async fn finish_unsent(tx: &Transaction<'_>, id: i64, status: Unsent, reason: &str) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE email_deliveries SET status = $2, error = $3 WHERE id = $1",
        &[(&id, Type::INT8), (&status.as_str(), Type::TEXT), (&reason, Type::TEXT)],
    )
    .await
    .map_err(StoreError::query("recording an e-mail as not sent"))?;
    Ok(())
}

/// Hands a claimed delivery back (`queued`, the reason kept) after a failure that may pass,
/// so the next delivery of the message claims it at once instead of waiting out the lease.
pub async fn release(tx: &Transaction<'_>, id: i64, reason: &str) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE email_deliveries SET status = 'queued', error = $2 WHERE id = $1 AND status = 'sending'",
        &[(&id, Type::INT8), (&reason, Type::TEXT)],
    )
    .await
    .map_err(StoreError::query("releasing an e-mail delivery"))?;
    Ok(())
}

/// How a delivery ended without a message going out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    Failed,
    Suppressed,
}

impl Unsent {
    pub fn as_str(self) -> &'static str {
        match self {
            Unsent::Failed => "failed",
            Unsent::Suppressed => "suppressed",
        }
    }
}
