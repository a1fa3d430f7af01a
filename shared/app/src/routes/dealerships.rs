//! Dealerships. Creating, listing and (de)activating them is platform work for super_admin;
//! a dealership's own staff read it and its admins update it.
//!
//! `POST /v1/dealerships`, `GET /v1/dealerships`, `GET|PATCH /v1/dealerships/{dealership_id}`,
//! `POST /v1/dealerships/{dealership_id}/activate|deactivate`.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::{Role, Subdomain};
use rylie_store::{
    Scope, StoreError, audit,
    dealerships::{self, DealershipFields},
};

use crate::http::{
    ApiError, Ctx, envelope,
    input::{self, Fields},
};

pub const SORTABLE: &[(&str, &str)] = &[
    ("name", "name"),
    ("created_at", "created_at"),
    ("subdomain", "subdomain"),
];

/// Reads a create (`base` None: name and subdomain required) or a partial update over `base`;
/// the time zone is checked against PostgreSQL's zone names by the caller.
pub fn read_dealership(fields: &mut Fields, base: Option<&DealershipFields>) -> DealershipFields {
    let creating = base.is_none();
    let name = fields.string("name", creating, 1, 200);
    let subdomain = fields
        .string("subdomain", creating, 1, 63)
        .and_then(|raw| match Subdomain::parse(&raw) {
            Ok(subdomain) => Some(subdomain.as_str().to_owned()),
            Err(error) => {
                fields.error("subdomain", "INVALID_FORMAT", error.to_string());
                None
            }
        });
    let contact_email = fields.email("contact_email", false);
    let handover_email = fields.email("handover_email", false);
    let contact_phone = fields.string("contact_phone", false, 3, 40);
    let alias = fields
        .string("inbound_email_alias", false, 1, 63)
        .and_then(|raw| match Subdomain::parse(&raw) {
            Ok(alias) => Some(alias.as_str().to_owned()),
            Err(error) => {
                fields.error("inbound_email_alias", "INVALID_FORMAT", error.to_string());
                None
            }
        });
    let origins = fields.strings("allowed_origins", 20, 200);
    if let Some(bad) = origins
        .iter()
        .flatten()
        .find(|o| !(o.starts_with("https://") || o.starts_with("http://localhost")))
    {
        fields.error(
            "allowed_origins",
            "INVALID_FORMAT",
            format!("{bad:?} is not an https:// origin"),
        );
    }
    let timezone = fields.string("timezone", false, 1, 64);
    let website = fields.string("website", false, 1, 200);
    let street = fields.string("street", false, 1, 200);
    let city = fields.string("city", false, 1, 100);
    let region = fields.string("region", false, 1, 100);
    let postal_code = fields.string("postal_code", false, 1, 20);
    let country = fields.string("country", false, 2, 2).map(|c| c.to_uppercase());
    let inventory_senders = fields.emails("inventory_sender_emails", 20);
    let inbound_addresses = fields.emails("inbound_email_addresses", 20);
    let first_contact = fields.one_of("first_contact", &["assistant", "template", "none"]);
    let base = base.cloned();
    let keep = |new: Option<String>, old: Option<String>| new.or(old);
    DealershipFields {
        name: keep(name, base.as_ref().map(|b| b.name.clone())).unwrap_or_default(),
        subdomain: keep(subdomain, base.as_ref().map(|b| b.subdomain.clone())).unwrap_or_default(),
        contact_email: keep(contact_email, base.as_ref().and_then(|b| b.contact_email.clone())),
        contact_phone: keep(contact_phone, base.as_ref().and_then(|b| b.contact_phone.clone())),
        handover_email: keep(handover_email, base.as_ref().and_then(|b| b.handover_email.clone())),
        inbound_email_alias: keep(alias, base.as_ref().and_then(|b| b.inbound_email_alias.clone())),
        allowed_origins: origins
            .or(base.as_ref().map(|b| b.allowed_origins.clone()))
            .unwrap_or_default(),
        timezone: keep(timezone, base.as_ref().map(|b| b.timezone.clone()))
            .unwrap_or_else(|| "America/New_York".into()),
        website: keep(website, base.as_ref().and_then(|b| b.website.clone())),
        street: keep(street, base.as_ref().and_then(|b| b.street.clone())),
        city: keep(city, base.as_ref().and_then(|b| b.city.clone())),
        region: keep(region, base.as_ref().and_then(|b| b.region.clone())),
        postal_code: keep(postal_code, base.as_ref().and_then(|b| b.postal_code.clone())),
        country: keep(country, base.as_ref().map(|b| b.country.clone())).unwrap_or_else(|| "US".into()),
        inventory_sender_emails: inventory_senders
            .or(base.as_ref().map(|b| b.inventory_sender_emails.clone()))
            .unwrap_or_default(),
        inbound_email_addresses: inbound_addresses
            .or(base.as_ref().map(|b| b.inbound_email_addresses.clone()))
            .unwrap_or_default(),
        first_contact: keep(first_contact, base.map(|b| b.first_contact)).unwrap_or_else(|| "assistant".into()),
    }
}

async fn check_time_zone(tx: &rylie_store::Transaction<'_>, fields: &DealershipFields) -> Result<(), ApiError> {
    if dealerships::is_time_zone(tx, &fields.timezone).await? {
        Ok(())
    } else {
        Err(ApiError::validation(vec![crate::http::envelope::FieldError {
            field: "timezone".into(),
            message: format!("{:?} is not an IANA time zone, e.g. America/Chicago", fields.timezone),
            code: "INVALID_VALUE",
        }]))
    }
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let fields = input::body(&request, |fields| read_dealership(fields, None))?;
    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    check_time_zone(&tx, &fields).await?;
    let created = dealerships::create(&tx, &fields).await?;
    let mut entry = ctx.audit("dealership.create", "dealership", created.id, None, Some(&created));
    entry.dealership_id = Some(created.id);
    audit::record(&tx, &entry).await?;
    tx.commit().await.map_err(StoreError::query("creating a dealership"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &created))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, SORTABLE, "name")?;
    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let (rows, total) = dealerships::list(&tx, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing dealerships"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, _request: Request) -> Result<Response<Body>, ApiError> {
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let found = dealerships::get(&tx, dealership)
        .await?
        .ok_or_else(|| ApiError::not_found("no such dealership"))?;
    tx.commit().await.map_err(StoreError::query("reading a dealership"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &found))
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = dealerships::get(&tx, dealership)
        .await?
        .ok_or_else(|| ApiError::not_found("no such dealership"))?;
    let fields = input::body(&request, |fields| read_dealership(fields, Some(&old.fields)))?;
    if fields.subdomain != old.fields.subdomain && ctx.principal()?.role != Role::SuperAdmin {
        return Err(ApiError::forbidden(
            "only a super admin changes a dealership's subdomain",
        ));
    }
    check_time_zone(&tx, &fields).await?;
    let new = dealerships::update(&tx, dealership, &fields)
        .await?
        .ok_or_else(|| ApiError::not_found("no such dealership"))?;
    audit::record(
        &tx,
        &ctx.audit("dealership.update", "dealership", dealership, Some(&old), Some(&new)),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("updating a dealership"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}

/// `POST .../activate` and `POST .../deactivate` (the path says which). Super admin only; runs
/// in the platform scope, since the tenant gate refuses an inactive dealership.
pub async fn set_active(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    if ctx.principal()?.role != Role::SuperAdmin {
        return Err(ApiError::forbidden(
            "only a super admin activates or deactivates a dealership",
        ));
    }
    let active = crate::http::path(&request).ends_with("/activate");
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let old = dealerships::get(&tx, dealership)
        .await?
        .ok_or_else(|| ApiError::not_found("no such dealership"))?;
    let new = dealerships::set_active(&tx, dealership, active)
        .await?
        .ok_or_else(|| ApiError::not_found("no such dealership"))?;
    let action = if active {
        "dealership.activate"
    } else {
        "dealership.deactivate"
    };
    audit::record(
        &tx,
        &ctx.audit(action, "dealership", dealership, Some(&old), Some(&new)),
    )
    .await?;
    tx.commit()
        .await
        .map_err(StoreError::query("changing a dealership's active flag"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}
