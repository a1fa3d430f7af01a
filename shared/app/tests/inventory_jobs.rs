//! The import job against real adapters (moto S3 and SQS): an upload is stored in S3 and
//! queued, the worker applies it once however often the message comes; a file dropped in the
//! bucket becomes one import through the bucket's notification; what can never succeed is
//! acknowledged with its reason, what may succeed later is handed back to SQS.

mod support;

use rylie_app::{
    http::{self, Access},
    inventory::drop::incoming_key,
    jobs,
    routes::inventory_imports,
};
use rylie_cloud::{BlobStore, Sqs};
use rylie_domain::{Action, DealershipId};
use rylie_testkit::{
    moto_config,
    sqs::{MotoQueue, one_message},
    unique_name,
};
use serde_json::{Value, json};
use support::{World, bearer, call};

const FEED: &str = "VIN\tStock\tMake\tModel\tYear\tPrice\n\
1HGCM82633A004352\tH1\tHonda\tAccord\t2021\t23995\n\
2T1BURHE0JC014704\tT1\tToyota\tCorolla\t2018\t15500\n";

struct Cloud {
    s3: aws_sdk_s3::Client,
    bucket: String,
    queue: MotoQueue,
}

/// A world whose files live in a moto bucket and whose imports go through a moto queue.
async fn world_with_cloud() -> (World, Cloud) {
    let aws = moto_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
    let bucket = unique_name("rylie-files").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let queue = MotoQueue::create("rylie-inventory-import").await;
    let mut world = World::new().await;
    world.state.files = BlobStore::s3(&aws, bucket.clone()).into();
    world.state.sqs = Some(Sqs::new(&aws)).into();
    world.state.config.inventory_import_queue_url = Some(queue.url.clone());
    (world, Cloud { s3, bucket, queue })
}

async fn import_rows(world: &World, dealership: i64) -> Vec<(String, String, Value)> {
    let owner = support::owner(&world.db).await;
    owner
        .query_typed(
            "SELECT source, status, stats FROM inventory_imports WHERE dealership_id = $1 ORDER BY id",
            &[(&dealership, rylie_store::Type::INT8)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn an_upload_is_stored_queued_and_applied_once_however_often_the_message_comes() {
    let (world, cloud) = world_with_cloud().await;
    let path = format!("/v1/dealerships/{}/inventory/imports", world.dealer_a);
    let mut event: Value = serde_json::from_str(include_str!("../../../events/api-health-health.json")).unwrap();
    event["rawPath"] = path.clone().into();
    event["requestContext"]["http"]["method"] = "POST".into();
    event["requestContext"]["http"]["path"] = path.into();
    event["pathParameters"] = json!({ "dealership_id": world.dealer_a.to_string() });
    event["headers"]["authorization"] = bearer(world.token(world.admin_a)).unwrap().1.into();
    event["headers"]["content-type"] = "text/tab-separated-values".into();
    event["body"] = FEED.into();
    let request = http::request_from_event(&event.to_string()).unwrap();
    let write = Access::Caller {
        resource: "inventory",
        action: Action::Write,
    };
    let answer = call(&world.state, write, inventory_imports::create, request).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["data"]["status"], "queued");
    let key = answer.body["data"]["s3_key"].as_str().unwrap().to_owned();
    let stored = cloud
        .s3
        .get_object()
        .bucket(&cloud.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.body.collect().await.unwrap().into_bytes().as_ref(),
        FEED.as_bytes()
    );

    let delivered = cloud.queue.receive().await;
    assert_eq!(delivered.records.len(), 1);
    let again = delivered.clone();
    let response = jobs::inventory_import(&world.state, delivered).await;
    assert!(response.batch_item_failures.is_empty());
    let rows = import_rows(&world, world.dealer_a).await;
    assert_eq!((rows[0].1.as_str(), &rows[0].2["added"]), ("completed", &json!(2)));

    // SQS delivers at least once: the same message again changes nothing.
    let response = jobs::inventory_import(&world.state, again).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(import_rows(&world, world.dealer_a).await, rows);
}

#[tokio::test]
async fn a_file_dropped_in_the_bucket_becomes_one_import_through_the_notification() {
    let (world, cloud) = world_with_cloud().await;
    let queue_arn = cloud
        .queue
        .client
        .get_queue_attributes()
        .queue_url(&cloud.queue.url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let notification = aws_sdk_s3::types::NotificationConfiguration::builder()
        .queue_configurations(
            aws_sdk_s3::types::QueueConfiguration::builder()
                .queue_arn(queue_arn)
                .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                .build()
                .unwrap(),
        )
        .build();
    cloud
        .s3
        .put_bucket_notification_configuration()
        .bucket(&cloud.bucket)
        .notification_configuration(notification)
        .send()
        .await
        .unwrap();
    // moto sends a test event when the notification is configured; the worker ignores it.
    let setup = cloud.queue.receive().await;
    assert!(
        jobs::inventory_import(&world.state, setup)
            .await
            .batch_item_failures
            .is_empty()
    );

    let key = incoming_key(DealershipId(world.dealer_a), true, "nightly lot.tsv");
    cloud
        .s3
        .put_object()
        .bucket(&cloud.bucket)
        .key(&key)
        .body(FEED.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let notified = cloud.queue.receive().await;
    assert_eq!(notified.records.len(), 1, "the bucket notified the queue");
    let redelivered = notified.clone();
    assert!(
        jobs::inventory_import(&world.state, notified)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(
        jobs::inventory_import(&world.state, redelivered)
            .await
            .batch_item_failures
            .is_empty()
    );

    let rows = import_rows(&world, world.dealer_a).await;
    assert_eq!(rows.len(), 1, "one import for one object, however often it is notified");
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("s3", "completed"));
    assert_eq!(rows[0].2["added"], 2);
}

#[tokio::test]
async fn messages_that_can_never_succeed_are_acknowledged_and_unreachable_storage_is_retried() {
    let (mut world, cloud) = world_with_cloud().await;
    let drop_for = |dealership: i64| {
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": cloud.bucket},
            "object": {"key": incoming_key(DealershipId(dealership), true, "x.tsv"), "size": 10, "sequencer": "01"}
        }}]})
        .to_string()
    };
    let cases = [
        ("malformed", "{not json".to_owned()),
        ("unknown dealership", drop_for(999_999)),
        (
            "foreign key",
            json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "elsewhere/x.tsv"}}}]})
                .to_string(),
        ),
        (
            "unknown job",
            json!({"type": "inventory.explode", "version": 1, "dealership_id": 1, "idempotency_key": "k", "payload": {}})
                .to_string(),
        ),
    ];
    for (name, body) in cases {
        let response = jobs::inventory_import(&world.state, one_message(name, body)).await;
        assert!(response.batch_item_failures.is_empty(), "{name} is acknowledged");
    }
    assert!(import_rows(&world, world.dealer_a).await.is_empty());

    // A dropped file whose storage cannot be reached: handed back to SQS for a retry.
    world.state.files = BlobStore::s3(&moto_config().await, "no-such-bucket".to_owned()).into();
    let key = incoming_key(DealershipId(world.dealer_a), true, "x.tsv");
    let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "no-such-bucket"}, "object": {"key": key, "size": 10, "sequencer": "02"}
    }}]})
    .to_string();
    let response = jobs::inventory_import(&world.state, one_message("retry-me", body)).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["retry-me"]);
}
