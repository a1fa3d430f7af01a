//! Tiered rate limiting (seed 001, "Rate Limiting & Throttling"): fixed one-hour windows,
//! counted in DynamoDB when deployed and in memory on one machine.
//!
//! # Counting
//!
//! A window starts on the hour (`now - now % 3600`) and lasts an hour. The counter for a
//! subject (`ip:203.0.113.9`, `user:42`, `key:17`) in a window lives under the key
//! `"{subject}#{window_start}"`. In DynamoDB that key is the item's partition key `pk`, and one
//! `UpdateItem` per request both increments `count` atomically and returns the new value: no
//! read-then-write, so concurrent Lambdas never lose a count. The item's `expires_at` (window
//! end + one hour) is the table's TTL attribute, so DynamoDB deletes old windows on its own.
//! Fixed windows allow a burst of up to twice the limit across a window boundary; that is the
//! price of one write per request, and the stage throttling below bounds the burst.
//!
//! # Failing open
//!
//! When DynamoDB errors, or does not answer within [`DEFAULT_TIMEOUT`], the request is
//! **allowed**: the decision is marked [`Decision::degraded`] and the error is logged. This is
//! deliberate:
//!
//! * the limiter protects capacity and fairness between clients, not security: authentication
//!   and authorization never depend on it, so a request it lets through can do nothing the
//!   caller is not already entitled to;
//! * an outage (or throttling) of the counter store must not take the whole API down with it;
//! * the request rate is still bounded while degraded, by API Gateway's stage throttling
//!   (`ThrottlingRateLimit` / `ThrottlingBurstLimit` in template.yaml).
//!
//! The short timeout matters as much as the error path: a slow table would otherwise add its
//! latency to every request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

/// Length of a rate-limit window, in seconds.
pub const WINDOW_SECONDS: i64 = 3600;

/// How long a request waits for the counter store before it is allowed without it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(300);

/// The rate-limit tiers of seed 001; each is a number of requests per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Public endpoints, per client IP.
    PublicIp,
    /// Authenticated users, per user.
    User,
    /// API keys of the standard tier, per key.
    KeyStandard,
    /// API keys of the premium tier, per key.
    KeyPremium,
    /// API keys of the enterprise tier, per key.
    KeyEnterprise,
}

impl Tier {
    /// Requests allowed per one-hour window.
    pub const fn limit(self) -> u32 {
        match self {
            Tier::PublicIp => 100,
            Tier::User => 1_000,
            Tier::KeyStandard => 5_000,
            Tier::KeyPremium => 20_000,
            Tier::KeyEnterprise => 100_000,
        }
    }

    /// The tier of an API key from its stored tier name (`standard`, `premium`, `enterprise`).
    pub fn from_key_tier(name: &str) -> Option<Tier> {
        match name {
            "standard" => Some(Tier::KeyStandard),
            "premium" => Some(Tier::KeyPremium),
            "enterprise" => Some(Tier::KeyEnterprise),
            _ => None,
        }
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Requests allowed in the window.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// End of the window (unix seconds), when the count starts again.
    pub reset_at: i64,
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The counter store failed and the request was allowed without being counted (see the
    /// module docs); callers may log or measure it.
    pub degraded: bool,
}

impl Decision {
    /// Seconds from `now` until the window resets (never negative).
    pub fn retry_after_seconds(&self, now: i64) -> u64 {
        u64::try_from(self.reset_at - now).unwrap_or(0)
    }

    /// The response headers for this decision: `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
    /// `X-RateLimit-Reset` (unix seconds) and, only when the request is refused, `Retry-After`
    /// (seconds).
    pub fn headers(&self, now: i64) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("X-RateLimit-Limit", self.limit.to_string()),
            ("X-RateLimit-Remaining", self.remaining.to_string()),
            ("X-RateLimit-Reset", self.reset_at.to_string()),
        ];
        if !self.allowed {
            headers.push(("Retry-After", self.retry_after_seconds(now).to_string()));
        }
        headers
    }

    /// The decision once `count` requests (this one included) were seen in the window.
    fn counted(limit: u32, count: u64, reset_at: i64) -> Self {
        Self {
            limit,
            remaining: u32::try_from(u64::from(limit).saturating_sub(count)).unwrap_or(limit),
            reset_at,
            allowed: count <= u64::from(limit),
            degraded: false,
        }
    }

    /// The decision when the count is unknown: allowed, nothing used (fail open).
    fn fail_open(limit: u32, reset_at: i64) -> Self {
        Self {
            limit,
            remaining: limit,
            reset_at,
            allowed: true,
            degraded: true,
        }
    }
}

/// The window containing `now`: its start and its end (unix seconds).
fn window(now: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(WINDOW_SECONDS);
    (start, start + WINDOW_SECONDS)
}

/// The rate limiter: DynamoDB when deployed, memory on one machine.
#[derive(Debug)]
pub enum RateLimiter {
    Dynamo(DynamoLimiter),
    Memory(MemoryLimiter),
}

impl RateLimiter {
    /// DynamoDB when both the AWS configuration and the table name are given, else the
    /// in-memory stand-in.
    pub fn from_config(aws: Option<&aws_config::SdkConfig>, table: Option<String>) -> Self {
        match (aws, table) {
            (Some(aws), Some(table)) => RateLimiter::Dynamo(DynamoLimiter::new(aws, table)),
            _ => RateLimiter::Memory(MemoryLimiter::new()),
        }
    }

    /// Counts one request by `subject` (`ip:…`, `user:…`, `key:…`) at `now` (unix seconds)
    /// against its tier's hourly limit.
    pub async fn check(&self, subject: &str, tier: Tier, now: i64) -> Decision {
        self.check_limit(subject, tier.limit(), now).await
    }

    /// [`check`](Self::check) with an explicit hourly limit instead of a tier's (for limits
    /// that are not one of the seed's tiers, and for tests that should not make thousands of
    /// requests).
    pub async fn check_limit(&self, subject: &str, limit: u32, now: i64) -> Decision {
        match self {
            RateLimiter::Dynamo(dynamo) => dynamo.check_limit(subject, limit, now).await,
            RateLimiter::Memory(memory) => memory.check_limit(subject, limit, now),
        }
    }
}

/// Why the DynamoDB counter could not be read; logged, never returned (the limiter fails open).
#[derive(Debug, thiserror::Error)]
enum CounterError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("UpdateItem failed: {0}")]
    Request(String),
    #[error("UpdateItem returned no usable count: {0}")]
    BadResponse(String),
}

/// Counts requests in a DynamoDB table whose partition key is the string attribute `pk` and
/// whose TTL attribute is `expires_at`.
#[derive(Debug, Clone)]
pub struct DynamoLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    timeout: Duration,
}

impl DynamoLimiter {
    pub fn new(config: &aws_config::SdkConfig, table: String) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(config),
            table,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Replaces [`DEFAULT_TIMEOUT`], the longest a request waits for the table.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// See [`RateLimiter::check_limit`].
    pub async fn check_limit(&self, subject: &str, limit: u32, now: i64) -> Decision {
        let (start, end) = window(now);
        let key = format!("{subject}#{start}");
        match self.increment(&key, end + WINDOW_SECONDS).await {
            Ok(count) => Decision::counted(limit, count, end),
            Err(error) => {
                tracing::error!(
                    table = %self.table,
                    key = %key,
                    error = %error,
                    "rate limit counter unavailable; allowing the request (failing open)"
                );
                Decision::fail_open(limit, end)
            }
        }
    }

    /// Adds one to the window's count and returns the new count.
    async fn increment(&self, key: &str, expires_at: i64) -> Result<u64, CounterError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("ADD #count :one SET #expires = if_not_exists(#expires, :expires)")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send();
        let output = tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| CounterError::Timeout(self.timeout))?
            .map_err(|e| CounterError::Request(DisplayErrorContext(&e).to_string()))?;
        let count = output
            .attributes()
            .and_then(|attributes| attributes.get("count"))
            .ok_or_else(|| CounterError::BadResponse("no count attribute".to_owned()))?;
        let count = count
            .as_n()
            .map_err(|value| CounterError::BadResponse(format!("count is not a number: {value:?}")))?;
        count
            .parse()
            .map_err(|e| CounterError::BadResponse(format!("count {count:?}: {e}")))
    }
}

/// The local stand-in: counts in memory, per process, with the same windows and decisions as
/// [`DynamoLimiter`]. Windows that have ended are dropped as time moves on.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    /// Window start → subject → count.
    windows: Mutex<BTreeMap<i64, HashMap<String, u64>>>,
}

impl MemoryLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`RateLimiter::check_limit`].
    pub fn check_limit(&self, subject: &str, limit: u32, now: i64) -> Decision {
        let (start, end) = window(now);
        // A panic while the lock was held cannot leave a count half-written.
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        windows.retain(|window_start, _| *window_start >= start);
        let count = windows.entry(start).or_default().entry(subject.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        Decision::counted(limit, *count, end)
    }

    /// How many windows are held (tests of pruning).
    #[cfg(test)]
    fn window_count(&self) -> usize {
        self.windows.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_START: i64 = 1_700_002_800; // a multiple of 3600

    #[test]
    fn windows_start_on_the_hour_and_last_an_hour() {
        assert_eq!(window(HOUR_START), (HOUR_START, HOUR_START + 3600));
        assert_eq!(window(HOUR_START + 3599), (HOUR_START, HOUR_START + 3600));
        assert_eq!(window(HOUR_START + 3600), (HOUR_START + 3600, HOUR_START + 7200));
    }

    #[test]
    fn tiers_carry_the_seed_limits() {
        assert_eq!(Tier::PublicIp.limit(), 100);
        assert_eq!(Tier::User.limit(), 1_000);
        assert_eq!(Tier::KeyStandard.limit(), 5_000);
        assert_eq!(Tier::KeyPremium.limit(), 20_000);
        assert_eq!(Tier::KeyEnterprise.limit(), 100_000);
    }

    #[test]
    fn stored_key_tiers_map_to_tiers_and_unknown_ones_do_not() {
        assert_eq!(Tier::from_key_tier("standard"), Some(Tier::KeyStandard));
        assert_eq!(Tier::from_key_tier("premium"), Some(Tier::KeyPremium));
        assert_eq!(Tier::from_key_tier("enterprise"), Some(Tier::KeyEnterprise));
        assert_eq!(Tier::from_key_tier("Premium"), None);
        assert_eq!(Tier::from_key_tier(""), None);
    }

    #[test]
    fn memory_counts_down_then_refuses_the_request_over_the_limit() {
        let limiter = MemoryLimiter::new();
        let now = HOUR_START + 600;
        let remaining: Vec<_> = (0..3)
            .map(|_| limiter.check_limit("ip:203.0.113.9", 3, now))
            .inspect(|d| assert!(d.allowed && !d.degraded))
            .map(|d| d.remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);

        let refused = limiter.check_limit("ip:203.0.113.9", 3, now);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset_at, HOUR_START + 3600);
        assert_eq!(refused.retry_after_seconds(now), 3000);
    }

    #[test]
    fn memory_new_window_resets_the_count_and_drops_the_old_window() {
        let limiter = MemoryLimiter::new();
        for _ in 0..2 {
            limiter.check_limit("user:42", 1, HOUR_START + 10);
        }
        assert!(!limiter.check_limit("user:42", 1, HOUR_START + 3599).allowed);

        let next = limiter.check_limit("user:42", 1, HOUR_START + 3600);
        assert!(next.allowed);
        assert_eq!(next.remaining, 0);
        assert_eq!(next.reset_at, HOUR_START + 7200);
        assert_eq!(limiter.window_count(), 1);
    }

    #[test]
    fn memory_counts_subjects_separately() {
        let limiter = MemoryLimiter::new();
        assert!(limiter.check_limit("key:17", 1, HOUR_START).allowed);
        assert!(!limiter.check_limit("key:17", 1, HOUR_START).allowed);
        assert!(limiter.check_limit("key:18", 1, HOUR_START).allowed);
        assert!(limiter.check_limit("user:17", 1, HOUR_START).allowed);
    }

    #[tokio::test]
    async fn from_config_without_a_table_uses_memory_with_the_tier_limit() {
        let limiter = RateLimiter::from_config(None, Some("rate-limits".to_owned()));
        assert!(matches!(limiter, RateLimiter::Memory(_)));
        let decision = limiter.check("ip:203.0.113.9", Tier::PublicIp, HOUR_START).await;
        assert_eq!((decision.limit, decision.remaining), (100, 99));
    }
}
