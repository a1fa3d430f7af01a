//! The `job-report` worker: one `report.scheduled` message in, the dealership's report for
//! its period computed once, and an `email.scheduled_report` message carrying that report out
//! to job-email, which sends it to each recipient once.
//!
//! A redelivered message computes again and hands on a message with the same key; job-email
//! has already recorded each recipient's delivery under that key, so nothing is sent twice.
//! A message that can never succeed (malformed, an unknown dealership) is recorded in
//! `job_failures` and acknowledged; only what may pass (the database, the e-mail queue) is
//! retried, and after the queue's maxReceiveCount it lands in the dead-letter queue.

use rylie_cloud::{CloudError, JobMessage};
use rylie_domain::{
    DealershipId,
    report::{ReportPeriod, ReportSettings},
};
use rylie_store::{
    Scope, StoreError,
    job_failures::JobFailure,
    reports::{self, Bound},
    scope,
};

use super::mail;
use crate::{
    State,
    email::{self, EmailError},
    jobs::{Handled, SqsBatchResponse, SqsEvent, SqsMessage, each_record},
};

/// The `type` and payload version of report jobs; the payload is a [`ReportPeriod`].
pub const JOB: &str = "report.scheduled";
pub const VERSION: u32 = 1;

/// The job message of `dealership`'s report for `period`, keyed by the report's key.
pub fn message(dealership: DealershipId, period: &ReportPeriod) -> JobMessage {
    JobMessage {
        r#type: JOB.to_owned(),
        version: VERSION,
        dealership_id: Some(dealership.0),
        idempotency_key: period.key(dealership),
        payload: serde_json::to_value(period).expect("a period serializes"),
    }
}

/// What became of one report job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The report was computed and its e-mail handed to job-email for `recipients` addresses.
    Mailed { recipients: usize },
    /// Not sent on purpose: the dealership is inactive, or has no address to send to.
    Skipped { reason: String },
    /// Malformed or about nothing that exists; recorded in `job_failures`.
    Unusable { reason: String },
}

/// Why a report job could not be done now.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("handing the report to the e-mail job: {0}")]
    Email(#[from] EmailError),
    #[error(transparent)]
    Queue(#[from] CloudError),
}

impl ReportError {
    /// True when a later delivery can succeed (the database or a queue was unreachable).
    pub fn is_transient(&self) -> bool {
        match self {
            ReportError::Store(error) => error.is_unavailable(),
            ReportError::Email(error) => error.is_transient(),
            ReportError::Queue(error) => error.is_transient(),
        }
    }
}

/// Hands a report job to the report queue, or runs it right here when no queue is configured.
pub async fn submit(state: &State, message: &JobMessage) -> Result<(), ReportError> {
    let queue = state.config.report_queue_url.as_deref();
    crate::jobs::submit(state, queue, message, async || run(state, message, None).await).await?;
    Ok(())
}

/// Runs one report job message. `sqs_message_id` is recorded with an unusable message.
pub async fn run(state: &State, message: &JobMessage, sqs_message_id: Option<&str>) -> Result<Outcome, ReportError> {
    let unusable = async |reason: String| -> Result<Outcome, ReportError> {
        crate::jobs::record_unusable(state, message, sqs_message_id, &reason).await?;
        Ok(Outcome::Unusable { reason })
    };
    if (message.r#type.as_str(), message.version) != (JOB, VERSION) {
        return unusable(format!(
            "no report job {:?} version {}",
            message.r#type, message.version
        ))
        .await;
    }
    let period = match serde_json::from_value::<ReportPeriod>(message.payload.clone()) {
        Ok(period) if period.end > period.start => period,
        Ok(_) => return unusable("payload: the period ends before it starts".to_owned()).await,
        Err(error) => return unusable(format!("payload: {error}")).await,
    };
    let Some(dealership) = message.dealership_id.map(DealershipId) else {
        return unusable("names no dealership".to_owned()).await;
    };

    let key = period.key(dealership);
    let (report, recipients) = {
        let mut client = state.db.client().await?;
        let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
        let Some(audience) = reports::audience(&tx, dealership).await? else {
            drop(tx);
            drop(client);
            return unusable(format!("no dealership {dealership}")).await;
        };
        if !audience.active {
            return Ok(Outcome::Skipped {
                reason: format!("dealership {dealership} is inactive"),
            });
        }
        let recipients = match ReportSettings::parse(&audience.settings) {
            Ok(settings) => settings.recipients_or(audience.fallback_address.as_deref()),
            Err(error) => {
                tracing::error!(%dealership, %error, alert = "report_settings_invalid", "report settings refused; using the dealership's address");
                ReportSettings::default().recipients_or(audience.fallback_address.as_deref())
            }
        };
        if recipients.is_empty() {
            return Ok(Outcome::Skipped {
                reason: format!("dealership {dealership} has no report recipients, handover or contact address"),
            });
        }
        let report = reports::compute(
            &tx,
            dealership,
            Bound::LocalDate(period.start),
            Bound::LocalDate(period.end),
        )
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("dealership {dealership} disappeared while reporting")))?;
        tx.commit().await.map_err(StoreError::query("computing a report"))?;
        (report, recipients)
    };

    let payload = mail::Payload {
        period,
        recipients: recipients.clone(),
        report,
    };
    // The database client is free again: in-process, job-email takes it.
    email::submit(state, &mail::message(dealership, &payload)).await?;

    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    reports::mark_mailed(&tx, dealership, &key, recipients.len()).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("recording a mailed report"))?;
    Ok(Outcome::Mailed {
        recipients: recipients.len(),
    })
}

/// The job-report worker: each record on its own (see [`crate::jobs::each_record`]).
pub async fn worker(state: &State, event: SqsEvent) -> SqsBatchResponse {
    each_record(
        state,
        state.config.report_queue_url.as_deref(),
        event,
        async |message| handle(state, &message).await,
    )
    .await
}

async fn handle(state: &State, message: &SqsMessage) -> Handled {
    let message_id = message.message_id.as_deref();
    let job_message = match crate::jobs::parse_or_record(state, "report", message).await {
        Ok(job_message) => job_message,
        Err(handled) => return handled,
    };
    let key = &job_message.idempotency_key;
    match run(state, &job_message, message_id).await {
        Ok(Outcome::Mailed { recipients }) => {
            tracing::info!(idempotency_key = %key, recipients, "report computed and handed to job-email");
            Handled::Done
        }
        Ok(Outcome::Skipped { reason }) => {
            tracing::warn!(idempotency_key = %key, %reason, "report not sent");
            Handled::Done
        }
        Ok(Outcome::Unusable { reason }) => Handled::Dropped(reason),
        Err(error) if error.is_transient() => Handled::Retry(error.to_string()),
        Err(error) => {
            // A query the database refuses, or a mailer that can never take it: kept for a person.
            let failure = JobFailure {
                job_type: &job_message.r#type,
                dealership_id: job_message.dealership_id,
                idempotency_key: Some(key),
                message_id,
                payload: &job_message.payload,
                error: &error.to_string(),
            };
            match crate::jobs::record_failure(state, &failure).await {
                Ok(()) => Handled::Dropped(error.to_string()),
                Err(record_error) => Handled::Retry(format!("{error}; recording it failed: {record_error}")),
            }
        }
    }
}
