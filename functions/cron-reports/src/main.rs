//! Every hour (EventBridge Scheduler): queues one report job per active dealership whose
//! daily or weekly report is due in its own time zone, once per period.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |event: LambdaEvent<rylie_app::jobs::ScheduledEvent>| {
            rylie_app::reports::cron::handle(state, event.payload)
                .await
                .map_err(rylie_app::BoxError::from)
        },
    ))
    .await
}
