//! Password reset by e-mail: `POST /v1/auth/password-reset` mails a one-time link,
//! `POST /v1/auth/password-reset/confirm` spends it on a new password.
//!
//! The request answers the same 202, with the same body and no sooner than
//! [`MINIMUM_ANSWER_TIME`], whether or not the address belongs to anyone: the route must not
//! tell an attacker which addresses have accounts. (Like login, it is a public route, limited
//! per IP by the pipeline.) For an active user it stores the SHA-256 of a fresh 256-bit token
//! with a 30-minute expiry — replacing any earlier token, so only the latest link works —
//! writes `user.password_reset_requested` to the audit log, and hands the token to the e-mail
//! job (why the token travels in the job: see [`crate::email`]).
//!
//! The confirmation finds the user by the token's hash, locked, so a link is spent once even
//! when it is presented twice at the same moment; sets the new password (the same Argon2id
//! hashing and length rules as everywhere), clears the token, lifts a login lock, revokes
//! every refresh session of the user (whoever held the old password is signed out) and writes
//! `user.password_reset`.

use std::time::Duration;

use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_store::{Scope, StoreError, audit, auth as store};
use serde_json::json;

use crate::{
    auth::{passwords, random_bytes},
    email::{
        self,
        job::{RESET_TOKEN_MINUTES, hash_token, password_reset_message},
    },
    http::{
        ApiError, Ctx, envelope,
        input::{self, Fields},
    },
};

/// Every request answer takes at least this long, so the time of the answer does not tell a
/// known address (a database write and a queue message) from an unknown one (one read).
pub const MINIMUM_ANSWER_TIME: Duration = Duration::from_millis(350);

/// An audit entry about a user who is not signed in (public routes have no principal).
fn self_service_audit(ctx: &Ctx<'_>, action: &str, user_id: i64, dealership_id: Option<i64>) -> audit::AuditEntry {
    let mut entry = ctx.audit::<()>(action, "user", user_id, None, None);
    entry.user_id = Some(user_id);
    entry.dealership_id = dealership_id;
    entry
}

/// `{email}` or `{username}`: whom the link is for.
pub fn read_reset_request(fields: &mut Fields) -> String {
    let email = fields.string("email", false, 1, 254);
    let username = fields.string("username", false, 1, 254);
    // Reported once: not beside a type or length error of the same field.
    if email.is_none() && username.is_none() && !fields.has_errors() {
        fields.error("email", "REQUIRED", "is required (or username)");
    }
    email.or(username).unwrap_or_default()
}

/// `{token, password}`: the link's token and the new password.
#[derive(Debug)]
pub struct NewPassword {
    token: String,
    password: String,
}

pub fn read_new_password(fields: &mut Fields) -> NewPassword {
    let token = fields.string("token", true, 1, 256);
    let password = fields.string("password", true, 1, 256);
    if let Some(password) = &password
        && let Err(problem) = passwords::check_strength(password)
    {
        fields.error("password", "WEAK_PASSWORD", problem);
    }
    NewPassword {
        token: token.unwrap_or_default(),
        password: password.unwrap_or_default(),
    }
}

/// The request's answer, the same whoever asked.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ResetRequested {
    pub message: &'static str,
}

/// The confirmation's answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PasswordReset {
    pub password_reset: bool,
    /// Refresh sessions signed out by the new password.
    pub sessions_revoked: u64,
}

pub async fn request(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let started = tokio::time::Instant::now();
    let login = input::body(&request, read_reset_request)?;

    let outcome = issue_token(&ctx, &login).await;
    tokio::time::sleep_until(started + MINIMUM_ANSWER_TIME).await;
    outcome?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::ACCEPTED,
        &ResetRequested {
            message: "If an active account uses this address, a link to reset its password is on its way. \
                      The link works once, for 30 minutes.",
        },
    ))
}

/// Stores a fresh token for an active user and hands it to the mailer; does nothing for an
/// unknown or inactive one.
async fn issue_token(ctx: &Ctx<'_>, login: &str) -> Result<(), ApiError> {
    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let record = store::find_login(&tx, login).await?;
    let Some(record) = record.filter(|r| r.is_active && r.dealership_active) else {
        tracing::info!("password reset not sent: no active user with this login");
        return Ok(());
    };
    let token = hex::encode(random_bytes::<32>());
    let expires_at = Utc::now() + chrono::Duration::minutes(RESET_TOKEN_MINUTES);
    // One mail a minute per account at most, however many addresses ask: the per-IP limit
    // alone would let many IPs fill one person's inbox.
    let cooled_down = expires_at - chrono::Duration::seconds(RESET_COOLDOWN_SECONDS);
    if !store::set_reset_token(&tx, record.user_id, &hash_token(&token), expires_at, cooled_down).await? {
        tracing::info!(
            user_id = record.user_id,
            "password reset not sent: one was sent less than a minute ago"
        );
        return Ok(());
    }
    audit::record(
        &tx,
        &self_service_audit(
            ctx,
            "user.password_reset_requested",
            record.user_id,
            record.dealership_id,
        ),
    )
    .await?;
    tx.commit()
        .await
        .map_err(StoreError::query("storing a password-reset token"))?;
    drop(client);

    let message = password_reset_message(record.user_id, record.dealership_id, &token);
    email::submit(ctx.state, &message).await.map_err(|error| {
        // Only a known user can get here, but an outage is not something a caller can cause
        // at will, so answering it honestly tells an attacker nothing useful.
        tracing::error!(user_id = record.user_id, %error, alert = "password_reset_not_queued", "password reset e-mail not queued");
        ApiError::unavailable("the reset e-mail could not be sent just now; try again in a minute")
    })?;
    tracing::info!(user_id = record.user_id, "password reset e-mail queued");
    Ok(())
}

/// The least time between two reset mails to one account.
const RESET_COOLDOWN_SECONDS: i64 = 60;

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_RESET_TOKEN",
        "this reset link is not valid: it was already used, replaced by a newer one, or never existed; ask for a new one",
    )
}

fn expired_token() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "RESET_TOKEN_EXPIRED",
        "this reset link has expired; ask for a new one",
    )
}

pub async fn confirm(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let NewPassword { token, password } = input::body(&request, read_new_password)?;

    let mut client = ctx.state.db.client().await?;
    let tx = rylie_store::scope::begin(&mut client, Scope::Platform).await?;
    let Some(record) = store::find_reset_token_for_update(&tx, &hash_token(&token)).await? else {
        tracing::info!("password reset refused: unknown or spent token");
        return Err(invalid_token());
    };
    if record.expired || !record.active {
        store::clear_reset_token(&tx, record.user_id).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("clearing a password-reset token"))?;
        tracing::info!(
            user_id = record.user_id,
            expired = record.expired,
            "password reset refused"
        );
        return Err(if record.expired {
            expired_token()
        } else {
            invalid_token()
        });
    }
    let password_hash = passwords::hash(&password);
    store::complete_password_reset(&tx, record.user_id, &password_hash).await?;
    let revoked = store::revoke_user_sessions(&tx, record.user_id, "password reset").await?;
    let mut entry = self_service_audit(&ctx, "user.password_reset", record.user_id, record.dealership_id);
    entry.new_values = Some(json!({ "sessions_revoked": revoked }));
    audit::record(&tx, &entry).await?;
    tx.commit().await.map_err(StoreError::query("setting a new password"))?;
    tracing::info!(user_id = record.user_id, revoked, "password reset");
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &PasswordReset {
            password_reset: true,
            sessions_revoked: revoked,
        },
    ))
}
