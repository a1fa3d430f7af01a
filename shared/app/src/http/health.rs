//! `GET /health` (liveness: the function runs) and `GET /healthz` (readiness: the database
//! answers and its schema is the one this build expects; 503 with the reason otherwise).

use lambda_http::{Body, Request, Response, http::Method, http::StatusCode};
use rylie_store::health::{self, DatabaseHealth};
use serde_json::json;

use super::{ApiError, Ctx, envelope};

pub async fn handle(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let (state, meta) = (ctx.state, &ctx.meta);
    if request.method() != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    match super::path(&request).as_str() {
        "/health" => Ok(envelope::ok(
            meta,
            StatusCode::OK,
            &json!({ "status": "ok", "function": state.config.function, "version": env!("CARGO_PKG_VERSION") }),
        )),
        "/healthz" => match health::check(&state.db, &state.migrations).await {
            DatabaseHealth::Ready { schema_version } => Ok(envelope::ok(
                meta,
                StatusCode::OK,
                &json!({ "status": "ready", "database": "ok", "schema_version": schema_version }),
            )),
            DatabaseHealth::NotReady { reason } => {
                tracing::warn!(%reason, "not ready");
                Err(ApiError::unavailable(reason))
            }
        },
        other => Err(ApiError::not_found(format!("no route {other}"))),
    }
}
