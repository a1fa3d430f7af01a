//! `rylie-ops dlq list|redrive JOB`: inspect a job's dead-letter queue and send its messages
//! back to the job once the cause is fixed. Queues are found by the template's names,
//! `rylie-<environment>-<job>` and `rylie-<environment>-<job>-dlq`, with this shell's AWS
//! credentials and region (or AWS_ENDPOINT_URL for moto).
//!
//! Redriving is safe to repeat and to interrupt: each message is sent before it is deleted,
//! and every job is idempotent by its business key, so a message that ends up delivered twice
//! changes nothing twice.

use clap::{Args, Subcommand};
use rylie_cloud::Sqs;

/// The job queues that have a dead-letter queue, by their name in the template.
const JOBS: &[&str] = &[
    "inventory-import",
    "email",
    "conversation-analysis",
    "report",
    "webhook",
];

#[derive(Debug, Subcommand)]
pub enum Dlq {
    /// Print the messages waiting in a job's dead-letter queue (JSON, one per line). Each
    /// listed message is hidden from other readers for 30 seconds.
    List(Target),
    /// Move a job's dead-lettered messages back to its queue; prints how many moved.
    Redrive(Target),
}

#[derive(Debug, Args)]
pub struct Target {
    /// The job: inventory-import, email, conversation-analysis, report or webhook.
    #[arg(value_parser = JOBS.to_vec())]
    job: String,
    /// The deployment's environment (the stack's Environment parameter).
    #[arg(long, default_value = "staging", value_parser = ["staging", "production"])]
    environment: String,
    /// At most this many messages.
    #[arg(long, default_value_t = 100)]
    max: usize,
}

impl Target {
    fn queue(&self) -> String {
        format!("rylie-{}-{}", self.environment, self.job)
    }
}

pub async fn run(command: Dlq) -> Result<(), rylie_app::BoxError> {
    let sqs = Sqs::new(&rylie_cloud::load_aws_config().await);
    match command {
        Dlq::List(target) => {
            let dead = sqs.queue_url(&format!("{}-dlq", target.queue())).await?;
            for letter in sqs.dead_letters(&dead, target.max).await? {
                println!("{}", serde_json::to_string(&letter)?);
            }
        }
        Dlq::Redrive(target) => {
            let dead = sqs.queue_url(&format!("{}-dlq", target.queue())).await?;
            let source = sqs.queue_url(&target.queue()).await?;
            let moved = sqs.redrive(&dead, &source, target.max).await?;
            println!("{}", serde_json::json!({ "moved": moved, "from": dead, "to": source }));
        }
    }
    Ok(())
}
