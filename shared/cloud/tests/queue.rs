//! Job messages: the envelope's JSON, and sending it to SQS queues in moto server (one queue
//! per test), read back through the SDK as a worker would.

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use rylie_cloud::{CloudError, JobMessage, Sqs};
use serde_json::json;

fn import_job(dealership_id: Option<i64>, idempotency_key: &str) -> JobMessage {
    JobMessage {
        r#type: "inventory_import".to_owned(),
        version: 1,
        dealership_id,
        idempotency_key: idempotency_key.to_owned(),
        payload: json!({ "import_id": 42, "s3_key": "d/7/imports/42.tsv" }),
    }
}

async fn create_queue(client: &aws_sdk_sqs::Client, fifo: bool) -> String {
    let mut name = rylie_testkit::unique_name("jobs");
    let mut request = client.create_queue();
    if fifo {
        name.push_str(".fifo");
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .queue_name(&name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating queue {name}: {e:?}"))
        .queue_url
        .expect("a queue url")
}

/// Every message waiting in the queue, with its system attributes.
async fn receive_all(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receiving messages")
        .messages
        .unwrap_or_default()
}

fn attribute(message: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName) -> Option<&str> {
    message.attributes()?.get(&name).map(String::as_str)
}

#[tokio::test]
async fn a_sent_job_message_is_received_and_parses_back_equal() {
    let config = rylie_testkit::moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue_url = create_queue(&client, false).await;
    let job = import_job(Some(7), "inventory-import:7:42");

    let message_id = Sqs::new(&config).send(&queue_url, &job).await.unwrap();

    let received = receive_all(&client, &queue_url).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message_id(), Some(message_id.as_str()));
    let body = received[0].body().expect("a body");
    assert_eq!(JobMessage::parse(body).unwrap(), job);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap(),
        json!({
            "type": "inventory_import",
            "version": 1,
            "dealership_id": 7,
            "idempotency_key": "inventory-import:7:42",
            "payload": { "import_id": 42, "s3_key": "d/7/imports/42.tsv" },
        }),
        "the wire shape of ARCHITECTURE.md"
    );
    assert_eq!(
        attribute(&received[0], MessageSystemAttributeName::MessageGroupId),
        None
    );
}

#[tokio::test]
async fn a_fifo_send_groups_by_dealership_and_deduplicates_by_idempotency_key() {
    let config = rylie_testkit::moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue_url = create_queue(&client, true).await;
    let sqs = Sqs::new(&config);

    sqs.send(&queue_url, &import_job(Some(7), "inventory-import:7:42"))
        .await
        .unwrap();
    sqs.send(&queue_url, &import_job(Some(7), "inventory-import:7:42"))
        .await
        .unwrap();
    sqs.send(&queue_url, &import_job(None, "report:daily:2026-11-25"))
        .await
        .unwrap();

    let received = receive_all(&client, &queue_url).await;
    let mut seen: Vec<_> = received
        .iter()
        .map(|message| {
            (
                attribute(message, MessageSystemAttributeName::MessageGroupId).unwrap_or_default(),
                attribute(message, MessageSystemAttributeName::MessageDeduplicationId).unwrap_or_default(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [("7", "inventory-import:7:42"), ("platform", "report:daily:2026-11-25")],
        "the second send of the same key is dropped by SQS"
    );
}

#[tokio::test]
async fn a_send_to_a_missing_queue_names_the_queue_job_and_error() {
    let config = rylie_testkit::moto_config().await;
    let queue_url = format!(
        "{}/123456789012/{}",
        std::env::var("RYLIE_TEST_MOTO_URL").unwrap(),
        rylie_testkit::unique_name("no-such-queue")
    );
    let error = Sqs::new(&config)
        .send(&queue_url, &import_job(Some(7), "inventory-import:7:42"))
        .await
        .unwrap_err();
    assert!(matches!(error, CloudError::Queue { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "sqs send {queue_url}: inventory_import job inventory-import:7:42: "
        )),
        "{message}"
    );
    assert!(message.contains("NonExistentQueue"), "{message}");
}

#[test]
fn a_platform_job_has_a_null_dealership_and_a_missing_one_reads_as_null() {
    let job = import_job(None, "k");
    let json: serde_json::Value = serde_json::from_str(&job.to_json().unwrap()).unwrap();
    assert_eq!(json["dealership_id"], serde_json::Value::Null);
    let parsed =
        JobMessage::parse(r#"{"type":"report","version":2,"idempotency_key":"k","payload":{},"extra":true}"#).unwrap();
    assert_eq!(parsed.dealership_id, None);
    assert_eq!(parsed.version, 2);
}

#[test]
fn parse_names_what_is_wrong() {
    let cases = [
        ("not json", "invalid job message: expected ident at line 1 column 2"),
        (
            r#"{"type":"report","version":1,"payload":{}}"#,
            "invalid job message: missing field `idempotency_key` at line 1 column 42",
        ),
        (
            r#"{"type":"report","version":"1","idempotency_key":"k","payload":{}}"#,
            "invalid job message: invalid type: string \"1\", expected u32 at line 1 column 30",
        ),
        (
            r#"{"type":"report","version":1,"dealership_id":"7","idempotency_key":"k","payload":{}}"#,
            "invalid job message: invalid type: string \"7\", expected i64 at line 1 column 48",
        ),
        (
            r#"{"type":" ","version":1,"idempotency_key":"k","payload":{}}"#,
            "invalid job message: `type` is empty",
        ),
        (
            r#"{"type":"report","version":0,"idempotency_key":"k","payload":{}}"#,
            "invalid job message: `version` is 0 (versions start at 1)",
        ),
        (
            r#"{"type":"report","version":1,"idempotency_key":"","payload":{}}"#,
            "invalid job message: `idempotency_key` is empty",
        ),
    ];
    for (body, expected) in cases {
        let error = JobMessage::parse(body).unwrap_err();
        assert!(
            matches!(error, CloudError::InvalidJobMessage { .. }),
            "{body}: {error:?}"
        );
        assert_eq!(error.to_string(), expected, "{body}");
    }
}

#[tokio::test]
async fn a_dead_letter_queue_is_listed_and_redriven_without_losing_a_message() {
    let config = rylie_testkit::moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let source = create_queue(&client, false).await;
    let dead_name = rylie_testkit::unique_name("jobs-dlq");
    client.create_queue().queue_name(&dead_name).send().await.unwrap();
    let sqs = Sqs::new(&config);
    let dead = sqs.queue_url(&dead_name).await.unwrap();
    for n in 0..13 {
        client
            .send_message()
            .queue_url(&dead)
            .message_body(format!("{{\"n\": {n}}}"))
            .send()
            .await
            .unwrap();
    }

    let listed = sqs.dead_letters(&dead, 5).await.unwrap();
    assert_eq!(listed.len(), 5, "at most --max");
    assert!(
        listed
            .iter()
            .all(|letter| letter.receive_count >= 1 && letter.sent_at_ms.is_some())
    );
    assert!(listed[0].body.starts_with("{\"n\": "), "{:?}", listed[0]);

    // The five listed are hidden for a while; the other eight move now, in batches of ten.
    let moved = sqs.redrive(&dead, &source, 100).await.unwrap();
    assert_eq!(moved, 8);
    let mut bodies = Vec::new();
    loop {
        let received = client
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            break;
        }
        bodies.extend(received.into_iter().filter_map(|m| m.body));
    }
    assert_eq!(bodies.len(), 8);
    assert!(bodies.iter().all(|body| body.starts_with("{\"n\": ")));

    let missing = sqs.queue_url(&rylie_testkit::unique_name("no-such-queue")).await;
    assert!(matches!(missing, Err(CloudError::Queue { .. })), "{missing:?}");
}

#[tokio::test]
async fn a_received_message_can_be_hidden_until_it_is_due() {
    let config = rylie_testkit::moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = create_queue(&client, false).await;
    let sqs = Sqs::new(&config);
    sqs.send(&queue, &import_job(Some(7), "deferred")).await.unwrap();
    let received = client
        .receive_message()
        .queue_url(&queue)
        .visibility_timeout(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    let receipt = received[0].receipt_handle.clone().unwrap();
    sqs.hide_for(&queue, &receipt, 3600).await.unwrap();
    // Its own one-second timeout has passed; the hour has not.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let again = client
        .receive_message()
        .queue_url(&queue)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert!(again.is_empty(), "still hidden: {again:?}");
    assert!(matches!(
        sqs.hide_for(&queue, "not-a-receipt", 60).await,
        Err(CloudError::Queue { .. })
    ));
}
