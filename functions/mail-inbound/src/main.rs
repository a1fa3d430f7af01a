//! Receives mail: SES stores each raw message in S3 and invokes this function, which records
//! it and turns it into leads and inventory imports (rylie_app::mail).

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |event: LambdaEvent<rylie_app::mail::SesEvent>| {
            rylie_app::mail::inbound::handle(state, event.payload)
                .await
                .map_err(rylie_app::BoxError::from)
        },
    ))
    .await
}
