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

/// A message waiting in a dead-letter queue, as an operator inspects it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    /// How often it was delivered before SQS gave up on it (and once more by this look).
    pub receive_count: u32,
    /// When it was first sent, in milliseconds since the epoch.
    pub sent_at_ms: Option<i64>,
    pub body: String,
}

/// SQS's longest visibility timeout: 12 hours.
pub const MAX_VISIBILITY_SECONDS: u32 = 12 * 60 * 60;

/// How long a listed message stays hidden from other readers of the dead-letter queue.
const LIST_VISIBILITY_SECONDS: i32 = 30;
/// How long a message being moved stays hidden: long enough to send it and delete it.
const MOVE_VISIBILITY_SECONDS: i32 = 120;

impl Sqs {
    /// Keeps a received message hidden for `seconds` more (at most SQS's 12 hours) instead of
    /// letting it come back after the queue's visibility timeout: a job that must wait (quiet
    /// hours) hands its message back to SQS with this, and it returns once, when due.
    pub async fn hide_for(&self, queue_url: &str, receipt_handle: &str, seconds: u32) -> Result<(), CloudError> {
        self.client
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.min(MAX_VISIBILITY_SECONDS) as i32)
            .send()
            .await
            .map_err(|e| CloudError::Queue {
                operation: "sqs change message visibility",
                queue: queue_url.to_owned(),
                message: describe_sdk_error(&e),
            })?;
        Ok(())
    }

    /// The URL of the queue named `name` (`rylie-staging-email-dlq`).
    pub async fn queue_url(&self, name: &str) -> Result<String, CloudError> {
        let answer = self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| CloudError::Queue {
                operation: "sqs get queue url",
                queue: name.to_owned(),
                message: describe_sdk_error(&e),
            })?;
        answer.queue_url.ok_or_else(|| CloudError::Queue {
            operation: "sqs get queue url",
            queue: name.to_owned(),
            message: "no URL in the answer".to_owned(),
        })
    }

    /// Reads up to `max` messages of a dead-letter queue without removing them. SQS has no
    /// true peek: each listed message is received, so it is hidden from other readers for
    /// [`LIST_VISIBILITY_SECONDS`] and its receive count goes up by one.
    pub async fn dead_letters(&self, queue_url: &str, max: usize) -> Result<Vec<DeadLetter>, CloudError> {
        let mut letters = Vec::new();
        while letters.len() < max {
            let batch = self
                .receive(queue_url, max - letters.len(), LIST_VISIBILITY_SECONDS)
                .await?;
            if batch.is_empty() {
                break;
            }
            letters.extend(batch.into_iter().map(|(letter, _)| letter));
        }
        Ok(letters)
    }

    /// Moves up to `max` messages from a dead-letter queue back to the queue its job reads,
    /// each sent before it is deleted: a crash in between leaves a copy in both, which the
    /// jobs' idempotency keys make harmless, and never loses one. Returns how many moved.
    pub async fn redrive(&self, dead_letter_url: &str, target_url: &str, max: usize) -> Result<usize, CloudError> {
        let mut moved = 0;
        while moved < max {
            let batch = self
                .receive(dead_letter_url, max - moved, MOVE_VISIBILITY_SECONDS)
                .await?;
            if batch.is_empty() {
                break;
            }
            for (letter, receipt) in batch {
                let mut request = self
                    .client
                    .send_message()
                    .queue_url(target_url)
                    .message_body(&letter.body);
                if is_fifo(target_url) {
                    request = request
                        .message_group_id("redrive")
                        .message_deduplication_id(&letter.message_id);
                }
                request.send().await.map_err(|e| CloudError::Queue {
                    operation: "sqs send (redrive)",
                    queue: target_url.to_owned(),
                    message: describe_sdk_error(&e),
                })?;
                self.client
                    .delete_message()
                    .queue_url(dead_letter_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| CloudError::Queue {
                        operation: "sqs delete (redrive)",
                        queue: dead_letter_url.to_owned(),
                        message: describe_sdk_error(&e),
                    })?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// One ReceiveMessage of at most ten (SQS's limit) with their receipt handles.
    async fn receive(
        &self,
        queue_url: &str,
        max: usize,
        visibility_seconds: i32,
    ) -> Result<Vec<(DeadLetter, String)>, CloudError> {
        use aws_sdk_sqs::types::MessageSystemAttributeName as Attribute;
        let answer = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility_seconds)
            .wait_time_seconds(0)
            .message_system_attribute_names(Attribute::ApproximateReceiveCount)
            .message_system_attribute_names(Attribute::SentTimestamp)
            .send()
            .await
            .map_err(|e| CloudError::Queue {
                operation: "sqs receive",
                queue: queue_url.to_owned(),
                message: describe_sdk_error(&e),
            })?;
        Ok(answer
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let attribute = |name: Attribute| message.attributes.as_ref().and_then(|a| a.get(&name)).cloned();
                let letter = DeadLetter {
                    message_id: message.message_id.clone().unwrap_or_default(),
                    receive_count: attribute(Attribute::ApproximateReceiveCount)
                        .and_then(|count| count.parse().ok())
                        .unwrap_or(0),
                    sent_at_ms: attribute(Attribute::SentTimestamp).and_then(|at| at.parse().ok()),
                    body: message.body.clone().unwrap_or_default(),
                };
                (letter, message.receipt_handle.unwrap_or_default())
            })
            .collect())
    }
}

/// Whether the queue is a FIFO queue: SQS requires FIFO queue names to end in `.fifo`.
pub fn is_fifo(queue_url: &str) -> bool {
    queue_url.ends_with(".fifo")
}
