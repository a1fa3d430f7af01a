//! On a schedule (EventBridge): queues the analysis of every conversation gone silent for
//! ANALYSIS_IDLE_MINUTES, and of closed ones whose analysis was lost.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |_: LambdaEvent<rylie_app::jobs::ScheduledEvent>| {
            rylie_app::analysis::sweep(state)
                .await
                .map_err(rylie_app::BoxError::from)
        },
    ))
    .await
}
