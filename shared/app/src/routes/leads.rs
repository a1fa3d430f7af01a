//! Leads: `GET /v1/dealerships/{dealership_id}/leads[/{lead_id}]` and `PATCH …/{lead_id}` to
//! move a lead along (contacted, qualified, appointment, sold, lost, duplicate). A change of
//! status is audited and sent to webhooks as `lead.updated`; `sold` and `lost` are also what
//! makes an experiment's conversion known (the analysis job reads them).

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_store::{
    StoreError, audit,
    leads::{self, STATUSES},
};

use crate::http::{
    ApiError, Ctx, envelope,
    input::{self, Fields},
};

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no lead {id}"))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, leads::SORTABLE, "created_at")?;
    let mut query = input::Query::new(&request);
    let status = query.one_of("status", STATUSES);
    let source = query.one_of("source", &["email_adf", "web", "chat", "sms", "phone", "api", "manual"]);
    query.finish()?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = leads::list(&tx, dealership, status.as_deref(), source.as_deref(), &page).await?;
    tx.commit().await.map_err(StoreError::query("listing leads"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "lead_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let lead = leads::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    tx.commit().await.map_err(StoreError::query("reading a lead"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &lead))
}

/// The change a caller may make: the status.
pub fn read_lead_update(fields: &mut Fields) -> Option<String> {
    let status = fields.one_of("status", STATUSES);
    if status.is_none() && !fields.has_errors() {
        fields.error("status", "REQUIRED", "is required");
    }
    status
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "lead_id")?;
    let status = input::body(&request, read_lead_update)?.unwrap_or_default();
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = leads::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    let new = leads::set_status(&tx, dealership, id, &status)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(&tx, &ctx.audit("lead.update", "lead", id, Some(&old), Some(&new))).await?;
    tx.commit().await.map_err(StoreError::query("changing a lead"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}
