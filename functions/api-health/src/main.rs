//! `GET /health` and `GET /healthz`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rylie_app::BoxError> {
    let state = rylie_app::start(env!("CARGO_PKG_NAME")).await?;
    rylie_app::http::serve(&state, rylie_app::http::Access::Public, rylie_app::http::health::handle).await
}
