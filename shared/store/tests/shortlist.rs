//! The assistant's shortlist (`vehicles::shortlist`, migration 0012's function): what the
//! customer is shown, in which order, from which dealership, in how many round trips.

use rylie_domain::DealershipId;
use rylie_store::{
    Client, Scope, Type, scope,
    vehicles::{self, ShortlistOrder, VehicleQuery},
};
use rylie_testkit::TestDb;

/// Alpha's lot, and one newer Civic at bravo that alpha must never see.
async fn two_lots(db: &TestDb) -> (DealershipId, DealershipId) {
    let owner = db.platform_owner().await;
    let alpha = rylie_testkit::add_dealership(&owner, "alpha").await;
    let bravo = rylie_testkit::add_dealership(&owner, "bravo").await;
    owner
        .query_typed(
            "INSERT INTO vehicles (dealership_id, vin, stock_number, make, model, year, price, body_style,
                                   features, is_active, last_seen)
             VALUES ($1, '1HGCV1F30JA000001', 'A1', 'Honda', 'Civic', 2019, 18000, 'Sedan', '[]', true, now() - interval '3 days'),
                    ($1, '1HGCV1F30JA000002', 'A2', 'Honda', 'Civic', 2023, 27000, 'Sedan', '[\"Sunroof\"]', true, now() - interval '3 days'),
                    ($1, '1HGCV1F30JA000003', 'A3', 'Honda', 'Accord', 2021, 22000, 'Sedan', '[]', true, now() - interval '3 days'),
                    ($1, '1HGCV1F30JA000004', 'A4', 'Honda', 'CR-V', 2024, 35000, 'SUV', '[]', false, now() - interval '9 days'),
                    ($1, '4T1BF1FK5CU000005', 'A5', 'Toyota', 'Camry', 2022, 20000, 'Sedan', '[]', true, now() - interval '3 days'),
                    ($2, '1HGCV1F30JA000006', 'B1', 'Honda', 'Civic', 2025, 15000, 'Sedan', '[\"Sunroof\"]', true, now())",
            &[(&alpha, Type::INT8), (&bravo, Type::INT8)],
        )
        .await
        .unwrap();
    // Yesterday's full feed listed alpha's active vehicles without writing them.
    owner
        .query_typed(
            "INSERT INTO inventory_imports (dealership_id, source, status, full_feed, started_at)
             VALUES ($1, 'cli', 'completed', true, now() - interval '1 day')",
            &[(&alpha, Type::INT8)],
        )
        .await
        .unwrap();
    (DealershipId(alpha), DealershipId(bravo))
}

async fn stock_numbers(
    app: &Client,
    dealership: DealershipId,
    query: &VehicleQuery,
    order: ShortlistOrder,
    limit: i64,
) -> (Vec<String>, u32) {
    let shortlist = vehicles::shortlist(app, dealership, query, order, limit).await.unwrap();
    let stock = shortlist
        .vehicles
        .iter()
        .map(|vehicle| vehicle.stock_number.clone().unwrap())
        .collect();
    (stock, shortlist.round_trips)
}

/// Twelve 2024 vehicles of `make` and `model` at 60,001-60,012, stock numbers `prefix`1-12.
async fn add_twelve_over_budget(db: &TestDb, dealership: DealershipId, prefix: &str, make: &str, model: &str) {
    db.platform_owner()
        .await
        .query_typed(
            "INSERT INTO vehicles (dealership_id, stock_number, make, model, year, price, features)
             SELECT $1, $2 || n, $3, $4, 2024, 60000 + n, '[]' FROM generate_series(1, 12) n",
            &[
                (&dealership.0, Type::INT8),
                (&prefix, Type::TEXT),
                (&make, Type::TEXT),
                (&model, Type::TEXT),
            ],
        )
        .await
        .unwrap();
}

fn honda() -> VehicleQuery {
    VehicleQuery {
        make: Some("honda".into()),
        ..VehicleQuery::default()
    }
}

#[tokio::test]
async fn newest_first_active_only_own_lot_only_in_one_round_trip() {
    let db = TestDb::migrated().await;
    let (alpha, bravo) = two_lots(&db).await;
    let app = db.app_settings().connect().await.unwrap();

    let (found, round_trips) = stock_numbers(&app, alpha, &honda(), ShortlistOrder::Newest, 5).await;
    assert_eq!(
        found,
        ["A2", "A3", "A1"],
        "the inactive CR-V and bravo's Civic are not shown"
    );
    assert_eq!(round_trips, 1);
    let (found, _) = stock_numbers(&app, alpha, &honda(), ShortlistOrder::Newest, 1).await;
    assert_eq!(found, ["A2"]);
    let (found, _) = stock_numbers(&app, bravo, &honda(), ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["B1"]);
    let (found, _) = stock_numbers(&app, alpha, &VehicleQuery::default(), ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["A2", "A5", "A3", "A1"]);
}

#[tokio::test]
async fn lowest_price_first_and_every_condition_on_the_table_applies() {
    let db = TestDb::migrated().await;
    let (alpha, _) = two_lots(&db).await;
    let app = db.app_settings().connect().await.unwrap();

    let (found, _) = stock_numbers(&app, alpha, &honda(), ShortlistOrder::LowestPrice, 5).await;
    assert_eq!(found, ["A1", "A3", "A2"]);
    let (found, _) = stock_numbers(&app, alpha, &honda(), ShortlistOrder::LowestPrice, 2).await;
    assert_eq!(found, ["A1", "A3"]);

    let under = VehicleQuery {
        price_max: Some(25_000.0),
        ..honda()
    };
    let (found, _) = stock_numbers(&app, alpha, &under, ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["A3", "A1"]);
    let (found, _) = stock_numbers(&app, alpha, &under, ShortlistOrder::Newest, 1).await;
    assert_eq!(
        found,
        ["A3"],
        "the newest Civic is over the budget: the next candidate is read"
    );

    let sunroof = VehicleQuery {
        text: Some("sunroof".into()),
        ..VehicleQuery::default()
    };
    let (found, _) = stock_numbers(&app, alpha, &sunroof, ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["A2"]);

    let civics = VehicleQuery {
        model: Some("Civic".into()),
        year_min: Some(2020),
        ..VehicleQuery::default()
    };
    let (found, _) = stock_numbers(&app, alpha, &civics, ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["A2"]);

    let suv = VehicleQuery {
        body_style: Some("suv".into()),
        ..VehicleQuery::default()
    };
    let (found, _) = stock_numbers(&app, alpha, &suv, ShortlistOrder::Newest, 5).await;
    assert!(found.is_empty(), "the only SUV is inactive: {found:?}");
}

#[tokio::test]
async fn a_misspelt_make_is_found_by_its_close_spelling_in_two_more_round_trips() {
    let db = TestDb::migrated().await;
    let (alpha, _) = two_lots(&db).await;
    let app = db.app_settings().connect().await.unwrap();

    let typo = VehicleQuery {
        make: Some("Hondda".into()),
        model: Some("Civik".into()),
        ..VehicleQuery::default()
    };
    let (found, round_trips) = stock_numbers(&app, alpha, &typo, ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["A2", "A1"]);
    assert_eq!(round_trips, 3);

    let nothing_close = VehicleQuery {
        make: Some("Ferrari".into()),
        ..VehicleQuery::default()
    };
    let (found, round_trips) = stock_numbers(&app, alpha, &nothing_close, ShortlistOrder::Newest, 5).await;
    assert!(found.is_empty());
    assert_eq!(round_trips, 2);
}

#[tokio::test]
async fn a_shortlisted_vehicle_reads_as_the_vehicle_read_by_vin_does() {
    let db = TestDb::migrated().await;
    let (alpha, _) = two_lots(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();

    let shortlist = vehicles::shortlist(&app, alpha, &honda(), ShortlistOrder::Newest, 5)
        .await
        .unwrap();
    let tx = scope::begin(&mut app, Scope::Tenant(alpha)).await.unwrap();
    for shown in &shortlist.vehicles {
        let read = vehicles::get_by_vin(&tx, alpha, shown.vin.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(shown, &read);
        assert!(
            read.last_seen > chrono::Utc::now() - chrono::Duration::days(2),
            "an active vehicle was seen by yesterday's full feed: {}",
            read.last_seen
        );
    }
}

#[tokio::test]
async fn when_the_first_candidates_all_fail_a_condition_the_rest_are_read() {
    let db = TestDb::migrated().await;
    let (alpha, _) = two_lots(&db).await;
    // Twelve newer Hondas over the budget: more than the first pass reads for a shortlist of one.
    add_twelve_over_budget(&db, alpha, "N", "Honda", "Pilot").await;
    let app = db.app_settings().connect().await.unwrap();
    let under = VehicleQuery {
        price_max: Some(25_000.0),
        ..honda()
    };
    let (found, _) = stock_numbers(&app, alpha, &under, ShortlistOrder::Newest, 1).await;
    assert_eq!(found, ["A3"]);
    let (found, _) = stock_numbers(&app, alpha, &under, ShortlistOrder::Newest, 5).await;
    assert_eq!(found, ["A3", "A1"]);
    let (found, _) = stock_numbers(&app, alpha, &honda(), ShortlistOrder::Newest, 2).await;
    assert_eq!(found, ["N12", "N11"]);
}

/// Several makes (a misspelling close to more than one) are each read newest first and merged,
/// in the first pass and in the second.
#[tokio::test]
async fn several_makes_are_merged_newest_first() {
    let db = TestDb::migrated().await;
    let (alpha, _) = two_lots(&db).await;
    // Twelve newer Toyotas over the budget: the first pass for a shortlist of one reads them.
    add_twelve_over_budget(&db, alpha, "T", "Toyota", "Tundra").await;
    let app = db.app_settings().connect().await.unwrap();
    // The function scopes its own statement, as `vehicles::shortlist` calls it.
    let shortlist = async |makes: &[&str], price_max: Option<f64>, limit: i32| -> Vec<String> {
        let rows = app
            .query_typed(
                "SELECT stock_number FROM rylie_vehicle_shortlist($1, NULL, $2, NULL, NULL, NULL, NULL,
                             $3::float8::numeric, NULL, NULL, NULL, NULL, NULL, false, $4)",
                &[
                    (&alpha.0, Type::INT8),
                    (&makes, Type::TEXT_ARRAY),
                    (&price_max, Type::FLOAT8),
                    (&limit, Type::INT4),
                ],
            )
            .await
            .unwrap();
        rows.iter().map(|row| row.get(0)).collect()
    };
    assert_eq!(shortlist(&["honda", "toyota"], None, 3).await, ["T12", "T11", "T10"]);
    assert_eq!(
        shortlist(&["toyota", "honda"], Some(25_000.0), 5).await,
        ["A5", "A3", "A1"]
    );
    assert_eq!(
        shortlist(&["honda", "toyota"], Some(25_000.0), 1).await,
        ["A5"],
        "the first pass read eight Tundras over the budget: the second reads the rest"
    );
}
