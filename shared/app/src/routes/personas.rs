//! Personas: `/v1/dealerships/{dealership_id}/personas[/{persona_id}[/default]]`.
//! Every change writes an audit log row with the old and new values.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::prompt;
use rylie_store::{
    StoreError, audit,
    personas::{self, Persona, PersonaFields},
};

use crate::http::{
    ApiError, Ctx, envelope,
    input::{self, Fields},
};

/// A persona's fields as sent: all of them on create (`creating`: name and prompt_template
/// required), any of them on update.
#[derive(Debug, Default)]
pub struct PersonaInput {
    name: Option<String>,
    description: Option<String>,
    is_active: Option<bool>,
    prompt_template: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<i64>,
    handover_keywords: Option<Vec<String>>,
}

pub fn read_persona(fields: &mut Fields, creating: bool) -> PersonaInput {
    let name = fields.string("name", creating, 1, 100);
    let description = fields.string("description", false, 0, 2000);
    let is_active = fields.boolean("is_active");
    let prompt_template = fields.string("prompt_template", creating, 1, 20_000);
    if let Some(template) = &prompt_template
        && let Err(error) = prompt::variables(template)
    {
        fields.error("prompt_template", "UNKNOWN_VARIABLE", error.to_string());
    }
    PersonaInput {
        name,
        description,
        is_active,
        prompt_template,
        temperature: fields.number("temperature", 0.0, 2.0),
        max_tokens: fields.integer("max_tokens", 1, 4096),
        handover_keywords: fields.strings("handover_keywords", 50, 100),
    }
}

impl PersonaInput {
    /// The persona to store: what was sent over `existing` (or the defaults on create).
    fn over(self, existing: Option<&Persona>) -> PersonaFields {
        let old = existing.cloned();
        let pick =
            |new: Option<String>, old: Option<String>, default: &str| new.or(old).unwrap_or_else(|| default.to_owned());
        PersonaFields {
            name: pick(self.name, old.as_ref().map(|p| p.name.clone()), ""),
            description: pick(self.description, old.as_ref().map(|p| p.description.clone()), ""),
            is_active: self.is_active.or(old.as_ref().map(|p| p.is_active)).unwrap_or(true),
            prompt_template: pick(
                self.prompt_template,
                old.as_ref().map(|p| p.prompt_template.clone()),
                "",
            ),
            temperature: self.temperature.or(old.as_ref().map(|p| p.temperature)).unwrap_or(0.7),
            max_tokens: self
                .max_tokens
                .map(|v| v as i32)
                .or(old.as_ref().map(|p| p.max_tokens))
                .unwrap_or(500),
            handover_keywords: self
                .handover_keywords
                .or(old.map(|p| p.handover_keywords))
                .unwrap_or_default(),
        }
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no persona {id}"))
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let fields = input::body(&request, |fields| read_persona(fields, true))?.over(None);
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let persona = personas::create(&tx, dealership, &fields).await?;
    audit::record(
        &tx,
        &ctx.audit("persona.create", "persona", persona.id, None, Some(&persona)),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("creating a persona"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &persona))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, personas::SORTABLE, "name")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = personas::list(&tx, dealership, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing personas"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "persona_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let persona = personas::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    tx.commit().await.map_err(StoreError::query("reading a persona"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &persona))
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "persona_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = personas::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    let fields = input::body(&request, |fields| read_persona(fields, false))?.over(Some(&old));
    let new = personas::update(&tx, dealership, id, &fields)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(&tx, &ctx.audit("persona.update", "persona", id, Some(&old), Some(&new))).await?;
    tx.commit().await.map_err(StoreError::query("updating a persona"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}

pub async fn delete(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "persona_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = personas::delete(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(&tx, &ctx.audit("persona.delete", "persona", id, Some(&old), None)).await?;
    tx.commit().await.map_err(StoreError::query("deleting a persona"))?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &envelope::Deleted { deleted: true, id },
    ))
}

pub async fn set_default(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "persona_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = personas::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    let new = personas::set_default(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(
        &tx,
        &ctx.audit("persona.set_default", "persona", id, Some(&old), Some(&new)),
    )
    .await?;
    tx.commit()
        .await
        .map_err(StoreError::query("setting the default persona"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}
