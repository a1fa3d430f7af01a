//! Applies the embedded migrations; invoked after each deploy.

use rylie_app::migrate::{MigrateRequest, handle};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    rylie_app::lambda_runtime::run(rylie_app::lambda_runtime::service_fn(
        async move |event: rylie_app::lambda_runtime::LambdaEvent<MigrateRequest>| handle(state, event.payload).await,
    ))
    .await
}
