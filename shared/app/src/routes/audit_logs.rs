//! `GET /v1/dealerships/{dealership_id}/audit-logs`: the dealership's audit trail, newest
//! first, filtered by `actor` (user id), `action`, `resource_type`, `resource_id`, and a time
//! window `from`/`to` (RFC 3339).

use lambda_http::{Body, Request, RequestExt, Response};
use rylie_store::{
    StoreError,
    audit::{self, AuditFilter},
};

use crate::http::{ApiError, Ctx, envelope, envelope::FieldError, input};

/// Newest first by default; the trail has one useful order.
pub const SORTABLE: &[(&str, &str)] = &[("created_at", "created_at")];

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, SORTABLE, "created_at")?;
    let query = request.query_string_parameters();
    let mut errors = Vec::new();
    let time = |name: &str, errors: &mut Vec<FieldError>| {
        query
            .first(name)
            .and_then(|raw| match chrono::DateTime::parse_from_rfc3339(raw) {
                Ok(time) => Some(time.with_timezone(&chrono::Utc)),
                Err(_) => {
                    errors.push(FieldError {
                        field: name.to_owned(),
                        message: "must be an RFC 3339 time, e.g. 2026-11-25T00:00:00Z".to_owned(),
                        code: "INVALID_FORMAT",
                    });
                    None
                }
            })
    };
    let from = time("from", &mut errors);
    let to = time("to", &mut errors);
    let user_id = query.first("actor").and_then(|raw| match raw.parse::<i64>() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError {
                field: "actor".into(),
                message: "must be a user id".into(),
                code: "INVALID_FORMAT",
            });
            None
        }
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let filter = AuditFilter {
        user_id,
        action: query.first("action").map(str::to_owned),
        resource_type: query.first("resource_type").map(str::to_owned),
        resource_id: query.first("resource_id").map(str::to_owned),
        from,
        to,
    };
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = audit::list(&tx, dealership.0, &filter, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing the audit log"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}
