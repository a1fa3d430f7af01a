//! rylie-cloud: the adapters to AWS (and, later, the LLM), each beside the embedded stand-in
//! that replaces it when the platform runs on one machine.
//!
//! All AWS clients come from one [`aws_config::SdkConfig`] loaded once per container. Setting
//! `AWS_ENDPOINT_URL` points every client at another endpoint (moto server in tests).

pub mod blob;
pub mod mail;
pub mod queue;
pub mod rate_limit;
pub mod secrets;

/// The AWS configuration every client is built from.
pub use aws_config::SdkConfig;
pub use blob::{BlobStore, PresignedUpload};
pub use mail::{Attachment, Mailer, OutgoingEmail};
pub use queue::{JobMessage, Sqs};
pub use rate_limit::{Decision, DynamoLimiter, MemoryLimiter, RateLimiter, Tier};
pub use secrets::Secrets;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Loads the shared AWS configuration (region, credentials, endpoint) from the environment.
/// Called during init, once, and only by functions that use an AWS client.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

/// What went wrong talking to a cloud service (or its local stand-in), with enough context to
/// act on from a log line alone: the operation, the resource and the service's own words.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("reading secret {id}: {message}")]
    Secret { id: String, message: String },

    /// A blob operation failed. `operation` names the store and the call (`s3 get`,
    /// `local put`); `location` is the bucket, or the folder of the local store.
    #[error("{operation} {location}/{key}: {message}")]
    Blob {
        operation: &'static str,
        location: String,
        key: String,
        message: String,
    },

    /// The object does not exist (S3 `NoSuchKey`, or no such file in the local store). Kept
    /// apart from [`CloudError::Blob`] because it is permanent: retrying will not help.
    #[error("{operation} {location}/{key}: NoSuchKey")]
    BlobNotFound {
        operation: &'static str,
        location: String,
        key: String,
    },

    /// The object is larger than the reader accepts; permanent, like a missing object.
    #[error("{location}/{key} has {size} bytes, more than the {limit} accepted")]
    BlobTooLarge {
        location: String,
        key: String,
        size: u64,
        limit: u64,
    },

    /// The key was refused before any I/O (see [`blob`] for the rules).
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidBlobKey { key: String, reason: &'static str },

    /// A queue operation failed. `operation` is the call (`sqs send`), `queue` the queue URL.
    #[error("{operation} {queue}: {message}")]
    Queue {
        operation: &'static str,
        queue: String,
        message: String,
    },

    /// A job has no queue to go to, and this build cannot run it in-process (a deployed
    /// build; see `rylie_app::jobs::submit`). A configuration error, counted as transient: a
    /// job that meets it is retried and, while the variable is missing, ends in its dead-letter
    /// queue, from where it can be redriven once the variable is set.
    #[error(
        "no queue is configured for {job} jobs (its *_QUEUE_URL variable), and this build runs no job in-process: \
         deployed functions are built with --no-default-features"
    )]
    NoQueue { job: String },

    /// A job message body is not a valid envelope; `message` says which part is wrong.
    #[error("invalid job message: {message}")]
    InvalidJobMessage { message: String },

    /// Sending mail failed in a way that may pass (throttling, a 5xx, no connection, a full
    /// disk for the outbox). `operation` is `ses send` or `outbox write`.
    #[error("{operation}: {message}")]
    Mail { operation: &'static str, message: String },

    /// The mail service refused the message for good (SES `MessageRejected`, an unverified
    /// MAIL FROM domain, a malformed address): sending again changes nothing.
    #[error("{operation}: rejected: {reason}")]
    MailRejected { operation: &'static str, reason: String },
}

impl CloudError {
    /// True when trying again later can succeed: the service failed or was unreachable. A
    /// missing or oversized object, a refused key or a malformed message stays what it is.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            CloudError::BlobNotFound { .. }
                | CloudError::BlobTooLarge { .. }
                | CloudError::InvalidBlobKey { .. }
                | CloudError::InvalidJobMessage { .. }
                | CloudError::MailRejected { .. }
        )
    }
}

/// The service's error code and message (`NoSuchBucket: The specified bucket does not exist`)
/// when the service answered, else the whole error chain (connection refused, timeout, …).
/// Every AWS SDK crate shares these smithy error types, so this serves S3 and SQS alike.
pub(crate) fn describe_sdk_error<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = error {
        let error = service.err();
        match (error.code(), error.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_owned(),
            _ => {}
        }
    }
    DisplayErrorContext(error).to_string()
}
