//! The analysis job's queries against a real, migrated database.

use rylie_testkit::TestDb;

#[tokio::test]
async fn finding_conversations_due_for_analysis_reads_its_partial_index_not_every_conversation() {
    let db = TestDb::migrated().await;
    let owner = db.owner_settings().connect().await.unwrap();
    owner
        .batch_execute(
            "SELECT set_config('rylie.scope', 'platform', false);
             INSERT INTO dealerships (name, subdomain) VALUES ('Alpha', 'alpha');
             INSERT INTO conversations (dealership_id, status, last_message_at, analysed_at)
             SELECT (SELECT id FROM dealerships), 'active', now() - n * interval '1 minute',
                    CASE WHEN n % 100 = 0 THEN NULL ELSE now() END
               FROM generate_series(1, 5000) n;
             -- and one unanalysed, but written to a minute ago: not due yet
             INSERT INTO conversations (dealership_id, status, last_message_at)
             SELECT id, 'active', now() - interval '1 minute' FROM dealerships;
             ANALYZE conversations;",
        )
        .await
        .unwrap();
    let app = db.app_settings().connect().await.unwrap();
    // The statement rylie_store::analysis::due runs, planned as the app role runs it.
    let due = rylie_store::analysis::due(&app, 3600, 500).await.unwrap();
    assert_eq!(due.len(), 50, "the unanalysed ones, every one silent for over an hour");
    let plan: Vec<String> = app
        .simple_query(
            "BEGIN; SELECT set_config('rylie.scope', 'platform', true);
             EXPLAIN SELECT dealership_id, id, last_message_at FROM conversations
               WHERE (analysed_at IS NULL OR analysed_at < last_message_at)
                 AND ((status IN ('active', 'waiting', 'escalated') AND last_message_at < now() - make_interval(secs => 3600))
                      OR (status = 'closed' AND closed_at > now() - interval '7 days'))
               ORDER BY last_message_at LIMIT 500; COMMIT;",
        )
        .await
        .unwrap()
        .into_iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert!(
        plan.iter().any(|line| line.contains("conversations_analysis_due_idx")),
        "{plan:#?}"
    );
}
