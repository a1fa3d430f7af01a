//! `GET /health` (liveness: the function runs) and `GET /healthz` (readiness: the database
//! answers and its schema is the one this build expects; 503 with the reason otherwise).

use lambda_http::{Body, Request, Response, http::Method, http::StatusCode};
use rylie_store::health::{self, DatabaseHealth};

use super::{ApiError, Ctx, envelope};

/// What `/health` (status, function, version) and `/healthz` (status, database,
/// schema_version) answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Health {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
    /// The newest migration applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<i64>,
}

pub async fn handle(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let (state, meta) = (ctx.state, &ctx.meta);
    if request.method() != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    match super::path(&request).as_str() {
        "/health" => Ok(envelope::ok(
            meta,
            StatusCode::OK,
            &Health {
                status: "ok",
                function: Some(state.config.function.clone()),
                version: Some(env!("CARGO_PKG_VERSION")),
                database: None,
                schema_version: None,
            },
        )),
        "/healthz" => match health::check(&state.db, &state.migrations).await {
            DatabaseHealth::Ready { schema_version } => Ok(envelope::ok(
                meta,
                StatusCode::OK,
                &Health {
                    status: "ready",
                    function: None,
                    version: None,
                    database: Some("ok"),
                    schema_version,
                },
            )),
            DatabaseHealth::NotReady { reason } => {
                tracing::warn!(%reason, "not ready");
                Err(ApiError::unavailable(reason))
            }
        },
        other => Err(ApiError::not_found(format!("no route {other}"))),
    }
}
