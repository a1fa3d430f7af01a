//! The job-webhook worker: one message names one delivery attempt (a `webhook_deliveries`
//! row); the worker posts it and records what became of it.
//!
//! Once per attempt: the row is claimed for [`CLAIM_LEASE`] before posting (a second worker
//! with the same message hands it back to SQS), and a finished row (`succeeded`, `failed`,
//! `abandoned`) is acknowledged without posting, so a redelivered message never posts twice
//! after success. The one window left is between the receiver's answer and our record of it:
//! a worker that dies there leaves the claim to run out, and the message posts again. That is
//! at least once, which is why every attempt carries the event's id (`Rylie-Event-Id`).
//!
//! A failure schedules the next attempt as a new row, which the dispatcher queues when it is
//! due. What may pass (the database, a client that cannot be built yet) is
//! handed back to SQS; a message that can never be used is recorded in `job_failures`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rylie_cloud::JobMessage;
use rylie_domain::{
    DealershipId,
    webhook::{self, NextAttempt, WebhookSecret, WebhookUrl},
};
use rylie_store::{
    Scope, StoreError, scope,
    webhooks::{self as store, AttemptResult, Claim, ClaimedDelivery},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    State,
    auth::random_bytes,
    email::staff_notice,
    jobs::{self, Handled, SqsBatchResponse, SqsEvent, SqsMessage},
};

/// The `type` of a delivery message; [`VERSION`] is its payload's shape.
pub const JOB_TYPE: &str = "webhook.delivery";
pub const VERSION: u32 = 1;
/// How long a claimed attempt belongs to its worker: longer than a post can take (13 s) and
/// than the function's timeout (70 s), so a second worker never posts while the first may
/// still be posting.
pub const CLAIM_LEASE: Duration = Duration::from_secs(90);

/// The payload of `webhook.delivery` version 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPayload {
    pub delivery_id: i64,
}

/// The message that delivers attempt `delivery_id`; its idempotency key is the attempt.
pub fn message(dealership: DealershipId, delivery_id: i64) -> JobMessage {
    JobMessage {
        r#type: JOB_TYPE.to_owned(),
        version: VERSION,
        dealership_id: Some(dealership.0),
        idempotency_key: format!("{JOB_TYPE}:{delivery_id}"),
        payload: serde_json::to_value(DeliveryPayload { delivery_id }).expect("the payload serializes"),
    }
}

/// What became of one attempt. Every variant is final for its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// The attempt failed; the next one is due at `retry_at`, or none follows (`None`: the
    /// event was abandoned, at the end of the retry window or with its endpoint disabled).
    Failed {
        reason: String,
        retry_at: Option<DateTime<Utc>>,
        endpoint_disabled: bool,
    },
    /// The attempt had already ended: nothing posted.
    AlreadyDone { status: String },
    /// The attempt no longer exists (its endpoint was deleted): nothing posted.
    Gone,
    /// The message can never be used; recorded in `job_failures`.
    Unusable { reason: String },
}

/// Why a message could not be handled now; all of these may pass.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("another worker is posting delivery {0} (claimed less than a lease ago)")]
    InProgress(i64),
    #[error("{0}")]
    Client(String),
}

impl WebhookError {
    /// True when SQS should deliver the message again.
    pub fn is_transient(&self) -> bool {
        match self {
            WebhookError::Store(error) => error.is_unavailable(),
            WebhookError::InProgress(_) | WebhookError::Client(_) => true,
        }
    }
}

/// The job-webhook worker's batch handler.
pub async fn handle(state: &State, event: SqsEvent) -> SqsBatchResponse {
    jobs::each_record(
        state,
        state.config.webhooks.queue_url.as_deref(),
        event,
        async |message| handle_message(state, &message).await,
    )
    .await
}

async fn handle_message(state: &State, message: &SqsMessage) -> Handled {
    let job_message = match jobs::parse_or_record(state, "webhook", message).await {
        Ok(job_message) => job_message,
        Err(handled) => return handled,
    };
    let outcome = run(state, &job_message, message.message_id.as_deref()).await;
    match outcome {
        Ok(Outcome::Unusable { reason }) => Handled::Dropped(reason),
        Ok(outcome) => {
            tracing::info!(?outcome, "webhook message handled");
            Handled::Done
        }
        Err(error) if error.is_transient() => Handled::Retry(error.to_string()),
        Err(error) => Handled::Dropped(error.to_string()),
    }
}

/// Runs one job message. `sqs_message_id` is recorded with an unusable message.
pub async fn run(state: &State, message: &JobMessage, sqs_message_id: Option<&str>) -> Result<Outcome, WebhookError> {
    let unusable = async |reason: String| {
        jobs::record_unusable(state, message, sqs_message_id, &reason).await?;
        Ok(Outcome::Unusable { reason })
    };
    if (message.r#type.as_str(), message.version) != (JOB_TYPE, VERSION) {
        return unusable(format!(
            "no webhook job {:?} version {}",
            message.r#type, message.version
        ))
        .await;
    }
    let payload = match serde_json::from_value::<DeliveryPayload>(message.payload.clone()) {
        Ok(payload) => payload,
        Err(error) => return unusable(format!("payload: {error}")).await,
    };
    let Some(dealership) = message.dealership_id else {
        return unusable("names no dealership".to_owned()).await;
    };
    deliver(state, DealershipId(dealership), payload.delivery_id).await
}

/// Claims attempt `delivery_id`, posts it and records the outcome.
pub async fn deliver(state: &State, dealership: DealershipId, delivery_id: i64) -> Result<Outcome, WebhookError> {
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let claim = store::claim(&tx, dealership, delivery_id, CLAIM_LEASE).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("claiming a webhook delivery"))?;
    let delivery = match claim {
        Claim::Claimed(delivery) => delivery,
        Claim::Finished { status } => return Ok(Outcome::AlreadyDone { status }),
        Claim::InProgress => return Err(WebhookError::InProgress(delivery_id)),
        Claim::Missing => return Ok(Outcome::Gone),
    };

    let result = if !delivery.webhook_active {
        Err("the endpoint is disabled".to_owned())
    } else {
        // Checked again at every attempt: the stored URL met the rules of its day.
        match WebhookUrl::parse(&delivery.url, state.webhooks.policy()) {
            Ok(url) => Ok(url),
            Err(problem) => Err(format!("the endpoint's URL is refused: it {problem}")),
        }
    };
    let (attempt, posted_status) = match result {
        Ok(url) => {
            let body = body(dealership, &delivery);
            let signature = webhook::sign(
                &WebhookSecret::from_stored(delivery.secret.clone()),
                Utc::now().timestamp(),
                &body,
            );
            let posted = state
                .webhooks
                .post(&url, &delivery.event_id, body, &signature)
                .await
                .map_err(WebhookError::Client)?;
            let status = posted.succeeded().then_some(posted.status).flatten();
            (
                AttemptResult {
                    response_status: posted.status.map(i32::from),
                    latency_ms: Some(posted.latency_ms),
                    response_excerpt: posted.excerpt,
                    error: posted.error,
                },
                status,
            )
        }
        Err(reason) => (
            AttemptResult {
                response_status: None,
                latency_ms: None,
                response_excerpt: None,
                error: Some(reason),
            },
            None,
        ),
    };

    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let outcome = match posted_status {
        Some(status) => {
            store::record_success(&tx, dealership, &delivery, &attempt).await?;
            Outcome::Delivered { status }
        }
        None => record_failed_attempt(&tx, dealership, &delivery, attempt).await?,
    };
    tx.commit()
        .await
        .map_err(StoreError::query("recording a webhook attempt"))?;
    drop(client);
    if let Outcome::Failed {
        endpoint_disabled: true,
        reason,
        ..
    } = &outcome
    {
        let notice = staff_notice::Notice {
            subject: format!("Webhook endpoint {} disabled", delivery.webhook_id),
            lines: vec![
                format!(
                    "Rylie stopped sending events to {} after a day of failed deliveries; the last                      attempt failed with: {reason}",
                    delivery.url
                ),
                "Fix the receiver, then re-enable the endpoint (PATCH …/webhooks/{id} with                  {\"is_active\": true}). Events of the last 24 hours that were not delivered are                  listed in its delivery log."
                    .replace("{id}", &delivery.webhook_id.to_string()),
            ],
            link: None,
        };
        let key = format!("webhook_disabled:{}:{}", delivery.webhook_id, delivery.id);
        staff_notice::queue(state, &staff_notice::alert_message(dealership, &key, &notice)).await;
    }
    Ok(outcome)
}

/// The JSON body of a delivery: the same on every attempt of an event.
fn body(dealership: DealershipId, delivery: &ClaimedDelivery) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created_at": delivery.event_created_at,
        "dealership_id": dealership.0,
        "data": delivery.payload,
    }))
    .expect("a JSON value serializes")
}

/// Records a failed attempt against its endpoint, then schedules the next attempt, abandons
/// the event (retry window over, or the endpoint disabled), and disables an endpoint that has
/// failed for too long.
async fn record_failed_attempt(
    tx: &rylie_store::Transaction<'_>,
    dealership: DealershipId,
    delivery: &ClaimedDelivery,
    mut attempt: AttemptResult,
) -> Result<Outcome, WebhookError> {
    let now = Utc::now();
    let run = store::count_failure(tx, dealership, delivery.webhook_id).await?;
    let disable = run.is_active && webhook::should_disable(run.consecutive_failures, run.failing_since, now);
    let next = if disable || !run.is_active {
        NextAttempt::GiveUp
    } else {
        let jitter = u64::from_le_bytes(random_bytes::<8>()) as f64 / u64::MAX as f64;
        webhook::next_attempt(delivery.attempt, delivery.event_created_at, now, jitter)
    };
    let reason = attempt.error.clone().unwrap_or_default();
    if next == NextAttempt::GiveUp {
        let why = if disable || !run.is_active {
            "the endpoint is disabled"
        } else {
            "no attempt succeeded within 24 hours of the event"
        };
        attempt.error = Some(format!("{reason}; abandoned: {why}"));
    }
    store::record_failure(tx, dealership, delivery, &attempt, next == NextAttempt::GiveUp).await?;
    let retry_at = match next {
        NextAttempt::At(at) => {
            store::schedule_retry(tx, dealership, delivery, at).await?;
            Some(at)
        }
        NextAttempt::GiveUp => None,
    };
    if disable {
        let since = run.failing_since.format("%Y-%m-%d %H:%M UTC");
        let disabled_reason = format!(
            "disabled after {} failed attempts in a row since {since}; the last: {reason}",
            run.consecutive_failures
        );
        store::disable(tx, dealership, delivery.webhook_id, &disabled_reason).await?;
        tracing::warn!(
            webhook_id = delivery.webhook_id,
            %disabled_reason,
            alert = "webhook_disabled",
            "webhook endpoint disabled"
        );
    }
    Ok(Outcome::Failed {
        reason,
        retry_at,
        endpoint_disabled: disable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_one_attempt_in_its_key() {
        let message = message(DealershipId(7), 42);
        assert_eq!(message.r#type, "webhook.delivery");
        assert_eq!(message.version, 1);
        assert_eq!(message.dealership_id, Some(7));
        assert_eq!(message.idempotency_key, "webhook.delivery:42");
        assert_eq!(
            serde_json::from_value::<DeliveryPayload>(message.payload).unwrap(),
            DeliveryPayload { delivery_id: 42 }
        );
    }
}
