//! rylie-cloud: the adapters to AWS (and, later, the LLM), each beside the embedded stand-in
//! that replaces it when the platform runs on one machine.
//!
//! All AWS clients come from one [`aws_config::SdkConfig`] loaded once per container. Setting
//! `AWS_ENDPOINT_URL` points every client at another endpoint (moto server in tests).

pub mod rate_limit;
pub mod secrets;

pub use rate_limit::{Decision, DynamoLimiter, MemoryLimiter, RateLimiter, Tier};
pub use secrets::Secrets;

/// Loads the shared AWS configuration (region, credentials, endpoint) from the environment.
/// Called during init, once, and only by functions that use an AWS client.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("reading secret {id}: {message}")]
    Secret { id: String, message: String },
}
