//! `rylie-ops bench inventory`: the daily-feed import and the vehicle search, measured against
//! the real database beside the naive ways, in one run.
//!
//! The scenario (issue 4): a dealership already holds N vehicles; the next feed has N rows of
//! which 10% are new, 10% of the old vehicles are gone and half of the rows changed. Each way
//! starts from the same state (a dealership of its own, loaded with the same first feed):
//!
//! * **ours**: `apply_feed`, arrays through `UNNEST`, one transaction;
//! * **copy-staging**: binary COPY of each batch into a temporary table, then the same
//!   set-based statements (the alternative that pins an RDS Proxy session);
//! * **naive**: per row `SELECT` by VIN, then `UPDATE` or `INSERT` (seed 002's way);
//! * **bare COPY**: the rows binary-COPYed into an unindexed table, no logic at all: the
//!   physical limit of this machine.

use std::{io::Write, path::PathBuf, time::Instant};

use rylie_app::{
    BoxError,
    inventory::import::{Applied, ApplyOptions, apply_feed},
};
use rylie_domain::{
    DealershipId,
    feed::{FeedReader, FeedVehicle, RowOutcome},
    vin,
};
use rylie_store::{Client, ConnectSettings, Scope, Type, scope, vehicles};

const MAKES: [(&str, [&str; 4]); 8] = [
    ("Toyota", ["Camry", "Corolla", "RAV4", "Highlander"]),
    ("Honda", ["Accord", "Civic", "CR-V", "Pilot"]),
    ("Ford", ["F-150", "Escape", "Explorer", "Mustang"]),
    ("Chevrolet", ["Silverado", "Equinox", "Malibu", "Tahoe"]),
    ("Nissan", ["Altima", "Rogue", "Sentra", "Frontier"]),
    ("Hyundai", ["Elantra", "Tucson", "Santa Fe", "Sonata"]),
    ("Subaru", ["Outback", "Forester", "Crosstrek", "Impreza"]),
    ("BMW", ["X3", "X5", "330i", "530i"]),
];
const COLORS: [&str; 8] = ["Black", "White", "Silver", "Gray", "Blue", "Red", "Green", "Beige"];
const BODIES: [&str; 5] = ["Sedan", "SUV", "Truck", "Coupe", "Hatchback"];
const FEATURES: [&str; 12] = [
    "Leather Seats",
    "Sunroof",
    "Navigation",
    "Heated Seats",
    "Backup Camera",
    "Bluetooth",
    "Apple CarPlay",
    "Android Auto",
    "Third Row",
    "Tow Package",
    "Blind Spot Monitor",
    "Adaptive Cruise",
];
const VIN_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

/// A small deterministic generator (SplitMix64): the same feed on every run, no dependency.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A valid VIN (correct check digit) for vehicle number `n`.
fn vin_for(n: u64) -> String {
    let mut mix = Mix(n.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut chars: Vec<u8> = (0..17).map(|_| VIN_ALPHABET[mix.below(VIN_ALPHABET.len())]).collect();
    // The serial's last digits carry n, so VINs never collide.
    for (i, digit) in format!("{:06}", n % 1_000_000).bytes().enumerate() {
        chars[11 + i] = digit;
    }
    chars[10] = VIN_ALPHABET[(n / 1_000_000) as usize % VIN_ALPHABET.len()];
    let text = String::from_utf8(chars).expect("ASCII");
    let check = vin::check_digit(&text).expect("VIN alphabet");
    let mut text = text.into_bytes();
    text[8] = check as u8;
    String::from_utf8(text).expect("ASCII")
}

pub const FEED_HEADER: &str = "VIN\tStock #\tType\tYear\tMake\tModel\tTrim\tBody Style\tExt Color\tInt Color\tOdometer\t\
Selling Price\tMSRP\tInternet Price\tInvoice\tEngine\tTransmission\tDrivetrain\tFuel Type\tOptions\tImageList\t\
Description\tDate In Stock\tCity MPG\n";

/// Row `n` of a feed; `revision` changes the price of the vehicle (a changed row).
pub fn feed_row(n: u64, revision: u32, out: &mut impl Write) -> std::io::Result<()> {
    let mut mix = Mix(n);
    let (make, models) = MAKES[mix.below(MAKES.len())];
    let model = models[mix.below(4)];
    let year = 2014 + mix.below(12);
    let used = year < 2025;
    let mileage = if used {
        5_000 + mix.below(120_000)
    } else {
        mix.below(50)
    };
    let price = 15_000 + mix.below(60_000) as u64 - u64::from(revision) * 250;
    let features: Vec<&str> = (0..4).map(|_| FEATURES[mix.below(FEATURES.len())]).collect();
    writeln!(
        out,
        "{vin}\tSTK{n:07}\t{kind}\t{year}\t{make}\t{model}\t{trim}\t{body}\t{ext}\t{int}\t{mileage}\t\
         ${price}.00\t${msrp}\t{internet}\t{invoice}\t2.5L I4\tAutomatic\t{drive}\tGasoline\t{features}\t\
         https://img.example.com/{n}/1.jpg|https://img.example.com/{n}/2.jpg\t\
         {year} {make} {model} in great condition, one owner, clean history.\t2026-{month:02}-{day:02}\t{mpg}",
        vin = vin_for(n),
        kind = if used { "Used" } else { "New" },
        trim = ["LE", "SE", "XLE", "Limited", "Sport"][mix.below(5)],
        body = BODIES[mix.below(BODIES.len())],
        ext = COLORS[mix.below(COLORS.len())],
        int = COLORS[mix.below(COLORS.len())],
        msrp = price + 2_000,
        internet = if mix.below(2) == 0 {
            format!("${}", price - 500)
        } else {
            String::new()
        },
        invoice = price - 1_500,
        drive = ["FWD", "AWD", "4WD", "RWD"][mix.below(4)],
        features = features.join("|"),
        month = 1 + mix.below(11),
        day = 1 + mix.below(28),
        mpg = 20 + mix.below(20),
    )
}

/// The bench's second day over a lot of vehicles `0..n`: every other one repriced, the last
/// tenth gone, a tenth new.
pub fn next_day(n: u64) -> impl Iterator<Item = (u64, u32)> {
    let gone = n / 10;
    (0..n - gone)
        .map(|i| (i, u32::from(i % 2 == 0)))
        .chain((n..n + gone).map(|i| (i, 0)))
}

/// Writes a feed of `vehicles` (number, revision: [`feed_row`]) to `path`; returns its size.
pub fn write_feed(path: &PathBuf, vehicles: impl Iterator<Item = (u64, u32)>) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(FEED_HEADER.as_bytes())?;
    for (n, revision) in vehicles {
        feed_row(n, revision, &mut out)?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

async fn new_dealership(owner: &Client, name: &str) -> Result<DealershipId, BoxError> {
    owner
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    owner
        .execute_typed("DELETE FROM dealerships WHERE subdomain = $1", &[(&name, Type::TEXT)])
        .await?;
    let id: i64 = owner
        .query_typed(
            "INSERT INTO dealerships (name, subdomain) VALUES ($1, $1) RETURNING id",
            &[(&name, Type::TEXT)],
        )
        .await?[0]
        .get(0);
    Ok(DealershipId(id))
}

/// Imports a feed file our way; returns rows a second and a line of figures.
async fn import_file(app: &mut Client, dealership: DealershipId, path: &PathBuf) -> Result<(f64, String), BoxError> {
    let started = Instant::now();
    let tx = scope::begin(app, Scope::Tenant(dealership)).await?;
    let (applied, stats) = apply_feed(
        &tx,
        dealership,
        None,
        std::fs::File::open(path)?,
        ApplyOptions {
            confirmed: true,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(applied, Applied::Done);
    tx.commit().await?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = stats.tally.rows as f64 / seconds;
    Ok((
        rate,
        format!(
            "{rate:>8.0} rows/s  {seconds:>7.2} s  (added {}, updated {}, unchanged {}, deactivated {}, rejected {})",
            stats.added, stats.updated, stats.unchanged, stats.deactivated, stats.tally.rejected
        ),
    ))
}

fn parse_all(path: &PathBuf) -> Result<Vec<FeedVehicle>, BoxError> {
    let reader = FeedReader::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    Ok(reader
        .filter_map(|outcome| match outcome {
            RowOutcome::Vehicle { vehicle, .. } => Some(*vehicle),
            RowOutcome::Rejected { .. } => None,
        })
        .collect())
}

/// Seed 002's way: per row a SELECT by VIN, then an UPDATE or an INSERT; then deactivate.
async fn naive_import(app: &mut Client, dealership: DealershipId, path: &PathBuf) -> Result<f64, BoxError> {
    let started = Instant::now();
    let vehicles = parse_all(path)?;
    let tx = scope::begin(app, Scope::Tenant(dealership)).await?;
    for v in &vehicles {
        let price = v.price.map(|p| p.as_i64() as f64 / 100.0);
        let existing = tx
            .query_typed(
                "SELECT id FROM vehicles WHERE dealership_id = $1 AND vin = $2",
                &[(&dealership.0, Type::INT8), (&v.vin, Type::TEXT)],
            )
            .await?;
        let features = serde_json::to_string(&v.features)?;
        if let Some(row) = existing.first() {
            let id: i64 = row.get(0);
            tx.execute_typed(
                "UPDATE vehicles SET make = $2, model = $3, year = $4, \"trim\" = $5, mileage = $6,
                        price = $7::float8::numeric, features = $8::text::jsonb, exterior_color = $9,
                        is_active = true, last_seen = now()
                  WHERE id = $1",
                &[
                    (&id, Type::INT8),
                    (&v.make, Type::TEXT),
                    (&v.model, Type::TEXT),
                    (&v.year, Type::INT4),
                    (&v.trim, Type::TEXT),
                    (&v.mileage, Type::INT4),
                    (&price, Type::FLOAT8),
                    (&features, Type::TEXT),
                    (&v.exterior_color, Type::TEXT),
                ],
            )
            .await?;
        } else {
            tx.execute_typed(
                "INSERT INTO vehicles (dealership_id, vin, stock_number, make, model, year, \"trim\", mileage,
                                       price, features, exterior_color)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::float8::numeric, $10::text::jsonb, $11)",
                &[
                    (&dealership.0, Type::INT8),
                    (&v.vin, Type::TEXT),
                    (&v.stock_number, Type::TEXT),
                    (&v.make, Type::TEXT),
                    (&v.model, Type::TEXT),
                    (&v.year, Type::INT4),
                    (&v.trim, Type::TEXT),
                    (&v.mileage, Type::INT4),
                    (&price, Type::FLOAT8),
                    (&features, Type::TEXT),
                    (&v.exterior_color, Type::TEXT),
                ],
            )
            .await?;
        }
    }
    tx.execute_typed(
        "UPDATE vehicles SET is_active = false WHERE dealership_id = $1 AND is_active AND last_seen < now()",
        &[(&dealership.0, Type::INT8)],
    )
    .await?;
    tx.commit().await?;
    Ok(vehicles.len() as f64 / started.elapsed().as_secs_f64())
}

/// Binary COPY of the parsed rows into an unindexed table: no matching, no indexes, no logic.
async fn bare_copy(app: &mut Client, path: &PathBuf) -> Result<f64, BoxError> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    let started = Instant::now();
    let vehicles = parse_all(path)?;
    let tx = app.transaction().await?;
    tx.batch_execute(
        "CREATE TEMPORARY TABLE bare_copy (vin text, stock_number text, make text, model text, year int4,
             trim_level text, mileage int4, price int8, features text, description text) ON COMMIT DROP",
    )
    .await?;
    let sink = tx.copy_in("COPY bare_copy FROM STDIN (FORMAT binary)").await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::TEXT,
        Type::INT4,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = Box::pin(writer);
    for v in &vehicles {
        let price = v.price.map(|p| p.as_i64());
        let features = serde_json::to_string(&v.features)?;
        writer
            .as_mut()
            .write(&[
                &v.vin,
                &v.stock_number,
                &v.make,
                &v.model,
                &v.year,
                &v.trim,
                &v.mileage,
                &price,
                &features,
                &v.description,
            ])
            .await?;
    }
    writer.as_mut().finish().await?;
    tx.commit().await?;
    Ok(vehicles.len() as f64 / started.elapsed().as_secs_f64())
}

/// Search latency over the dealership's active inventory: a filtered free-text query beside
/// the naive `ILIKE` scan.
async fn search(app: &mut Client, dealership: DealershipId, iterations: usize) -> Result<(), BoxError> {
    let terms = [
        "leather sunroof",
        "navigation",
        "heated seats",
        "tow package",
        "apple carplay",
    ];
    let makes = ["Toyota", "Honda", "Ford", "Chevrolet", "Subaru"];
    let page = rylie_store::page::Page {
        page: 1,
        limit: 20,
        sort_column: "relevance",
        direction: rylie_store::page::Direction::Desc,
    };
    let mut ours = Vec::with_capacity(iterations);
    let mut typo = Vec::with_capacity(iterations);
    let mut selective = Vec::with_capacity(iterations);
    let mut naive = Vec::with_capacity(iterations / 10);
    let mut text_only = Vec::with_capacity(iterations / 10);
    for i in 0..iterations {
        let query = vehicles::VehicleQuery {
            text: Some(terms[i % terms.len()].to_owned()),
            make: Some(makes[i % makes.len()].to_owned()),
            price_max: Some(45_000.0),
            year_min: Some(2018),
            ..Default::default()
        };
        let tx = scope::begin(app, Scope::Tenant(dealership)).await?;
        let started = Instant::now();
        let (found, _) = vehicles::search(&tx, dealership, &query, &page).await?;
        ours.push(started.elapsed());
        assert!(!found.is_empty(), "the bench query finds vehicles");

        let structured = vehicles::VehicleQuery {
            make: Some(makes[i % makes.len()].to_owned()),
            model: Some(
                MAKES
                    .iter()
                    .find(|(m, _)| *m == makes[i % makes.len()])
                    .map_or("", |(_, ms)| ms[i % 4])
                    .to_owned(),
            ),
            year_min: Some(2022),
            price_max: Some(40_000.0),
            ..Default::default()
        };
        let started = Instant::now();
        vehicles::search(&tx, dealership, &structured, &page).await?;
        selective.push(started.elapsed());

        let misspelt = vehicles::VehicleQuery {
            make: Some("Toyta".to_owned()),
            model: Some("Camri".to_owned()),
            ..Default::default()
        };
        let started = Instant::now();
        vehicles::search(&tx, dealership, &misspelt, &page).await?;
        typo.push(started.elapsed());

        if i % 10 == 0 {
            let broad = vehicles::VehicleQuery {
                text: Some(terms[i % terms.len()].to_owned()),
                ..Default::default()
            };
            let started = Instant::now();
            vehicles::search(&tx, dealership, &broad, &page).await?;
            text_only.push(started.elapsed());

            let started = Instant::now();
            let pattern = format!("%{}%", terms[i % terms.len()].split(' ').next().unwrap_or_default());
            tx.query_typed(
                "SELECT id FROM vehicles WHERE dealership_id = $1 AND is_active AND lower(make) = lower($2)
                    AND price <= 45000 AND year >= 2018
                    AND (description ILIKE $3 OR features::text ILIKE $3 OR model ILIKE $3 OR \"trim\" ILIKE $3)
                  ORDER BY created_at DESC LIMIT 20",
                &[
                    (&dealership.0, Type::INT8),
                    (&makes[i % makes.len()], Type::TEXT),
                    (&pattern, Type::TEXT),
                ],
            )
            .await?;
            naive.push(started.elapsed());
        }
        tx.commit().await?;
    }
    println!("{}", crate::bench::summary("search: filtered free text (ours)", ours));
    println!(
        "{}",
        crate::bench::summary("search: make + model + year + price, no text", selective)
    );
    println!(
        "{}",
        crate::bench::summary("search: misspelt make + model (trigram)", typo)
    );
    println!("{}", crate::bench::summary("search: naive ILIKE scan", naive));
    println!(
        "{}",
        crate::bench::summary("search: free text alone, no filter", text_only)
    );
    Ok(())
}

/// Only the search, over the `bench-inventory` dealership of a previous full run.
pub async fn search_only(database_url: &str, search_iterations: usize) -> Result<(), BoxError> {
    let settings = ConnectSettings::from_url(database_url)?;
    let owner = settings.connect().await?;
    let mut app = settings.connect().await?;
    owner
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    let rows = owner
        .query_typed("SELECT id FROM dealerships WHERE subdomain = 'bench-inventory'", &[])
        .await?;
    let Some(row) = rows.first() else {
        return Err("no bench-inventory dealership: run the full bench once".into());
    };
    search(&mut app, DealershipId(row.get(0)), search_iterations).await
}

/// The whole inventory bench.
pub async fn run(
    database_url: &str,
    vehicles_count: u64,
    naive_rows: u64,
    search_iterations: usize,
) -> Result<(), BoxError> {
    let settings = ConnectSettings::from_url(database_url)?;
    let owner = settings.connect().await?;
    let mut app = settings.connect().await?;
    let dir = std::env::temp_dir().join(format!("rylie-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let n = vehicles_count;

    // Day 1: vehicles 0..n. Day 2: 0..0.9n (every other one changed) + n..1.1n (new).
    let day1 = dir.join("day1.tsv");
    let day2 = dir.join("day2.tsv");
    let bytes = write_feed(&day1, (0..n).map(|i| (i, 0)))?;
    write_feed(&day2, next_day(n))?;
    println!(
        "feed: {n} rows, {:.1} MB ({} bytes a row)",
        bytes as f64 / 1e6,
        bytes / n.max(1)
    );

    let ours = new_dealership(&owner, "bench-inventory").await?;
    let (_, line) = import_file(&mut app, ours, &day1).await?;
    println!("day 1 into an empty lot (ours)          {line}");
    // What autovacuum does between two daily feeds: statistics, and the space HOT updates use.
    owner.batch_execute("VACUUM (ANALYZE) vehicles").await?;
    let (ours_rate, line) = import_file(&mut app, ours, &day2).await?;
    println!("day 2 over {n} vehicles (ours)      {line}");
    let (_, line) = import_file(&mut app, ours, &day2).await?;
    println!("day 2 again, nothing changed (ours)     {line}");

    // The naive way, on the same scenario (optionally smaller: it is slow).
    let naive_n = naive_rows.min(n);
    let naive_day1 = dir.join("naive1.tsv");
    let naive_day2 = dir.join("naive2.tsv");
    write_feed(&naive_day1, (0..naive_n).map(|i| (i, 0)))?;
    write_feed(&naive_day2, next_day(naive_n))?;
    let naive = new_dealership(&owner, "bench-naive").await?;
    import_file(&mut app, naive, &naive_day1).await?;
    owner.batch_execute("VACUUM (ANALYZE) vehicles").await?;
    let naive_rate = naive_import(&mut app, naive, &naive_day2).await?;
    println!("day 2 over {naive_n} vehicles (naive: row by row) {naive_rate:>8.0} rows/s");

    // The staging-table way, on the same scenario as ours.
    let staged = new_dealership(&owner, "bench-staging").await?;
    import_file(&mut app, staged, &day1).await?;
    owner.batch_execute("VACUUM (ANALYZE) vehicles").await?;
    let staged_rate = copy_staging_import(&mut app, staged, &day2).await?;
    println!("day 2 over {n} vehicles (COPY + staging table) {staged_rate:>8.0} rows/s");

    let bare = bare_copy(&mut app, &day2).await?;
    println!("bare binary COPY into an unindexed table {bare:>8.0} rows/s (parse included)");
    println!(
        "ours: {:.1}x the naive way, {:.1}x the staging-table way, {:.0}% of a bare COPY",
        ours_rate / naive_rate,
        ours_rate / staged_rate,
        100.0 * ours_rate / bare
    );

    search(&mut app, ours, search_iterations).await?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The staging-table alternative: each batch sorted against the lot as ours is, its writes
/// binary-COPYed into a temporary table, then the same set-based statement reading from it. A temporary table is session state: behind RDS
/// Proxy it pins the client to one database connection.
async fn copy_staging_import(app: &mut Client, dealership: DealershipId, path: &PathBuf) -> Result<f64, BoxError> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    let started = Instant::now();
    let reader = FeedReader::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let tx = scope::begin(app, Scope::Tenant(dealership)).await?;
    tx.batch_execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS feed_stage (
             id int8, vin text, stock_number text, condition text, certified bool, make text, model text, year int4,
             trim_level text, body_style text, exterior_color text, interior_color text, mileage int4,
             engine text, transmission text, drivetrain text, fuel_type text, fuel_economy text,
             price int8, msrp int8, selling_price int8, internet_price int8, invoice_price int8,
             features text, description text, images text, video_url text, vdp_url text, in_stock_date date,
             status text, extra text, content_hash text) ON COMMIT DROP",
    )
    .await?;
    let types = [
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::BOOL,
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::DATE,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ];
    let statement = rylie_store::inventory::write_statement("SELECT * FROM feed_stage");
    let mut rows = 0u64;
    rylie_store::inventory::lock_dealership_inventory(&tx, dealership).await?;
    let mut lot = rylie_store::inventory::Lot::read(&tx, dealership).await?;
    let mut vehicles: Vec<FeedVehicle> = Vec::with_capacity(5_000);
    let mut outcomes = reader.peekable();
    while outcomes.peek().is_some() {
        vehicles.clear();
        for outcome in outcomes.by_ref().take(5_000) {
            if let RowOutcome::Vehicle { vehicle, .. } = outcome {
                vehicles.push(*vehicle);
            }
        }
        let (writes, _) = lot.sort(&vehicles);
        let sink = tx.copy_in("COPY feed_stage FROM STDIN (FORMAT binary)").await?;
        let mut writer = Box::pin(BinaryCopyInWriter::new(sink, &types));
        for &rylie_store::inventory::Write { id, vehicle: v } in &writes {
            let cents = |p: Option<rylie_domain::feed::Cents>| p.map(|p| p.as_i64());
            let (features, images, extra) = (
                serde_json::to_string(&v.features)?,
                serde_json::to_string(&v.images)?,
                serde_json::to_string(&v.extra)?,
            );
            let (condition, status) = (v.condition.map(|c| c.as_str()), v.status.as_str());
            let (price, msrp, selling, internet, invoice) = (
                cents(v.price),
                cents(v.msrp),
                cents(v.selling_price),
                cents(v.internet_price),
                cents(v.invoice_price),
            );
            writer
                .as_mut()
                .write(&[
                    &id,
                    &v.vin,
                    &v.stock_number,
                    &condition,
                    &v.certified,
                    &v.make,
                    &v.model,
                    &v.year,
                    &v.trim,
                    &v.body_style,
                    &v.exterior_color,
                    &v.interior_color,
                    &v.mileage,
                    &v.engine,
                    &v.transmission,
                    &v.drivetrain,
                    &v.fuel_type,
                    &v.fuel_economy,
                    &price,
                    &msrp,
                    &selling,
                    &internet,
                    &invoice,
                    &features,
                    &v.description,
                    &images,
                    &v.video_url,
                    &v.vdp_url,
                    &v.in_stock_date,
                    &status,
                    &extra,
                    &v.content_hash,
                ])
                .await?;
        }
        writer.as_mut().finish().await?;
        let ids: Vec<Option<i64>> = writes.iter().map(|w| w.id).collect();
        tx.query_typed(
            &statement,
            &[
                (&dealership.0, Type::INT8),
                (&None::<i64>, Type::INT8),
                (&ids, Type::INT8_ARRAY),
            ],
        )
        .await?;
        tx.batch_execute("TRUNCATE feed_stage").await?;
        rows += vehicles.len() as u64;
    }
    rylie_store::inventory::deactivate(&tx, dealership, &lot.unlisted()).await?;
    tx.commit().await?;
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
