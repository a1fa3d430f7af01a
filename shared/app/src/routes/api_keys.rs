//! API keys: `/v1/dealerships/{dealership_id}/api-keys[/{key_id}]`. The key is shown once, in
//! the create response; afterwards only its prefix.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::ApiKey;
use rylie_store::{StoreError, audit, auth as store};

use crate::{
    auth::random_bytes,
    http::{
        ApiError, Ctx, envelope,
        input::{self, Fields},
    },
};

/// Resource families a key may be scoped to.
const RESOURCES: &[&str] = &[
    "vehicles",
    "conversations",
    "messages",
    "leads",
    "personas",
    "customers",
    "inventory",
];

pub const SORTABLE: &[(&str, &str)] = &[
    ("created_at", "created_at"),
    ("name", "name"),
    ("last_used_at", "last_used_at"),
];

fn valid_scope(scope: &str) -> bool {
    match scope.split_once(':') {
        Some((resource, verb)) => {
            (RESOURCES.contains(&resource) || resource == "*") && matches!(verb, "read" | "write" | "*")
        }
        None => scope == "*",
    }
}

/// A new key as sent.
#[derive(Debug)]
pub struct NewKeyInput {
    name: Option<String>,
    description: Option<String>,
    scopes: Vec<String>,
    rate_limit_tier: String,
    kind: String,
    expires_in_days: Option<i64>,
}

pub fn read_new_key(fields: &mut Fields) -> NewKeyInput {
    let name = fields.string("name", true, 1, 100);
    let description = fields.string("description", false, 0, 500);
    let scopes = fields.strings("scopes", 20, 50).unwrap_or_default();
    if let Some(bad) = scopes.iter().find(|scope| !valid_scope(scope)) {
        fields.error(
            "scopes",
            "INVALID_VALUE",
            format!(
                "{bad:?} is not resource:read|write|* with resource one of {}",
                RESOURCES.join(", ")
            ),
        );
    }
    NewKeyInput {
        name,
        description,
        scopes,
        rate_limit_tier: fields
            .one_of("rate_limit_tier", &["standard", "premium", "enterprise"])
            .unwrap_or_else(|| "standard".to_owned()),
        kind: fields
            .one_of("kind", &["integration", "widget"])
            .unwrap_or_else(|| "integration".to_owned()),
        expires_in_days: fields.integer("expires_in_days", 1, 3650),
    }
}

/// The create answer: the key itself, this once.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CreatedKey {
    pub api_key: store::ApiKeyView,
    /// The secret; only its prefix is kept.
    pub key: String,
    pub note: &'static str,
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let NewKeyInput {
        name,
        description,
        scopes,
        rate_limit_tier: tier,
        kind,
        expires_in_days,
    } = input::body(&request, read_new_key)?;
    let dealership = ctx.dealership()?;
    let key = ApiKey::generate(&random_bytes::<44>());
    let hash = key.hash();
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let view = store::create_api_key(
        &tx,
        &store::NewApiKey {
            dealership_id: dealership.0,
            name: name.as_deref().unwrap_or_default(),
            description: description.as_deref(),
            key_prefix: key.prefix(),
            key_hash: &hash,
            scopes: &scopes,
            rate_limit_tier: &tier,
            kind: &kind,
            expires_at: expires_in_days.map(|days| chrono::Utc::now() + chrono::Duration::days(days)),
            created_by: ctx.principal()?.user_id,
        },
    )
    .await?;
    audit::record(&tx, &ctx.audit("api_key.create", "api_key", view.id, None, Some(&view))).await?;
    tx.commit().await.map_err(StoreError::query("creating an API key"))?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::CREATED,
        &CreatedKey {
            api_key: view,
            key: key.reveal().to_owned(),
            note: "store the key now: it is not shown again",
        },
    ))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, SORTABLE, "created_at")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (keys, total) = store::list_api_keys(&tx, dealership.0, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing API keys"))?;
    Ok(envelope::ok_page(&ctx.meta, &keys, &page, total))
}

pub async fn revoke(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "key_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let view = store::revoke_api_key(&tx, dealership.0, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no API key {id}")))?;
    audit::record(&tx, &ctx.audit("api_key.revoke", "api_key", id, None, Some(&view))).await?;
    tx.commit().await.map_err(StoreError::query("revoking an API key"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &view))
}
