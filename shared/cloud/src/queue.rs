//! Jobs: the message envelope every job queue carries, and sending it to SQS.
//!
//! A message body is versioned JSON (ARCHITECTURE.md, "Messages and jobs"):
//!
//! ```json
//! { "type": "inventory_import", "version": 1, "dealership_id": 7,
//!   "idempotency_key": "inventory-import:7:42", "payload": { "import_id": 42 } }
//! ```
//!
//! `type` and `version` choose the handler and the payload's shape, so a payload can change
//! shape under a new version while old messages still drain. `dealership_id` is `null` for
//! platform jobs (a missing `dealership_id` reads as `null` too). `idempotency_key` is what a
//! worker records to make a redelivered message change nothing twice. Unknown fields are
//! ignored, so a producer may add one before every consumer knows it.
//!
//! # FIFO queues
//!
//! For a queue whose URL ends in `.fifo`, [`Sqs::send`] sets `MessageGroupId` to the dealership
//! (`"platform"` for platform jobs), so one dealership's jobs run in order while different
//! dealerships run in parallel, and `MessageDeduplicationId` to the idempotency key, so SQS
//! itself drops a message sent twice within its five-minute window. Standard queues take
//! neither (SQS refuses them there).
//!
//! # On one machine
//!
//! There is no stand-in here. Without a queue URL the job runs in-process, and running a job
//! takes the app's handlers, which live in rylie-app; rylie-cloud cannot depend on rylie-app
//! (the dependency runs the other way), so that stand-in is rylie-app's. This module is the
//! SQS side only.

use serde::{Deserialize, Serialize};

use crate::{CloudError, describe_sdk_error};

/// The `MessageGroupId` of platform jobs (no dealership) on FIFO queues.
pub const PLATFORM_GROUP: &str = "platform";

/// The envelope of every job message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The job type (`inventory_import`, `email`, …): which handler runs it.
    #[serde(rename = "type")]
    pub r#type: String,
    /// The version of this type's payload shape; starts at 1.
    pub version: u32,
    /// The dealership the job is for; `None` for platform jobs.
    #[serde(default)]
    pub dealership_id: Option<i64>,
    /// Identifies the effect, so a redelivered message changes nothing twice.
    pub idempotency_key: String,
    /// The type's own fields.
    pub payload: serde_json::Value,
}

impl JobMessage {
    /// Parses a message body. The error names what is wrong: the JSON error with its line and
    /// column, the missing or mistyped field, or the field whose value is refused.
    pub fn parse(body: &str) -> Result<Self, CloudError> {
        let invalid = |message: String| CloudError::InvalidJobMessage { message };
        let message: JobMessage = serde_json::from_str(body).map_err(|e| invalid(e.to_string()))?;
        if message.r#type.trim().is_empty() {
            return Err(invalid("`type` is empty".to_owned()));
        }
        if message.version == 0 {
            return Err(invalid("`version` is 0 (versions start at 1)".to_owned()));
        }
        if message.idempotency_key.trim().is_empty() {
            return Err(invalid("`idempotency_key` is empty".to_owned()));
        }
        Ok(message)
    }

    /// The message body: the envelope as JSON.
    pub fn to_json(&self) -> Result<String, CloudError> {
        serde_json::to_string(self).map_err(|e| CloudError::InvalidJobMessage {
            message: format!("serializing {} job: {e}", self.r#type),
        })
    }

    /// The FIFO message group: the dealership, or [`PLATFORM_GROUP`].
    pub fn message_group(&self) -> String {
        self.dealership_id
            .map_or_else(|| PLATFORM_GROUP.to_owned(), |id| id.to_string())
    }
}

/// An SQS client that sends job messages.
#[derive(Debug, Clone)]
pub struct Sqs {
    client: aws_sdk_sqs::Client,
}

impl Sqs {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(config),
        }
    }

    /// Sends `message` to the queue at `queue_url` and returns SQS's message id. On a FIFO
    /// queue the group and deduplication ids are set (see the module docs).
    pub async fn send(&self, queue_url: &str, message: &JobMessage) -> Result<String, CloudError> {
        let fail = |message: String| CloudError::Queue {
            operation: "sqs send",
            queue: queue_url.to_owned(),
            message,
        };
        let mut request = self
            .client
            .send_message()
            .queue_url(queue_url)
            .message_body(message.to_json()?);
        if is_fifo(queue_url) {
            request = request
                .message_group_id(message.message_group())
                .message_deduplication_id(&message.idempotency_key);
        }
        let output = request.send().await.map_err(|e| {
            fail(format!(
                "{} job {}: {}",
                message.r#type,
                message.idempotency_key,
                describe_sdk_error(&e)
            ))
        })?;
        output.message_id.ok_or_else(|| {
            fail(format!(
                "{} job {}: no message id in the answer",
                message.r#type, message.idempotency_key
            ))
        })
    }
}

/// Whether the queue is a FIFO queue: SQS requires FIFO queue names to end in `.fifo`.
pub fn is_fifo(queue_url: &str) -> bool {
    queue_url.ends_with(".fifo")
}
