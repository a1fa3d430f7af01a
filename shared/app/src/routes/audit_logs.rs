//! `GET /v1/dealerships/{dealership_id}/audit-logs`: the dealership's audit trail, newest
//! first, filtered by `actor` (user id), `action`, `resource_type`, `resource_id`, and a time
//! window `from`/`to` (RFC 3339).

use lambda_http::{Body, Request, Response};
use rylie_store::{
    StoreError,
    audit::{self, AuditFilter},
};

use crate::http::{ApiError, Ctx, envelope, input};

/// Newest first by default; the trail has one useful order.
pub const SORTABLE: &[(&str, &str)] = &[("created_at", "created_at")];

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, SORTABLE, "created_at")?;
    let mut query = input::Query::new(&request);
    let filter = AuditFilter {
        user_id: query.id("actor"),
        action: query.text("action"),
        resource_type: query.text("resource_type"),
        resource_id: query.text("resource_id"),
        from: query.time("from"),
        to: query.time("to"),
    };
    query.finish()?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = audit::list(&tx, dealership.0, &filter, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing the audit log"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}
