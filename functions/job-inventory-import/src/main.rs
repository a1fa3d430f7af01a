//! Imports inventory feeds: messages from the import queue (uploads, confirmations) and S3
//! notifications of files dropped under `inventory/incoming/`.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |event: LambdaEvent<rylie_app::jobs::SqsEvent>| {
            Ok::<_, rylie_app::BoxError>(rylie_app::jobs::inventory_import(state, event.payload).await)
        },
    ))
    .await
}
