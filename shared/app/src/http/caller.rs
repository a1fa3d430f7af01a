//! Who is calling: a staff access token (`Authorization: Bearer …`) or an API key
//! (`X-API-Key: rylie_…`). Every failure gets the same 401, so a caller learns nothing about
//! which part was wrong; the reason is logged.

use lambda_http::Request;
use rylie_cloud::Tier;
use rylie_domain::{ApiKey, DealershipId, Principal, Role};
use rylie_store::Scope;

use super::ApiError;
use crate::State;

pub async fn authenticate(state: &State, request: &Request) -> Result<Principal, ApiError> {
    let headers = request.headers();
    if let Some(value) = headers.get("authorization") {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| refuse("the Authorization header is not a Bearer token"))?;
        let keys = state
            .tokens
            .as_ref()
            .ok_or_else(|| ApiError::internal("access-token keys are not configured"))?;
        let claims = keys.verify(token.trim()).map_err(|error| refuse(&error.to_string()))?;
        return claims
            .principal()
            .ok_or_else(|| refuse("the token's subject is not a user id"));
    }
    if let Some(value) = headers.get("x-api-key") {
        let key = value
            .to_str()
            .ok()
            .and_then(|raw| ApiKey::parse(raw).ok())
            .ok_or_else(|| refuse("the API key is malformed"))?;
        return api_key_principal(state, &key).await;
    }
    Err(refuse("no credentials"))
}

async fn api_key_principal(state: &State, key: &ApiKey) -> Result<Principal, ApiError> {
    let mut client = state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let record = rylie_store::auth::find_api_key(&tx, key.prefix()).await?;
    if let Some(record) = record.as_ref().filter(|r| r.usable && key.matches(&r.key_hash))
        && let Some(uses) = state.key_usage.count(record.id, std::time::Instant::now())
    {
        rylie_store::auth::record_api_key_use(&tx, record.id, uses).await?;
    }
    tx.commit()
        .await
        .map_err(rylie_store::StoreError::query("finishing the key look-up"))?;
    match record {
        Some(record) if record.usable && key.matches(&record.key_hash) => Ok(Principal {
            role: Role::Api,
            user_id: None,
            api_key_id: Some(record.id),
            dealership_id: Some(DealershipId(record.dealership_id)),
            scopes: record.scopes,
            key_tier: Some(record.tier),
        }),
        Some(record) if key.matches(&record.key_hash) => {
            Err(refuse("the API key is revoked, expired or its dealership inactive"))
        }
        _ => Err(refuse("unknown API key")),
    }
}

fn refuse(reason: &str) -> ApiError {
    tracing::info!(reason, "authentication refused");
    ApiError::unauthenticated()
}

/// The rate-limit subject and tier of a request.
pub fn rate_subject(principal: Option<&Principal>, client_ip: Option<&str>) -> (String, Tier) {
    match principal {
        Some(Principal {
            api_key_id: Some(key),
            key_tier,
            ..
        }) => {
            let tier = key_tier
                .as_deref()
                .and_then(Tier::from_key_tier)
                .unwrap_or(Tier::KeyStandard);
            (format!("key:{key}"), tier)
        }
        Some(Principal {
            user_id: Some(user), ..
        }) => (format!("user:{user}"), Tier::User),
        _ => (format!("ip:{}", client_ip.unwrap_or("unknown")), Tier::PublicIp),
    }
}

/// How the request log names the caller: never a token or a key.
pub fn label(principal: Option<&Principal>) -> String {
    match principal {
        Some(Principal {
            api_key_id: Some(key), ..
        }) => format!("key:{key}"),
        Some(Principal {
            user_id: Some(user),
            role,
            ..
        }) => format!("user:{user}:{role}"),
        _ => "anonymous".to_owned(),
    }
}
