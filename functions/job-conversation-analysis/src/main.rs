//! Analyses conversations from the analysis queue: summary, intents, sentiment and lead score,
//! once per conversation state; a strongly negative open conversation goes to a person.

use rylie_app::lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    let state = &state;
    // The chat model's HTTPS client is built during init, not by the first analysis.
    state.responder();
    run(service_fn(
        async move |event: LambdaEvent<rylie_app::jobs::SqsEvent>| {
            Ok::<_, rylie_app::BoxError>(rylie_app::jobs::conversation_analysis(state, event.payload).await)
        },
    ))
    .await
}
