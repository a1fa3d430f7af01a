//! Sends e-mail from the e-mail queue (password resets) through SES, once per message's
//! idempotency key; lead first contacts are acknowledged until their sender exists.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    run(service_fn(
        async move |event: LambdaEvent<rylie_app::jobs::SqsEvent>| {
            Ok::<_, rylie_app::BoxError>(rylie_app::jobs::email(state, event.payload).await)
        },
    ))
    .await
}
