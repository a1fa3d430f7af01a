//! Applying feeds to a real database: counts, idempotence, deactivation and its guard,
//! tenant isolation.

use rylie_app::inventory::import::{Applied, ApplyOptions, ImportStats, apply_feed};
use rylie_domain::DealershipId;
use rylie_store::{Client, Scope, Type, scope};
use rylie_testkit::TestDb;

const HEADER: &str = "VIN\tStock\tMake\tModel\tYear\tPrice\tMileage\n";

/// Valid VINs (check digit correct) for the tests' rows.
const VINS: [&str; 6] = [
    "1HGCM82633A004352",
    "1M8GDM9AXKP042788",
    "5YJSA1DN2DFP14705",
    "1FTFW1ET5DFC10312",
    "WBA3A5C51DF358556",
    "2T1BURHE0JC014704",
];

fn row(vin: &str, stock: &str, price: u32) -> String {
    format!("{vin}\t{stock}\tHonda\tAccord\t2023\t${price}\t12,345 mi\n")
}

fn feed(rows: &[String]) -> String {
    let mut text = HEADER.to_owned();
    for r in rows {
        text.push_str(r);
    }
    text
}

async fn dealerships(db: &TestDb) -> (DealershipId, DealershipId) {
    let owner = db.platform_owner().await;
    (
        DealershipId(rylie_testkit::add_dealership(&owner, "alpha").await),
        DealershipId(rylie_testkit::add_dealership(&owner, "bravo").await),
    )
}

async fn import(
    app: &mut Client,
    dealership: DealershipId,
    text: &str,
    options: ApplyOptions,
) -> (Applied, ImportStats) {
    let tx = scope::begin(app, Scope::Tenant(dealership)).await.unwrap();
    let (applied, stats) = apply_feed(
        &tx,
        dealership,
        None,
        std::io::Cursor::new(text.to_owned().into_bytes()),
        options,
    )
    .await
    .unwrap();
    if applied == Applied::Done {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
    (applied, stats)
}

/// (vin or stock, active, price) of every vehicle of the dealership, ordered.
async fn lot(app: &mut Client, dealership: DealershipId) -> Vec<(String, bool, Option<f64>)> {
    let tx = scope::begin(app, Scope::Tenant(dealership)).await.unwrap();
    let rows = tx
        .query_typed(
            "SELECT coalesce(vin, stock_number), is_active, price::float8 FROM vehicles ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}

fn counts(s: &ImportStats) -> [u64; 6] {
    [
        s.added,
        s.updated,
        s.unchanged,
        s.reactivated,
        s.deactivated,
        s.tally.rejected,
    ]
}

#[tokio::test]
async fn a_first_feed_adds_and_the_same_feed_again_changes_nothing() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let text = feed(&[
        row(VINS[0], "A1", 20000),
        row(VINS[1], "A2", 21000),
        row(VINS[2], "A3", 22000),
    ]);

    let (applied, first) = import(&mut app, alpha, &text, ApplyOptions::default()).await;
    assert_eq!(applied, Applied::Done);
    assert_eq!(counts(&first), [3, 0, 0, 0, 0, 0]);
    let before = lot(&mut app, alpha).await;
    assert_eq!(before[0], (VINS[0].to_owned(), true, Some(20000.0)));

    let (_, second) = import(&mut app, alpha, &text, ApplyOptions::default()).await;
    assert_eq!(counts(&second), [0, 0, 3, 0, 0, 0]);
    assert_eq!(lot(&mut app, alpha).await, before);
}

#[tokio::test]
async fn changed_rows_update_missing_ones_deactivate_and_returning_ones_reactivate() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let all: Vec<String> = (0..4).map(|i| row(VINS[i], &format!("A{i}"), 20000)).collect();
    import(&mut app, alpha, &feed(&all), ApplyOptions::default()).await;

    // VIN 3 is gone, VIN 0 changed price, VIN 4 is new.
    let next = [
        all[0].replace("20000", "19500"),
        all[1].clone(),
        all[2].clone(),
        row(VINS[4], "A4", 30000),
    ];
    let (_, stats) = import(&mut app, alpha, &feed(&next), ApplyOptions::default()).await;
    assert_eq!(counts(&stats), [1, 1, 2, 0, 1, 0]);
    let lot_now = lot(&mut app, alpha).await;
    assert!(lot_now.contains(&(VINS[0].to_owned(), true, Some(19500.0))));
    assert!(
        lot_now.contains(&(VINS[3].to_owned(), false, Some(20000.0))),
        "deactivated, not deleted"
    );

    // VIN 3 comes back unchanged: reactivated.
    let back = [next.to_vec(), vec![all[3].clone()]].concat();
    let (_, stats) = import(&mut app, alpha, &feed(&back), ApplyOptions::default()).await;
    assert_eq!(counts(&stats), [0, 0, 4, 1, 0, 0]);
    assert!(lot(&mut app, alpha).await.iter().all(|(_, active, _)| *active));
}

#[tokio::test]
async fn a_feed_that_would_empty_the_lot_is_held_until_confirmed() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let all: Vec<String> = (0..6).map(|i| row(VINS[i], &format!("A{i}"), 20000)).collect();
    import(&mut app, alpha, &feed(&all), ApplyOptions::default()).await;
    let before = lot(&mut app, alpha).await;

    // A truncated file: 2 of 6 rows, 4 would go (67% > 50%).
    let truncated = feed(&all[..2]);
    let (applied, stats) = import(&mut app, alpha, &truncated, ApplyOptions::default()).await;
    assert_eq!(applied, Applied::NeedsConfirmation);
    assert_eq!(stats.deactivated, 4);
    assert_eq!(lot(&mut app, alpha).await, before, "nothing applied");

    let confirmed = ApplyOptions {
        confirmed: true,
        ..Default::default()
    };
    let (applied, stats) = import(&mut app, alpha, &truncated, confirmed).await;
    assert_eq!(applied, Applied::Done);
    assert_eq!(stats.deactivated, 4);
    assert_eq!(
        lot(&mut app, alpha)
            .await
            .iter()
            .filter(|(_, active, _)| *active)
            .count(),
        2
    );

    // A partial feed never deactivates.
    let partial = ApplyOptions {
        full_feed: false,
        ..Default::default()
    };
    let (_, stats) = import(&mut app, alpha, &feed(&all[5..]), partial).await;
    assert_eq!(counts(&stats), [0, 0, 0, 1, 0, 0]);
}

#[tokio::test]
async fn one_dealers_feed_never_touches_another_dealers_vehicles() {
    let db = TestDb::migrated().await;
    let (alpha, bravo) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let same_vin = feed(&[row(VINS[0], "X1", 20000)]);
    import(&mut app, alpha, &same_vin, ApplyOptions::default()).await;
    let (_, stats) = import(
        &mut app,
        bravo,
        &same_vin.replace("20000", "25000"),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(stats.added, 1, "the same VIN at two dealerships is two vehicles");

    // Bravo's next feed lists nothing of Alpha's: Alpha keeps its vehicle, price and all.
    import(
        &mut app,
        bravo,
        &feed(&[row(VINS[1], "X2", 1000)]),
        ApplyOptions {
            confirmed: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        lot(&mut app, alpha).await,
        vec![(VINS[0].to_owned(), true, Some(20000.0))]
    );
    assert_eq!(
        lot(&mut app, bravo).await,
        vec![
            (VINS[0].to_owned(), false, Some(25000.0)),
            (VINS[1].to_owned(), true, Some(1000.0))
        ]
    );
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_the_good_rows_are_kept() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let text = feed(&[
        row(VINS[0], "A1", 20000),
        format!("{}\tA2\t\tAccord\t2023\t$1\t1\n", VINS[1]), // no make: line 3
        row(VINS[2], "A3", 22000),
        format!("{}\tA4\tHonda\tAccord\tlast year\t$1\t1\n", VINS[3]), // bad year: line 5
    ]);
    let (_, stats) = import(&mut app, alpha, &text, ApplyOptions::default()).await;
    assert_eq!((stats.tally.rows, stats.added, stats.tally.rejected), (4, 2, 2));
    let lines: Vec<(u64, Option<&str>)> = stats
        .tally
        .rejections
        .iter()
        .map(|i| (i.line, i.column.as_deref()))
        .collect();
    assert_eq!(lines, vec![(3, Some("Make")), (5, Some("Year"))]);
}

#[tokio::test]
async fn rows_without_a_vin_are_kept_by_stock_number_and_a_repeated_vehicle_keeps_its_last_row() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let text = feed(&[
        row("", "S-100", 15000),
        row(VINS[0], "A1", 20000),
        row(VINS[0], "A1", 20500), // the same car again: this row wins
    ]);
    let (_, stats) = import(&mut app, alpha, &text, ApplyOptions::default()).await;
    assert_eq!((stats.added, stats.duplicates), (2, 1));
    assert_eq!(
        lot(&mut app, alpha).await,
        vec![
            (VINS[0].to_owned(), true, Some(20500.0)),
            ("S-100".to_owned(), true, Some(15000.0))
        ]
    );

    let (_, again) = import(
        &mut app,
        alpha,
        &feed(&[row("", "S-100", 14000), row(VINS[0], "A1", 20500)]),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(
        counts(&again),
        [0, 1, 1, 0, 0, 0],
        "the stock-number row is updated in place"
    );
}

#[tokio::test]
async fn a_dry_run_shows_mapping_rejections_and_vehicles_and_writes_nothing() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let text = feed(&[
        row(VINS[0], "A1", 20000),
        format!("{}\tA2\tHonda\t\t2023\t$1\t1\n", VINS[1]), // no model: line 3
    ]);
    let preview = rylie_app::inventory::import::preview_feed(std::io::Cursor::new(text), 5).unwrap();
    assert_eq!(
        (preview.tally.rows, preview.vehicles, preview.tally.rejected),
        (2, 1, 1)
    );
    assert_eq!(preview.tally.rejections[0].line, 3);
    assert_eq!(preview.first_vehicles[0].vin.as_deref(), Some(VINS[0]));
    assert_eq!(
        preview.mapping.header_for(rylie_domain::feed::Field::Mileage),
        Some("Mileage")
    );
    assert!(lot(&mut app, alpha).await.is_empty());
}

#[tokio::test]
async fn a_vehicle_named_again_in_a_later_batch_keeps_its_last_row_and_is_counted_once() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    import(
        &mut app,
        alpha,
        &feed(&[row(VINS[0], "A1", 20000)]),
        ApplyOptions::default(),
    )
    .await;

    // One row a batch: every repeat meets what an earlier batch of the same import wrote.
    let one_row_batches = ApplyOptions {
        batch_size: 1,
        ..Default::default()
    };
    let (_, stats) = import(
        &mut app,
        alpha,
        &feed(&[
            row(VINS[0], "A1", 20000), // stored, unchanged
            row(VINS[1], "A2", 21000), // new
            row("", "S-7", 9000),      // new, no VIN
            row(VINS[1], "A2", 21500), // the new one again, changed: this row wins
            row(VINS[0], "A1", 19000), // the stored one again, changed: this row wins
            row("", "S-7", 9000),      // the no-VIN one again, as it was
        ]),
        one_row_batches,
    )
    .await;
    assert_eq!(counts(&stats), [2, 0, 1, 0, 0, 0]);
    assert_eq!(stats.duplicates, 3);
    assert_eq!(
        lot(&mut app, alpha).await,
        vec![
            (VINS[0].to_owned(), true, Some(19000.0)),
            (VINS[1].to_owned(), true, Some(21500.0)),
            ("S-7".to_owned(), true, Some(9000.0)),
        ]
    );
}

#[tokio::test]
async fn the_importer_computes_the_search_columns_exactly_as_the_trigger_does() {
    let db = TestDb::migrated().await;
    let (alpha, _) = dealerships(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    import(
        &mut app,
        alpha,
        &feed(&[row(VINS[0], "A1", 20000), row("", "S-1", 9000)]),
        ApplyOptions::default(),
    )
    .await;
    let tx = scope::begin(&mut app, Scope::Tenant(alpha)).await.unwrap();
    // The same vehicle written by a plain INSERT goes through the insert trigger.
    tx.query_typed(
        "INSERT INTO vehicles (dealership_id, vin, stock_number, make, model, year, price, mileage)
         VALUES ($1, $2, 'A9', 'Honda', 'Accord', 2023, 20000, 12345)",
        &[(&alpha.0, Type::INT8), (&VINS[1], Type::TEXT)],
    )
    .await
    .unwrap();
    let rows = tx
        .query_typed(
            "SELECT count(*) FILTER (WHERE search_vector IS NOT NULL),
                    count(*) FILTER (WHERE search_vector = rylie_vehicle_document(make, model, \"trim\", year,
                                         exterior_color, interior_color, body_style, fuel_type, drivetrain,
                                         features, description)
                                     AND search_signature = rylie_lexeme_signature(tsvector_to_array(search_vector))),
                    count(DISTINCT search_vector) FILTER (WHERE vin IS NOT NULL)
               FROM vehicles",
            &[],
        )
        .await
        .unwrap();
    let counts: (i64, i64, i64) = (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert_eq!(
        counts,
        (3, 3, 1),
        "every vector computed, each as the trigger's function says, the two Accords alike"
    );
}
