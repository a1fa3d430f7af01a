//! On a schedule (EventBridge, every minute): puts the due webhook delivery attempts on the
//! job-webhook queue, one message each.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |_: LambdaEvent<rylie_app::jobs::ScheduledEvent>| rylie_app::webhooks::dispatch::run(state).await,
    ))
    .await
}
