//! Row-level security: the second line of tenant isolation, below every WHERE clause.

use rylie_domain::DealershipId;
use rylie_store::{Scope, SqlState, Type, scope};
use rylie_testkit::TestDb;

async fn two_dealerships_with_vehicles(db: &TestDb) -> (i64, i64) {
    let owner = db.platform_owner().await;
    let mut ids = Vec::new();
    for (subdomain, vehicles) in [("alpha", 3), ("bravo", 2)] {
        let id = rylie_testkit::add_dealership(&owner, subdomain).await;
        owner
            .query_typed(
                "INSERT INTO vehicles (dealership_id, stock_number, make, model, year)
                 SELECT $1, 'S' || n, 'Honda', 'Civic', 2024 FROM generate_series(1, $2) n",
                &[(&id, Type::INT8), (&vehicles, Type::INT4)],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    (ids[0], ids[1])
}

#[tokio::test]
async fn a_query_that_forgets_its_where_clause_still_sees_one_tenant() {
    let db = TestDb::migrated().await;
    let (alpha, bravo) = two_dealerships_with_vehicles(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();

    for (dealership, expected) in [(alpha, 3i64), (bravo, 2)] {
        let tx = scope::begin(&mut app, Scope::Tenant(DealershipId(dealership)))
            .await
            .unwrap();
        let count: i64 = tx.query_typed("SELECT count(*) FROM vehicles", &[]).await.unwrap()[0].get(0);
        assert_eq!(count, expected, "dealership {dealership}");
        let dealerships: i64 = tx.query_typed("SELECT count(*) FROM dealerships", &[]).await.unwrap()[0].get(0);
        assert_eq!(dealerships, 1);
        tx.commit().await.unwrap();
    }

    // No scope at all: nothing.
    let none: i64 = app.query_typed("SELECT count(*) FROM vehicles", &[]).await.unwrap()[0].get(0);
    assert_eq!(none, 0);
}

#[tokio::test]
async fn a_tenant_cannot_write_into_another_tenant() {
    let db = TestDb::migrated().await;
    let (alpha, bravo) = two_dealerships_with_vehicles(&db).await;
    let mut app = db.app_settings().connect().await.unwrap();
    let tx = scope::begin(&mut app, Scope::Tenant(DealershipId(alpha)))
        .await
        .unwrap();
    let error = tx
        .query_typed(
            "INSERT INTO vehicles (dealership_id, stock_number, make, model, year) VALUES ($1, 'X1', 'Ford', 'F-150', 2022)",
            &[(&bravo, Type::INT8)],
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{error}");
    drop(tx);

    let tx = scope::begin(&mut app, Scope::Tenant(DealershipId(alpha)))
        .await
        .unwrap();
    let updated = tx
        .query_typed("UPDATE vehicles SET mileage = 1 RETURNING dealership_id", &[])
        .await
        .unwrap();
    assert!(updated.iter().all(|row| row.get::<_, i64>(0) == alpha));
    assert_eq!(updated.len(), 3);
}

#[tokio::test]
async fn the_table_owner_is_bound_too_and_the_app_role_cannot_lift_it() {
    let db = TestDb::migrated().await;
    two_dealerships_with_vehicles(&db).await;
    let owner = db.owner_settings().connect().await.unwrap();
    let count: i64 = owner.query_typed("SELECT count(*) FROM vehicles", &[]).await.unwrap()[0].get(0);
    assert_eq!(count, 0, "FORCE ROW LEVEL SECURITY binds the owner");

    let app = db.app_settings().connect().await.unwrap();
    let error = app
        .batch_execute("ALTER TABLE vehicles DISABLE ROW LEVEL SECURITY")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{error}");
    let bypass: bool = app
        .query_typed(
            "SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap()[0]
        .get(0);
    assert!(!bypass);
}
