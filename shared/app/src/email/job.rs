//! The e-mail job: one versioned job message in, at most one e-mail out, and a record of what
//! became of it in `email_deliveries` (see the module docs of [`crate::email`] for the
//! delivery guarantee).

use std::time::Duration;

use chrono::Utc;
use rylie_cloud::{CloudError, JobMessage, OutgoingEmail};
use rylie_store::{
    Scope, StoreError, auth as store_auth,
    email_deliveries::{self, Claim, NewDelivery, Unsent},
    scope,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::templates;
use crate::State;

/// The `type` of password-reset messages; [`PASSWORD_RESET_VERSION`] is the payload's shape.
pub const PASSWORD_RESET_JOB: &str = "email.password_reset";
pub const PASSWORD_RESET_VERSION: u32 = 1;
/// How long a reset link works.
pub const RESET_TOKEN_MINUTES: i64 = 30;
/// Lead first contacts share the queue; their sender is not built yet.
/// How long a claimed delivery belongs to its worker: longer than the function's timeout, so
/// a second worker never sends while the first may still be sending.
const CLAIM_LEASE: Duration = Duration::from_secs(90);

/// The payload of `email.password_reset` version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetPayload {
    pub user_id: i64,
    /// The token itself (the database keeps only its SHA-256).
    pub token: String,
}

/// The hex SHA-256 of a reset token, as `users.reset_token_hash` stores it.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The job message that sends `token` to user `user_id`. The idempotency key names the user
/// and the token (by a prefix of its hash), so each request is one e-mail.
pub fn password_reset_message(user_id: i64, dealership_id: Option<i64>, token: &str) -> JobMessage {
    let hash = hash_token(token);
    JobMessage {
        r#type: PASSWORD_RESET_JOB.to_owned(),
        version: PASSWORD_RESET_VERSION,
        dealership_id,
        idempotency_key: format!("{PASSWORD_RESET_JOB}:{user_id}:{}", &hash[..16]),
        payload: serde_json::to_value(PasswordResetPayload {
            user_id,
            token: token.to_owned(),
        })
        .expect("the payload serializes"),
    }
}

/// What became of one job message. Every variant is final: the message is done with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider accepted the e-mail.
    Sent { message_id: String },
    /// The delivery had already ended (`sent`, `failed` or `suppressed`): nothing sent.
    AlreadyDone { status: String },
    /// Not sent on purpose; recorded as `suppressed` when a delivery row exists.
    Suppressed { reason: String },
    /// The provider refused the address or message for good; recorded as `failed`.
    Rejected { reason: String },
    /// An unknown type or version, or a payload of the wrong shape; recorded in `job_failures`.
    Unusable { reason: String },
    /// Not yet: automated mail waits for the customer's sending hours (quiet hours) until
    /// `until`; nothing recorded, the message comes back then.
    Deferred { until: chrono::DateTime<Utc> },
}

/// Why a message could not be handled now. [`EmailError::is_transient`] says whether SQS
/// should deliver it again.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("another worker claimed this e-mail {0:?} less than a lease ago")]
    InProgress(String),
    #[error("{0} is not configured: this function cannot send mail")]
    NotConfigured(&'static str),
}

impl EmailError {
    /// True when a later delivery can succeed: the database, SES or the queue was unreachable
    /// or throttled, another worker holds the claim, or the configuration is being fixed (the
    /// message waits for it, then lands in the dead-letter queue).
    pub fn is_transient(&self) -> bool {
        match self {
            EmailError::Store(error) => error.is_unavailable(),
            EmailError::Cloud(error) => error.is_transient(),
            EmailError::InProgress(_) | EmailError::NotConfigured(_) => true,
        }
    }
}

/// Runs one job message. `sqs_message_id` is recorded with an unusable message.
pub async fn run(state: &State, message: &JobMessage, sqs_message_id: Option<&str>) -> Result<Outcome, EmailError> {
    match (message.r#type.as_str(), message.version) {
        (PASSWORD_RESET_JOB, PASSWORD_RESET_VERSION) => {
            match serde_json::from_value::<PasswordResetPayload>(message.payload.clone()) {
                Ok(payload) if !payload.token.is_empty() => send_password_reset(state, message, &payload).await,
                Ok(_) => unusable(state, message, sqs_message_id, "payload.token is empty".to_owned()).await,
                Err(error) => unusable(state, message, sqs_message_id, format!("payload: {error}")).await,
            }
        }
        (crate::assistant::handover::DOSSIER_JOB, crate::assistant::handover::DOSSIER_VERSION) => {
            match dealership_payload::<DossierPayload>(message) {
                Ok((dealership, payload)) => send_dossier(state, message, dealership, &payload).await,
                Err(reason) => unusable(state, message, sqs_message_id, reason).await,
            }
        }
        (crate::reports::mail::JOB, crate::reports::mail::VERSION) => {
            match dealership_payload::<crate::reports::mail::Payload>(message) {
                Ok((dealership, payload)) => crate::reports::mail::send(state, message, dealership, &payload).await,
                Err(reason) => unusable(state, message, sqs_message_id, reason).await,
            }
        }
        (super::staff_notice::SUMMARY_JOB | super::staff_notice::ALERT_JOB, super::staff_notice::VERSION) => {
            match dealership_payload::<super::staff_notice::Notice>(message) {
                Ok((dealership, notice)) => super::staff_notice::send(state, message, dealership, &notice).await,
                Err(reason) => unusable(state, message, sqs_message_id, reason).await,
            }
        }
        (super::first_contact::JOB, super::first_contact::VERSION) => {
            match dealership_payload::<super::first_contact::Payload>(message) {
                Ok((dealership, payload)) => {
                    super::first_contact::send(state, message, dealership, &payload, Utc::now()).await
                }
                Err(reason) => unusable(state, message, sqs_message_id, reason).await,
            }
        }
        (job_type, version) => {
            let reason = format!("no e-mail job {job_type:?} version {version}");
            unusable(state, message, sqs_message_id, reason).await
        }
    }
}

/// The payload of a dealership's e-mail job and the dealership, or why the message can never
/// be handled (a payload of the wrong shape, no dealership).
fn dealership_payload<P: serde::de::DeserializeOwned>(
    message: &JobMessage,
) -> Result<(rylie_domain::DealershipId, P), String> {
    let payload = serde_json::from_value(message.payload.clone()).map_err(|error| format!("payload: {error}"))?;
    let dealership = message.dealership_id.ok_or("names no dealership")?;
    Ok((rylie_domain::DealershipId(dealership), payload))
}

/// The sender of Rylie's mail (`EMAIL_FROM`); its absence is a configuration being fixed, so
/// the message waits for it.
pub(crate) fn sender(state: &State) -> Result<&str, EmailError> {
    state
        .config
        .email_from
        .as_deref()
        .ok_or(EmailError::NotConfigured("EMAIL_FROM"))
}

/// Records a message that can never be handled, with secrets redacted from its payload.
async fn unusable(
    state: &State,
    message: &JobMessage,
    sqs_message_id: Option<&str>,
    reason: String,
) -> Result<Outcome, EmailError> {
    crate::jobs::record_unusable(state, message, sqs_message_id, &reason).await?;
    Ok(Outcome::Unusable { reason })
}

async fn send_password_reset(
    state: &State,
    message: &JobMessage,
    payload: &PasswordResetPayload,
) -> Result<Outcome, EmailError> {
    let from = sender(state)?;
    let base_url = state
        .config
        .app_base_url
        .as_deref()
        .ok_or(EmailError::NotConfigured("APP_BASE_URL"))?;
    let token_hash = hash_token(&payload.token);

    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Platform).await?;
    let Some(target) = store_auth::reset_mail_target(&tx, payload.user_id, &token_hash).await? else {
        return Ok(Outcome::Suppressed {
            reason: format!("user {} no longer exists", payload.user_id),
        });
    };
    let link = templates::password_reset_link(base_url, &payload.token);
    let rendered = templates::password_reset(&link, RESET_TOKEN_MINUTES, target.expires_at.unwrap_or_else(Utc::now));
    let delivery = NewDelivery {
        dealership_id: target.dealership_id,
        idempotency_key: &message.idempotency_key,
        email_type: "password_reset",
        to_address: &target.email,
        subject: &rendered.subject,
    };
    let email = rendered.to_email(from, &target.email);
    let unwanted = (!target.token_current)
        .then_some("not sent: the token was replaced, used or has expired, so the link would not work");
    tx.commit()
        .await
        .map_err(StoreError::query("reading a password-reset target"))?;
    send_once(state, &mut client, Scope::Platform, &delivery, email, unwanted).await
}

/// Claims the delivery (in `scope`), sends `email` and records the outcome: at most one
/// e-mail per idempotency key while a claim is held, and `unwanted` (a reason) records the
/// delivery as suppressed instead of sending. See the module docs of [`crate::email`] for
/// the guarantee.
pub(crate) async fn send_once(
    state: &State,
    client: &mut rylie_store::Client,
    scope: Scope,
    delivery: &NewDelivery<'_>,
    email: OutgoingEmail,
    unwanted: Option<&str>,
) -> Result<Outcome, EmailError> {
    let tx = scope::begin(client, scope).await?;
    let delivery_id = match email_deliveries::claim(&tx, delivery, CLAIM_LEASE).await? {
        Claim::Claimed { id, .. } => id,
        Claim::Finished { status, .. } => {
            tx.commit()
                .await
                .map_err(StoreError::query("reading an e-mail delivery"))?;
            return Ok(Outcome::AlreadyDone { status });
        }
        Claim::InProgress { .. } => return Err(EmailError::InProgress(delivery.idempotency_key.to_owned())),
    };
    if let Some(reason) = unwanted {
        email_deliveries::finish_unsent(&tx, delivery_id, Unsent::Suppressed, reason).await?;
        tx.commit().await.map_err(StoreError::query("suppressing an e-mail"))?;
        return Ok(Outcome::Suppressed {
            reason: reason.to_owned(),
        });
    }
    tx.commit()
        .await
        .map_err(StoreError::query("claiming an e-mail delivery"))?;

    let sent = state.mailer().send(&email).await;
    let tx = scope::begin(client, scope).await?;
    let outcome = match sent {
        Ok(message_id) => {
            // Should this write fail, the row stays `sending` and the redelivered message
            // sends again after the lease: at least once (see the module docs).
            email_deliveries::mark_sent(&tx, delivery_id, &message_id).await?;
            Outcome::Sent { message_id }
        }
        Err(error) if !error.is_transient() => {
            let reason = error.to_string();
            email_deliveries::finish_unsent(&tx, delivery_id, Unsent::Failed, &reason).await?;
            Outcome::Rejected { reason }
        }
        Err(error) => {
            // Best effort: if this fails too, the claim simply waits out its lease.
            if let Err(release_error) = email_deliveries::release(&tx, delivery_id, &error.to_string()).await {
                tracing::warn!(error = %release_error, "could not hand an e-mail delivery back");
            } else if let Err(commit_error) = tx.commit().await {
                tracing::warn!(error = %commit_error, "could not hand an e-mail delivery back");
            }
            return Err(error.into());
        }
    };
    tx.commit()
        .await
        .map_err(StoreError::query("recording an e-mail delivery's outcome"))?;
    Ok(outcome)
}

/// The payload of `email.handover_dossier` version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DossierPayload {
    pub conversation_id: i64,
}

/// Mails a conversation's handover dossier to the dealership's handover address, once per
/// escalation (the delivery key adds the escalation's time to the message's key).
async fn send_dossier(
    state: &State,
    message: &JobMessage,
    dealership: rylie_domain::DealershipId,
    payload: &DossierPayload,
) -> Result<Outcome, EmailError> {
    let from = sender(state)?;
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let Some(target) = rylie_store::conversations::handover_target(&tx, dealership, payload.conversation_id).await?
    else {
        return Ok(Outcome::Suppressed {
            reason: format!("conversation {} no longer exists", payload.conversation_id),
        });
    };
    let Some(to) = target.handover_email.clone() else {
        return Ok(Outcome::Suppressed {
            reason: "the dealership has no handover address".to_owned(),
        });
    };
    let link = state
        .config
        .app_link(&format!("conversations/{}", payload.conversation_id));
    let rendered = templates::handover_dossier(
        &target.dealership_name,
        payload.conversation_id,
        &target.dossier,
        link.as_deref(),
    );
    let key = format!("{}:{}", message.idempotency_key, target.escalated_at.timestamp());
    let delivery = NewDelivery {
        dealership_id: Some(dealership.0),
        idempotency_key: &key,
        email_type: "handover_dossier",
        to_address: &to,
        subject: &rendered.subject,
    };
    let email = rendered.to_email(from, &to);
    tx.commit()
        .await
        .map_err(StoreError::query("reading a handover dossier"))?;
    send_once(state, &mut client, Scope::Tenant(dealership), &delivery, email, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_message_names_the_user_and_the_token_in_its_key() {
        let message = password_reset_message(42, Some(7), "secret-token");
        let hash = hash_token("secret-token");
        assert_eq!(message.r#type, "email.password_reset");
        assert_eq!(message.version, 1);
        assert_eq!(
            message.idempotency_key,
            format!("email.password_reset:42:{}", &hash[..16])
        );
        assert_eq!(
            serde_json::from_value::<PasswordResetPayload>(message.payload).unwrap(),
            PasswordResetPayload {
                user_id: 42,
                token: "secret-token".into()
            }
        );
    }
}
