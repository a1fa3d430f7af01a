//! SQS workers: each message of a batch is handled on its own, and only the ones that failed
//! for a reason that may pass (the database or S3 unreachable) are reported back as batch
//! item failures, so SQS redelivers just those and, after the queue's maxReceiveCount, moves
//! them to the dead-letter queue. A message that can never succeed (malformed, an unknown
//! dealership) is logged with its reason and acknowledged; what it referred to keeps its own
//! record (the import row says `failed` and why; the dropped file stays in S3).

use aws_lambda_events::sqs::BatchItemFailure;
pub use aws_lambda_events::sqs::SqsMessage;
pub use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use rylie_cloud::JobMessage;
use rylie_domain::DealershipId;
use serde::Deserialize;

use crate::{
    State,
    email::{self, Outcome},
    inventory::{drop, job},
};

/// The part of an S3 event notification the worker reads. (aws_lambda_events' `S3Event`
/// insists on fields — user identity, request parameters — that S3-compatible senders omit and
/// that nothing here needs.)
#[derive(Debug, Deserialize)]
struct S3Notification {
    /// `s3:TestEvent` on the one message S3 sends when the notification is configured.
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
    size: Option<i64>,
    sequencer: Option<String>,
    #[serde(rename = "eTag")]
    e_tag: Option<String>,
}

/// What became of one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// Try again later.
    Retry(String),
    /// Will never succeed; acknowledged.
    Dropped(String),
}

/// The job-inventory-import worker: our import messages, and S3 notifications of files
/// dropped under `inventory/incoming/`.
pub async fn inventory_import(state: &State, event: SqsEvent) -> SqsBatchResponse {
    each_record(event, async |message| handle_inventory_message(state, &message).await).await
}

/// Runs `handle` on each record of a batch on its own, logs what became of it, and reports
/// back only the records to retry, so SQS redelivers just those and, after the queue's
/// maxReceiveCount, moves them to the dead-letter queue. Every SQS worker goes through here.
pub async fn each_record(event: SqsEvent, handle: impl AsyncFn(SqsMessage) -> Handled) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let handled = handle(message).await;
        match &handled {
            Handled::Done => tracing::info!(message_id = %id, "message handled"),
            Handled::Retry(reason) => tracing::warn!(message_id = %id, %reason, "message will be retried"),
            Handled::Dropped(reason) => tracing::error!(message_id = %id, %reason, "message dropped"),
        }
        if matches!(handled, Handled::Retry(_)) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

fn classify(error: job::JobError) -> Handled {
    if error.is_transient() {
        Handled::Retry(error.to_string())
    } else {
        Handled::Dropped(error.to_string())
    }
}

async fn handle_inventory_message(state: &State, message: &SqsMessage) -> Handled {
    let body = message.body.as_deref().unwrap_or_default();
    if let Ok(job_message) = JobMessage::parse(body) {
        if job_message.r#type != job::JOB_TYPE {
            return Handled::Dropped(format!("unexpected job type {:?}", job_message.r#type));
        }
        let (Some(dealership), Some(import_id)) = (
            job_message.dealership_id,
            job_message.payload.get("import_id").and_then(|v| v.as_i64()),
        ) else {
            return Handled::Dropped("an inventory.import message needs dealership_id and payload.import_id".into());
        };
        return match job::run(state, DealershipId(dealership), import_id).await {
            Ok(_) => Handled::Done,
            Err(error) => classify(error),
        };
    }
    let notification = match serde_json::from_str::<S3Notification>(body) {
        Ok(n) if !n.records.is_empty() || n.event.as_deref() == Some("s3:TestEvent") => n,
        _ => {
            return Handled::Dropped(format!(
                "neither a job message nor an S3 notification: {}",
                body.chars().take(200).collect::<String>()
            ));
        }
    };
    let mut outcome = Handled::Done;
    for record in notification.records {
        if !record.event_name.starts_with("ObjectCreated") {
            continue;
        }
        let key = drop::decode_event_key(&record.s3.object.key);
        // The sequencer orders events of one key; S3-compatible stores may send the ETag only.
        let version = record
            .s3
            .object
            .sequencer
            .as_deref()
            .or(record.s3.object.e_tag.as_deref());
        let result = drop::record_and_run(state, &record.s3.bucket.name, &key, record.s3.object.size, version).await;
        match result {
            Ok(import) => tracing::info!(import_id = import.id, status = %import.status, %key, "dropped file imported"),
            Err(drop::DropError::Refused(reason)) => {
                tracing::error!(%reason, alert = "inventory_drop_refused", "dropped file not imported")
            }
            Err(drop::DropError::Job(error)) => match classify(error) {
                retry @ Handled::Retry(_) => outcome = retry,
                dropped => tracing::error!(%key, outcome = ?dropped, "dropped file not imported"),
            },
        }
    }
    outcome
}

/// The job-email worker: each message is one e-mail (see [`crate::email`]). Only what may
/// succeed later (the database, SES or the configuration) is handed back to SQS; an unusable
/// message is recorded in `job_failures` and acknowledged, as is an address SES refused for
/// good (its delivery row says `failed` and why).
pub async fn email(state: &State, event: SqsEvent) -> SqsBatchResponse {
    each_record(event, async |message| handle_email_message(state, &message).await).await
}

async fn handle_email_message(state: &State, message: &SqsMessage) -> Handled {
    let body = message.body.as_deref().unwrap_or_default();
    let message_id = message.message_id.as_deref();
    let job_message = match JobMessage::parse(body) {
        Ok(job_message) => job_message,
        Err(error) => {
            // The body may hold a token: keep its JSON with secrets redacted, or only its size.
            let payload = serde_json::from_str::<serde_json::Value>(body)
                .map(rylie_store::audit::redact)
                .unwrap_or_else(|_| serde_json::json!({ "body_bytes": body.len() }));
            let failure = rylie_store::job_failures::JobFailure {
                job_type: "email (unparsable)",
                dealership_id: None,
                idempotency_key: message_id,
                message_id,
                payload: &payload,
                error: &error.to_string(),
            };
            return match email::job::record_failure(state, &failure).await {
                Ok(()) => Handled::Dropped(error.to_string()),
                Err(record_error) => Handled::Retry(format!("{error}; recording it failed: {record_error}")),
            };
        }
    };
    let key = &job_message.idempotency_key;
    match email::job::run(state, &job_message, message_id).await {
        Ok(Outcome::Sent { message_id: sent_id }) => {
            tracing::info!(idempotency_key = %key, provider_message_id = %sent_id, "e-mail sent");
            Handled::Done
        }
        Ok(Outcome::AlreadyDone { status }) => {
            tracing::info!(idempotency_key = %key, %status, "e-mail already handled; nothing sent");
            Handled::Done
        }
        Ok(Outcome::Suppressed { reason }) => {
            tracing::info!(idempotency_key = %key, %reason, "e-mail suppressed");
            Handled::Done
        }
        Ok(Outcome::Rejected { reason }) => {
            tracing::error!(idempotency_key = %key, %reason, alert = "email_rejected", "e-mail refused for good");
            Handled::Done
        }
        Ok(Outcome::Unusable { reason }) => Handled::Dropped(reason),
        Err(error) if error.is_transient() => Handled::Retry(error.to_string()),
        Err(error) => Handled::Dropped(error.to_string()),
    }
}
