//! Password reset end to end: the request mails a one-time link (to the local outbox, or
//! through a moto queue and moto SES), the link sets a new password once and signs out the old
//! sessions; unknown addresses get the same answer and no mail; the job-email worker sends one
//! e-mail per message however often it comes, acknowledges what it can never send, and records
//! an address SES refuses. And the job faults of issue 7, on this worker: SES failing twice
//! then succeeding, one message delivered to two workers at once, a poison message reaching the
//! dead-letter queue after the configured deliveries with its error recorded, and the
//! database's connections dropped in the middle of a batch.

mod support;

use rylie_app::{
    email::job::password_reset_message,
    http::Access,
    jobs,
    routes::{self, password_reset},
};
use rylie_cloud::{Mailer, Sqs, mail::decode_quoted_printable};
use rylie_store::Type;
use rylie_testkit::{
    moto_config,
    sqs::{MotoQueue, one_message},
    unique_name,
};
use serde_json::{Value, json};
use support::{PASSWORD, World, call, outbox, request};

const NEW_PASSWORD: &str = "a brand new passphrase for Rylie";

async fn ask_for_reset(world: &World, email: &str) -> support::Answer {
    call(
        &world.state,
        Access::Public,
        password_reset::request,
        request(
            "POST",
            "/v1/auth/password-reset",
            &[],
            None,
            Some(json!({ "email": email })),
        ),
    )
    .await
}

async fn confirm(world: &World, token: &str, password: &str) -> support::Answer {
    call(
        &world.state,
        Access::Public,
        password_reset::confirm,
        request(
            "POST",
            "/v1/auth/password-reset/confirm",
            &[],
            None,
            Some(json!({ "token": token, "password": password })),
        ),
    )
    .await
}

async fn login(world: &World, login: &str, password: &str) -> support::Answer {
    call(
        &world.state,
        Access::Public,
        routes::auth::login,
        request(
            "POST",
            "/v1/auth/login",
            &[],
            None,
            Some(json!({ "login": login, "password": password })),
        ),
    )
    .await
}

async fn refresh(world: &World, token: &str) -> support::Answer {
    call(
        &world.state,
        Access::Public,
        routes::auth::refresh,
        request(
            "POST",
            "/v1/auth/refresh",
            &[],
            None,
            Some(json!({ "refresh_token": token })),
        ),
    )
    .await
}

/// The decoded plain-text part of an outbox message.
fn text_part(eml: &str) -> String {
    let part = eml
        .split("Content-Type: text/plain; charset=utf-8\r\n")
        .nth(1)
        .expect("a text/plain part");
    let (_headers, rest) = part.split_once("\r\n\r\n").unwrap();
    let body = rest.split("\r\n--=_rylie_").next().unwrap();
    decode_quoted_printable(body)
}

/// The token of the first reset link in `text`.
fn token_in(text: &str) -> String {
    let start = text.find("/reset-password?token=").expect("a reset link") + "/reset-password?token=".len();
    text[start..].chars().take_while(char::is_ascii_hexdigit).collect()
}

async fn delivery_rows(world: &World) -> Vec<(String, String, Option<String>, Option<String>, i32)> {
    support::owner(&world.db)
        .await
        .query_typed(
            "SELECT email_type, status, ses_message_id, error, attempts FROM email_deliveries ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect()
}

async fn audit_actions(world: &World, user_id: i64) -> Vec<String> {
    support::owner(&world.db)
        .await
        .query_typed(
            "SELECT action FROM audit_logs WHERE user_id = $1 ORDER BY id",
            &[(&user_id, Type::INT8)],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn a_mailed_reset_link_sets_a_new_password_once_and_signs_out_old_sessions() {
    let world = World::new().await;
    let before = login(&world, "user@alpha.test", PASSWORD).await;
    assert_eq!(before.status, 200, "{}", before.body);
    let old_refresh = before.body["data"]["refresh_token"].as_str().unwrap().to_owned();

    let asked = ask_for_reset(&world, "User@Alpha.test").await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_eq!(asked.headers["x-ratelimit-limit"], "100", "limited per IP like login");
    let mails = outbox(&world);
    assert_eq!(mails.len(), 1, "one e-mail");
    assert!(mails[0].contains("\r\nTo: user@alpha.test\r\n"), "{}", mails[0]);
    assert!(mails[0].contains("\r\nSubject: Reset your Rylie password\r\n"));
    let text = text_part(&mails[0]);
    assert!(text.contains("http://localhost:3000/reset-password?token="), "{text}");
    assert!(text.contains("expires in 30 minutes"), "{text}");
    assert!(
        text.contains("If you did not ask for this, ignore this e-mail"),
        "{text}"
    );
    let token = token_in(&text);
    assert_eq!(token.len(), 64, "32 random bytes, hex: URL-safe");

    let confirmed = confirm(&world, &token, NEW_PASSWORD).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["data"]["sessions_revoked"], 1);
    let again = confirm(&world, &token, "yet another long passphrase").await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.code(), "INVALID_RESET_TOKEN");

    assert_eq!(login(&world, "user@alpha.test", NEW_PASSWORD).await.status, 200);
    assert_eq!(login(&world, "user@alpha.test", PASSWORD).await.status, 401);
    assert_eq!(
        refresh(&world, &old_refresh).await.status,
        401,
        "the session from before the reset is revoked"
    );
    let actions = audit_actions(&world, world.user_a).await;
    assert!(
        actions.contains(&"user.password_reset_requested".to_owned()),
        "{actions:?}"
    );
    assert!(actions.contains(&"user.password_reset".to_owned()), "{actions:?}");
    let rows = delivery_rows(&world).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("password_reset", "sent"));
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let world = World::new().await;
    let unknown = ask_for_reset(&world, "nobody@alpha.test").await;
    assert_eq!(unknown.status, 202, "{}", unknown.body);
    assert!(outbox(&world).is_empty(), "no mail for an unknown address");
    assert!(delivery_rows(&world).await.is_empty());

    let known = ask_for_reset(&world, "manager@alpha.test").await;
    assert_eq!(known.status, 202);
    assert_eq!(known.body["data"], unknown.body["data"], "the same body either way");
    assert_eq!(outbox(&world).len(), 1);

    // Asked again within the minute (from anywhere): the same answer, no second mail.
    let again = ask_for_reset(&world, "manager@alpha.test").await;
    assert_eq!((again.status, &again.body["data"]), (202, &unknown.body["data"]));
    assert_eq!(outbox(&world).len(), 1, "one mail a minute per account");
}

#[tokio::test]
async fn an_expired_or_made_up_token_is_refused_with_a_clear_message() {
    let world = World::new().await;
    assert_eq!(ask_for_reset(&world, "user@alpha.test").await.status, 202);
    let token = token_in(&text_part(&outbox(&world)[0]));
    world
        .owner_sql(&format!(
            "UPDATE users SET reset_token_expires_at = now() - interval '1 minute' WHERE id = {}",
            world.user_a
        ))
        .await;
    let expired = confirm(&world, &token, NEW_PASSWORD).await;
    assert_eq!(expired.status, 400, "{}", expired.body);
    assert_eq!(expired.code(), "RESET_TOKEN_EXPIRED");
    assert!(expired.body["error"]["message"].as_str().unwrap().contains("expired"));
    assert_eq!(
        login(&world, "user@alpha.test", PASSWORD).await.status,
        200,
        "the password is unchanged"
    );

    let made_up = confirm(&world, &"ab".repeat(32), NEW_PASSWORD).await;
    assert_eq!(made_up.status, 400);
    assert_eq!(made_up.code(), "INVALID_RESET_TOKEN");
}

#[tokio::test]
async fn a_new_password_must_meet_the_rules_and_the_error_names_the_field() {
    let world = World::new().await;
    assert_eq!(ask_for_reset(&world, "user@alpha.test").await.status, 202);
    let token = token_in(&text_part(&outbox(&world)[0]));
    let weak = confirm(&world, &token, "short").await;
    assert_eq!(weak.status, 400, "{}", weak.body);
    let details = weak.body["error"]["details"].as_array().unwrap();
    assert_eq!(details[0]["field"], "password");
    assert_eq!(details[0]["code"], "WEAK_PASSWORD");
    assert_eq!(
        confirm(&world, &token, NEW_PASSWORD).await.status,
        200,
        "a refused password does not spend the token"
    );
}

// ------------------------------------------------------------------ the worker, with moto

struct Cloud {
    queue: MotoQueue,
    sender: String,
}

/// A world whose reset requests go through a moto queue and whose mail goes through moto SES,
/// from a verified sender.
async fn world_with_cloud() -> (World, Cloud) {
    let aws = moto_config().await;
    let queue = MotoQueue::create("rylie-email").await;
    let sender = format!("{}@rylie.test", unique_name("no-reply"));
    aws_sdk_ses::Client::new(&aws)
        .verify_email_identity()
        .email_address(&sender)
        .send()
        .await
        .unwrap();
    let mut world = World::new().await;
    world.state.sqs = Some(Sqs::new(&aws)).into();
    world.state.mailer = Mailer::ses(&aws).into();
    world.state.config.email_queue_url = Some(queue.url.clone());
    world.state.config.email_from = Some(format!("Rylie <{sender}>"));
    world.state.config.app_base_url = Some("https://app.rylie.test".to_owned());
    (world, Cloud { queue, sender })
}

/// What moto's SES accepted: `GET /moto-api/data.json`, `ses` → `Message` (id, source,
/// subject, body — the HTML part when there is one — and destinations).
fn moto_sent_messages() -> Vec<Value> {
    rylie_testkit::moto_data()["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sent_containing(needle: &str) -> Vec<Value> {
    moto_sent_messages()
        .into_iter()
        .filter(|message| message["body"].as_str().is_some_and(|body| body.contains(needle)))
        .collect()
}

#[tokio::test]
async fn the_same_job_message_delivered_twice_sends_one_email() {
    let (world, cloud) = world_with_cloud().await;
    assert_eq!(ask_for_reset(&world, "admin@alpha.test").await.status, 202);
    let delivered = cloud.queue.receive().await;
    assert_eq!(delivered.records.len(), 1, "the request queued one job");
    let body: Value = serde_json::from_str(delivered.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["version"].as_u64()),
        (Some("email.password_reset"), Some(1))
    );
    let token = body["payload"]["token"].as_str().unwrap().to_owned();
    assert!(
        body["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("email.password_reset:{}:", world.admin_a))
    );

    let again = delivered.clone();
    assert!(
        jobs::email(&world.state, delivered)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(jobs::email(&world.state, again).await.batch_item_failures.is_empty());

    let rows = delivery_rows(&world).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "sent");
    assert_eq!(rows[0].4, 1, "one attempt");
    let link = format!("https://app.rylie.test/reset-password?token={token}");
    let sent = sent_containing(&link);
    assert_eq!(sent.len(), 1, "one e-mail: {sent:?}");
    assert_eq!(
        sent[0]["id"].as_str(),
        rows[0].2.as_deref(),
        "the SES message id is recorded"
    );
    assert_eq!(sent[0]["destinations"]["ToAddresses"], json!(["admin@alpha.test"]));
    assert_eq!(sent[0]["source"], format!("Rylie <{}>", cloud.sender));

    assert_eq!(
        confirm(&world, &token, NEW_PASSWORD).await.status,
        200,
        "the mailed token works"
    );
}

#[tokio::test]
async fn messages_the_worker_cannot_use_are_acknowledged_and_nothing_is_sent() {
    let (world, _cloud) = world_with_cloud().await;
    let unknown = json!({"type": "email.explode", "version": 1, "dealership_id": world.dealer_a,
        "idempotency_key": "email.explode:1", "payload": {"token": "do-not-keep"}});
    let future_version = json!({"type": "email.password_reset", "version": 9, "dealership_id": null,
        "idempotency_key": "email.password_reset:future", "payload": {}});
    let bad_payload = json!({"type": "email.password_reset", "version": 1, "dealership_id": null,
        "idempotency_key": "email.password_reset:bad", "payload": {"user": "x"}});
    for (id, body) in [
        ("unknown-type", unknown.to_string()),
        ("future-version", future_version.to_string()),
        ("bad-payload", bad_payload.to_string()),
        ("not-json", "{not json".to_owned()),
    ] {
        let response = jobs::email(&world.state, one_message(id, body)).await;
        assert!(response.batch_item_failures.is_empty(), "{id} is acknowledged");
    }
    assert!(delivery_rows(&world).await.is_empty(), "nothing sent");
    let owner = support::owner(&world.db).await;
    let failures: Vec<(String, Value)> = owner
        .query_typed("SELECT job_type, payload FROM job_failures ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let types: Vec<&str> = failures.iter().map(|(job_type, _)| job_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "email.explode",
            "email.password_reset",
            "email.password_reset",
            "email (unparsable)",
        ],
        "each recorded"
    );
    assert_eq!(failures[0].1["token"], "[redacted]", "secrets are not kept");
}

#[tokio::test]
async fn an_address_ses_refuses_is_recorded_as_failed_and_acknowledged() {
    let (mut world, _cloud) = world_with_cloud().await;
    world.state.config.email_from = Some(format!("Rylie <nobody@{}.invalid>", unique_name("unverified")));
    let token = "c0ffee".repeat(10);
    let message = password_reset_message(world.user_a, Some(world.dealer_a), &token);
    world
        .owner_sql(&format!(
            "UPDATE users SET reset_token_hash = '{}', reset_token_expires_at = now() + interval '30 minutes' WHERE id = {}",
            rylie_app::email::job::hash_token(&token),
            world.user_a
        ))
        .await;
    let response = jobs::email(&world.state, one_message("rejected", message.to_json().unwrap())).await;
    assert!(response.batch_item_failures.is_empty(), "a refusal is not retried");
    let rows = delivery_rows(&world).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "failed");
    let reason = rows[0].3.as_deref().unwrap();
    assert!(reason.contains("MessageRejected"), "{reason}");
    assert!(sent_containing(&token).is_empty());
}

#[tokio::test]
async fn an_unreachable_mail_service_hands_the_message_back_for_a_retry() {
    let (mut world, cloud) = world_with_cloud().await;
    let nowhere = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::from_keys("testing", "testing", None))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    world.state.mailer = Mailer::ses(&nowhere).into();
    let token = "0ddba11".repeat(9);
    let message = password_reset_message(world.user_a, Some(world.dealer_a), &token);
    world
        .owner_sql(&format!(
            "UPDATE users SET reset_token_hash = '{}', reset_token_expires_at = now() + interval '30 minutes' WHERE id = {}",
            rylie_app::email::job::hash_token(&token),
            world.user_a
        ))
        .await;
    // Through the queue, received as if its visibility timeout were one second.
    rylie_app::email::submit(&world.state, &message).await.unwrap();
    let batch = cloud.queue.receive_hidden_for(1).await;
    let id = batch.records[0].message_id.clone().unwrap();
    let response = jobs::email(&world.state, batch).await;
    assert_eq!(response.batch_item_failures.len(), 1, "handed back to SQS");
    assert_eq!(response.batch_item_failures[0].item_identifier, id);
    let rows = delivery_rows(&world).await;
    assert_eq!(rows[0].1, "queued", "released for the next delivery: {rows:?}");
    // The retry backs off (15-30 s for a first failure), not the one second.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(cloud.queue.receive().await.records.is_empty(), "backing off");

    // SES is back: the redelivered message sends.
    world.state.mailer = Mailer::ses(&moto_config().await).into();
    let response = jobs::email(&world.state, one_message("unreachable", message.to_json().unwrap())).await;
    assert!(response.batch_item_failures.is_empty());
    let rows = delivery_rows(&world).await;
    assert_eq!((rows[0].1.as_str(), rows[0].4), ("sent", 2));
}

// ------------------------------------------------------------------ faults (issue 7)

/// A reset message for `user` with a current token, ready for the worker.
async fn reset_job(world: &World, user: i64, token: &str) -> rylie_cloud::JobMessage {
    world
        .owner_sql(&format!(
            "UPDATE users SET reset_token_hash = '{}', reset_token_expires_at = now() + interval '30 minutes' WHERE id = {user}",
            rylie_app::email::job::hash_token(token)
        ))
        .await;
    password_reset_message(user, Some(world.dealer_a), token)
}

fn unreachable_ses() -> Mailer {
    let nowhere = aws_config::SdkConfig::builder()
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::from_keys("testing", "testing", None),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    Mailer::ses(&nowhere)
}

#[tokio::test]
async fn ses_failing_twice_then_succeeding_sends_exactly_one_email() {
    let (mut world, _cloud) = world_with_cloud().await;
    let token = "5e5fa11".repeat(9);
    let message = reset_job(&world, world.user_a, &token).await;
    let body = message.to_json().unwrap();
    world.state.mailer = unreachable_ses().into();
    for attempt in 1..=2 {
        let response = jobs::email(&world.state, one_message("flaky", body.clone())).await;
        assert_eq!(response.batch_item_failures.len(), 1, "attempt {attempt} handed back");
    }
    world.state.mailer = Mailer::ses(&moto_config().await).into();
    assert!(
        jobs::email(&world.state, one_message("flaky", body.clone()))
            .await
            .batch_item_failures
            .is_empty()
    );
    // And once more, as SQS may: nothing.
    assert!(
        jobs::email(&world.state, one_message("flaky", body))
            .await
            .batch_item_failures
            .is_empty()
    );
    let link = format!("https://app.rylie.test/reset-password?token={token}");
    assert_eq!(sent_containing(&link).len(), 1);
    let rows = delivery_rows(&world).await;
    assert_eq!(
        (rows[0].1.as_str(), rows[0].4),
        ("sent", 3),
        "three attempts, one e-mail: {rows:?}"
    );
}

#[tokio::test]
async fn one_message_delivered_to_two_workers_at_once_has_one_effect() {
    let (world, _cloud) = world_with_cloud().await;
    let token = "c0ffee1".repeat(9);
    let message = reset_job(&world, world.user_a, &token).await;
    // A second worker: its own state, its own connection, the same database, SES and queue.
    let mut second = rylie_app::State::init(world.state.config.clone()).await.unwrap();
    second.mailer = world.state.mailer().clone().into();
    second.sqs = world.state.sqs.clone();
    let body = message.to_json().unwrap();
    let (first, other) = tokio::join!(
        jobs::email(&world.state, one_message("twice", body.clone())),
        jobs::email(&second, one_message("twice", body.clone())),
    );
    // One sends; the other finds it sent, or in progress (and is handed back, to find it sent).
    let handed_back = first.batch_item_failures.len() + other.batch_item_failures.len();
    assert!(handed_back <= 1, "{first:?} {other:?}");
    assert!(
        jobs::email(&second, one_message("twice", body))
            .await
            .batch_item_failures
            .is_empty()
    );
    let link = format!("https://app.rylie.test/reset-password?token={token}");
    assert_eq!(sent_containing(&link).len(), 1, "one e-mail");
    assert_eq!(delivery_rows(&world).await.len(), 1);
}

#[tokio::test]
async fn a_poison_message_reaches_the_dead_letter_queue_after_the_configured_deliveries_with_its_error() {
    let (mut world, cloud) = world_with_cloud().await;
    // The job queue with a dead-letter queue after two deliveries, as the template makes it.
    let dead = MotoQueue::create("rylie-email-dlq").await;
    let dead_arn = dead
        .client
        .get_queue_attributes()
        .queue_url(&dead.url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    cloud
        .queue
        .client
        .set_queue_attributes()
        .queue_url(&cloud.queue.url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({ "deadLetterTargetArn": dead_arn, "maxReceiveCount": "2" }).to_string(),
        )
        .send()
        .await
        .unwrap();
    world.state.config.job_max_receive_count = 2;
    // Never deliverable while EMAIL_FROM is missing (a transient error: the fix is deployed).
    world.state.config.email_from = None;
    let message = reset_job(&world, world.user_a, &"dead1e7".repeat(9)).await;
    rylie_app::email::submit(&world.state, &message).await.unwrap();

    for delivery in 1..=2 {
        let batch = cloud.queue.receive_hidden_for(30).await;
        assert_eq!(batch.records.len(), 1, "delivery {delivery}");
        let receipt = batch.records[0].receipt_handle.clone().unwrap();
        let response = jobs::email(&world.state, batch).await;
        assert_eq!(response.batch_item_failures.len(), 1);
        // Time passes: the message is visible again at once.
        cloud
            .queue
            .client
            .change_message_visibility()
            .queue_url(&cloud.queue.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    assert!(cloud.queue.receive().await.records.is_empty(), "moved on");
    let dead_lettered = dead.receive().await;
    assert_eq!(dead_lettered.records.len(), 1, "in the dead-letter queue");
    let owner = support::owner(&world.db).await;
    let row = owner
        .query_one("SELECT job_type, idempotency_key, error FROM job_failures", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "email.password_reset");
    assert_eq!(row.get::<_, String>(1), message.idempotency_key);
    let error: String = row.get(2);
    assert!(
        error.contains("after 2 deliveries") && error.contains("EMAIL_FROM"),
        "{error}"
    );
    assert!(delivery_rows(&world).await.is_empty(), "nothing half-written");
}

#[tokio::test]
async fn a_database_restart_in_the_middle_of_a_batch_retries_what_was_not_finished_and_writes_nothing_twice() {
    let (world, _cloud) = world_with_cloud().await;
    let tokens = ["ba7c4a1".repeat(9), "ba7c4a2".repeat(9)];
    let first = reset_job(&world, world.user_a, &tokens[0]).await;
    let second = reset_job(&world, world.manager_a, &tokens[1]).await;
    let batch = rylie_testkit::sqs::batch([
        ("one".to_owned(), first.to_json().unwrap()),
        ("two".to_owned(), second.to_json().unwrap()),
    ]);
    // Every connection of the application role dropped, as a restart does.
    world
        .owner_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND usename <> current_user",
        )
        .await;
    let response = jobs::email(&world.state, batch.clone()).await;
    // What failed is handed back; redelivered, everything is sent exactly once.
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let retry = rylie_testkit::sqs::batch(
        batch
            .records
            .iter()
            .filter(|record| failed.contains(record.message_id.as_ref().unwrap()))
            .map(|record| (record.message_id.clone().unwrap(), record.body.clone().unwrap())),
    );
    assert!(jobs::email(&world.state, retry).await.batch_item_failures.is_empty());
    assert!(
        jobs::email(&world.state, batch).await.batch_item_failures.is_empty(),
        "and again: nothing"
    );
    for token in &tokens {
        let link = format!("https://app.rylie.test/reset-password?token={token}");
        assert_eq!(sent_containing(&link).len(), 1, "{token}");
    }
    let rows = delivery_rows(&world).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|row| row.1 == "sent"),
        "none left half-written: {rows:?}"
    );
}
