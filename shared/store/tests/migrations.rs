//! The migration runner against a real PostgreSQL.

use std::time::Duration;

use rylie_store::migrate::{self, Migration, MigrationError, MigrationSet, Mode};
use rylie_testkit::TestDb;

const WAIT: Duration = Duration::from_secs(30);

fn embedded() -> MigrationSet {
    MigrationSet::embedded().unwrap()
}

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_a_second_run_is_a_no_op() {
    let db = TestDb::empty().await;
    let mut client = db.owner_settings().connect().await.unwrap();
    let set = embedded();
    let total = set.iter().count();

    let first = migrate::run(&mut client, &set, Mode::Apply, WAIT).await.unwrap();
    assert_eq!(first.applied.len(), total);
    assert_eq!(first.already_applied, 0);

    let second = migrate::run(&mut client, &set, Mode::Apply, WAIT).await.unwrap();
    assert!(second.applied.is_empty(), "{second:?}");
    assert_eq!(second.already_applied, total);

    let recorded = migrate::applied(&client).await.unwrap();
    assert_eq!(recorded.len(), total);
    for (row, file) in recorded.iter().zip(set.iter()) {
        assert_eq!(
            (row.version, &row.name, &row.checksum),
            (file.version, &file.name, &file.checksum)
        );
        assert!(row.duration_ms >= 0);
    }
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused_naming_the_file() {
    let db = TestDb::migrated().await;
    let mut client = db.owner_settings().connect().await.unwrap();
    let mut files: Vec<Migration> = embedded().iter().cloned().collect();
    let first = files[0].clone();
    files[0] = Migration::parse(&first.file_name, format!("{}\n-- an edit after the fact\n", first.sql)).unwrap();
    let changed = MigrationSet::new(files).unwrap();

    for mode in [Mode::Apply, Mode::DryRun, Mode::ValidateOnly] {
        let error = migrate::run(&mut client, &changed, mode, WAIT).await.unwrap_err();
        match &error {
            MigrationError::ChangedAfterApply { file, .. } => assert_eq!(file, &first.file_name),
            other => panic!("{mode:?}: expected a checksum refusal, got {other}"),
        }
        assert!(error.to_string().contains(&first.file_name), "{error}");
    }
}

#[tokio::test]
async fn two_concurrent_runners_apply_each_migration_exactly_once() {
    let db = TestDb::empty().await;
    let set = embedded();
    let runner = |settings: rylie_store::ConnectSettings, set: MigrationSet| async move {
        let mut client = settings.connect().await.unwrap();
        migrate::run(&mut client, &set, Mode::Apply, WAIT).await.unwrap()
    };
    let (a, b) = tokio::join!(
        tokio::spawn(runner(db.owner_settings(), set.clone())),
        tokio::spawn(runner(db.owner_settings(), set.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let total = set.iter().count();
    assert_eq!(
        a.applied.len() + b.applied.len(),
        total,
        "each migration applied by exactly one runner"
    );
    assert!(
        a.applied.is_empty() || b.applied.is_empty(),
        "the loser of the lock found nothing pending"
    );

    let client = db.owner_settings().connect().await.unwrap();
    assert_eq!(migrate::applied(&client).await.unwrap().len(), total);
}

#[tokio::test]
async fn a_failing_migration_rolls_back_and_names_its_file_and_line() {
    let db = TestDb::empty().await;
    let mut client = db.owner_settings().connect().await.unwrap();
    let set = MigrationSet::new(vec![
        Migration::parse("0001_ok.sql", "CREATE TABLE one (id int);").unwrap(),
        Migration::parse(
            "0002_broken.sql",
            "CREATE TABLE two (id int);\nINSERT INTO missing VALUES (1);\n",
        )
        .unwrap(),
    ])
    .unwrap();

    let error = migrate::run(&mut client, &set, Mode::Apply, WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("0002_broken.sql"), "{error}");
    assert!(error.contains("\"missing\" does not exist"), "{error}");
    assert!(error.contains("line 2"), "{error}");

    let applied = migrate::applied(&client).await.unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), vec![1]);
    let two_exists = client
        .query_typed("SELECT to_regclass('two') IS NOT NULL", &[])
        .await
        .unwrap()[0]
        .get::<_, bool>(0);
    assert!(
        !two_exists,
        "the failed migration's first statement was rolled back too"
    );
}

#[tokio::test]
async fn dry_run_and_validate_only_report_pending_and_change_nothing() {
    let db = TestDb::empty().await;
    let mut client = db.owner_settings().connect().await.unwrap();
    let set = embedded();
    for mode in [Mode::DryRun, Mode::ValidateOnly] {
        let report = migrate::run(&mut client, &set, mode, WAIT).await.unwrap();
        assert_eq!(report.pending.len(), set.iter().count());
        assert!(report.applied.is_empty());
    }
    let table = client
        .query_typed("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .unwrap();
    assert!(!table[0].get::<_, bool>(0), "not even the tracking table was created");
}

#[tokio::test]
async fn the_application_role_owns_nothing_and_cannot_change_the_schema() {
    let db = TestDb::migrated().await;
    let app = db.app_settings().connect().await.unwrap();
    let owned: i64 = app
        .query_typed(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user",
            &[],
        )
        .await
        .unwrap()[0]
        .get(0);
    assert_eq!(owned, 0);
    let error = app.batch_execute("DROP TABLE vehicles").await.unwrap_err();
    assert_eq!(
        error.code(),
        Some(&rylie_store::SqlState::INSUFFICIENT_PRIVILEGE),
        "{error}"
    );
}
