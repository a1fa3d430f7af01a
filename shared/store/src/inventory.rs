//! Writing an inventory feed into `vehicles`: a few set-based statements per batch of rows,
//! never a query per row.
//!
//! # How an import writes
//!
//! The importer is the only writer of a dealership's vehicles, and it holds the dealership's
//! inventory lock for the whole import ([`lock_dealership_inventory`]). So it reads the lot
//! once, at the start ([`Lot::read`]: a hash of the key, the id, whether active, part of the
//! content hash — 32 bytes a vehicle), and sorts every batch against it in memory
//! ([`Lot::sort`]):
//!
//! * a vehicle listed as it is stored and active is **unchanged**: nothing is sent for it —
//!   most of a daily feed, and all of a feed sent twice;
//! * a vehicle whose content hash differs, or that was inactive (reactivation), is updated by
//!   its id;
//! * a vehicle the lot does not hold is inserted.
//!
//! [`write_batch`] sends the updates and inserts of a batch as one statement (one array per
//! column, `UNNEST`). After the last batch the lot knows which active vehicles no row listed
//! ([`Lot::unlisted`]); [`deactivate`] writes exactly those, by id.
//!
//! Before this, each batch sent every row and found its vehicle with one index probe a row
//! inside the statement, and the vehicles no longer listed were found by a count and an update
//! over the whole lot: on the bench's day-2 feed (`rylie-ops bench inventory`, README) the
//! probes, the unchanged rows' transfer and the two lot scans were over half the import.
//!
//! A vehicle named again in a later batch (feeds do repeat rows) is sorted against what the
//! earlier batch wrote — the lot is updated as batches are sorted, and an insert that meets a
//! vehicle inserted earlier in the same import updates it (`ON CONFLICT`) — so the last row
//! wins and the repeat is counted.
//!
//! `last_seen` is written whenever a vehicle is written (added, changed, reactivated) and, at
//! deactivation, set to the start of the last full import that still listed it; an active
//! vehicle was listed by the latest full import, which the read side (rylie-store `vehicles`)
//! takes into account.
//!
//! # Why arrays and not COPY
//!
//! COPY into a temporary staging table is the other set-based way in. Behind RDS Proxy a
//! temporary table is session state and pins the client's connection to one database
//! connection for the rest of the session; arrays leave nothing behind. `rylie-ops bench
//! inventory` measures both (and the naive row-by-row way) in the same run; the figures and
//! the choice are in the README.
//!
//! The caller holds the import's transaction: one transaction per import, so a failure or a
//! held import leaves the inventory exactly as it was.

use futures_util::StreamExt;
use rylie_domain::{
    DealershipId,
    feed::{FeedVehicle, VehicleKey},
};
use sha2::{Digest, Sha256};
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// Serialises imports per dealership for the rest of the transaction, so two imports of one
/// dealer's inventory never interleave (a retried job and a manual upload, say) and the lot an
/// import read stays current, and turns JIT compilation off for it (transaction-local, so
/// nothing pins an RDS Proxy session): the batch statement's estimated cost crosses
/// `jit_above_cost`, and compiling it took ~120 ms of each ~220 ms batch while saving nothing
/// measurable.
pub async fn lock_dealership_inventory(tx: &Transaction<'_>, dealership: DealershipId) -> Result<(), StoreError> {
    tx.query_typed(
        "SELECT pg_advisory_xact_lock(hashtext('rylie.inventory'), $1::int4), set_config('jit', 'off', true)",
        &[(&i32::try_from(dealership.0).unwrap_or(i32::MAX), Type::INT4)],
    )
    .await
    .map_err(StoreError::query("locking the dealership's inventory"))?;
    Ok(())
}

/// A stored vehicle as the import sees it: 32 bytes, so a lot of 3 million vehicles (a 1 GB
/// feed sent twice) stays near 100 MB.
#[derive(Debug, Clone, Copy)]
struct Stored {
    /// [`key_hash`] of its VIN, or of its stock number when it has none.
    key: u128,
    /// [`content_key`] of its content hash.
    content: u64,
    id: i64,
}

impl Stored {
    /// A vehicle as read from the table, its activity carried in `content` until
    /// [`Lot::of`] sorts the lot.
    fn read(key: &VehicleKey, id: i64, active: bool, content_hash: Option<&str>) -> Stored {
        let active = if active { ACTIVE_WHILE_READING } else { 0 };
        Stored {
            key: key_hash(key),
            content: content_key(content_hash) | active,
            id,
        }
    }
}

/// The first 128 bits of SHA-256 over the vehicle's key: a collision between two keys of one
/// dealership is as likely as one between two content hashes (also 128 bits).
fn key_hash(key: &VehicleKey) -> u128 {
    let mut hasher = Sha256::new();
    match key {
        VehicleKey::Vin(vin) => {
            hasher.update(b"vin:");
            hasher.update(vin.as_bytes());
        }
        VehicleKey::Stock(stock) => {
            hasher.update(b"stock:");
            hasher.update(stock.as_bytes());
        }
    }
    let digest = hasher.finalize();
    u128::from_be_bytes(digest[..16].try_into().expect("SHA-256 has 32 bytes"))
}

/// The first 63 bits of a content hash (hex), as a number below 2^63. A vehicle without one
/// (written by something other than the importer) gets 0, which no feed row's hash is expected
/// to start with: it is written on its next import.
fn content_key(content_hash: Option<&str>) -> u64 {
    content_hash
        .and_then(|hash| hash.get(..16))
        .and_then(|prefix| u64::from_str_radix(prefix, 16).ok())
        .map_or(0, |bits| bits >> 1)
}

/// Marks an active vehicle's `content` while the lot is read and sorted (a content key never
/// has this bit), so sorting moves one 32-byte record a vehicle and nothing beside it.
const ACTIVE_WHILE_READING: u64 = 1 << 63;

/// The dealership's vehicles by key (VIN, or stock number for a vehicle without one), read once
/// per import under the inventory lock. See the module docs.
#[derive(Debug, Default)]
pub struct Lot {
    /// Sorted by key.
    vehicles: Vec<Stored>,
    /// One bit a vehicle, in the order of `vehicles`.
    active: Vec<u64>,
    /// Listed by a row of this import.
    listed: Vec<u64>,
}

fn bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

fn set_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

/// What sorting a batch found, before anything is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sorted {
    pub updated: u64,
    pub reactivated: u64,
    pub unchanged: u64,
    /// Stored vehicles an earlier batch of this import already listed.
    pub repeated: u64,
}

/// One vehicle to write: an update of the stored vehicle `id`, or (`None`) an insert.
#[derive(Debug, Clone, Copy)]
pub struct Write<'v> {
    pub id: Option<i64>,
    pub vehicle: &'v FeedVehicle,
}

impl Lot {
    /// Every vehicle of the dealership, active or not, read row by row (never the whole result
    /// at once). Call it under [`lock_dealership_inventory`].
    pub async fn read(tx: &Transaction<'_>, dealership: DealershipId) -> Result<Lot, StoreError> {
        let context = "reading the dealership's vehicles";
        // Sized first: a vector grown by doubling would hold two copies of a large lot at once.
        let size = tx
            .query_typed(
                "SELECT count(*) FROM vehicles WHERE dealership_id = $1",
                &[(&dealership.0, Type::INT8)],
            )
            .await
            .map_err(StoreError::query(context))?;
        let size = usize::try_from(size[0].get::<_, i64>(0)).unwrap_or(0);
        let mut vehicles = Vec::with_capacity(size);
        let rows = tx
            .query_typed_raw(
                "SELECT vin, stock_number, id, is_active, content_hash FROM vehicles WHERE dealership_id = $1",
                [(dealership.0, Type::INT8)],
            )
            .await
            .map_err(StoreError::query(context))?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.next().await {
            let row = row.map_err(StoreError::query(context))?;
            let key = match (row.get::<_, Option<String>>(0), row.get::<_, Option<String>>(1)) {
                (Some(vin), _) => VehicleKey::Vin(vin),
                (None, Some(stock)) => VehicleKey::Stock(stock),
                (None, None) => continue, // the table's identity check forbids it
            };
            vehicles.push(Stored::read(&key, row.get(2), row.get(3), row.get(4)));
        }
        Ok(Lot::of(vehicles))
    }

    /// The lot of `vehicles` as [`Stored::read`] made them.
    fn of(mut vehicles: Vec<Stored>) -> Lot {
        vehicles.sort_unstable_by_key(|stored| stored.key);
        let words = vehicles.len().div_ceil(64);
        let mut lot = Lot {
            vehicles,
            active: vec![0; words],
            listed: vec![0; words],
        };
        for (i, stored) in lot.vehicles.iter_mut().enumerate() {
            if stored.content & ACTIVE_WHILE_READING != 0 {
                stored.content &= !ACTIVE_WHILE_READING;
                set_bit(&mut lot.active, i);
            }
        }
        lot
    }

    /// How many vehicles are active: as read, plus those this import has reactivated so far
    /// (the importer asks before its first batch).
    pub fn active(&self) -> u64 {
        self.active.iter().map(|word| u64::from(word.count_ones())).sum()
    }

    /// Sorts a batch (each vehicle once) against the lot: what to write, and the counts of
    /// what needs no insert. The lot records the batch as written.
    pub fn sort<'v>(&mut self, batch: &'v [FeedVehicle]) -> (Vec<Write<'v>>, Sorted) {
        let mut writes = Vec::new();
        let mut sorted = Sorted::default();
        for vehicle in batch {
            let key = key_hash(&vehicle.key());
            let Ok(i) = self.vehicles.binary_search_by_key(&key, |stored| stored.key) else {
                writes.push(Write { id: None, vehicle });
                continue;
            };
            let content = content_key(Some(&vehicle.content_hash));
            let stored = &mut self.vehicles[i];
            let (active, same) = (bit(&self.active, i), stored.content == content);
            if bit(&self.listed, i) {
                sorted.repeated += 1;
            } else if !active {
                sorted.reactivated += 1;
            } else if same {
                sorted.unchanged += 1;
            } else {
                sorted.updated += 1;
            }
            if !(same && active) {
                writes.push(Write {
                    id: Some(stored.id),
                    vehicle,
                });
            }
            stored.content = content;
            set_bit(&mut self.active, i);
            set_bit(&mut self.listed, i);
        }
        (writes, sorted)
    }

    /// The vehicles active when the lot was read that no row listed, by id (ascending).
    pub fn unlisted(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = (0..self.vehicles.len())
            .filter(|&i| bit(&self.active, i) && !bit(&self.listed, i))
            .map(|i| self.vehicles[i].id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// The feed columns in array form, in the order the statement's `UNNEST` lists them. Text is
/// borrowed from the batch: building the arrays copies no string.
#[derive(Default)]
struct Columns<'a> {
    id: Vec<Option<i64>>,
    vin: Vec<Option<&'a str>>,
    stock_number: Vec<Option<&'a str>>,
    condition: Vec<Option<&'static str>>,
    certified: Vec<bool>,
    make: Vec<&'a str>,
    model: Vec<&'a str>,
    year: Vec<i32>,
    trim: Vec<Option<&'a str>>,
    body_style: Vec<Option<&'a str>>,
    exterior_color: Vec<Option<&'a str>>,
    interior_color: Vec<Option<&'a str>>,
    mileage: Vec<Option<i32>>,
    engine: Vec<Option<&'a str>>,
    transmission: Vec<Option<&'a str>>,
    drivetrain: Vec<Option<&'a str>>,
    fuel_type: Vec<Option<&'a str>>,
    fuel_economy: Vec<Option<&'a str>>,
    price: Vec<Option<i64>>,
    msrp: Vec<Option<i64>>,
    selling_price: Vec<Option<i64>>,
    internet_price: Vec<Option<i64>>,
    invoice_price: Vec<Option<i64>>,
    features: Vec<String>,
    description: Vec<Option<&'a str>>,
    images: Vec<String>,
    video_url: Vec<Option<&'a str>>,
    vdp_url: Vec<Option<&'a str>>,
    in_stock_date: Vec<Option<chrono::NaiveDate>>,
    status: Vec<&'static str>,
    extra: Vec<String>,
    content_hash: Vec<&'a str>,
}

impl<'a> Columns<'a> {
    fn of(writes: &[Write<'a>]) -> Self {
        let mut c = Columns::default();
        let cents = |p: Option<rylie_domain::feed::Cents>| p.map(|p| p.as_i64());
        for &Write { id, vehicle: v } in writes {
            c.id.push(id);
            c.vin.push(v.vin.as_deref());
            c.stock_number.push(v.stock_number.as_deref());
            c.condition.push(v.condition.map(|c| c.as_str()));
            c.certified.push(v.certified);
            c.make.push(v.make.as_str());
            c.model.push(v.model.as_str());
            c.year.push(v.year);
            c.trim.push(v.trim.as_deref());
            c.body_style.push(v.body_style.as_deref());
            c.exterior_color.push(v.exterior_color.as_deref());
            c.interior_color.push(v.interior_color.as_deref());
            c.mileage.push(v.mileage);
            c.engine.push(v.engine.as_deref());
            c.transmission.push(v.transmission.as_deref());
            c.drivetrain.push(v.drivetrain.as_deref());
            c.fuel_type.push(v.fuel_type.as_deref());
            c.fuel_economy.push(v.fuel_economy.as_deref());
            c.price.push(cents(v.price));
            c.msrp.push(cents(v.msrp));
            c.selling_price.push(cents(v.selling_price));
            c.internet_price.push(cents(v.internet_price));
            c.invoice_price.push(cents(v.invoice_price));
            c.features.push(json(&v.features));
            c.description.push(v.description.as_deref());
            c.images.push(json(&v.images));
            c.video_url.push(v.video_url.as_deref());
            c.vdp_url.push(v.vdp_url.as_deref());
            c.in_stock_date.push(v.in_stock_date);
            c.status.push(v.status.as_str());
            c.extra.push(json(&v.extra));
            c.content_hash.push(v.content_hash.as_str());
        }
        c
    }
}

/// JSON text of a list or map field (sent as text and cast to jsonb by the statement).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists and maps of strings always serialise")
}

/// The batch as arrays, one per column (`$3`…`$34`); `$1` is the dealership, `$2` the import.
/// `id` is the stored vehicle to update, NULL for a new one.
pub const INPUT: &str = "
    SELECT * FROM unnest(
        $3::int8[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[], $9::text[], $10::int4[],
        $11::text[], $12::text[], $13::text[], $14::text[], $15::int4[], $16::text[], $17::text[],
        $18::text[], $19::text[], $20::text[], $21::int8[], $22::int8[], $23::int8[], $24::int8[],
        $25::int8[], $26::text[], $27::text[], $28::text[], $29::text[], $30::text[], $31::date[],
        $32::text[], $33::text[], $34::text[]
    ) AS i(
        id, vin, stock_number, condition, certified, make, model, year, trim_level,
        body_style, exterior_color, interior_color, mileage, engine, transmission, drivetrain,
        fuel_type, fuel_economy, price, msrp, selling_price, internet_price, invoice_price,
        features, description, images, video_url, vdp_url, in_stock_date, status,
        extra, content_hash
    )";

/// Each written column of `vehicles` and its value from an input row `i`.
const WRITTEN: &[(&str, &str)] = &[
    ("vin", "i.vin"),
    ("stock_number", "i.stock_number"),
    ("condition", "i.condition"),
    ("certified", "i.certified"),
    ("make", "i.make"),
    ("model", "i.model"),
    ("year", "i.year"),
    ("\"trim\"", "i.trim_level"),
    ("body_style", "i.body_style"),
    ("exterior_color", "i.exterior_color"),
    ("interior_color", "i.interior_color"),
    ("mileage", "i.mileage"),
    ("engine", "i.engine"),
    ("transmission", "i.transmission"),
    ("drivetrain", "i.drivetrain"),
    ("fuel_type", "i.fuel_type"),
    ("fuel_economy", "i.fuel_economy"),
    ("price", "i.price / 100.0"),
    ("msrp", "i.msrp / 100.0"),
    ("selling_price", "i.selling_price / 100.0"),
    ("internet_price", "i.internet_price / 100.0"),
    ("invoice_price", "i.invoice_price / 100.0"),
    ("features", "i.features::jsonb"),
    ("description", "i.description"),
    ("images", "i.images::jsonb"),
    ("video_url", "i.video_url"),
    ("vdp_url", "i.vdp_url"),
    ("in_stock_date", "i.in_stock_date"),
    ("status", "i.status"),
    ("extra", "i.extra::jsonb"),
    ("content_hash", "i.content_hash"),
    ("is_active", "true"),
    ("last_seen", "now()"),
    ("last_import_id", "$2"),
];

/// The statement that writes one batch (see the module docs), reading it from `input`: a query
/// yielding [`INPUT`]'s columns by name; `$3` is the batch's ids in any case. The importer passes arrays; `rylie-ops bench
/// inventory` also runs it over a COPY-filled staging table. Returns how many vehicles it
/// inserted (an insert meeting a vehicle this import already inserted updates it instead).
pub fn write_statement(input: &str) -> String {
    let join = |f: &dyn Fn(&(&str, &str)) -> String| WRITTEN.iter().map(f).collect::<Vec<_>>().join(", ");
    let set_from_input = join(&|(column, value)| format!("{column} = {value}"));
    let set_from_excluded = join(&|(column, _)| format!("{column} = EXCLUDED.{column}"));
    let columns = join(&|(column, _)| (*column).to_owned());
    let values = join(&|(_, value)| (*value).to_owned());
    // A new vehicle's search columns are computed here, set-based, rather than by the insert
    // trigger row by row (migration 0011); OFFSET 0 keeps the document computed once a row.
    let insert = |which: &str, conflict: &str| {
        format!(
            "INSERT INTO vehicles AS v (dealership_id, {columns}, search_vector, search_signature)
             SELECT $1, {values}, d.document,
                    coalesce(rylie_lexeme_signature(tsvector_to_array(d.document)), B'0'::bit(512))
               FROM input i
               CROSS JOIN LATERAL (
                   SELECT rylie_vehicle_document(i.make, i.model, i.trim_level, i.year, i.exterior_color,
                                                 i.interior_color, i.body_style, i.fuel_type, i.drivetrain,
                                                 i.features::jsonb, i.description) AS document
                   OFFSET 0) d
              WHERE i.id IS NULL AND {which}
             ON CONFLICT {conflict} DO UPDATE SET {set_from_excluded}
              WHERE v.content_hash IS DISTINCT FROM EXCLUDED.content_hash
             RETURNING v.xmax = 0 AS inserted"
        )
    };
    let by_vin = insert("i.vin IS NOT NULL", "(vin, dealership_id)");
    let by_stock = insert("i.vin IS NULL", "(stock_number, dealership_id) WHERE vin IS NULL");
    format!(
        "WITH input AS ({input}),
        changed AS (
            UPDATE vehicles v SET {set_from_input}
              FROM input i
             WHERE v.id = i.id AND v.dealership_id = $1
               -- The batch's ids ($3, NULL for new vehicles) as a constant the planner sees:
               -- the rows are found by primary key. Derived from `input` instead, the planner
               -- could not know how many there are and scanned the dealership's index entries
               -- on every batch (a first import of 3 million rows grew quadratic).
               AND v.id = ANY ($3::int8[])
        ),
        added_by_vin AS ({by_vin}),
        added_by_stock AS ({by_stock})
        -- `changed` runs to completion unread, as every data-modifying WITH does.
        SELECT (SELECT count(*) FROM added_by_vin WHERE inserted)
             + (SELECT count(*) FROM added_by_stock WHERE inserted)"
    )
}

/// Writes a batch's updates and inserts ([`Lot::sort`]) in one statement; returns how many
/// vehicles it inserted.
pub async fn write_batch(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    import_id: Option<i64>,
    writes: &[Write<'_>],
) -> Result<u64, StoreError> {
    if writes.is_empty() {
        return Ok(0);
    }
    let c = Columns::of(writes);
    let rows = tx
        .query_typed(
            &write_statement(INPUT),
            &[
                (&dealership.0, Type::INT8),
                (&import_id, Type::INT8),
                (&c.id, Type::INT8_ARRAY),
                (&c.vin, Type::TEXT_ARRAY),
                (&c.stock_number, Type::TEXT_ARRAY),
                (&c.condition, Type::TEXT_ARRAY),
                (&c.certified, Type::BOOL_ARRAY),
                (&c.make, Type::TEXT_ARRAY),
                (&c.model, Type::TEXT_ARRAY),
                (&c.year, Type::INT4_ARRAY),
                (&c.trim, Type::TEXT_ARRAY),
                (&c.body_style, Type::TEXT_ARRAY),
                (&c.exterior_color, Type::TEXT_ARRAY),
                (&c.interior_color, Type::TEXT_ARRAY),
                (&c.mileage, Type::INT4_ARRAY),
                (&c.engine, Type::TEXT_ARRAY),
                (&c.transmission, Type::TEXT_ARRAY),
                (&c.drivetrain, Type::TEXT_ARRAY),
                (&c.fuel_type, Type::TEXT_ARRAY),
                (&c.fuel_economy, Type::TEXT_ARRAY),
                (&c.price, Type::INT8_ARRAY),
                (&c.msrp, Type::INT8_ARRAY),
                (&c.selling_price, Type::INT8_ARRAY),
                (&c.internet_price, Type::INT8_ARRAY),
                (&c.invoice_price, Type::INT8_ARRAY),
                (&c.features, Type::TEXT_ARRAY),
                (&c.description, Type::TEXT_ARRAY),
                (&c.images, Type::TEXT_ARRAY),
                (&c.video_url, Type::TEXT_ARRAY),
                (&c.vdp_url, Type::TEXT_ARRAY),
                (&c.in_stock_date, Type::DATE_ARRAY),
                (&c.status, Type::TEXT_ARRAY),
                (&c.extra, Type::TEXT_ARRAY),
                (&c.content_hash, Type::TEXT_ARRAY),
            ],
        )
        .await
        .map_err(StoreError::query("writing a batch of vehicles"))?;
    Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
}

/// Ids sent per statement by [`deactivate`]: a lot of millions of vehicles never becomes one
/// array parameter of tens of megabytes.
const DEACTIVATE_CHUNK: usize = 100_000;

/// Deactivates (never deletes) the dealership's active vehicles among `ids` ([`Lot::unlisted`]).
/// Their `last_seen` becomes the start of the dealership's last applied full import, the last
/// one that listed them (unchanged vehicles are not written on every import; see the module
/// docs). Returns how many it deactivated.
pub async fn deactivate(tx: &Transaction<'_>, dealership: DealershipId, ids: &[i64]) -> Result<u64, StoreError> {
    let mut total = 0;
    for chunk in ids.chunks(DEACTIVATE_CHUNK) {
        total += tx
            .execute_typed(
                "UPDATE vehicles
                    SET is_active = false,
                        last_seen = greatest(last_seen, (SELECT max(started_at) FROM inventory_imports
                                                          WHERE dealership_id = $1 AND status = 'completed' AND full_feed))
                  WHERE dealership_id = $1 AND id = ANY ($2::int8[]) AND is_active",
                &[(&dealership.0, Type::INT8), (&chunk, Type::INT8_ARRAY)],
            )
            .await
            .map_err(StoreError::query("deactivating vehicles the feed no longer lists"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use rylie_domain::feed::{FeedReader, RowOutcome};

    use super::*;

    /// The vehicles of a small feed (VIN, stock number, price).
    fn feed(rows: &[(&str, &str, u32)]) -> Vec<FeedVehicle> {
        let mut text = "VIN\tStock\tMake\tModel\tYear\tPrice\n".to_owned();
        for (vin, stock, price) in rows {
            text.push_str(&format!("{vin}\t{stock}\tHonda\tAccord\t2023\t${price}\n"));
        }
        FeedReader::new(text.as_bytes())
            .unwrap()
            .map(|outcome| match outcome {
                RowOutcome::Vehicle { vehicle, .. } => *vehicle,
                RowOutcome::Rejected { issues } => panic!("{issues:?}"),
            })
            .collect()
    }

    const VINS: [&str; 4] = [
        "1HGCM82633A004352",
        "1M8GDM9AXKP042788",
        "5YJSA1DN2DFP14705",
        "1FTFW1ET5DFC10312",
    ];

    #[test]
    fn a_batch_is_sorted_into_unchanged_updated_reactivated_new_and_repeated() {
        let stored = feed(&[
            (VINS[0], "A", 100),
            (VINS[1], "B", 200),
            (VINS[2], "C", 300),
            ("", "S-1", 50),
        ]);
        let mut lot = Lot::of(vec![
            Stored::read(&stored[0].key(), 10, true, Some(&stored[0].content_hash)),
            Stored::read(&stored[1].key(), 11, true, Some(&stored[1].content_hash)),
            Stored::read(&stored[2].key(), 12, false, Some(&stored[2].content_hash)),
            Stored::read(&stored[3].key(), 13, true, None),
        ]);
        assert_eq!(lot.active(), 3);

        let today = feed(&[
            (VINS[0], "A", 100), // as stored
            (VINS[1], "B", 250), // repriced
            (VINS[2], "C", 300), // back in the feed
            (VINS[3], "D", 400), // new
        ]);
        let (writes, sorted) = lot.sort(&today);
        assert_eq!(
            sorted,
            Sorted {
                updated: 1,
                reactivated: 1,
                unchanged: 1,
                repeated: 0
            }
        );
        let ids: Vec<Option<i64>> = writes.iter().map(|w| w.id).collect();
        assert_eq!(ids, vec![Some(11), Some(12), None]);
        // The stock-number vehicle (no stored hash) was not listed: the only one left over.
        assert_eq!(lot.unlisted(), vec![13]);

        // Named again by a later batch: a repeat, written only when its content changed.
        let again = feed(&[(VINS[1], "B", 250), (VINS[0], "A", 90)]);
        let (writes, sorted) = lot.sort(&again);
        assert_eq!(sorted.repeated, 2);
        assert_eq!(writes.iter().map(|w| w.id).collect::<Vec<_>>(), vec![Some(10)]);
    }

    #[test]
    fn a_vehicle_without_a_stored_hash_is_always_written() {
        let stored = feed(&[("", "S-1", 50)]);
        let mut lot = Lot::of(vec![Stored::read(&stored[0].key(), 7, true, None)]);
        let (writes, sorted) = lot.sort(&stored);
        assert_eq!((writes.len(), sorted.updated), (1, 1));
    }

    #[test]
    fn keys_of_a_vin_and_of_an_equal_stock_number_differ() {
        let same = "1HGCM82633A004352".to_owned();
        assert_ne!(
            key_hash(&VehicleKey::Vin(same.clone())),
            key_hash(&VehicleKey::Stock(same))
        );
    }
}
