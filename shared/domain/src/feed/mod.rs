//! Inventory feeds: the delimited files dealers send every day, read row by row into
//! [`FeedVehicle`]s.
//!
//! A feed is whatever the dealer's inventory system exports: tab, comma, pipe or semicolon
//! separated, UTF-8 or Windows-1252, with column names that differ from one provider to the
//! next. [`FeedReader`] sniffs the format, maps the header onto canonical fields once, and then
//! yields one [`RowOutcome`] per record without ever holding more than one record in memory, so
//! a 1 GB file costs the same memory as a 1 kB one. A bad row is rejected with its line, column
//! and reason; it never stops the feed.
//!
//! Nothing here touches a database: the importer in rylie-app writes what this module yields.

mod mapping;
mod reader;
pub mod values;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

pub use mapping::{ColumnMapping, Field};
pub use reader::{FeedError, FeedFormat, FeedReader};
pub use values::Cents;

/// New, used or certified pre-owned (the `condition` column of `vehicles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    New,
    Used,
    Certified,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Used => "used",
            Self::Certified => "certified",
        }
    }
}

/// Availability on the lot (the `status` column of `vehicles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleStatus {
    #[default]
    Available,
    Pending,
    Sold,
    InTransit,
}

impl VehicleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Pending => "pending",
            Self::Sold => "sold",
            Self::InTransit => "in_transit",
        }
    }
}

/// What identifies a vehicle within its dealership: the VIN, or the stock number when the
/// row has no VIN (seed 002).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum VehicleKey {
    Vin(String),
    Stock(String),
}

/// One vehicle as a feed row describes it, normalised: trimmed text, upper-case VIN, money in
/// cents, lists split, "no value" markers (`N/A`, `#N/A`, `-`, empty) turned into `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedVehicle {
    /// Line of the file where the row starts (1-based; the header is line 1).
    pub line: u64,
    /// A syntactically valid VIN (17 characters, no I/O/Q), upper-case. A wrong check digit
    /// keeps the VIN and adds a warning.
    pub vin: Option<String>,
    pub stock_number: Option<String>,
    pub condition: Option<Condition>,
    pub certified: bool,
    pub make: String,
    pub model: String,
    pub year: i32,
    pub trim: Option<String>,
    pub body_style: Option<String>,
    pub exterior_color: Option<String>,
    pub interior_color: Option<String>,
    pub mileage: Option<i32>,
    pub engine: Option<String>,
    pub transmission: Option<String>,
    pub drivetrain: Option<String>,
    pub fuel_type: Option<String>,
    pub fuel_economy: Option<String>,
    /// The customer-facing price, chosen from the others by [`values::customer_price`].
    pub price: Option<Cents>,
    pub msrp: Option<Cents>,
    pub selling_price: Option<Cents>,
    pub internet_price: Option<Cents>,
    pub invoice_price: Option<Cents>,
    pub features: Vec<String>,
    pub description: Option<String>,
    pub images: Vec<String>,
    pub video_url: Option<String>,
    pub vdp_url: Option<String>,
    pub in_stock_date: Option<NaiveDate>,
    pub status: VehicleStatus,
    /// Columns no canonical field claims, by their header as written in the file.
    pub extra: BTreeMap<String, String>,
    /// Hex digest of every field above except `line`: equal hashes mean nothing changed.
    pub content_hash: String,
}

impl FeedVehicle {
    pub fn key(&self) -> VehicleKey {
        match (&self.vin, &self.stock_number) {
            (Some(vin), _) => VehicleKey::Vin(vin.clone()),
            (None, Some(stock)) => VehicleKey::Stock(stock.clone()),
            (None, None) => unreachable!("the reader rejects rows with neither VIN nor stock number"),
        }
    }
}

/// A problem with one row: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    pub line: u64,
    /// The column header as written in the file, when one column is at fault.
    pub column: Option<String>,
    pub reason: String,
}

/// What one record of the feed became.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RowOutcome {
    /// A usable vehicle, perhaps with warnings (a wrong VIN check digit, an unparsable
    /// optional value that was dropped).
    Vehicle {
        vehicle: Box<FeedVehicle>,
        warnings: Vec<RowIssue>,
    },
    /// A row that cannot become a vehicle (no identifier, no make/model/year, ...).
    Rejected { issues: Vec<RowIssue> },
}
