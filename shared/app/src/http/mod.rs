//! HTTP: the conventions every route shares (the response envelope, one error type, a log
//! line per request) and the route handlers.

pub mod envelope;
pub mod health;

use std::{future::Future, time::Instant};

use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

pub use envelope::{ApiError, RequestMeta};

use crate::{BoxError, State, telemetry};

/// Serves API Gateway HTTP API events with `handler` until the runtime stops.
pub async fn serve<'a, F, Fut>(state: &'a State, handler: F) -> Result<(), BoxError>
where
    F: Fn(&'a State, RequestMeta, Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(
        move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(handle(state, handler, request).await)
        },
    ))
    .await
}

/// One request: span, handler, error rendering, and the request's log line.
pub async fn handle<'a, F, Fut>(state: &'a State, handler: &F, request: Request) -> Response<Body>
where
    F: Fn(&'a State, RequestMeta, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + 'a,
{
    let meta = RequestMeta::from_request(&request);
    let span = telemetry::invocation_span(&state.config.function, &meta.request_id);
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.uri().path().to_owned();
    async {
        let response = match handler(state, meta.clone(), request).await {
            Ok(response) => response,
            Err(error) => error.into_response(&meta),
        };
        tracing::info!(
            %method,
            route,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

/// Test helper and local tooling: an API Gateway v2 event as `lambda_http` would receive it.
pub fn request_from_event(event_json: &str) -> Result<Request, BoxError> {
    let request = lambda_http::request::from_str(event_json)?;
    Ok(request)
}

/// The path API Gateway matched, without a stage prefix.
pub fn path(request: &Request) -> String {
    request.raw_http_path().to_owned()
}
