//! The `db-migrate` function's handler, with its sample event.

use rylie_app::{
    Config, State,
    migrate::{MigrateRequest, handle},
};
use rylie_store::migrate::Mode;
use rylie_testkit::TestDb;

fn state(test_db: &TestDb) -> State {
    let config = Config::from_lookup("db-migrate", |name| {
        (name == "DATABASE_URL").then(|| test_db.owner_url())
    })
    .unwrap();
    State::new(config, test_db.owner_db()).unwrap()
}

#[tokio::test]
async fn the_sample_event_is_a_dry_run_and_apply_then_validates_clean() {
    let test_db = TestDb::empty().await;
    let state = state(&test_db);
    let total = state.migrations.iter().count();

    let sample: MigrateRequest = serde_json::from_str(include_str!("../../../events/db-migrate.json")).unwrap();
    assert_eq!(sample.mode, Mode::DryRun);
    let dry = handle(&state, sample).await.unwrap();
    assert_eq!((dry.pending.len(), dry.applied.len()), (total, 0));

    let applied = handle(&state, MigrateRequest { mode: Mode::Apply }).await.unwrap();
    assert_eq!(applied.applied.len(), total);

    let validated = handle(
        &state,
        MigrateRequest {
            mode: Mode::ValidateOnly,
        },
    )
    .await
    .unwrap();
    assert!(validated.pending.is_empty());
    assert_eq!(validated.already_applied, total);
}

#[test]
fn an_unknown_mode_or_field_is_refused_with_its_name() {
    let error = serde_json::from_str::<MigrateRequest>(r#"{"mode":"yolo"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("yolo") && error.contains("dry-run"), "{error}");
    let error = serde_json::from_str::<MigrateRequest>(r#"{"mdoe":"apply"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("mdoe"), "{error}");
    let default: MigrateRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(default.mode, Mode::Apply);
}
