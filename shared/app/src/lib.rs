//! rylie-app: the use cases, and the handlers that the functions in functions/ call.
//!
//! A function's `main` is a few lines: [`start`] initialises tracing, reads the [`Config`]
//! and builds the [`State`] once per container, then hands each event to a handler here.
//! Because every handler lives in this crate, tests call them in-process with real events.

pub mod analysis;
pub mod assistant;
pub mod auth;
pub mod config;
pub mod email;
pub mod http;
pub mod inventory;
pub mod jobs;
pub mod mail;
pub mod migrate;
pub mod reports;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use config::{Config, ConfigError};
pub use lambda_runtime;
pub use state::State;

/// The allocator of every function (and of rylie-ops and the tests): mimalloc. A turn of the
/// assistant allocates and frees thousands of small strings and JSON values; with glibc's
/// malloc that was a sixth of the assistant bench's thread, and mimalloc takes 15-20% off the
/// thread's CPU a turn (`rylie-ops bench assistant`, alternated with a build on glibc's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The error type a function's `main` returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Cold start: tracing, configuration and state, in that order, so a configuration error is
/// logged in the function's log format before the container exits.
pub async fn start(function: &'static str) -> Result<State, BoxError> {
    let config = Config::from_env(function);
    telemetry::init(config.as_ref().map(|c| c.log_format).unwrap_or_default());
    let config = config.inspect_err(|error| tracing::error!(%error, "configuration error"))?;
    let state = State::init(config)
        .await
        .inspect_err(|error| tracing::error!(%error, "init failed"))?;
    Ok(state)
}

/// The whole `main` of an HTTP function: `rylie_app::http_function!(handler);`. Its access
/// rule comes from infra/routes.tsv, by package name.
///
/// `rylie_app::http_function!(handler, warm_up: State::responder);` also builds, during init,
/// a client the state otherwise builds on first use, so the first request does not pay for it.
#[macro_export]
macro_rules! http_function {
    ($handler:path) => {
        $crate::http_function!($handler, warm_up: |_: &$crate::State| ());
    };
    ($handler:path, warm_up: $warm_up:expr) => {
        #[tokio::main(flavor = "current_thread")]
        async fn main() -> Result<(), $crate::BoxError> {
            let access = $crate::routes::registry::access_of(env!("CARGO_PKG_NAME"));
            let state = $crate::start(env!("CARGO_PKG_NAME")).await?;
            ($warm_up)(&state);
            $crate::http::serve(&state, access, $handler).await
        }
    };
}
