//! What authentication reads and writes: staff logins, refresh-token sessions, API keys.
//! Every function here runs in the platform scope: a login does not know its dealership yet.

use chrono::{DateTime, Utc};
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// A staff member as login sees them.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user_id: i64,
    pub role: String,
    pub dealership_id: Option<i64>,
    pub password_hash: Option<String>,
    pub is_active: bool,
    pub locked_until: Option<DateTime<Utc>>,
    /// False when the user's dealership is deactivated.
    pub dealership_active: bool,
}

/// Finds a user by e-mail (case-insensitively) or username.
pub async fn find_login(tx: &Transaction<'_>, login: &str) -> Result<Option<LoginRecord>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT u.id, u.role, u.dealership_id, u.password_hash, u.is_active, u.locked_until,
                    coalesce(d.active, true)
             FROM users u LEFT JOIN dealerships d ON d.id = u.dealership_id
             WHERE u.email = lower($1) OR u.username = $1
             ORDER BY (u.email = lower($1)) DESC
             LIMIT 1",
            &[(&login, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("looking up a login"))?;
    Ok(rows.first().map(|row| LoginRecord {
        user_id: row.get(0),
        role: row.get(1),
        dealership_id: row.get(2),
        password_hash: row.get(3),
        is_active: row.get(4),
        locked_until: row.get(5),
        dealership_active: row.get(6),
    }))
}

/// Counts a failed login. From the fifth failure in a row the account is locked for a time
/// that doubles with every further failure: 1, 2, 4 … minutes, at most an hour.
pub async fn record_login_failure(tx: &Transaction<'_>, user_id: i64) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE users SET failed_login_count = failed_login_count + 1,
             locked_until = CASE WHEN failed_login_count + 1 >= 5
                 THEN now() + least(power(2, failed_login_count + 1 - 5), 60) * interval '1 minute'
                 ELSE locked_until END
         WHERE id = $1",
        &[(&user_id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("recording a failed login"))?;
    Ok(())
}

pub async fn record_login_success(tx: &Transaction<'_>, user_id: i64) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE users SET failed_login_count = 0, locked_until = NULL, last_login_at = now() WHERE id = $1",
        &[(&user_id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("recording a login"))?;
    Ok(())
}

/// Where a new refresh session comes from.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub user_id: i64,
    /// The family of the token it replaces; None starts a family (a login).
    pub family_id: Option<&'a str>,
    pub token_hash: &'a str,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Stores a refresh session; returns its id and family.
pub async fn create_session(tx: &Transaction<'_>, session: &NewSession<'_>) -> Result<(i64, String), StoreError> {
    let rows = tx
        .query_typed(
            "INSERT INTO sessions (user_id, family_id, token_hash, expires_at, ip, user_agent)
             VALUES ($1, coalesce($2::text::uuid, gen_random_uuid()), $3, $4, $5::text::inet, $6)
             RETURNING id, family_id::text",
            &[
                (&session.user_id, Type::INT8),
                (&session.family_id, Type::TEXT),
                (&session.token_hash, Type::TEXT),
                (&session.expires_at, Type::TIMESTAMPTZ),
                (&session.ip, Type::TEXT),
                (&session.user_agent, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("creating a session"))?;
    Ok((rows[0].get(0), rows[0].get(1)))
}

/// A refresh token's session, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: i64,
    pub user_id: i64,
    pub family_id: String,
    pub expired: bool,
    /// Already exchanged or revoked: presenting it again means it leaked.
    pub spent: bool,
    pub role: String,
    pub dealership_id: Option<i64>,
    pub user_active: bool,
    pub dealership_active: bool,
}

pub async fn find_session_for_update(
    tx: &Transaction<'_>,
    token_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT s.id, s.user_id, s.family_id::text, s.expires_at <= now(),
                    s.used_at IS NOT NULL OR s.revoked_at IS NOT NULL,
                    u.role, u.dealership_id, u.is_active, coalesce(d.active, true)
             FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN dealerships d ON d.id = u.dealership_id
             WHERE s.token_hash = $1
             FOR UPDATE OF s",
            &[(&token_hash, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("reading a session"))?;
    Ok(rows.first().map(|row| SessionRecord {
        id: row.get(0),
        user_id: row.get(1),
        family_id: row.get(2),
        expired: row.get(3),
        spent: row.get(4),
        role: row.get(5),
        dealership_id: row.get(6),
        user_active: row.get(7),
        dealership_active: row.get(8),
    }))
}

/// Marks a session exchanged for its successor.
pub async fn mark_session_used(tx: &Transaction<'_>, id: i64, replaced_by: i64) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE sessions SET used_at = now(), replaced_by_id = $2 WHERE id = $1",
        &[(&id, Type::INT8), (&replaced_by, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("marking a session used"))?;
    Ok(())
}

/// Revokes every live session of a family (logout, or a reused refresh token).
pub async fn revoke_family(tx: &Transaction<'_>, family_id: &str, reason: &str) -> Result<u64, StoreError> {
    let rows = tx
        .query_typed(
            "UPDATE sessions SET revoked_at = now(), revoked_reason = $2
             WHERE family_id = $1::text::uuid AND revoked_at IS NULL RETURNING id",
            &[(&family_id, Type::TEXT), (&reason, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("revoking a session family"))?;
    Ok(rows.len() as u64)
}

/// An API key as authentication sees it.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub dealership_id: i64,
    pub key_hash: String,
    pub scopes: Vec<String>,
    pub tier: String,
    /// Active, not revoked, not expired, and its dealership active.
    pub usable: bool,
}

pub async fn find_api_key(tx: &Transaction<'_>, prefix: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT k.id, k.dealership_id, k.key_hash, k.scopes, k.rate_limit_tier,
                    k.is_active AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()) AND d.active
             FROM api_keys k JOIN dealerships d ON d.id = k.dealership_id
             WHERE k.key_prefix = $1",
            &[(&prefix, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("looking up an API key"))?;
    Ok(rows.first().map(|row| ApiKeyRecord {
        id: row.get(0),
        dealership_id: row.get(1),
        key_hash: row.get(2),
        scopes: row.get(3),
        tier: row.get(4),
        usable: row.get(5),
    }))
}

/// Adds `uses` to a key's usage count and stamps it used now.
pub async fn record_api_key_use(tx: &Transaction<'_>, id: i64, uses: i64) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE api_keys SET usage_count = usage_count + $2, last_used_at = now() WHERE id = $1",
        &[(&id, Type::INT8), (&uses, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("recording API key use"))?;
    Ok(())
}

/// An API key as its dealership's admins see it: never the hash.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub key_prefix: String,
    pub scopes: Vec<String>,
    pub rate_limit_tier: String,
    pub kind: String,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub usage_count: i64,
    pub created_at: DateTime<Utc>,
}

const KEY_COLUMNS: &str = "id, name, description, key_prefix, scopes, rate_limit_tier, kind, is_active, expires_at, \
                           revoked_at, last_used_at, usage_count, created_at";

fn key_view(row: &tokio_postgres::Row) -> ApiKeyView {
    ApiKeyView {
        id: row.get(0),
        name: row.get(1),
        description: row.get(2),
        key_prefix: row.get(3),
        scopes: row.get(4),
        rate_limit_tier: row.get(5),
        kind: row.get(6),
        is_active: row.get(7),
        expires_at: row.get(8),
        revoked_at: row.get(9),
        last_used_at: row.get(10),
        usage_count: row.get(11),
        created_at: row.get(12),
    }
}

/// What creating a key stores.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub dealership_id: i64,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub key_prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a [String],
    pub rate_limit_tier: &'a str,
    pub kind: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
}

pub async fn create_api_key(tx: &Transaction<'_>, key: &NewApiKey<'_>) -> Result<ApiKeyView, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "INSERT INTO api_keys (dealership_id, name, description, key_prefix, key_hash, scopes, rate_limit_tier,
                     kind, expires_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {KEY_COLUMNS}"
            ),
            &[
                (&key.dealership_id, Type::INT8),
                (&key.name, Type::TEXT),
                (&key.description, Type::TEXT),
                (&key.key_prefix, Type::TEXT),
                (&key.key_hash, Type::TEXT),
                (&key.scopes, Type::TEXT_ARRAY),
                (&key.rate_limit_tier, Type::TEXT),
                (&key.kind, Type::TEXT),
                (&key.expires_at, Type::TIMESTAMPTZ),
                (&key.created_by, Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("creating an API key"))?;
    Ok(key_view(&rows[0]))
}

pub async fn list_api_keys(
    tx: &Transaction<'_>,
    dealership_id: i64,
    page: &crate::page::Page,
) -> Result<(Vec<ApiKeyView>, i64), StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "SELECT {KEY_COLUMNS}, count(*) OVER () FROM api_keys WHERE dealership_id = $1
                 ORDER BY {} {}, id LIMIT $2 OFFSET $3",
                page.sort_column, page.direction
            ),
            &[
                (&dealership_id, Type::INT8),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing API keys"))?;
    let total = rows.first().map(|row| row.get(13)).unwrap_or(0);
    Ok((rows.iter().map(key_view).collect(), total))
}

/// Revokes a key of the dealership; None when it has no such key.
pub async fn revoke_api_key(
    tx: &Transaction<'_>,
    dealership_id: i64,
    id: i64,
) -> Result<Option<ApiKeyView>, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), is_active = false
                 WHERE dealership_id = $1 AND id = $2 RETURNING {KEY_COLUMNS}"
            ),
            &[(&dealership_id, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("revoking an API key"))?;
    Ok(rows.first().map(key_view))
}

/// Stores the SHA-256 of a fresh password-reset token and its expiry, replacing any earlier
/// token of the user (only the latest link works) — unless the current token expires after
/// `unless_current_expires_after`, i.e. was issued too recently. Returns whether it stored.
pub async fn set_reset_token(
    tx: &Transaction<'_>,
    user_id: i64,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    unless_current_expires_after: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = tx
        .execute_typed(
            "UPDATE users SET reset_token_hash = $2, reset_token_expires_at = $3
              WHERE id = $1 AND (reset_token_expires_at IS NULL OR reset_token_expires_at <= $4)",
            &[
                (&user_id, Type::INT8),
                (&token_hash, Type::TEXT),
                (&expires_at, Type::TIMESTAMPTZ),
                (&unless_current_expires_after, Type::TIMESTAMPTZ),
            ],
        )
        .await
        .map_err(StoreError::query("storing a password-reset token"))?;
    Ok(updated == 1)
}

/// The user a password-reset token belongs to, locked for the rest of the transaction so a
/// token is spent once even when two requests present it together.
#[derive(Debug, Clone)]
pub struct ResetTokenRecord {
    pub user_id: i64,
    pub dealership_id: Option<i64>,
    pub expired: bool,
    /// The user and their dealership are active.
    pub active: bool,
}

pub async fn find_reset_token_for_update(
    tx: &Transaction<'_>,
    token_hash: &str,
) -> Result<Option<ResetTokenRecord>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT u.id, u.dealership_id, u.reset_token_expires_at <= now(), u.is_active AND coalesce(d.active, true)
             FROM users u LEFT JOIN dealerships d ON d.id = u.dealership_id
             WHERE u.reset_token_hash = $1
             FOR UPDATE OF u",
            &[(&token_hash, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("looking up a password-reset token"))?;
    Ok(rows.first().map(|row| ResetTokenRecord {
        user_id: row.get(0),
        dealership_id: row.get(1),
        expired: row.get(2),
        active: row.get(3),
    }))
}

/// Forgets a user's reset token (spent, expired or refused).
pub async fn clear_reset_token(tx: &Transaction<'_>, user_id: i64) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE users SET reset_token_hash = NULL, reset_token_expires_at = NULL WHERE id = $1",
        &[(&user_id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("clearing a password-reset token"))?;
    Ok(())
}

/// Sets a new password hash, spends the reset token and lifts a login lock: whoever reads the
/// account's mail has proved more than a password would.
pub async fn complete_password_reset(
    tx: &Transaction<'_>,
    user_id: i64,
    password_hash: &str,
) -> Result<(), StoreError> {
    tx.query_typed(
        "UPDATE users SET password_hash = $2, reset_token_hash = NULL, reset_token_expires_at = NULL,
             failed_login_count = 0, locked_until = NULL
         WHERE id = $1",
        &[(&user_id, Type::INT8), (&password_hash, Type::TEXT)],
    )
    .await
    .map_err(StoreError::query("setting a new password"))?;
    Ok(())
}

/// Revokes every live refresh session of a user (a password change signs out every device).
pub async fn revoke_user_sessions(tx: &Transaction<'_>, user_id: i64, reason: &str) -> Result<u64, StoreError> {
    let rows = tx
        .query_typed(
            "UPDATE sessions SET revoked_at = now(), revoked_reason = $2
             WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
            &[(&user_id, Type::INT8), (&reason, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("revoking a user's sessions"))?;
    Ok(rows.len() as u64)
}

/// What the mailer needs to send a reset link: where to, and whether the token it carries is
/// still the user's current, unexpired one (a newer request or a used link makes it stale).
#[derive(Debug, Clone)]
pub struct ResetMailTarget {
    pub email: String,
    pub dealership_id: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The token is the current one, unexpired, and the user and dealership are active.
    pub token_current: bool,
}

pub async fn reset_mail_target(
    tx: &Transaction<'_>,
    user_id: i64,
    token_hash: &str,
) -> Result<Option<ResetMailTarget>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT u.email, u.dealership_id, u.reset_token_expires_at,
                    coalesce(u.reset_token_hash = $2 AND u.reset_token_expires_at > now()
                             AND u.is_active AND coalesce(d.active, true), false)
             FROM users u LEFT JOIN dealerships d ON d.id = u.dealership_id
             WHERE u.id = $1",
            &[(&user_id, Type::INT8), (&token_hash, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("reading a password-reset recipient"))?;
    Ok(rows.first().map(|row| ResetMailTarget {
        email: row.get(0),
        dealership_id: row.get(1),
        expires_at: row.get(2),
        token_current: row.get(3),
    }))
}
