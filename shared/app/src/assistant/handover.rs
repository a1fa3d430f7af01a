//! After an escalation: the dossier goes by e-mail to the dealership's handover address,
//! through the e-mail job (so a retried turn or a redelivered job sends it once: the job's
//! idempotency key names the conversation's escalation).

use rylie_cloud::JobMessage;
use rylie_domain::DealershipId;

use crate::{State, email};

/// The e-mail job that mails a conversation's handover dossier.
pub const DOSSIER_JOB: &str = "email.handover_dossier";
pub const DOSSIER_VERSION: u32 = 1;

/// The job message for conversation `conversation_id`'s escalation.
pub fn dossier_message(dealership: DealershipId, conversation_id: i64) -> JobMessage {
    JobMessage {
        r#type: DOSSIER_JOB.to_owned(),
        version: DOSSIER_VERSION,
        dealership_id: Some(dealership.0),
        // One escalation is one mail; the job reads the escalation's time and refines the
        // delivery key with it, so a later escalation of the same conversation mails again.
        idempotency_key: format!("{DOSSIER_JOB}:{}:{conversation_id}", dealership.0),
        payload: serde_json::json!({ "conversation_id": conversation_id }),
    }
}

/// Queues the dossier mail. A failure to queue is logged, not the customer's problem: the
/// escalation, its dossier and its webhook event are already stored, and staff see the
/// conversation as escalated.
pub async fn queue_dossier_mail(state: &State, dealership: DealershipId, conversation_id: i64) {
    if let Err(error) = email::submit(state, &dossier_message(dealership, conversation_id)).await {
        tracing::error!(%error, conversation_id, alert = true, "the handover dossier mail was not queued");
    }
}
