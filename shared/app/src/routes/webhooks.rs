//! Webhooks: `/v1/dealerships/{dealership_id}/webhooks[/{webhook_id}[/deliveries|/rotate-secret]]`.
//!
//! The signing secret is made here (32 random bytes, `whsec_…`) and answered once, by create
//! and by rotate-secret; no other answer carries it, nor does the audit log. A URL must be
//! https and reach only public addresses (see [`crate::webhooks`]); it is checked, name
//! resolved, whenever it is saved. An endpoint disabled after a day of failures is re-enabled
//! with PATCH `{"is_active": true}`, which clears its failure count.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::webhook::{self, WebhookSecret};
use rylie_store::{
    StoreError, audit,
    webhooks::{self as store, Webhook, WebhookFields},
};
use serde::Serialize;

use crate::{
    auth::random_bytes,
    http::{
        ApiError, Ctx,
        envelope::{self, FieldError},
        input::{self, Fields},
    },
};

/// An endpoint's fields as sent: url and events required on create, any of them on update.
#[derive(Debug, Default)]
pub struct WebhookInput {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    is_active: Option<bool>,
}

pub fn read_webhook(fields: &mut Fields, creating: bool) -> WebhookInput {
    let url = fields.string("url", creating, 1, webhook::MAX_URL_LENGTH);
    let events = fields.required_strings("events", creating, webhook::EVENT_TYPES.len(), 64);
    let events = match events {
        Some(events) if events.is_empty() => {
            fields.error("events", "REQUIRED", "must name at least one event");
            None
        }
        Some(events) => match events
            .iter()
            .find(|event| !webhook::EVENT_TYPES.contains(&event.as_str()))
        {
            Some(unknown) => {
                let message = format!("{unknown:?} is not one of {}", webhook::EVENT_TYPES.join(", "));
                fields.error("events", "INVALID_VALUE", message);
                None
            }
            None => {
                let mut events = events;
                events.sort();
                events.dedup();
                Some(events)
            }
        },
        None => None,
    };
    WebhookInput {
        url,
        events,
        description: fields.string("description", false, 0, 500),
        is_active: fields.boolean("is_active"),
    }
}

impl WebhookInput {
    /// The endpoint to store: what was sent over `existing` (or the defaults on create).
    fn over(self, existing: Option<&Webhook>) -> WebhookFields {
        WebhookFields {
            url: self.url.or_else(|| existing.map(|w| w.url.clone())).unwrap_or_default(),
            events: self
                .events
                .or_else(|| existing.map(|w| w.events.clone()))
                .unwrap_or_default(),
            description: self
                .description
                .or_else(|| existing.and_then(|w| w.description.clone()))
                .filter(|description| !description.is_empty()),
            is_active: self.is_active.or(existing.map(|w| w.is_active)).unwrap_or(true),
        }
    }
}

/// The create and rotate-secret answer: the endpoint and its secret, shown this once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_` and 64 hex characters). Keep it: it is never shown again.
    pub secret: String,
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no webhook {id}"))
}

/// Resolves and checks the URL, as a field error.
async fn check_url(ctx: &Ctx<'_>, url: &str) -> Result<String, ApiError> {
    match ctx.state.webhooks.check(url).await {
        Ok(url) => Ok(url.as_str().to_owned()),
        Err(problem) => Err(ApiError::validation(vec![FieldError {
            field: "url".to_owned(),
            message: problem,
            code: "URL_REFUSED",
        }])),
    }
}

fn new_secret() -> WebhookSecret {
    WebhookSecret::generate(&random_bytes::<32>())
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let mut fields = input::body(&request, |fields| read_webhook(fields, true))?.over(None);
    fields.url = check_url(&ctx, &fields.url).await?;
    let dealership = ctx.dealership()?;
    let secret = new_secret();
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let webhook = store::create(&tx, dealership, &fields, secret.reveal()).await?;
    audit::record(
        &tx,
        &ctx.audit("webhook.create", "webhook", webhook.id, None, Some(&webhook)),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("creating a webhook"))?;
    let answer = WebhookWithSecret {
        webhook,
        secret: secret.reveal().to_owned(),
    };
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &answer))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, store::SORTABLE, "created_at")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = store::list(&tx, dealership, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing webhooks"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "webhook_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let webhook = store::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    tx.commit().await.map_err(StoreError::query("reading a webhook"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &webhook))
}

/// Changes an endpoint; `is_active: true` re-enables a disabled one (its failure count starts
/// again from zero), `false` disables it and abandons its pending deliveries.
pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "webhook_id")?;
    let input = input::body(&request, |fields| read_webhook(fields, false))?;
    let new_url = match &input.url {
        Some(url) => Some(check_url(&ctx, url).await?),
        None => None,
    };
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = store::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    let mut fields = input.over(Some(&old));
    if let Some(url) = new_url {
        fields.url = url;
    }
    let new = store::update(&tx, dealership, id, &fields)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(&tx, &ctx.audit("webhook.update", "webhook", id, Some(&old), Some(&new))).await?;
    tx.commit().await.map_err(StoreError::query("updating a webhook"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}

pub async fn delete(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "webhook_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = store::delete(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    audit::record(&tx, &ctx.audit("webhook.delete", "webhook", id, Some(&old), None)).await?;
    tx.commit().await.map_err(StoreError::query("deleting a webhook"))?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &envelope::Deleted { deleted: true, id },
    ))
}

/// Replaces the signing secret; the new one is answered once. Deliveries signed from now on
/// use it (an attempt already posting keeps the old one).
pub async fn rotate_secret(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "webhook_id")?;
    let dealership = ctx.dealership()?;
    let secret = new_secret();
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let webhook = store::rotate_secret(&tx, dealership, id, secret.reveal())
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(
        &tx,
        &ctx.audit::<Webhook>("webhook.rotate_secret", "webhook", id, None, None),
    )
    .await?;
    tx.commit()
        .await
        .map_err(StoreError::query("rotating a webhook secret"))?;
    let answer = WebhookWithSecret {
        webhook,
        secret: secret.reveal().to_owned(),
    };
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &answer))
}

/// The delivery log of one endpoint: one row per attempt.
pub async fn deliveries(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "webhook_id")?;
    let page = input::page(&request, store::DELIVERY_SORTABLE, "created_at")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = store::deliveries(&tx, dealership, id, &page)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit()
        .await
        .map_err(StoreError::query("listing webhook deliveries"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}
