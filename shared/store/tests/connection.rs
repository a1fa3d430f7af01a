//! Connecting: reconnects after a broken connection, TLS modes, an unreachable database.

use std::time::Duration;

use rylie_store::{Db, StoreError, Type};
use rylie_testkit::TestDb;

async fn count_dealerships(db: &Db) -> Result<i64, StoreError> {
    db.run(async |client| {
        let rows = client
            .query_typed("SELECT count(*) FROM dealerships", &[])
            .await
            .map_err(StoreError::query("counting dealerships"))?;
        Ok::<i64, StoreError>(rows[0].get(0))
    })
    .await
}

#[tokio::test]
async fn the_next_call_succeeds_after_the_backend_is_terminated() {
    let test_db = TestDb::migrated().await;
    let db = test_db.app_db();
    assert_eq!(count_dealerships(&db).await.unwrap(), 0);
    let first_pid = db.backend_pid().await.unwrap();

    let admin = test_db.admin_settings().connect().await.unwrap();
    let killed: bool = admin
        .query_typed("SELECT pg_terminate_backend($1)", &[(&first_pid, Type::INT4)])
        .await
        .unwrap()[0]
        .get(0);
    assert!(killed);

    assert_eq!(
        count_dealerships(&db).await.unwrap(),
        0,
        "the call after the kill succeeds"
    );
    let second_pid = db.backend_pid().await.unwrap();
    assert_ne!(first_pid, second_pid, "a new backend serves the new connection");
}

#[tokio::test]
async fn an_unreachable_database_does_not_fail_warm_up_and_fails_the_call_clearly() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let settings =
        rylie_store::ConnectSettings::from_url("postgres://rylie@127.0.0.1:9/rylie?sslmode=disable").unwrap();
    let db = Db::new(settings);
    db.warm_up(Duration::from_millis(500)).await;
    let error = count_dealerships(&db).await.unwrap_err();
    assert!(error.is_unavailable());
    assert!(error.to_string().contains("rylie@127.0.0.1:9/rylie"), "{error}");
}

#[tokio::test]
async fn sslmode_require_insists_on_tls_and_prefer_falls_back() {
    // The private test cluster has no TLS: `require` must refuse rather than go on in clear
    // text, `prefer` must connect anyway.
    let test_db = TestDb::migrated().await;
    let url = test_db.app_url();
    let require = rylie_store::ConnectSettings::from_url(&url.replace("sslmode=disable", "sslmode=require")).unwrap();
    let error = require.connect().await.unwrap_err().to_string();
    assert!(error.contains("TLS"), "{error}");

    let prefer = rylie_store::ConnectSettings::from_url(&url.replace("sslmode=disable", "sslmode=prefer")).unwrap();
    let client = prefer.connect().await.unwrap();
    assert_eq!(client.query_typed("SELECT 1", &[]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn client_hands_out_a_live_connection_after_the_old_one_was_closed() {
    // Code that does not go through Db::run gets a working connection after the server closed
    // the old one. (The idle check is set to check every time here; in this test the driver may
    // also notice the close on its own first, so this proves the outcome, not which path.)
    let test_db = TestDb::migrated().await;
    let db = test_db.app_db().with_check_after_idle(Duration::ZERO);
    let first_pid = db.backend_pid().await.unwrap();
    let admin = test_db.admin_settings().connect().await.unwrap();
    admin
        .query_typed("SELECT pg_terminate_backend($1)", &[(&first_pid, Type::INT4)])
        .await
        .unwrap();
    // Wait until the backend is really gone, as it is after a proxy's idle timeout.
    for _ in 0..100 {
        let alive = admin
            .query_typed(
                "SELECT 1 FROM pg_stat_activity WHERE pid = $1",
                &[(&first_pid, Type::INT4)],
            )
            .await
            .unwrap();
        if alive.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let client = db.client().await.unwrap();
    let rows = client.query_typed("SELECT pg_backend_pid()", &[]).await.unwrap();
    assert_ne!(rows[0].get::<_, i32>(0), first_pid);
}
