//! Vehicles: `GET /v1/dealerships/{dealership_id}/vehicles` (search) and
//! `GET /v1/dealerships/{dealership_id}/vehicles/{vin}`.

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use rylie_store::{StoreError, vehicles};

use crate::{
    http::{ApiError, Ctx, envelope, input},
    inventory::search::parse_query,
};

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let params = request.query_string_parameters();
    let query = parse_query(|name| params.first(name)).map_err(ApiError::validation)?;
    let default_sort = if query.text.is_some() {
        "relevance"
    } else {
        "created_at"
    };
    let page = input::page(&request, vehicles::SORTABLE, default_sort)?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = vehicles::search(&tx, dealership, &query, &page).await?;
    tx.commit().await.map_err(StoreError::query("searching vehicles"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let not_found = || ApiError::not_found("no such vehicle");
    let vin = request
        .path_parameters()
        .first("vin")
        .and_then(|raw| rylie_domain::Vin::parse(raw).ok())
        .ok_or_else(not_found)?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let vehicle = vehicles::get_by_vin(&tx, dealership, vin.as_str()).await?;
    tx.commit().await.map_err(StoreError::query("reading a vehicle"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &vehicle.ok_or_else(not_found)?))
}
