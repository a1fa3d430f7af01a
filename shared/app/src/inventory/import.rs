//! Applying one inventory feed to a dealership's vehicles, inside the caller's transaction.
//!
//! Reading and writing overlap: a thread parses the file into batches (rylie-domain's
//! [`FeedReader`], synchronous and CPU-bound) while this task writes the previous batch to
//! PostgreSQL. The channel between them holds two batches, so memory does not grow with the
//! file: one batch being parsed, two waiting, one being written, and the dealership's lot as
//! stored (rylie-store's `inventory::Lot`, 32 bytes a vehicle the dealership had).
//!
//! Bad rows never stop a feed: each is counted, and the first [`MAX_REPORTED_ISSUES`] are kept
//! with line, column and reason in the statistics (the file itself stays in S3 under the
//! import's key, so every rejected line can be looked up).

use std::{collections::HashMap, io::Read, time::Instant};

use rylie_domain::{
    DealershipId,
    feed::{ColumnMapping, FeedError, FeedFormat, FeedReader, FeedVehicle, RowIssue, RowOutcome, VehicleKey},
};
use rylie_store::{StoreError, Transaction, inventory};
use serde::Serialize;
use tokio::sync::mpsc;

/// Rows written per statement. Large enough that per-statement costs vanish, small enough that
/// a batch is a few MB.
pub const DEFAULT_BATCH_SIZE: usize = 5_000;

/// Rejections and warnings kept in the statistics; beyond that they are only counted.
pub const MAX_REPORTED_ISSUES: usize = 500;

/// How to apply a feed.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub batch_size: usize,
    /// A full feed lists the whole lot: vehicles it leaves out are deactivated. A partial feed
    /// only adds and updates.
    pub full_feed: bool,
    /// Deactivate even beyond the dealership's limit (a person confirmed the import).
    pub confirmed: bool,
    /// Share of the active inventory a full feed may deactivate unconfirmed.
    pub deactivation_limit: f64,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            batch_size: DEFAULT_BATCH_SIZE,
            full_feed: true,
            confirmed: false,
            deactivation_limit: 0.5,
        }
    }
}

/// The rows of a feed as read: how many, which were rejected and which warned, with the first
/// [`MAX_REPORTED_ISSUES`] of each kept. Shared by an import and a dry run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RowTally {
    pub rows: u64,
    pub rejected: u64,
    pub warnings: u64,
    pub rejections: Vec<RowIssue>,
    pub warning_details: Vec<RowIssue>,
}

impl RowTally {
    /// Counts one row; returns its vehicle when it has one.
    fn count(&mut self, outcome: RowOutcome) -> Option<FeedVehicle> {
        self.rows += 1;
        match outcome {
            RowOutcome::Vehicle { vehicle, warnings } => {
                self.warnings += warnings.len() as u64;
                keep(&mut self.warning_details, warnings);
                Some(*vehicle)
            }
            RowOutcome::Rejected { issues } => {
                self.rejected += 1;
                keep(&mut self.rejections, issues);
                None
            }
        }
    }
}

/// What a feed did (or, held, would do). Stored as the import's `stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportStats {
    #[serde(flatten)]
    pub tally: RowTally,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub reactivated: u64,
    pub deactivated: u64,
    /// Rows naming a vehicle an earlier row already named; the last row wins.
    pub duplicates: u64,
    pub active_before: u64,
    pub format: Option<FeedFormat>,
    pub mapping: Option<ColumnMapping>,
    pub duration_ms: u64,
    pub rows_per_second: u64,
}

/// How applying a feed ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written; the caller commits.
    Done,
    /// It would deactivate more than the limit: the caller rolls back and holds the import.
    NeedsConfirmation,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as a feed at all (nothing was written).
    #[error("{0}")]
    Feed(#[from] FeedError),
    /// Reading stopped part-way (nothing is applied: the rest of the lot would look sold).
    #[error("the feed could not be read to its end: {0}")]
    Interrupted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the parsing thread sends.
enum Parsed {
    Start(FeedFormat, ColumnMapping),
    Batch(Vec<RowOutcome>),
    /// The file could not be read to its end.
    Interrupted(String),
}

/// Parses `input` on a thread of its own and yields its rows in batches.
fn parse_in_background<R: Read + Send + 'static>(
    input: R,
    batch_size: usize,
) -> mpsc::Receiver<Result<Parsed, FeedError>> {
    let (sender, receiver) = mpsc::channel(2);
    std::thread::spawn(move || {
        let reader = match FeedReader::new(input) {
            Ok(reader) => reader,
            Err(error) => {
                let _ = sender.blocking_send(Err(error));
                return;
            }
        };
        if sender
            .blocking_send(Ok(Parsed::Start(reader.format().clone(), reader.mapping().clone())))
            .is_err()
        {
            return;
        }
        let mut reader = reader;
        let mut batch = Vec::with_capacity(batch_size);
        for outcome in reader.by_ref() {
            batch.push(outcome);
            if batch.len() == batch_size {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                if sender.blocking_send(Ok(Parsed::Batch(full))).is_err() {
                    return; // the writer gave up
                }
            }
        }
        if !batch.is_empty() && sender.blocking_send(Ok(Parsed::Batch(batch))).is_err() {
            return;
        }
        // A read error ends the rows early; a feed cut short must not deactivate the rest.
        if let Some(error) = reader.error() {
            let _ = sender.blocking_send(Ok(Parsed::Interrupted(error.to_string())));
        }
    });
    receiver
}

/// Keeps each vehicle once per batch: the last row naming a VIN (or stock number) wins.
/// A vehicle named again in a later batch is sorted against what the earlier one wrote (the
/// last row still wins) and counted as a repeat there.
fn last_row_per_vehicle(vehicles: Vec<FeedVehicle>, stats: &mut ImportStats) -> Vec<FeedVehicle> {
    let mut index: HashMap<VehicleKey, usize> = HashMap::with_capacity(vehicles.len());
    let mut kept: Vec<Option<FeedVehicle>> = Vec::with_capacity(vehicles.len());
    for vehicle in vehicles {
        if let Some(earlier) = index.insert(vehicle.key(), kept.len()) {
            stats.duplicates += 1;
            kept[earlier] = None;
        }
        kept.push(Some(vehicle));
    }
    kept.into_iter().flatten().collect()
}

fn keep(list: &mut Vec<RowIssue>, issues: impl IntoIterator<Item = RowIssue>) {
    for issue in issues {
        if list.len() < MAX_REPORTED_ISSUES {
            list.push(issue);
        }
    }
}

/// Applies the feed read from `input` to the dealership's vehicles within `tx`. The caller
/// commits on [`Applied::Done`] and rolls back on [`Applied::NeedsConfirmation`] (the
/// statistics then say what the import would have done).
pub async fn apply_feed<R: Read + Send + 'static>(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    import_id: Option<i64>,
    input: R,
    options: ApplyOptions,
) -> Result<(Applied, ImportStats), ImportError> {
    let started = Instant::now();
    let mut stats = ImportStats::default();
    // The file is read while the lot is.
    let mut parsed = parse_in_background(input, options.batch_size.max(1));
    inventory::lock_dealership_inventory(tx, dealership).await?;
    let mut lot = inventory::Lot::read(tx, dealership).await?;
    stats.active_before = lot.active();

    while let Some(message) = parsed.recv().await {
        match message? {
            Parsed::Start(format, mapping) => {
                stats.format = Some(format);
                stats.mapping = Some(mapping);
            }
            Parsed::Interrupted(reason) => return Err(ImportError::Interrupted(reason)),
            Parsed::Batch(outcomes) => {
                let vehicles = outcomes.into_iter().filter_map(|o| stats.tally.count(o)).collect();
                let vehicles = last_row_per_vehicle(vehicles, &mut stats);
                let (writes, sorted) = lot.sort(&vehicles);
                let inserts = writes.iter().filter(|w| w.id.is_none()).count() as u64;
                let inserted = inventory::write_batch(tx, dealership, import_id, &writes).await?;
                stats.added += inserted;
                // An insert that met a vehicle an earlier batch inserted: a repeat.
                stats.duplicates += sorted.repeated + (inserts - inserted);
                stats.updated += sorted.updated;
                stats.reactivated += sorted.reactivated;
                stats.unchanged += sorted.unchanged;
            }
        }
    }

    let mut applied = Applied::Done;
    if options.full_feed {
        let unlisted = lot.unlisted();
        let limit = (stats.active_before as f64 * options.deactivation_limit).floor() as u64;
        if unlisted.len() as u64 > limit && !options.confirmed {
            stats.deactivated = unlisted.len() as u64;
            applied = Applied::NeedsConfirmation;
        } else {
            stats.deactivated = inventory::deactivate(tx, dealership, &unlisted).await?;
        }
    }
    let elapsed = started.elapsed();
    stats.duration_ms = elapsed.as_millis() as u64;
    stats.rows_per_second = (stats.tally.rows as f64 / elapsed.as_secs_f64().max(1e-6)) as u64;
    Ok((applied, stats))
}

/// What a dry run shows an operator checking a new dealer's feed: the format and mapping, the
/// first normalised vehicles, and every rejection and warning (up to the reporting limit).
#[derive(Debug, Clone, Serialize)]
pub struct FeedPreview {
    pub format: FeedFormat,
    pub mapping: ColumnMapping,
    #[serde(flatten)]
    pub tally: RowTally,
    pub vehicles: u64,
    pub first_vehicles: Vec<FeedVehicle>,
}

/// Reads the whole feed without writing anything. A file that cannot be read to its end is an
/// error, as it is for an import.
pub fn preview_feed<R: Read>(input: R, first: usize) -> Result<FeedPreview, ImportError> {
    let mut reader = FeedReader::new(input)?;
    let mut preview = FeedPreview {
        format: reader.format().clone(),
        mapping: reader.mapping().clone(),
        tally: RowTally::default(),
        vehicles: 0,
        first_vehicles: Vec::new(),
    };
    for outcome in reader.by_ref() {
        if let Some(vehicle) = preview.tally.count(outcome) {
            preview.vehicles += 1;
            if preview.first_vehicles.len() < first {
                preview.first_vehicles.push(vehicle);
            }
        }
    }
    match reader.error() {
        Some(error) => Err(ImportError::Interrupted(error.to_string())),
        None => Ok(preview),
    }
}
