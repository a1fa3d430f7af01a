//! Writing an inventory feed into `vehicles`: a few set-based statements per batch of rows,
//! never a query per row.
//!
//! # How a batch is written
//!
//! The batch travels as one array per column (`UNNEST($1::text[], ...)`) in a single
//! statement that finds the existing vehicles by VIN (or by stock number for rows without a
//! VIN), then
//!
//! * updates the rows whose content hash differs, or that were inactive (reactivation),
//! * leaves the unchanged rows alone — most of a daily feed; writing them, even only to move a
//!   timestamp, cost ~140 µs a row here (a new row version and, with ~1 kB rows, an entry in
//!   every index),
//! * inserts the rest,
//!
//! and returns the counts and the ids of every vehicle the batch listed. After the last batch,
//! [`unseen_count`] and [`deactivate_unseen`] find the active vehicles the feed no longer lists
//! with `id <> ALL(<those ids>)`, a hash lookup: 8 bytes a vehicle held by the importer.
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

use rylie_domain::{DealershipId, feed::FeedVehicle};
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub added: u64,
    pub updated: u64,
    pub reactivated: u64,
    pub unchanged: u64,
}

/// Serialises imports per dealership for the rest of the transaction, so two imports of one
/// dealer's inventory never interleave (a retried job and a manual upload, say), and turns JIT
/// compilation off for it (transaction-local, so nothing pins an RDS Proxy session): the batch
/// statement's estimated cost crosses `jit_above_cost`, and compiling it took ~120 ms of each
/// ~220 ms batch while saving nothing measurable.
pub async fn lock_dealership_inventory(tx: &Transaction<'_>, dealership: DealershipId) -> Result<(), StoreError> {
    tx.query_typed(
        "SELECT pg_advisory_xact_lock(hashtext('rylie.inventory'), $1::int4), set_config('jit', 'off', true)",
        &[(&i32::try_from(dealership.0).unwrap_or(i32::MAX), Type::INT4)],
    )
    .await
    .map_err(StoreError::query("locking the dealership's inventory"))?;
    Ok(())
}

/// The feed columns in array form, in the order the statement's `UNNEST` lists them. Text is
/// borrowed from the batch: building the arrays copies no string.
#[derive(Default)]
struct Columns<'a> {
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
    fn of(vehicles: &'a [FeedVehicle]) -> Self {
        let mut c = Columns::default();
        let cents = |p: Option<rylie_domain::feed::Cents>| p.map(|p| p.as_i64());
        for v in vehicles {
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

/// The batch as arrays, one per column (`$3`…`$33`); `$1` is the dealership, `$2` the import.
pub const INPUT: &str = "
    SELECT * FROM unnest(
        $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::int4[], $10::text[],
        $11::text[], $12::text[], $13::text[], $14::int4[], $15::text[], $16::text[], $17::text[],
        $18::text[], $19::text[], $20::int8[], $21::int8[], $22::int8[], $23::int8[], $24::int8[],
        $25::text[], $26::text[], $27::text[], $28::text[], $29::text[], $30::date[], $31::text[],
        $32::text[], $33::text[]
    ) WITH ORDINALITY AS i(
        vin, stock_number, condition, certified, make, model, year, trim_level,
        body_style, exterior_color, interior_color, mileage, engine, transmission, drivetrain,
        fuel_type, fuel_economy, price, msrp, selling_price, internet_price, invoice_price,
        features, description, images, video_url, vdp_url, in_stock_date, status,
        extra, content_hash, ord
    )";

/// The statement that writes one batch (see the module docs), reading the batch from `input`:
/// a query yielding the feed columns in [`INPUT`]'s order and names, and `ord`. The importer
/// passes arrays; `rylie-ops bench inventory` also runs it over a COPY-filled staging table.
pub fn upsert_statement(input: &str) -> String {
    const SET_FROM_INPUT: &str = "
        vin = i.vin, stock_number = i.stock_number, condition = i.condition, certified = i.certified,
        make = i.make, model = i.model, year = i.year, \"trim\" = i.trim_level, body_style = i.body_style,
        exterior_color = i.exterior_color, interior_color = i.interior_color, mileage = i.mileage,
        engine = i.engine, transmission = i.transmission, drivetrain = i.drivetrain,
        fuel_type = i.fuel_type, fuel_economy = i.fuel_economy,
        price = i.price / 100.0, msrp = i.msrp / 100.0, selling_price = i.selling_price / 100.0,
        internet_price = i.internet_price / 100.0, invoice_price = i.invoice_price / 100.0,
        features = i.features::jsonb, description = i.description, images = i.images::jsonb,
        video_url = i.video_url, vdp_url = i.vdp_url, in_stock_date = i.in_stock_date,
        status = i.status, extra = i.extra::jsonb, content_hash = i.content_hash,
        is_active = true, last_seen = now(), last_import_id = $2";
    format!(
        "WITH input AS ({input}),
        matched AS (
            -- One probe of the (vin, dealership_id) index per row, never a scan of the lot.
            -- During a large first import the statistics still say the dealership has no
            -- vehicles: OFFSET 0 keeps the planner from turning this into a hash join over
            -- the dealership's rows, and `IS NOT DISTINCT FROM` (which no index serves) keeps
            -- it from probing an index on dealership_id alone and filtering the VIN.
            SELECT i.ord, v.id, v.is_active AS was_active,
                   v.content_hash IS NOT DISTINCT FROM i.content_hash AS same
              FROM input i
              CROSS JOIN LATERAL (
                    SELECT id, is_active, content_hash FROM vehicles
                     WHERE vin = i.vin AND dealership_id IS NOT DISTINCT FROM $1
                    UNION ALL
                    SELECT id, is_active, content_hash FROM vehicles
                     WHERE i.vin IS NULL AND stock_number = i.stock_number AND vin IS NULL
                       AND dealership_id IS NOT DISTINCT FROM $1
                    OFFSET 0
              ) v
        ),
        changed AS (
            UPDATE vehicles v SET {SET_FROM_INPUT}
              FROM matched m JOIN input i USING (ord)
             WHERE v.id = m.id AND NOT (m.same AND m.was_active)
               -- Finds the rows by primary key: without it the planner, which cannot know how
               -- many rows of a batch exist, may hash-join against a scan of the whole table.
               AND v.id = ANY (ARRAY(SELECT id FROM matched WHERE NOT (same AND was_active)))
            RETURNING m.was_active
        ),
        added AS (
            INSERT INTO vehicles (
                dealership_id, vin, stock_number, condition, certified, make, model, year, \"trim\",
                body_style, exterior_color, interior_color, mileage, engine, transmission, drivetrain,
                fuel_type, fuel_economy, price, msrp, selling_price, internet_price, invoice_price,
                features, description, images, video_url, vdp_url, in_stock_date, status,
                extra, content_hash, is_active, last_seen, last_import_id)
            SELECT $1, i.vin, i.stock_number, i.condition, i.certified, i.make, i.model, i.year, i.trim_level,
                   i.body_style, i.exterior_color, i.interior_color, i.mileage, i.engine, i.transmission,
                   i.drivetrain, i.fuel_type, i.fuel_economy, i.price / 100.0, i.msrp / 100.0,
                   i.selling_price / 100.0, i.internet_price / 100.0, i.invoice_price / 100.0,
                   i.features::jsonb, i.description, i.images::jsonb, i.video_url, i.vdp_url,
                   i.in_stock_date, i.status, i.extra::jsonb, i.content_hash, true, now(), $2
              FROM input i
             WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.ord = i.ord)
            RETURNING id
        )
        SELECT (SELECT count(*) FROM added),
               (SELECT count(*) FROM changed WHERE was_active),
               (SELECT count(*) FROM changed WHERE NOT was_active),
               (SELECT count(*) FROM matched WHERE same AND was_active),
               array(SELECT id FROM matched) || array(SELECT id FROM added)"
    )
}

/// Writes one batch of feed vehicles in one statement; returns what it did and the ids of every
/// vehicle the batch listed (for [`deactivate_unseen`]). The batch must not list one vehicle
/// twice (the importer keeps the last row of a repeated VIN or stock number).
pub async fn upsert_batch(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    import_id: Option<i64>,
    vehicles: &[FeedVehicle],
) -> Result<(BatchCounts, Vec<i64>), StoreError> {
    if vehicles.is_empty() {
        return Ok((BatchCounts::default(), Vec::new()));
    }
    let c = Columns::of(vehicles);
    let row = tx
        .query_typed(
            &upsert_statement(INPUT),
            &[
                (&dealership.0, Type::INT8),
                (&import_id, Type::INT8),
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
    let row = row.first().expect("a SELECT of counts returns one row");
    let count = |i: usize| row.get::<_, i64>(i) as u64;
    let counts = BatchCounts {
        added: count(0),
        updated: count(1),
        reactivated: count(2),
        unchanged: count(3),
    };
    Ok((counts, row.get(4)))
}

/// How many vehicles of the dealership are active.
pub async fn active_count(tx: &Transaction<'_>, dealership: DealershipId) -> Result<u64, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT count(*) FROM vehicles WHERE dealership_id = $1 AND is_active",
            &[(&dealership.0, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("counting active vehicles"))?;
    Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
}

/// Ids of `seen` sent per statement by [`unseen_count`] and [`deactivate_unseen`]: a feed of
/// millions of vehicles never becomes one array parameter of tens of megabytes.
const SEEN_CHUNK: usize = 100_000;

/// Runs `statement` once per chunk of `seen` (sorted, without repeats) with `$1` the dealership,
/// `$2` a chunk and `$3`/`$4` the id range the chunk covers (`$4` NULL: no upper bound): every
/// active vehicle whose id falls in the range and is not in the chunk is unseen. The ranges
/// cover all ids, so each unseen vehicle is in exactly one. Returns the sum of the counts.
async fn per_seen_chunk(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    seen: &[i64],
    statement: &str,
    context: &'static str,
) -> Result<u64, StoreError> {
    debug_assert!(seen.windows(2).all(|w| w[0] < w[1]), "seen must be sorted and unique");
    let mut total = 0;
    let mut from = i64::MIN;
    let mut chunks = seen.chunks(SEEN_CHUNK).peekable();
    loop {
        let chunk = chunks.next().unwrap_or(&[]);
        // Up to (not including) the next chunk's first id; the last range is unbounded.
        let until: Option<i64> = chunks.peek().map(|next| next[0]);
        let rows = tx
            .query_typed(
                statement,
                &[
                    (&dealership.0, Type::INT8),
                    (&chunk, Type::INT8_ARRAY),
                    (&from, Type::INT8),
                    (&until, Type::INT8),
                ],
            )
            .await
            .map_err(StoreError::query(context))?;
        total += rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64);
        match until {
            Some(next) => from = next,
            None => return Ok(total),
        }
    }
}

/// The active vehicles of one chunk's id range that the chunk does not list. `<> ALL` of a
/// large constant array is a hash lookup (PostgreSQL 15 and later).
const UNSEEN_IN_RANGE: &str = "dealership_id = $1 AND is_active AND id >= $3 AND ($4::int8 IS NULL OR id < $4)
                                AND id <> ALL ($2::int8[])";

/// How many active vehicles of the dealership are not among `seen` (the feed's vehicles,
/// sorted and without repeats).
pub async fn unseen_count(tx: &Transaction<'_>, dealership: DealershipId, seen: &[i64]) -> Result<u64, StoreError> {
    let statement = format!("SELECT count(*) FROM vehicles WHERE {UNSEEN_IN_RANGE}");
    per_seen_chunk(
        tx,
        dealership,
        seen,
        &statement,
        "counting the vehicles a feed no longer lists",
    )
    .await
}

/// Deactivates (never deletes) the active vehicles not among `seen` (sorted, without
/// repeats). Their `last_seen` becomes the start of the dealership's last applied full import,
/// the last one that listed them (unchanged vehicles are not written on every import; see the
/// module docs).
pub async fn deactivate_unseen(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    seen: &[i64],
) -> Result<u64, StoreError> {
    let statement = format!(
        "WITH gone AS (
            UPDATE vehicles
               SET is_active = false,
                   last_seen = greatest(last_seen, (SELECT max(started_at) FROM inventory_imports
                                                     WHERE dealership_id = $1 AND status = 'completed' AND full_feed))
             WHERE {UNSEEN_IN_RANGE}
            RETURNING 1)
         SELECT count(*) FROM gone"
    );
    per_seen_chunk(
        tx,
        dealership,
        seen,
        &statement,
        "deactivating vehicles the feed no longer lists",
    )
    .await
}
