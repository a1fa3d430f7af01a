//! `GET /v1/dealerships/{dealership_id}/inbound-emails`: the mail the dealership received and
//! what became of each (leads and imports created, notes, the reason when nothing could be
//! used), newest first, filtered by `status`. A super_admin also sees the mail no dealership
//! received (`unroutable`), which belongs to no tenant.

use lambda_http::{Body, Request, RequestExt, Response};
use rylie_domain::Role;
use rylie_store::{
    Scope, StoreError,
    inbound_emails::{self, SORTABLE, Status},
};

use crate::http::{ApiError, Ctx, envelope, envelope::FieldError, input};

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, SORTABLE, "received_at")?;
    let status = match request.query_string_parameters().first("status") {
        None => None,
        Some(raw) => Some(Status::parse(raw).ok_or_else(|| {
            let allowed: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::validation(vec![FieldError {
                field: "status".into(),
                message: format!("must be one of {}", allowed.join(", ")),
                code: "INVALID_VALUE",
            }])
        })?),
    };
    let dealership = ctx.dealership()?;
    let super_admin = ctx.principal()?.role == Role::SuperAdmin;
    let mut client = ctx.state.db.client().await?;
    // Unroutable mail has no dealership, so only the platform scope shows it. The tenant
    // transaction still runs first: it checks the dealership exists and is active.
    ctx.tenant(&mut client)
        .await?
        .commit()
        .await
        .map_err(StoreError::query("checking the dealership"))?;
    let scope = if super_admin {
        Scope::Platform
    } else {
        Scope::Tenant(dealership)
    };
    let tx = rylie_store::scope::begin(&mut client, scope).await?;
    let (rows, total) = inbound_emails::list(&tx, dealership, super_admin, status, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing inbound mail"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}
