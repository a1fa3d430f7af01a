//! `cron-reports`: every hour, one report job per active dealership and due period.
//!
//! What is due is the domain's rule ([`due_periods`]) applied to each dealership's settings at
//! its own local time (PostgreSQL converts the schedule's instant into each time zone). The
//! due periods are recorded in `report_runs` in one statement that returns only the ones not
//! recorded before, and only those are queued, so running twice in an hour queues nothing new.
//!
//! Queueing happens inside the transaction that recorded them: a job that could not be queued
//! is forgotten again (the next hour tries once more), and should the commit fail after the
//! jobs were queued, the next hour queues them again and the e-mail's key keeps the recipients
//! from getting a second copy. Without `REPORT_QUEUE_URL` the jobs run in-process, after the
//! commit.

use chrono::{DateTime, Utc};
use rylie_cloud::JobMessage;
use rylie_domain::report::{ReportSettings, due_periods};
use rylie_store::{
    Scope, StoreError,
    reports::{self, NewRun},
    scope,
};
use serde::Serialize;

use super::job;
use crate::{State, jobs::ScheduledEvent};

/// What one run of the schedule did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CronSummary {
    /// Report periods due now, across dealerships.
    pub due: usize,
    /// Of those, queued by this run (the others were queued by an earlier run).
    pub queued: usize,
    /// Jobs that could not be queued; the next run tries again.
    pub failed: usize,
    /// Dealerships whose `report_settings` were refused.
    pub invalid_settings: usize,
}

/// The function's handler: the schedule's time is the event's `time` when it has one (so a
/// retried invocation decides the same), else now.
pub async fn handle(state: &State, event: ScheduledEvent) -> Result<CronSummary, StoreError> {
    let now = event
        .get("time")
        .and_then(|time| time.as_str())
        .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
        .map_or_else(Utc::now, |time| time.with_timezone(&Utc));
    let summary = run(state, now).await?;
    tracing::info!(?summary, %now, "report schedule");
    Ok(summary)
}

/// Queues the reports due at `now`.
pub async fn run(state: &State, now: DateTime<Utc>) -> Result<CronSummary, StoreError> {
    let mut summary = CronSummary::default();
    let mut in_process: Vec<JobMessage> = Vec::new();
    {
        let mut client = state.db.client().await?;
        let tx = scope::begin(&mut client, Scope::Platform).await?;
        let mut due = Vec::new();
        for schedule in reports::schedules(&tx, now).await? {
            match ReportSettings::parse(&schedule.settings) {
                Ok(settings) => {
                    due.extend(
                        due_periods(&settings, schedule.local_now)
                            .into_iter()
                            .map(|period| NewRun {
                                dealership: schedule.dealership,
                                period,
                            }),
                    )
                }
                Err(error) => {
                    summary.invalid_settings += 1;
                    tracing::error!(dealership = %schedule.dealership, %error, alert = "report_settings_invalid", "no reports for this dealership until its settings are fixed");
                }
            }
        }
        summary.due = due.len();
        let claimed = reports::claim_runs(&tx, &due).await?;
        for run in due
            .iter()
            .filter(|run| claimed.contains(&run.period.key(run.dealership)))
        {
            let message = job::message(run.dealership, &run.period);
            match (state.sqs(), &state.config.report_queue_url) {
                (Some(sqs), Some(queue_url)) => match sqs.send(queue_url, &message).await {
                    Ok(_) => summary.queued += 1,
                    Err(error) => {
                        summary.failed += 1;
                        tracing::error!(key = %message.idempotency_key, %error, "report job not queued; the next run tries again");
                        reports::release_run(&tx, &message.idempotency_key).await?;
                    }
                },
                _ if cfg!(feature = "in-process-jobs") => {
                    summary.queued += 1;
                    in_process.push(message);
                }
                _ => {
                    // A deployed build without REPORT_QUEUE_URL: refuse, and leave the period
                    // to the run after the configuration is fixed.
                    summary.failed += 1;
                    tracing::error!(key = %message.idempotency_key, "report job not queued: no REPORT_QUEUE_URL");
                    reports::release_run(&tx, &message.idempotency_key).await?;
                }
            }
        }
        tx.commit()
            .await
            .map_err(StoreError::query("recording scheduled reports"))?;
    }
    for message in in_process {
        if let Err(error) = job::submit(state, &message).await {
            tracing::error!(key = %message.idempotency_key, %error, "report job failed in-process");
        }
    }
    Ok(summary)
}
