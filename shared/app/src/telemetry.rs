//! Tracing: JSON lines in Lambda (CloudWatch Logs Insights reads the fields), readable text on
//! a terminal. Every invocation runs inside a span carrying the function name, the request id
//! and, once known, the dealership id, so each line can be traced back to its request.

use tracing_subscriber::{filter::Targets, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber. The level comes from `RUST_LOG` (`info`, or per target:
/// `warn,rylie_store=debug`), else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`. Calling it
/// twice is harmless (tests do). `Targets` rather than `EnvFilter`: the same directives
/// without span-field matching, and without a regex engine in every binary.
pub fn init(format: LogFormat) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .map(|level| level.to_lowercase())
        })
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| "info".parse().expect("a plain level parses"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false)
                    .without_time(), // CloudWatch stamps every line already
            )
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
    };
}

/// The span an invocation runs in. `dealership_id` is recorded when the handler learns it.
pub fn invocation_span(function: &str, request_id: &str) -> tracing::Span {
    tracing::info_span!(
        "invocation",
        function,
        request_id,
        dealership_id = tracing::field::Empty
    )
}
