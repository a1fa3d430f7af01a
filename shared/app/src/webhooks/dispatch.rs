//! cron-webhook-dispatch: every minute, the due delivery attempts go on the job-webhook queue,
//! one message each.
//!
//! Rows are claimed with `FOR UPDATE SKIP LOCKED` (two overlapping runs take different rows)
//! in batches of [`BATCH`], for at most [`TIME_BUDGET`] per run, and marked queued; a row
//! queued within [`REQUEUE_AFTER`] is not queued again, so a message waiting in the queue is
//! not doubled every minute, while a row whose message was lost is picked up again later (the
//! worker's claim makes a duplicate harmless). A message that could not be sent un-marks its
//! row for the next run. Without a queue (one machine) the attempts are delivered right here.

use std::time::{Duration, Instant};

use rylie_domain::DealershipId;
use rylie_store::{Scope, StoreError, scope, webhooks as store};
use serde::Serialize;

use super::job;
use crate::{BoxError, State};

/// Attempts claimed per statement.
pub const BATCH: i64 = 200;
/// A run stops claiming after this long (the function's timeout is 60 s).
pub const TIME_BUDGET: Duration = Duration::from_secs(40);
/// A queued attempt that is still pending after this long is queued again: longer than a
/// message normally waits plus the worker's lease.
pub const REQUEUE_AFTER: Duration = Duration::from_secs(15 * 60);

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dispatched {
    /// Attempts put on the queue (or, without one, delivered in-process).
    pub queued: usize,
    /// Attempts whose message could not be sent; the next run takes them again.
    pub not_sent: usize,
}

/// One scheduled run. Fails (so the invocation counts as an error and alarms) only when
/// nothing could be queued at all.
pub async fn run(state: &State) -> Result<Dispatched, BoxError> {
    let started = Instant::now();
    let mut dispatched = Dispatched::default();
    let mut last_error = None;
    loop {
        let due = claim(state).await?;
        let mut unsent = Vec::new();
        for delivery in &due {
            match hand_over(state, *delivery).await {
                Ok(()) => dispatched.queued += 1,
                Err(error) => {
                    tracing::warn!(delivery_id = delivery.id, %error, "webhook delivery not queued");
                    unsent.push(delivery.id);
                    last_error = Some(error);
                }
            }
        }
        if !unsent.is_empty() {
            dispatched.not_sent += unsent.len();
            let mut client = state.db.client().await?;
            let tx = scope::begin(&mut client, Scope::Platform).await?;
            store::unqueue(&tx, &unsent).await?;
            tx.commit()
                .await
                .map_err(StoreError::query("un-queueing webhook deliveries"))?;
            // The queue is failing: leave the rest to the next run.
            break;
        }
        if (due.len() as i64) < BATCH || started.elapsed() > TIME_BUDGET {
            break;
        }
    }
    tracing::info!(
        queued = dispatched.queued,
        not_sent = dispatched.not_sent,
        "webhook dispatch"
    );
    match last_error {
        Some(error) if dispatched.queued == 0 => Err(error),
        _ => Ok(dispatched),
    }
}

async fn claim(state: &State) -> Result<Vec<store::DueDelivery>, StoreError> {
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Platform).await?;
    let due = store::claim_due(&tx, BATCH, REQUEUE_AFTER).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("claiming due webhook deliveries"))?;
    Ok(due)
}

/// Queues one attempt, or delivers it here when no queue is configured.
async fn hand_over(state: &State, delivery: store::DueDelivery) -> Result<(), BoxError> {
    let dealership = DealershipId(delivery.dealership_id);
    let queue = state.config.webhooks.queue_url.as_deref();
    let message = job::message(dealership, delivery.id);
    crate::jobs::submit(state, queue, &message, async || {
        job::deliver(state, dealership, delivery.id)
            .await
            .map_err(BoxError::from)
    })
    .await?;
    Ok(())
}
