//! The inventory import job: from a stored file and its `inventory_imports` row to an applied
//! (or held, skipped or failed) import.
//!
//! Idempotent by construction: the import row says how far it got, and the whole application
//! of a feed is one transaction that also records the outcome. A redelivered message for a
//! finished import finds it finished and does nothing; one for an import whose worker died
//! mid-way finds it `processing` with nothing applied, and runs it again.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use rylie_cloud::{CloudError, JobMessage};
use rylie_domain::DealershipId;
use rylie_store::{
    Scope, StoreError, events,
    inventory_imports::{self, Import, NewImport, Outcome},
    scope,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::import::{Applied, ApplyOptions, ImportError, ImportStats, apply_feed};
use crate::State;

/// The `type` of the job's SQS messages.
pub const JOB_TYPE: &str = "inventory.import";

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("temporary file {path}: {source}")]
    TempFile { path: PathBuf, source: std::io::Error },
    #[error("no inventory import {0} in this dealership")]
    NoSuchImport(i64),
}

impl JobError {
    /// True when trying again later can succeed (the database or S3 was unreachable).
    pub fn is_transient(&self) -> bool {
        match self {
            JobError::Store(error) => error.is_unavailable(),
            JobError::Cloud(error) => error.is_transient(),
            JobError::TempFile { .. } => true,
            JobError::NoSuchImport(_) => false,
        }
    }
}

/// Records a stored file as an import and starts it: on the queue when one is configured,
/// otherwise right here. A `source_ref` seen before returns the earlier import, untouched.
pub async fn submit(state: &State, dealership: DealershipId, new: &NewImport) -> Result<Import, JobError> {
    let (import, created) = create(state, dealership, new).await?;
    if !created {
        return Ok(import);
    }
    start(state, dealership, import.id, "submitted").await
}

/// Records a stored file as an import without starting it (the caller runs it); a
/// `source_ref` seen before returns the earlier import.
pub async fn record(state: &State, dealership: DealershipId, new: &NewImport) -> Result<Import, JobError> {
    Ok(create(state, dealership, new).await?.0)
}

async fn create(state: &State, dealership: DealershipId, new: &NewImport) -> Result<(Import, bool), JobError> {
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let created = inventory_imports::create(&tx, dealership, new).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("recording an inventory import"))?;
    Ok(created)
}

/// Puts the import on its queue, or runs it now when there is no queue (local running).
/// `reason` tells a first submission from a confirmation in the idempotency key.
pub async fn start(state: &State, dealership: DealershipId, import_id: i64, reason: &str) -> Result<Import, JobError> {
    let message = JobMessage {
        r#type: JOB_TYPE.to_owned(),
        version: 1,
        dealership_id: Some(dealership.0),
        idempotency_key: format!("{JOB_TYPE}:{import_id}:{reason}"),
        payload: json!({ "import_id": import_id }),
    };
    let queue = state.config.inventory_import_queue_url.as_deref();
    match crate::jobs::submit(state, queue, &message, async || run(state, dealership, import_id).await).await? {
        Some(ran_here) => Ok(ran_here),
        None => read(state, dealership, import_id).await,
    }
}

async fn read(state: &State, dealership: DealershipId, import_id: i64) -> Result<Import, JobError> {
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let import = inventory_imports::get(&tx, dealership, import_id).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("reading an inventory import"))?;
    import.ok_or(JobError::NoSuchImport(import_id))
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &State,
    dealership: DealershipId,
    import_id: i64,
    outcome: Outcome,
    stats: &serde_json::Value,
    error: Option<&str>,
    content_hash: Option<&str>,
) -> Result<Import, JobError> {
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let import = inventory_imports::finish(&tx, dealership, import_id, outcome, stats, error, content_hash).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("recording the end of an inventory import"))?;
    Ok(import)
}

/// SHA-256 of a file, read in chunks.
fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

/// The job itself: runs the import `import_id` of `dealership` if it still needs running.
pub async fn run(state: &State, dealership: DealershipId, import_id: i64) -> Result<Import, JobError> {
    // Claim it (a short transaction of its own, so the status shows while the import runs).
    let import = {
        let mut client = state.db.client().await?;
        let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
        let import = inventory_imports::get_for_update(&tx, dealership, import_id)
            .await?
            .ok_or(JobError::NoSuchImport(import_id))?;
        if !matches!(import.status.as_str(), "queued" | "processing") {
            tracing::info!(import_id, status = %import.status, "inventory import already done; nothing to do");
            return Ok(import);
        }
        inventory_imports::mark_processing(&tx, dealership, import_id).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("claiming an inventory import"))?;
        import
    };
    let failed = async |reason: &str| {
        finish(
            state,
            dealership,
            import_id,
            Outcome::Failed,
            &json!({}),
            Some(reason),
            None,
        )
        .await
    };
    let Some(key) = import.s3_key.as_deref() else {
        return failed("the import has no stored file").await;
    };

    let temp_dir = state.config.local_data_dir.join("tmp");
    let temp = temp_dir.join(format!("inventory-import-{import_id}"));
    let temp_error = |source| JobError::TempFile {
        path: temp.clone(),
        source,
    };
    std::fs::create_dir_all(&temp_dir).map_err(temp_error)?;
    match state.files().download_to_file(key, &temp).await {
        Ok(_) => {}
        Err(CloudError::BlobNotFound { .. }) => {
            return failed(&format!("the stored file {key} is missing")).await;
        }
        Err(error) => return Err(error.into()),
    }
    let confirmed = import.confirmed_at.is_some();
    let outcome = apply_local_file(state, dealership, &import, &temp, confirmed).await;
    std::fs::remove_file(&temp).ok();
    outcome
}

/// Applies the feed in the local file `path` as the import `import`, and records the outcome:
/// skipped (the same file as the last applied one, unless `confirmed`), completed, held for
/// confirmation, or failed with the reason. Used by the job and by the operator's CLI.
pub async fn apply_local_file(
    state: &State,
    dealership: DealershipId,
    import: &Import,
    path: &Path,
    confirmed: bool,
) -> Result<Import, JobError> {
    let temp_error = |source| JobError::TempFile {
        path: path.to_owned(),
        source,
    };
    let digest = file_digest(path).map_err(temp_error)?;
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    rylie_store::inventory::lock_dealership_inventory(&tx, dealership).await?;
    let last = inventory_imports::last_applied_hash(&tx, dealership, import.id).await?;
    if last.as_deref() == Some(digest.as_str()) && !confirmed {
        let stats = json!({ "reason": "the same file as the last applied import: nothing to change" });
        let skipped = inventory_imports::finish(
            &tx,
            dealership,
            import.id,
            Outcome::Skipped,
            &stats,
            None,
            Some(&digest),
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::query("skipping an inventory import"))?;
        return Ok(skipped);
    }
    let options = ApplyOptions {
        full_feed: import.full_feed,
        confirmed,
        deactivation_limit: inventory_imports::deactivation_limit(&tx, dealership).await?,
        ..Default::default()
    };
    let file = std::fs::File::open(path).map_err(temp_error)?;
    let applied = apply_feed(&tx, dealership, Some(import.id), std::io::BufReader::new(file), options).await;
    let (outcome, stats, error) = match applied {
        Ok((Applied::Done, stats)) => (Outcome::Completed, stats, None),
        Ok((Applied::NeedsConfirmation, stats)) => {
            let reason = format!(
                "this feed would deactivate {} of {} active vehicles, more than the dealership's limit of {:.0}%: \
                 confirm the import to apply it",
                stats.deactivated,
                stats.active_before,
                options.deactivation_limit * 100.0
            );
            (Outcome::NeedsConfirmation, stats, Some(reason))
        }
        Err(error @ (ImportError::Feed(_) | ImportError::Interrupted(_))) => {
            (Outcome::Failed, ImportStats::default(), Some(error.to_string()))
        }
        Err(ImportError::Store(error)) if !error.is_unavailable() => {
            (Outcome::Failed, ImportStats::default(), Some(error.to_string()))
        }
        Err(ImportError::Store(error)) => return Err(error.into()),
    };
    let event = json!({ "import_id": import.id, "stats": {
        "added": stats.added,
        "updated": stats.updated,
        "unchanged": stats.unchanged,
        "reactivated": stats.reactivated,
        "deactivated": stats.deactivated,
        "rejected": stats.tally.rejected,
    }});
    let stats = serde_json::to_value(&stats).unwrap_or_default();
    if outcome == Outcome::Completed {
        // The event is written with the change: it exists exactly when the change does.
        events::emit(&tx, dealership, "inventory.updated", &event).await?;
        let completed =
            inventory_imports::finish(&tx, dealership, import.id, outcome, &stats, None, Some(&digest)).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("committing an inventory import"))?;
        return Ok(completed);
    }
    // Held or failed: nothing of the feed stays, only the outcome.
    tx.rollback()
        .await
        .map_err(StoreError::query("rolling back an inventory import"))?;
    drop(client);
    let finished = finish(
        state,
        dealership,
        import.id,
        outcome,
        &stats,
        error.as_deref(),
        Some(&digest),
    )
    .await?;
    if outcome == Outcome::NeedsConfirmation {
        // A person must look: a truncated file would have emptied the lot.
        let notice = crate::email::staff_notice::Notice {
            subject: format!("Inventory feed held: import {} needs your confirmation", import.id),
            lines: vec![
                error.clone().unwrap_or_default(),
                format!(
                    "Nothing was changed. If the feed is right, confirm it (POST …/inventory/imports/{}/confirm); \
                     if it is truncated, send the full file again.",
                    import.id
                ),
            ],
            link: state.config.app_link(&format!("inventory/imports/{}", import.id)),
        };
        let message =
            crate::email::staff_notice::alert_message(dealership, &format!("import_held:{}", import.id), &notice);
        crate::email::staff_notice::queue(state, &message).await;
    }
    Ok(finished)
}
