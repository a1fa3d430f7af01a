//! `inventory_imports`: one row per inventory file, whatever way it came in, from `queued`
//! through `processing` to `completed`, `skipped` (the same file as the last one),
//! `needs_confirmation` (it would deactivate too much) or `failed`.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use serde::Serialize;
use tokio_postgres::{Row, Transaction, types::Type};

use crate::{StoreError, page::Page};

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Import {
    pub id: i64,
    pub dealership_id: i64,
    pub source: String,
    pub file_name: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub content_hash: Option<String>,
    pub byte_size: Option<i64>,
    pub status: String,
    pub full_feed: bool,
    pub stats: serde_json::Value,
    pub error: Option<String>,
    pub requested_by: Option<i64>,
    pub inbound_email_id: Option<i64>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a file arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Upload,
    S3,
    Email,
    Cli,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Upload => "upload",
            Source::S3 => "s3",
            Source::Email => "email",
            Source::Cli => "cli",
        }
    }
}

/// What is known of a file when it is queued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImport {
    pub source: Source,
    pub file_name: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub content_hash: Option<String>,
    pub byte_size: Option<i64>,
    pub full_feed: bool,
    pub requested_by: Option<i64>,
    pub inbound_email_id: Option<i64>,
    /// Identifies the file's arrival (S3 key and sequencer, mail and attachment): recording
    /// the same arrival twice returns the first import.
    pub source_ref: Option<String>,
}

/// Where an import ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Skipped,
    NeedsConfirmation,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Skipped => "skipped",
            Outcome::NeedsConfirmation => "needs_confirmation",
            Outcome::Failed => "failed",
        }
    }
}

const COLUMNS: &str = "id, dealership_id, source, file_name, s3_bucket, s3_key, content_hash, byte_size, status, \
                       full_feed, stats, error, requested_by, inbound_email_id, started_at, finished_at, \
                       confirmed_at, confirmed_by, created_at, updated_at";

fn from_row(row: &Row) -> Import {
    Import {
        id: row.get(0),
        dealership_id: row.get(1),
        source: row.get(2),
        file_name: row.get(3),
        s3_bucket: row.get(4),
        s3_key: row.get(5),
        content_hash: row.get(6),
        byte_size: row.get(7),
        status: row.get(8),
        full_feed: row.get(9),
        stats: row.get(10),
        error: row.get(11),
        requested_by: row.get(12),
        inbound_email_id: row.get(13),
        started_at: row.get(14),
        finished_at: row.get(15),
        confirmed_at: row.get(16),
        confirmed_by: row.get(17),
        created_at: row.get(18),
        updated_at: row.get(19),
    }
}

pub const SORTABLE: &[(&str, &str)] = &[("created_at", "created_at"), ("status", "status")];

/// Records a file. Returns the import and whether it is new (false: this `source_ref` was
/// recorded before, and that import is returned).
pub async fn create(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    new: &NewImport,
) -> Result<(Import, bool), StoreError> {
    let sql = format!(
        "INSERT INTO inventory_imports (dealership_id, source, file_name, s3_bucket, s3_key, content_hash,
                                        byte_size, full_feed, requested_by, inbound_email_id, source_ref)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (dealership_id, source_ref) DO UPDATE SET source_ref = EXCLUDED.source_ref
         RETURNING {COLUMNS}, (xmax = 0)"
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&new.source.as_str(), Type::TEXT),
                (&new.file_name, Type::TEXT),
                (&new.s3_bucket, Type::TEXT),
                (&new.s3_key, Type::TEXT),
                (&new.content_hash, Type::TEXT),
                (&new.byte_size, Type::INT8),
                (&new.full_feed, Type::BOOL),
                (&new.requested_by, Type::INT8),
                (&new.inbound_email_id, Type::INT8),
                (&new.source_ref, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("recording an inventory import"))?;
    let row = rows.first().expect("INSERT RETURNING returns the row");
    Ok((from_row(row), row.get(20)))
}

pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Import>, StoreError> {
    fetch(tx, dealership, id, "").await
}

/// The import row, locked until the transaction ends: the job and a confirmation never work
/// on one import at the same time.
pub async fn get_for_update(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
) -> Result<Option<Import>, StoreError> {
    fetch(tx, dealership, id, "FOR UPDATE").await
}

async fn fetch(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    locking: &str,
) -> Result<Option<Import>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM inventory_imports WHERE dealership_id = $1 AND id = $2 {locking}");
    let rows = tx
        .query_typed(&sql, &[(&dealership.0, Type::INT8), (&id, Type::INT8)])
        .await
        .map_err(StoreError::query("reading an inventory import"))?;
    Ok(rows.first().map(from_row))
}

pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    page: &Page,
) -> Result<(Vec<Import>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () FROM inventory_imports WHERE dealership_id = $1
         ORDER BY {} {}, id DESC LIMIT $2 OFFSET $3",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing inventory imports"))?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(20));
    Ok((rows.iter().map(from_row).collect(), total))
}

/// Marks the import as being worked on (its own short transaction, so the status shows while
/// the import runs).
pub async fn mark_processing(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE inventory_imports SET status = 'processing', started_at = now(), error = NULL
          WHERE dealership_id = $1 AND id = $2",
        &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("marking an inventory import as processing"))?;
    Ok(())
}

/// Records where the import ended, its statistics and, for a failure, why; returns the row.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    outcome: Outcome,
    stats: &serde_json::Value,
    error: Option<&str>,
    content_hash: Option<&str>,
) -> Result<Import, StoreError> {
    let sql = format!(
        "UPDATE inventory_imports
            SET status = $3, stats = $4, error = $5, finished_at = now(),
                started_at = coalesce(started_at, now()), content_hash = coalesce($6, content_hash)
          WHERE dealership_id = $1 AND id = $2
         RETURNING {COLUMNS}"
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&outcome.as_str(), Type::TEXT),
                (stats, Type::JSONB),
                (&error, Type::TEXT),
                (&content_hash, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("recording the end of an inventory import"))?;
    rows.first()
        .map(from_row)
        .ok_or_else(|| StoreError::Conflict(format!("inventory import {id} disappeared")))
}

/// Records who confirmed a held import; the caller then applies it.
pub async fn confirm(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    user: Option<i64>,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE inventory_imports SET status = 'queued', confirmed_at = now(), confirmed_by = $3
          WHERE dealership_id = $1 AND id = $2",
        &[(&dealership.0, Type::INT8), (&id, Type::INT8), (&user, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("confirming an inventory import"))?;
    Ok(())
}

/// The content hash of the dealership's last applied import before `before_id`: a file equal
/// to it changes nothing and is skipped.
pub async fn last_applied_hash(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    before_id: i64,
) -> Result<Option<String>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT content_hash FROM inventory_imports
              WHERE dealership_id = $1 AND id < $2 AND status IN ('completed', 'skipped')
              ORDER BY id DESC LIMIT 1",
            &[(&dealership.0, Type::INT8), (&before_id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading the last applied inventory import"))?;
    Ok(rows.first().and_then(|r| r.get(0)))
}

/// The dealership's mass-deactivation limit (share of active vehicles, 0–1].
pub async fn deactivation_limit(tx: &Transaction<'_>, dealership: DealershipId) -> Result<f64, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT inventory_deactivation_limit::float8 FROM dealerships WHERE id = $1",
            &[(&dealership.0, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading the dealership's deactivation limit"))?;
    Ok(rows.first().map_or(0.5, |r| r.get(0)))
}
