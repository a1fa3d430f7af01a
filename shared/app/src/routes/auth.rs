//! Staff sign-in: `POST /v1/auth/login`, `POST /v1/auth/refresh`, `POST /v1/auth/logout`.
//!
//! Login answers an unknown user, a wrong password, a locked or deactivated account all with
//! the same 401 and in about the same time (a dummy Argon2 verification for unknown users).
//! A refresh token is random, stored only as its SHA-256, and rotated on every use; presenting
//! one that was already used means it leaked, and the whole family of tokens is revoked.

use chrono::{Duration, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::{DealershipId, Role};
use rylie_store::{Scope, StoreError, audit, auth as store};
use sha2::{Digest, Sha256};

use crate::{
    auth::{passwords, random_bytes, tokens::ACCESS_TOKEN_SECONDS},
    http::{
        ApiError, Ctx, envelope,
        input::{self, Fields},
    },
};

/// Refresh tokens live this long without use.
const REFRESH_TOKEN_DAYS: i64 = 30;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_CREDENTIALS",
        "invalid login or password",
    )
}

/// An audit entry about a user's sign-in (public routes have no principal to take it from).
fn sign_in_audit(ctx: &Ctx<'_>, action: &str, user_id: i64, dealership_id: Option<i64>) -> audit::AuditEntry {
    let mut entry = ctx.audit::<()>(action, "user", user_id, None, None);
    entry.user_id = Some(user_id);
    entry.dealership_id = dealership_id;
    entry
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `{login, password}`: the login is a username or an e-mail address.
#[derive(Debug)]
pub struct Credentials {
    login: String,
    password: String,
}

pub fn read_credentials(fields: &mut Fields) -> Credentials {
    Credentials {
        login: fields.string("login", true, 1, 254).unwrap_or_default(),
        password: fields.string("password", true, 1, 1024).unwrap_or_default(),
    }
}

/// `{refresh_token}`, for refresh and logout.
pub fn read_refresh_token(fields: &mut Fields) -> String {
    fields.string("refresh_token", true, 1, 256).unwrap_or_default()
}

/// What login and refresh answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Tokens {
    /// A JWT for `Authorization: Bearer`, valid `expires_in` seconds.
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// Single use: each refresh answers a new one.
    pub refresh_token: String,
    pub user: SignedIn,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SignedIn {
    pub id: i64,
    pub role: String,
    pub dealership_id: Option<i64>,
}

/// What logout answers.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LoggedOut {
    pub logged_out: bool,
}

pub async fn login(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let Credentials { login, password } = input::body(&request, read_credentials)?;

    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let record = store::find_login(&tx, &login).await?;
    let Some(record) = record else {
        passwords::verify_against_dummy(&password);
        tracing::info!("login refused: unknown user");
        return Err(invalid_credentials());
    };
    let locked = record.locked_until.is_some_and(|until| until > Utc::now());
    let password_ok = match (&record.password_hash, locked) {
        (Some(hash), false) => passwords::verify(&password, hash),
        _ => {
            passwords::verify_against_dummy(&password);
            false
        }
    };
    if !password_ok || locked || !record.is_active || !record.dealership_active {
        if !password_ok && !locked {
            store::record_login_failure(&tx, record.user_id).await?;
        }
        audit::record(
            &tx,
            &sign_in_audit(&ctx, "auth.login_refused", record.user_id, record.dealership_id),
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::query("recording a failed login"))?;
        tracing::info!(
            user_id = record.user_id,
            locked,
            active = record.is_active,
            "login refused"
        );
        return Err(invalid_credentials());
    }
    let role: Role = record.role.parse().map_err(ApiError::internal)?;
    store::record_login_success(&tx, record.user_id).await?;
    audit::record(
        &tx,
        &sign_in_audit(&ctx, "auth.login", record.user_id, record.dealership_id),
    )
    .await?;
    let refresh = hex::encode(random_bytes::<32>());
    let expires_at = Utc::now() + Duration::days(REFRESH_TOKEN_DAYS);
    store::create_session(
        &tx,
        &store::NewSession {
            user_id: record.user_id,
            family_id: None,
            token_hash: &hash_token(&refresh),
            expires_at,
            ip: ctx.client_ip.as_deref(),
            user_agent: ctx.user_agent.as_deref(),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("recording a login"))?;
    tokens_response(&ctx, record.user_id, role, record.dealership_id, &refresh)
}

pub async fn refresh(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let presented = input::body(&request, read_refresh_token)?;

    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let Some(session) = store::find_session_for_update(&tx, &hash_token(&presented)).await? else {
        return Err(ApiError::unauthenticated());
    };
    if session.spent {
        let revoked = store::revoke_family(&tx, &session.family_id, "refresh token reused").await?;
        let entry = sign_in_audit(
            &ctx,
            "auth.refresh_token_reused",
            session.user_id,
            session.dealership_id,
        );
        audit::record(&tx, &entry).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("revoking a session family"))?;
        tracing::warn!(
            user_id = session.user_id,
            revoked,
            "a used refresh token was presented again; family revoked"
        );
        return Err(ApiError::unauthenticated());
    }
    if session.expired || !session.user_active || !session.dealership_active {
        return Err(ApiError::unauthenticated());
    }
    let role: Role = session.role.parse().map_err(ApiError::internal)?;
    let next = hex::encode(random_bytes::<32>());
    let (next_id, _) = store::create_session(
        &tx,
        &store::NewSession {
            user_id: session.user_id,
            family_id: Some(&session.family_id),
            token_hash: &hash_token(&next),
            expires_at: Utc::now() + Duration::days(REFRESH_TOKEN_DAYS),
            ip: ctx.client_ip.as_deref(),
            user_agent: ctx.user_agent.as_deref(),
        },
    )
    .await?;
    store::mark_session_used(&tx, session.id, next_id).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("rotating a refresh token"))?;
    tokens_response(&ctx, session.user_id, role, session.dealership_id, &next)
}

pub async fn logout(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let presented = input::body(&request, read_refresh_token)?;
    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    if let Some(session) = store::find_session_for_update(&tx, &hash_token(&presented)).await? {
        store::revoke_family(&tx, &session.family_id, "logout").await?;
        audit::record(
            &tx,
            &sign_in_audit(&ctx, "auth.logout", session.user_id, session.dealership_id),
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::query("logging out"))?;
    // The same answer whether or not the token was known.
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &LoggedOut { logged_out: true }))
}

fn tokens_response(
    ctx: &Ctx<'_>,
    user_id: i64,
    role: Role,
    dealership_id: Option<i64>,
    refresh: &str,
) -> Result<Response<Body>, ApiError> {
    let keys = ctx
        .state
        .tokens
        .as_ref()
        .ok_or_else(|| ApiError::internal("access-token keys are not configured"))?;
    let access = keys.issue(user_id, role, dealership_id.map(DealershipId), Utc::now().timestamp());
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &Tokens {
            access_token: access,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_SECONDS,
            refresh_token: refresh.to_owned(),
            user: SignedIn {
                id: user_id,
                role: role.as_str().to_owned(),
                dealership_id,
            },
        },
    ))
}
