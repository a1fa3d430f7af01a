//! Reading the inventory: the vehicle search staff, the widget and the assistant use.
//!
//! One statement with every filter written out as `($n IS NULL OR ...)`: the statement is
//! unnamed (see the crate docs), so PostgreSQL plans it with the actual values and drops the
//! conditions whose parameter is NULL.
//!
//! # Row-level security and indexes
//!
//! The tenant policy (migration 0004) is evaluated before the query's own conditions, and the
//! planner only turns a condition into an index condition when it is *leakproof*: equality
//! and ranges on integers and text are; `lower(make) = ...`, `search_vector @@ ...`, pg_trgm's
//! `%` and numeric comparisons are not (migration 0007 has the details). So the GIN indexes
//! cannot serve a search made under the policy, and the search is built on the one btree index
//! it can use, the active search index: `dealership_id`, `make_key`, `model_key`, `year` (make
//! and model in lower case, kept by the database), carrying each vehicle's id and a 512-bit
//! signature of its lexemes.
//!
//! * With free text, a first step reads that index alone (an index-only scan) and keeps the
//!   vehicles whose signature holds every bit of the query's required lexemes; only those rows
//!   are read from the table, where the exact match, the other filters, the rank and the total
//!   are computed. The signature never drops a match, and lets through few non-matches.
//! * The matches are ranked, counted (exactly) and cut to the page as narrow rows (ids); only
//!   the page's 20 vehicles are read whole.
//! * Make and model match exactly (case aside) first; only when that finds nothing are close
//!   spellings ("Toyta Camri") tried: pg_trgm similarity against the dealership's own
//!   distinct (make, model) pairs, read from the index, then an exact search for the close
//!   keys.

use chrono::{DateTime, NaiveDate, Utc};
use rylie_domain::DealershipId;
use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Row, Transaction, types::Type};

use crate::{Scope, StoreError, page::Page, scope};

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Vehicle {
    pub id: i64,
    pub vin: Option<String>,
    pub stock_number: Option<String>,
    pub condition: Option<String>,
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
    /// The customer-facing price; the others are the feed's own columns.
    pub price: Option<f64>,
    pub msrp: Option<f64>,
    pub selling_price: Option<f64>,
    pub internet_price: Option<f64>,
    pub features: serde_json::Value,
    pub description: Option<String>,
    pub images: serde_json::Value,
    pub video_url: Option<String>,
    pub vdp_url: Option<String>,
    pub in_stock_date: Option<NaiveDate>,
    pub status: String,
    pub is_active: bool,
    pub last_seen: DateTime<Utc>,
    pub extra: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A vehicle's columns as [`from_row`] reads them, with `$last_seen` for the last time a feed
/// listed it. The invoice price (what the dealer paid) is deliberately not read: it is never
/// shown.
macro_rules! columns {
    ($last_seen:literal) => {
        concat!(
            "id, vin, stock_number, condition, certified, make, model, year, \"trim\", body_style, \
             exterior_color, interior_color, mileage, engine, transmission, drivetrain, fuel_type, \
             fuel_economy, price::float8, msrp::float8, selling_price::float8, internet_price::float8, \
             features, description, images, video_url, vdp_url, in_stock_date, status, is_active, ",
            $last_seen,
            ", extra, created_at, updated_at"
        )
    };
}

/// An active vehicle was last seen when the last full feed was read: the importer does not
/// write the vehicles a feed left unchanged.
const COLUMNS: &str = columns!(
    "CASE WHEN is_active THEN greatest(last_seen, (SELECT max(started_at) FROM inventory_imports \
         WHERE dealership_id = $1 AND status = 'completed' AND full_feed)) ELSE last_seen END"
);
/// The columns of `rylie_vehicle_shortlist`'s rows, whose last_seen it has set as [`COLUMNS`] does.
const SHORTLIST_COLUMNS: &str = columns!("last_seen");
const COLUMN_COUNT: usize = 34;

fn from_row(row: &Row) -> Vehicle {
    Vehicle {
        id: row.get(0),
        vin: row.get(1),
        stock_number: row.get(2),
        condition: row.get(3),
        certified: row.get(4),
        make: row.get(5),
        model: row.get(6),
        year: row.get(7),
        trim: row.get(8),
        body_style: row.get(9),
        exterior_color: row.get(10),
        interior_color: row.get(11),
        mileage: row.get(12),
        engine: row.get(13),
        transmission: row.get(14),
        drivetrain: row.get(15),
        fuel_type: row.get(16),
        fuel_economy: row.get(17),
        price: row.get(18),
        msrp: row.get(19),
        selling_price: row.get(20),
        internet_price: row.get(21),
        features: row.get(22),
        description: row.get(23),
        images: row.get(24),
        video_url: row.get(25),
        vdp_url: row.get(26),
        in_stock_date: row.get(27),
        status: row.get(28),
        is_active: row.get(29),
        last_seen: row.get(30),
        extra: row.get(31),
        created_at: row.get(32),
        updated_at: row.get(33),
    }
}

/// Search filters; `None` means "any". Text filters are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VehicleQuery {
    /// Free text over make, model, trim, year, colours, body, fuel, drivetrain, features and
    /// description (web-search syntax: quoted phrases, `-word`, `or`).
    pub text: Option<String>,
    /// Exact or close (trigram) match.
    pub make: Option<String>,
    /// Exact or close (trigram) match.
    pub model: Option<String>,
    pub year_min: Option<i32>,
    pub year_max: Option<i32>,
    pub price_min: Option<f64>,
    pub price_max: Option<f64>,
    pub mileage_max: Option<i32>,
    pub body_style: Option<String>,
    pub fuel_type: Option<String>,
    pub drivetrain: Option<String>,
    /// new, used or certified.
    pub condition: Option<String>,
    /// available, pending, sold or in_transit.
    pub status: Option<String>,
    /// Inactive vehicles (gone from the feed) are left out unless asked for.
    pub include_inactive: bool,
}

/// Sort keys a caller may choose, mapped to expressions (never caller text in SQL).
/// `relevance` ranks by the free-text match (and falls back to newest without text).
pub const SORTABLE: &[(&str, &str)] = &[
    ("relevance", "relevance"),
    ("price", "price"),
    ("year", "year"),
    ("mileage", "mileage"),
    ("make", "make"),
    ("model", "model"),
    ("in_stock_date", "in_stock_date"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

/// One page of matching vehicles and the total number of matches. Make and model match exactly
/// (case aside) first; only when that finds nothing does the search try close spellings, so
/// the common case stays on the index and a typo still finds its cars.
pub async fn search(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    query: &VehicleQuery,
    page: &Page,
) -> Result<(Vec<Vehicle>, i64), StoreError> {
    let found = search_with(tx, dealership, query, page, Keys::Exact).await?;
    if found.1 > 0 || (query.make.is_none() && query.model.is_none()) {
        return Ok(found);
    }
    let (makes, models) = close_keys(tx, dealership, query)
        .await
        .map_err(StoreError::query("finding makes and models close to the query's"))?;
    if query.make.is_some() && makes.is_empty() || query.model.is_some() && models.is_empty() {
        return Ok(found);
    }
    search_with(tx, dealership, query, page, Keys::Close { makes, models }).await
}

/// How the search compares make and model.
enum Keys {
    /// `make_key = lower($3)`, `model_key = lower($4)`.
    Exact,
    /// `make_key = ANY(makes)`, `model_key = ANY(models)`: the keys close to the query's.
    Close { makes: Vec<String>, models: Vec<String> },
}

/// The dealership's makes and models (lower case) close to the query's (pg_trgm similarity,
/// `%`). Read as distinct (make, model) pairs from the active search index, one probe a pair
/// (a loose index scan: PostgreSQL 15 has no skip scan), so the cost grows with the size of the
/// dealer's range, not of its lot; with inactive vehicles included, a scan of the dealer's rows.
async fn close_keys(
    db: &impl GenericClient,
    dealership: DealershipId,
    query: &VehicleQuery,
) -> Result<(Vec<String>, Vec<String>), tokio_postgres::Error> {
    let pairs = if query.include_inactive {
        "pairs AS (SELECT DISTINCT make_key, model_key FROM vehicles WHERE dealership_id = $1)"
    } else {
        "RECURSIVE pairs(make_key, model_key) AS (
             (SELECT make_key, model_key FROM vehicles
               WHERE dealership_id = $1 AND is_active
               ORDER BY make_key, model_key LIMIT 1)
           UNION ALL
             SELECT n.make_key, n.model_key FROM pairs p CROSS JOIN LATERAL (
                 SELECT make_key, model_key FROM vehicles
                  WHERE dealership_id = $1 AND is_active AND (make_key, model_key) > (p.make_key, p.model_key)
                  ORDER BY make_key, model_key LIMIT 1) n)"
    };
    let sql = format!(
        "WITH {pairs}
         SELECT coalesce(array_agg(DISTINCT make_key) FILTER (WHERE make_key % lower($2::text)), '{{}}'),
                coalesce(array_agg(DISTINCT model_key) FILTER (WHERE model_key % lower($3::text)), '{{}}')
           FROM pairs
          WHERE ($2::text IS NULL OR make_key % lower($2::text))
            AND ($3::text IS NULL OR model_key % lower($3::text))"
    );
    let rows = db
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&query.make, Type::TEXT),
                (&query.model, Type::TEXT),
            ],
        )
        .await?;
    let row = rows.first().expect("an aggregate returns one row");
    Ok((row.get(0), row.get(1)))
}

/// The query's free text (`$2`) as a tsquery. Written out wherever it is used rather than
/// computed once in a CTE: the statement is planned with its parameters' values, so the
/// planner folds it, and the signature derived from it, into constants (a CTE read in two
/// places would be a join, evaluated per row).
const TSQUERY: &str = "websearch_to_tsquery('english', $2::text)";

impl Keys {
    /// The conditions on `make_key` and `model_key`.
    fn conditions(&self) -> (&'static str, &'static str) {
        match self {
            Keys::Exact => ("make_key = lower($3::text)", "model_key = lower($4::text)"),
            Keys::Close { .. } => ("make_key = ANY ($18::text[])", "model_key = ANY ($19::text[])"),
        }
    }
}

/// The active vehicles that can match, from the active search index alone (an index-only
/// scan): the leakproof conditions (dealership, activity, make and model keys, year), then the
/// lexeme signature of the free text (migration 0007). A `SELECT … FROM vehicles WHERE`
/// whose rows still have to pass [`row_conditions`].
fn candidate_conditions(keys: &Keys) -> String {
    let (make, model) = keys.conditions();
    format!(
        "dealership_id = $1 AND is_active
         AND ($3::text IS NULL OR {make})
         AND ($4::text IS NULL OR {model})
         AND ($5::int4 IS NULL OR year >= $5::int4)
         AND ($6::int4 IS NULL OR year <= $6::int4)
         AND (rylie_query_signature({TSQUERY}) IS NULL
              OR (search_signature & rylie_query_signature({TSQUERY})) = rylie_query_signature({TSQUERY}))"
    )
}

/// Every condition of the query on a vehicle's row, exactly. Leakproof conditions first in
/// the text (the planner orders them anyway): dealership, activity, make/model keys and year
/// are index conditions; the rest filter the rows left.
fn row_conditions(keys: &Keys) -> String {
    let (make, model) = keys.conditions();
    format!(
        "dealership_id = $1
         AND ($15::bool OR is_active)
         AND ($3::text IS NULL OR {make})
         AND ($4::text IS NULL OR {model})
         AND ($5::int4 IS NULL OR year >= $5::int4)
         AND ($6::int4 IS NULL OR year <= $6::int4)
         AND ($2::text IS NULL OR search_vector @@ {TSQUERY})
         AND ($7::float8 IS NULL OR price >= $7::float8::numeric)
         AND ($8::float8 IS NULL OR price <= $8::float8::numeric)
         AND ($9::int4 IS NULL OR mileage <= $9::int4)
         AND ($10::text IS NULL OR lower(body_style) = lower($10::text))
         AND ($11::text IS NULL OR lower(fuel_type) = lower($11::text))
         AND ($12::text IS NULL OR lower(drivetrain) = lower($12::text))
         AND ($13::text IS NULL OR condition = lower($13::text))
         AND ($14::text IS NULL OR status = lower($14::text))"
    )
}

/// A search statement's parameters, numbered as [`candidate_conditions`] and
/// [`row_conditions`] use them; `$16` and `$17` are the page's limit and offset.
fn parameters<'a>(
    dealership: &'a i64,
    query: &'a VehicleQuery,
    limit: &'a i64,
    offset: &'a i64,
    keys: &'a Keys,
) -> Vec<(&'a (dyn tokio_postgres::types::ToSql + Sync), Type)> {
    let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = vec![
        (dealership, Type::INT8),
        (&query.text, Type::TEXT),
        (&query.make, Type::TEXT),
        (&query.model, Type::TEXT),
        (&query.year_min, Type::INT4),
        (&query.year_max, Type::INT4),
        (&query.price_min, Type::FLOAT8),
        (&query.price_max, Type::FLOAT8),
        (&query.mileage_max, Type::INT4),
        (&query.body_style, Type::TEXT),
        (&query.fuel_type, Type::TEXT),
        (&query.drivetrain, Type::TEXT),
        (&query.condition, Type::TEXT),
        (&query.status, Type::TEXT),
        (&query.include_inactive, Type::BOOL),
        (limit, Type::INT8),
        (offset, Type::INT8),
    ];
    if let Keys::Close { makes, models } = keys {
        params.push((makes, Type::TEXT_ARRAY));
        params.push((models, Type::TEXT_ARRAY));
    }
    params
}

/// The search with make and model compared as `keys` says.
async fn search_with(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    query: &VehicleQuery,
    page: &Page,
    keys: Keys,
) -> Result<(Vec<Vehicle>, i64), StoreError> {
    let order = match page.sort_column {
        "relevance" => format!("ts_rank_cd(search_vector, {TSQUERY}) DESC, created_at DESC"),
        column => format!("{column} {} NULLS LAST", page.direction),
    };
    // With free text over the active vehicles, only the candidates from the index are read
    // from the table, where every condition is applied again, exactly.
    let (candidates, among_candidates) = if query.text.is_some() && !query.include_inactive {
        (
            format!(
                "candidates AS (SELECT id FROM vehicles WHERE {}),",
                candidate_conditions(&keys)
            ),
            "id = ANY (ARRAY(SELECT id FROM candidates)) AND",
        )
    } else {
        (String::new(), "")
    };
    // The matches are ranked, counted and cut to the page as ids (narrow rows: sorting and
    // counting thousands of whole vehicles, descriptions and JSON included, cost more than
    // finding them); only the page's vehicles are then read whole.
    let sql = format!(
        "WITH {candidates}
         page AS (
             SELECT id, count(*) OVER () AS total, row_number() OVER (ORDER BY {order}, id) AS position
               FROM vehicles
              WHERE {among_candidates} {conditions}
              ORDER BY position
              LIMIT $16 OFFSET $17)
         SELECT {COLUMNS}, page.total
           FROM page JOIN vehicles USING (id)
          WHERE dealership_id = $1
          ORDER BY page.position",
        conditions = row_conditions(&keys),
    );
    let offset = page.offset();
    let rows = tx
        .query_typed(&sql, &parameters(&dealership.0, query, &page.limit, &offset, &keys))
        .await
        .map_err(StoreError::query("searching vehicles"))?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(COLUMN_COUNT));
    Ok((rows.iter().map(from_row).collect(), total))
}

/// The order of a [`shortlist`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortlistOrder {
    /// Newest model year first: ordered on the index entries alone, so the table is read only
    /// until the shortlist is full.
    #[default]
    Newest,
    /// Lowest price first: every match is read to find them.
    LowestPrice,
}

/// A shortlist and the database round trips it took.
#[derive(Debug, Clone)]
pub struct Shortlist {
    pub vehicles: Vec<Vehicle>,
    pub round_trips: u32,
}

/// The first `limit` active vehicles matching `query` (of any status; `status` and
/// `include_inactive` are not read), without a total: what the assistant shows the customer.
/// Each try is a transaction of its own in one round trip: the exact search, then, only when
/// it finds nothing and the query names a make or model, the close spellings (in a scoped
/// transaction, [`scope::pipelined`]) and a search for them.
///
/// Unlike [`search`], whose page is ranked over every match and counted, the candidates
/// come from the active search index alone, are ordered there (newest first), and are read
/// from the table one by one until `limit` pass every condition: for a make with 800 vehicles
/// at the dealership, 5 rows read instead of 800. Free text narrows the candidates by its
/// signature and then must match exactly; it does not rank them. The statement is a database
/// function, planned once per connection (migration 0012).
pub async fn shortlist(
    client: &Client,
    dealership: DealershipId,
    query: &VehicleQuery,
    order: ShortlistOrder,
    limit: i64,
) -> Result<Shortlist, StoreError> {
    let query = VehicleQuery {
        include_inactive: false,
        ..query.clone()
    };
    let found = shortlist_with(client, dealership, &query, order, limit, Keys::Exact)
        .await
        .map_err(StoreError::query("shortlisting vehicles"))?;
    if !found.is_empty() || (query.make.is_none() && query.model.is_none()) {
        return Ok(Shortlist {
            vehicles: found,
            round_trips: 1,
        });
    }
    let (makes, models) = scope::pipelined(
        client,
        Scope::Tenant(dealership),
        close_keys(client, dealership, &query),
    )
    .await
    .and_then(|keys| keys)
    .map_err(StoreError::query("finding makes and models close to the query's"))?;
    if query.make.is_some() && makes.is_empty() || query.model.is_some() && models.is_empty() {
        return Ok(Shortlist {
            vehicles: found,
            round_trips: 2,
        });
    }
    let keys = Keys::Close { makes, models };
    let found = shortlist_with(client, dealership, &query, order, limit, keys)
        .await
        .map_err(StoreError::query("shortlisting vehicles by close spellings"))?;
    Ok(Shortlist {
        vehicles: found,
        round_trips: 3,
    })
}

/// One shortlist statement: `rylie_vehicle_shortlist` (migration 0012), whose plans the
/// database keeps and which scopes its own transaction to the dealership, with make and model
/// compared as `keys` says.
async fn shortlist_with(
    client: &Client,
    dealership: DealershipId,
    query: &VehicleQuery,
    order: ShortlistOrder,
    limit: i64,
    keys: Keys,
) -> Result<Vec<Vehicle>, tokio_postgres::Error> {
    // The keys are the database's lower case of the names, as make_key and model_key are.
    let (makes, models) = match &keys {
        Keys::Exact => (
            "CASE WHEN $3::text IS NOT NULL THEN ARRAY[lower($3::text)] END",
            "CASE WHEN $4::text IS NOT NULL THEN ARRAY[lower($4::text)] END",
        ),
        Keys::Close { .. } => ("$18::text[]", "$19::text[]"),
    };
    let lowest_price = order == ShortlistOrder::LowestPrice;
    // Numbered as every search statement is ([`parameters`]); status, activity and offset are
    // not read.
    let sql = format!(
        "SELECT {SHORTLIST_COLUMNS}
           FROM rylie_vehicle_shortlist($1, $2, {makes}, {models}, $5, $6, $7::float8::numeric, $8::float8::numeric,
                                        $9, $10, $11, $12, $13, {lowest_price}, $16::int4) WITH ORDINALITY AS shortlisted
          ORDER BY shortlisted.ordinality"
    );
    let rows = client
        .query_typed(&sql, &parameters(&dealership.0, query, &limit, &0, &keys))
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// One vehicle by VIN (active or not), within the dealership.
pub async fn get_by_vin(
    db: &impl GenericClient,
    dealership: DealershipId,
    vin: &str,
) -> Result<Option<Vehicle>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM vehicles WHERE dealership_id = $1 AND vin = $2");
    let rows = db
        .query_typed(&sql, &[(&dealership.0, Type::INT8), (&vin, Type::TEXT)])
        .await
        .map_err(StoreError::query("reading a vehicle"))?;
    Ok(rows.first().map(from_row))
}

/// The id of the dealership's vehicle in stock (active) with this VIN, else with this stock
/// number: what a lead's "vehicle of interest" is linked to.
pub async fn find_in_stock(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    vin: Option<&str>,
    stock_number: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    // Two probes, each on its own index, rather than one OR that no index serves.
    for (sql, key) in [
        (
            "SELECT id FROM vehicles WHERE vin = upper($2) AND dealership_id = $1 AND is_active",
            vin,
        ),
        (
            "SELECT id FROM vehicles WHERE stock_number = $2 AND dealership_id = $1 AND is_active \
             ORDER BY id DESC LIMIT 1",
            stock_number,
        ),
    ] {
        let Some(key) = key else { continue };
        let rows = tx
            .query_typed(sql, &[(&dealership.0, Type::INT8), (&key, Type::TEXT)])
            .await
            .map_err(StoreError::query("finding a vehicle in stock"))?;
        if let Some(row) = rows.first() {
            return Ok(Some(row.get(0)));
        }
    }
    Ok(None)
}
