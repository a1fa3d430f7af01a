//! The DynamoDB rate limiter against moto server: the real DynamoDB API, one table per test.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use rylie_cloud::{Decision, DynamoLimiter, RateLimiter, Tier};

/// A multiple of 3600: the start of a window.
const HOUR_START: i64 = 1_700_002_800;

/// Moto under a parallel test run can be slower than the production timeout; counting tests
/// must not fail open by accident.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates a table shaped like the deployed one (partition key `pk`, on demand).
async fn create_table(config: &aws_config::SdkConfig) -> String {
    let table = rylie_testkit::unique_name("rate-limits");
    aws_sdk_dynamodb::Client::new(config)
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating table {table}: {e:?}"));
    table
}

async fn dynamo_limiter() -> (aws_config::SdkConfig, String, RateLimiter) {
    let config = rylie_testkit::moto_config().await;
    let table = create_table(&config).await;
    let limiter = DynamoLimiter::new(&config, table.clone()).with_timeout(TEST_TIMEOUT);
    (config, table, RateLimiter::Dynamo(limiter))
}

#[tokio::test]
async fn counts_down_then_refuses_the_request_over_the_limit_with_retry_after() {
    let (_, _, limiter) = dynamo_limiter().await;
    let now = HOUR_START + 600;

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let decision = limiter.check_limit("ip:203.0.113.9", 3, now).await;
        assert!(decision.allowed && !decision.degraded, "{decision:?}");
        remaining.push(decision.remaining);
    }
    assert_eq!(remaining, [2, 1, 0]);

    let refused = limiter.check_limit("ip:203.0.113.9", 3, now).await;
    assert_eq!(
        refused,
        Decision {
            limit: 3,
            remaining: 0,
            reset_at: HOUR_START + 3600,
            allowed: false,
            degraded: false,
        }
    );
    assert_eq!(refused.retry_after_seconds(now), 3000);
    assert!(refused.headers(now).contains(&("Retry-After", "3000".to_owned())));
}

#[tokio::test]
async fn a_new_window_starts_a_fresh_count() {
    let (_, _, limiter) = dynamo_limiter().await;
    for _ in 0..2 {
        limiter.check_limit("user:42", 1, HOUR_START + 5).await;
    }
    assert!(!limiter.check_limit("user:42", 1, HOUR_START + 3599).await.allowed);

    let next = limiter.check_limit("user:42", 1, HOUR_START + 3600).await;
    assert!(next.allowed && !next.degraded, "{next:?}");
    assert_eq!(next.remaining, 0);
    assert_eq!(next.reset_at, HOUR_START + 7200);
}

#[tokio::test]
async fn subjects_are_counted_separately() {
    let (_, _, limiter) = dynamo_limiter().await;
    assert!(limiter.check_limit("key:17", 1, HOUR_START).await.allowed);
    assert!(!limiter.check_limit("key:17", 1, HOUR_START).await.allowed);
    assert!(limiter.check_limit("key:18", 1, HOUR_START).await.allowed);
    assert!(limiter.check_limit("user:17", 1, HOUR_START).await.allowed);
}

#[tokio::test]
async fn tier_checks_use_the_tier_limit() {
    let (_, _, limiter) = dynamo_limiter().await;
    let decision = limiter.check("key:17", Tier::KeyPremium, HOUR_START).await;
    assert!(decision.allowed && !decision.degraded, "{decision:?}");
    assert_eq!((decision.limit, decision.remaining), (20_000, 19_999));
}

#[tokio::test]
async fn the_counter_item_expires_an_hour_after_its_window_ends() {
    let (config, table, limiter) = dynamo_limiter().await;
    for now in [HOUR_START + 1, HOUR_START + 3000] {
        limiter.check_limit("ip:198.51.100.7", 10, now).await;
    }

    let item = aws_sdk_dynamodb::Client::new(&config)
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("ip:198.51.100.7#{HOUR_START}")))
        .consistent_read(true)
        .send()
        .await
        .expect("reading the counter item")
        .item
        .expect("the counter item exists");
    assert_eq!(item["count"], AttributeValue::N("2".to_owned()));
    assert_eq!(item["expires_at"], AttributeValue::N((HOUR_START + 7200).to_string()));
}

#[tokio::test]
async fn an_unreachable_table_fails_open_quickly_and_marks_the_decision_degraded() {
    let unreachable = rylie_testkit::moto_config()
        .await
        .into_builder()
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let limiter = RateLimiter::from_config(Some(&unreachable), Some("rate-limits".to_owned()));
    assert!(matches!(limiter, RateLimiter::Dynamo(_)));

    let decision = tokio::time::timeout(
        Duration::from_secs(1),
        limiter.check("ip:203.0.113.9", Tier::PublicIp, HOUR_START + 10),
    )
    .await
    .expect("the limiter answers within a second when DynamoDB does not");
    assert_eq!(
        decision,
        Decision {
            limit: 100,
            remaining: 100,
            reset_at: HOUR_START + 3600,
            allowed: true,
            degraded: true,
        }
    );
}

#[tokio::test]
async fn a_missing_table_fails_open() {
    let config = rylie_testkit::moto_config().await;
    let limiter = DynamoLimiter::new(&config, rylie_testkit::unique_name("no-such-table")).with_timeout(TEST_TIMEOUT);
    let decision = limiter.check_limit("user:42", 5, HOUR_START).await;
    assert!(decision.allowed && decision.degraded, "{decision:?}");
    assert_eq!(decision.remaining, 5);
}

#[test]
fn headers_carry_limit_remaining_and_reset_and_retry_after_only_when_refused() {
    let now = HOUR_START + 600;
    let allowed = Decision {
        limit: 1000,
        remaining: 999,
        reset_at: HOUR_START + 3600,
        allowed: true,
        degraded: false,
    };
    assert_eq!(
        allowed.headers(now),
        [
            ("X-RateLimit-Limit", "1000".to_owned()),
            ("X-RateLimit-Remaining", "999".to_owned()),
            ("X-RateLimit-Reset", (HOUR_START + 3600).to_string()),
        ]
    );

    let refused = Decision {
        remaining: 0,
        allowed: false,
        ..allowed
    };
    assert_eq!(
        refused.headers(now),
        [
            ("X-RateLimit-Limit", "1000".to_owned()),
            ("X-RateLimit-Remaining", "0".to_owned()),
            ("X-RateLimit-Reset", (HOUR_START + 3600).to_string()),
            ("Retry-After", "3000".to_owned()),
        ]
    );
}
