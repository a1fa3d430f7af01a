//! Posts webhook deliveries from the job-webhook queue: one signed attempt per message, at
//! most once, recorded in the delivery log with the next attempt scheduled on failure.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |event: LambdaEvent<rylie_app::jobs::SqsEvent>| {
            Ok::<_, rylie_app::BoxError>(rylie_app::webhooks::job::handle(state, event.payload).await)
        },
    ))
    .await
}
