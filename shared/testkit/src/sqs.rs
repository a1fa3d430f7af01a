//! Job queues in tests: a fresh moto SQS queue, and messages as the Lambda event source hands
//! them to a worker.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};

use crate::{moto_config, unique_name};

/// A queue of its own in the shared moto server.
#[derive(Debug)]
pub struct MotoQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
}

impl MotoQueue {
    /// Creates a queue named after `prefix` and this test.
    pub async fn create(prefix: &str) -> Self {
        let client = aws_sdk_sqs::Client::new(&moto_config().await);
        let url = client
            .create_queue()
            .queue_name(unique_name(prefix))
            .send()
            .await
            .expect("moto creates the queue")
            .queue_url
            .expect("a created queue has a URL");
        Self { client, url }
    }

    /// Up to ten waiting messages, as one Lambda batch (receipt handles and receive counts
    /// included, as the event source hands them over).
    pub async fn receive(&self) -> SqsEvent {
        self.receive_hidden_for(30).await
    }

    /// [`MotoQueue::receive`], the messages hidden for `seconds` from other readers.
    pub async fn receive_hidden_for(&self, seconds: i32) -> SqsEvent {
        use aws_sdk_sqs::types::MessageSystemAttributeName as Attribute;
        let received = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .visibility_timeout(seconds)
            .wait_time_seconds(1)
            .message_system_attribute_names(Attribute::ApproximateReceiveCount)
            .send()
            .await
            .expect("moto answers ReceiveMessage");
        let mut event = SqsEvent::default();
        for message in received.messages.unwrap_or_default() {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id;
            record.receipt_handle = message.receipt_handle;
            record.body = message.body;
            if let Some(count) = message
                .attributes
                .as_ref()
                .and_then(|attributes| attributes.get(&Attribute::ApproximateReceiveCount))
            {
                record
                    .attributes
                    .insert("ApproximateReceiveCount".to_owned(), count.clone());
            }
            event.records.push(record);
        }
        event
    }
}

/// A batch of `(message id, body)` records.
pub fn batch(messages: impl IntoIterator<Item = (String, String)>) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (id, body) in messages {
        let mut record = SqsMessage::default();
        record.message_id = Some(id);
        record.body = Some(body);
        event.records.push(record);
    }
    event
}

/// A batch of one record.
pub fn one_message(id: &str, body: String) -> SqsEvent {
    batch([(id.to_owned(), body)])
}
