//! SQS workers: each message of a batch is handled on its own, and only the ones that failed
//! for a reason that may pass (the database or S3 unreachable) are reported back as batch
//! item failures, so SQS redelivers just those and, after the queue's maxReceiveCount, moves
//! them to the dead-letter queue. A message that can never succeed (malformed, an unknown
//! dealership) is logged with its reason and acknowledged; what it referred to keeps its own
//! record (the import row says `failed` and why; the dropped file stays in S3).

use aws_lambda_events::sqs::BatchItemFailure;
pub use aws_lambda_events::sqs::SqsMessage;
pub use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

/// What an EventBridge schedule hands a cron function: nothing it reads (the function works
/// out what is due from the database), so any JSON is accepted.
pub type ScheduledEvent = serde_json::Value;
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
    /// Try again later: SQS delivers it again after a backoff that grows with each attempt.
    Retry(String),
    /// Handed back already hidden until it is due (quiet hours): SQS keeps it, and its
    /// visibility is left as the handler set it.
    Later(String),
    /// Will never succeed; acknowledged.
    Dropped(String),
}

/// The first retry waits this long; each further one twice as long, up to [`RETRY_CAP_SECONDS`].
pub const RETRY_BASE_SECONDS: u32 = 30;
/// The longest wait between two deliveries of a failing message.
pub const RETRY_CAP_SECONDS: u32 = 15 * 60;

/// The wait before delivery `receive_count + 1` of a message that failed transiently:
/// exponential (30 s, 1 min, 2 min, … at most 15 min) with "equal jitter" — half the step
/// fixed, half random (`random` in 0..1) — so failures that began together (the database
/// restarting) do not come back together.
pub fn retry_delay_seconds(receive_count: u32, random: f64) -> u32 {
    let step = RETRY_BASE_SECONDS
        .saturating_mul(1u32 << receive_count.saturating_sub(1).min(16))
        .min(RETRY_CAP_SECONDS);
    let half = step / 2;
    half + (f64::from(step - half) * random.clamp(0.0, 1.0)) as u32
}

/// The job-inventory-import worker: our import messages, and S3 notifications of files
/// dropped under `inventory/incoming/`.
pub async fn inventory_import(state: &State, event: SqsEvent) -> SqsBatchResponse {
    let queue = state.config.inventory_import_queue_url.as_deref();
    each_record(state, queue, event, async |message| {
        handle_inventory_message(state, &message).await
    })
    .await
}

/// Runs `handle` on each record of a batch on its own, logs what became of it, and reports
/// back only the records to retry, so SQS redelivers just those and, after the queue's
/// maxReceiveCount, moves them to the dead-letter queue. A record to retry is hidden for
/// [`retry_delay_seconds`] of its receive count first (its queue at `queue_url`), so retries
/// back off instead of coming back after the queue's fixed visibility timeout. Every SQS
/// worker goes through here.
pub async fn each_record(
    state: &State,
    queue_url: Option<&str>,
    event: SqsEvent,
    handle: impl AsyncFn(SqsMessage) -> Handled,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let receipt = message.receipt_handle.clone();
        let body = message.body.clone();
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1u32);
        let handled = handle(message).await;
        match &handled {
            Handled::Done => tracing::info!(message_id = %id, "message handled"),
            Handled::Retry(reason) if receive_count >= state.config.job_max_receive_count => {
                // The last delivery: SQS moves the message to the dead-letter queue next, and
                // `job_failures` keeps why (the DLQ keeps only the body).
                tracing::error!(message_id = %id, %reason, receive_count, alert = "job_dead_lettered",
                                "message goes to the dead-letter queue");
                if let Err(error) = record_last_failure(state, &id, body.as_deref(), receive_count, reason).await {
                    tracing::error!(message_id = %id, %error, "the dead-lettered message's error was not recorded");
                }
            }
            Handled::Retry(reason) => {
                let delay = retry_delay_seconds(receive_count, random_unit());
                if let (Some(sqs), Some(url), Some(receipt)) = (state.sqs(), queue_url, receipt.as_deref())
                    && let Err(error) = sqs.hide_for(url, receipt, delay).await
                {
                    tracing::warn!(message_id = %id, %error, "could not set the retry's backoff; the queue's visibility timeout applies");
                }
                tracing::warn!(message_id = %id, %reason, receive_count, retry_in_seconds = delay, "message will be retried")
            }
            Handled::Later(reason) => tracing::info!(message_id = %id, %reason, "message handed back until due"),
            Handled::Dropped(reason) => tracing::error!(message_id = %id, %reason, "message dropped"),
        }
        if matches!(handled, Handled::Retry(_) | Handled::Later(_)) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Records why a message is given up on: under its job type and key when the body is a job
/// message, else as `not a job message` (an S3 notification, a broken body) under its SQS id.
async fn record_last_failure(
    state: &State,
    sqs_message_id: &str,
    body: Option<&str>,
    receive_count: u32,
    reason: &str,
) -> Result<(), rylie_store::StoreError> {
    let error = format!("moved to the dead-letter queue after {receive_count} deliveries; the last: {reason}");
    match body.map(JobMessage::parse) {
        Some(Ok(message)) => record_unusable(state, &message, Some(sqs_message_id), &error).await,
        _ => {
            record_body(
                state,
                "not a job message",
                Some(sqs_message_id),
                body.unwrap_or_default(),
                &error,
            )
            .await
        }
    }
}

/// Records a message body that is not a job message under `job_type` and its SQS id: its JSON
/// with secrets redacted, or, when it is not JSON, only its size (a body may hold a token).
async fn record_body(
    state: &State,
    job_type: &str,
    sqs_message_id: Option<&str>,
    body: &str,
    error: &str,
) -> Result<(), rylie_store::StoreError> {
    let payload = serde_json::from_str::<serde_json::Value>(body)
        .map(rylie_store::audit::redact)
        .unwrap_or_else(|_| serde_json::json!({ "body_bytes": body.len() }));
    let failure = rylie_store::job_failures::JobFailure {
        job_type,
        dealership_id: None,
        idempotency_key: sqs_message_id,
        message_id: sqs_message_id,
        payload: &payload,
        error,
    };
    record_failure(state, &failure).await
}

/// A number in 0..1 from the operating system's random source (0.5 if it fails).
fn random_unit() -> f64 {
    getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64)
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
    let queue = state.config.email_queue_url.as_deref();
    each_record(state, queue, event, async |message| {
        handle_email_message(state, &message).await
    })
    .await
}

async fn handle_email_message(state: &State, message: &SqsMessage) -> Handled {
    let message_id = message.message_id.as_deref();
    let job_message = match parse_or_record(state, "email", message).await {
        Ok(job_message) => job_message,
        Err(handled) => return handled,
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
        Ok(Outcome::Deferred { until }) => defer(state, message, until).await,
        Err(error) if error.is_transient() => Handled::Retry(error.to_string()),
        Err(error) => Handled::Dropped(error.to_string()),
    }
}

/// Hands an e-mail message back to SQS, hidden until `until` (quiet hours): it is reported as
/// a batch item failure, so SQS keeps it, and its visibility is stretched to the due time (at
/// most 12 hours), so it comes back once, then. Each deferral is one receive towards the
/// queue's maxReceiveCount. Should the stretch fail, it comes back after the queue's own
/// visibility timeout and is deferred again.
async fn defer(state: &State, message: &SqsMessage, until: chrono::DateTime<chrono::Utc>) -> Handled {
    let wait = (until - chrono::Utc::now()).num_seconds().max(1);
    let wait = u32::try_from(wait).unwrap_or(rylie_cloud::queue::MAX_VISIBILITY_SECONDS);
    let hidden = match (
        state.sqs(),
        &state.config.email_queue_url,
        message.receipt_handle.as_deref(),
    ) {
        (Some(sqs), Some(queue_url), Some(receipt)) => {
            sqs.hide_for(queue_url, receipt, wait).await.map_err(|e| e.to_string())
        }
        _ => Err("no queue to hand it back to".to_owned()),
    };
    match hidden {
        Ok(()) => Handled::Later(format!("quiet hours: due at {until}")),
        Err(error) => Handled::Retry(format!("quiet hours: due at {until}; not hidden until then ({error})")),
    }
}

/// Hands `message` to the queue at `queue_url`, or, with no queue configured (one machine),
/// runs it right here with `run_here`, logs what it did and returns its outcome: the one way
/// every producer submits a job.
///
/// Running here is the `in-process-jobs` feature, a default of every function crate so that
/// `cargo lambda watch` and the tests run jobs without queues. Deployed builds turn it off
/// (`cargo lambda build --no-default-features`, infra/deploy.sh): a function that only queues a
/// job then carries none of that job's code (the analysis and its model client in
/// api-conversations-update, SES and the e-mail job in api-messages-create), and a missing
/// queue is a [`CloudError::NoQueue`] rather than work done where nobody expects it.
///
/// [`CloudError::NoQueue`]: rylie_cloud::CloudError::NoQueue
pub async fn submit<O: std::fmt::Debug, E: From<rylie_cloud::CloudError>>(
    state: &State,
    queue_url: Option<&str>,
    message: &JobMessage,
    run_here: impl AsyncFnOnce() -> Result<O, E>,
) -> Result<Option<O>, E> {
    if let (Some(sqs), Some(queue_url)) = (state.sqs(), queue_url) {
        sqs.send(queue_url, message).await?;
        return Ok(None);
    }
    #[cfg(feature = "in-process-jobs")]
    {
        let outcome = run_here().await?;
        tracing::info!(job = %message.r#type, key = %message.idempotency_key, ?outcome,
                       "job run in-process (no queue configured)");
        Ok(Some(outcome))
    }
    #[cfg(not(feature = "in-process-jobs"))]
    {
        drop(run_here);
        Err(rylie_cloud::CloudError::NoQueue {
            job: message.r#type.clone(),
        }
        .into())
    }
}

/// The record's body as a job message. One that does not parse is recorded in `job_failures`
/// as `<job> (unparsable)` (its JSON with secrets redacted, else only its size: a body may hold
/// a token) and `Err` says what became of it: dropped, or retried when even the record failed.
pub async fn parse_or_record(state: &State, job: &str, message: &SqsMessage) -> Result<JobMessage, Handled> {
    let body = message.body.as_deref().unwrap_or_default();
    let error = match JobMessage::parse(body) {
        Ok(parsed) => return Ok(parsed),
        Err(error) => error.to_string(),
    };
    let recorded = record_body(
        state,
        &format!("{job} (unparsable)"),
        message.message_id.as_deref(),
        body,
        &error,
    )
    .await;
    Err(match recorded {
        Ok(()) => Handled::Dropped(error),
        Err(record_error) => Handled::Retry(format!("{error}; recording it failed: {record_error}")),
    })
}

/// Records a job message that can never succeed (an unknown type or version, a payload of the
/// wrong shape) under its own type and key, secrets redacted from its payload.
pub async fn record_unusable(
    state: &State,
    message: &JobMessage,
    sqs_message_id: Option<&str>,
    reason: &str,
) -> Result<(), rylie_store::StoreError> {
    let payload = rylie_store::audit::redact(message.payload.clone());
    let failure = rylie_store::job_failures::JobFailure {
        job_type: &message.r#type,
        dealership_id: message.dealership_id,
        idempotency_key: Some(&message.idempotency_key),
        message_id: sqs_message_id,
        payload: &payload,
        error: reason,
    };
    record_failure(state, &failure).await
}

/// Records an unusable message in `job_failures` (platform scope: the dealership, if any,
/// is only what the message claims).
pub async fn record_failure(
    state: &State,
    failure: &rylie_store::job_failures::JobFailure<'_>,
) -> Result<(), rylie_store::StoreError> {
    // A message may name a dealership that does not exist; the row keeps the claim in its
    // payload instead of failing on the foreign key.
    let mut client = state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, rylie_store::scope::Scope::Platform).await?;
    let known = match failure.dealership_id {
        Some(id) => {
            rylie_store::dealerships::gate(&tx, rylie_domain::DealershipId(id)).await?
                != rylie_store::dealerships::Gate::Missing
        }
        None => true,
    };
    let mut payload = failure.payload.clone();
    let failure = if known {
        failure.clone()
    } else {
        if let serde_json::Value::Object(map) = &mut payload {
            map.insert("claimed_dealership_id".to_owned(), failure.dealership_id.into());
        }
        rylie_store::job_failures::JobFailure {
            dealership_id: None,
            payload: &payload,
            ..failure.clone()
        }
    };
    rylie_store::job_failures::record(&tx, &failure).await?;
    tx.commit()
        .await
        .map_err(rylie_store::StoreError::query("recording an unusable job message"))?;
    Ok(())
}

/// The job-conversation-analysis worker (see [`crate::analysis`]).
pub async fn conversation_analysis(state: &State, event: SqsEvent) -> SqsBatchResponse {
    let queue = state.config.analysis_queue_url.as_deref();
    each_record(state, queue, event, async |message| {
        crate::analysis::handle(state, &message).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_cap() {
        let fixed = |count| retry_delay_seconds(count, 0.0);
        let longest = |count| retry_delay_seconds(count, 1.0);
        assert_eq!((fixed(1), longest(1)), (15, 30));
        assert_eq!((fixed(2), longest(2)), (30, 60));
        assert_eq!((fixed(3), longest(3)), (60, 120));
        assert_eq!(longest(6), RETRY_CAP_SECONDS);
        assert_eq!(longest(60), RETRY_CAP_SECONDS, "no overflow");
        assert_eq!(fixed(0), 15, "a missing count reads as the first");
        let middle = retry_delay_seconds(4, 0.5);
        assert!((120..=240).contains(&middle), "{middle}");
        let random = random_unit();
        assert!((0.0..1.0).contains(&random));
    }

    /// Run in both builds by the test command: with `in-process-jobs` (the default) and
    /// without it, as deployed.
    #[tokio::test(flavor = "current_thread")]
    async fn without_a_queue_a_job_runs_here_only_where_in_process_jobs_are_built_in() {
        // Nothing listens on port 1: the job must not need the database to be run or refused.
        let url = "postgres://nobody@127.0.0.1:1/none";
        let config = crate::Config::from_lookup("api-test", |name| (name == "DATABASE_URL").then(|| url.to_owned()))
            .expect("a database URL is all the configuration needs");
        let db = rylie_store::Db::new(rylie_store::ConnectSettings::from_url(url).unwrap());
        let state = State::new(config, db).unwrap();
        let message = JobMessage {
            r#type: "email".to_owned(),
            version: 1,
            dealership_id: None,
            idempotency_key: "email:test".to_owned(),
            payload: serde_json::json!({}),
        };
        let mut ran = false;
        let submitted: Result<Option<&str>, rylie_cloud::CloudError> = submit(&state, None, &message, async || {
            ran = true;
            Ok("sent")
        })
        .await;
        if cfg!(feature = "in-process-jobs") {
            assert_eq!(submitted.unwrap(), Some("sent"));
            assert!(ran);
        } else {
            let error = submitted.unwrap_err().to_string();
            assert!(error.starts_with("no queue is configured for email jobs"), "{error}");
            assert!(!ran, "a deployed build never runs a job where it was submitted");
        }
    }
}
