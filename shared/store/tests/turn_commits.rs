//! Which of a turn's commits wait for the WAL flush (migrations 0012 and 0013): a routine
//! turn's do not; a turn that hands over or changes the customer's consent waits before the
//! customer sees the answer.

use rylie_store::{Client, Type};
use rylie_testkit::TestDb;

/// Whether the transaction of `call` (a turn function's call on the conversation) commits
/// waiting for the flush: it runs in a transaction of the test's own, rolled back, on a
/// session that waits.
async fn commit_waits(app: &Client, call: &str, conversation: (i64, i64)) -> bool {
    // The test cluster runs without waiting (fsync off); a production server waits.
    app.batch_execute("SET synchronous_commit = on; BEGIN").await.unwrap();
    let rows = app
        .query_typed(
            &format!("SELECT count(*) FROM {call}"),
            &[(&conversation.0, Type::INT8), (&conversation.1, Type::INT8)],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 1, "{call} found its conversation");
    let setting: String = app.query_one("SHOW synchronous_commit", &[]).await.unwrap().get(0);
    app.batch_execute("ROLLBACK").await.unwrap();
    setting == "on"
}

#[tokio::test]
async fn a_routine_turn_does_not_wait_for_the_flush_a_handover_or_consent_change_does() {
    let db = TestDb::migrated().await;
    let owner = db.platform_owner().await;
    let dealership = rylie_testkit::add_dealership(&owner, "alpha").await;
    let conversation: i64 = owner
        .query_typed(
            "INSERT INTO conversations (dealership_id, channel) VALUES ($1, 'sms') RETURNING id",
            &[(&dealership, Type::INT8)],
        )
        .await
        .unwrap()[0]
        .get(0);
    let app = db.app_settings().connect().await.unwrap();
    let finish = |escalate: bool, opt: &str| {
        format!(
            "rylie_turn_finish($1, $2, 'Hello!', 'assistant', 'stub', 3, '{{}}', '{{}}', {escalate},
                               '[]', 0.1, 0, '[]', '{{}}', {opt})"
        )
    };
    let cases = [
        (
            "rylie_turn_begin($1, $2, 'Hi', NULL, 10)".to_owned(),
            false,
            "storing the message",
        ),
        (finish(false, "NULL"), false, "a routine reply"),
        (finish(true, "NULL"), true, "a handover"),
        (finish(false, "'stop'"), true, "an opt-out"),
        (finish(false, "'start'"), true, "an opt-in"),
    ];
    for (call, waits, what) in cases {
        assert_eq!(
            commit_waits(&app, &call, (dealership, conversation)).await,
            waits,
            "{what}"
        );
    }
}
