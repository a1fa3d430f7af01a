//! `OPTIONS /v1/dealerships/{dealership_id}/{proxy+}`: the browser's CORS preflight for the
//! chat widget and dashboards. An origin in the dealership's `allowed_origins` gets the
//! methods and headers the API accepts; any other origin gets a 403 without CORS headers, so
//! the browser refuses the real request. Browsers cache the answer for ten minutes.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_store::{Scope, StoreError, dealerships};

use crate::http::{ApiError, Ctx};

pub async fn preflight(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let origin = request
        .headers()
        .get("origin")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("a preflight carries an Origin header"))?
        .to_owned();
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let gate = dealerships::gate(&tx, dealership).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("reading allowed origins"))?;
    match gate {
        dealerships::Gate::Open { allowed_origins } if allowed_origins.contains(&origin) => Ok(Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header("access-control-allow-origin", origin)
            .header("access-control-allow-methods", "GET, POST, PATCH, DELETE, OPTIONS")
            .header("access-control-allow-headers", "authorization, content-type, x-api-key")
            .header("access-control-max-age", "600")
            .header("vary", "origin")
            .body(Body::Empty)
            .expect("valid headers")),
        _ => Err(ApiError::forbidden(format!(
            "origin {origin} is not allowed for this dealership"
        ))),
    }
}
