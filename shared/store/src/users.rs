//! A dealership's staff accounts.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use serde::Serialize;
use tokio_postgres::{Row, Transaction, types::Type};

use crate::{StoreError, page::Page};

/// A user as the API shows it: never the password hash or tokens.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct User {
    pub id: i64,
    pub dealership_id: Option<i64>,
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub available_for_handover: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, dealership_id, email, username, name, role, is_active, available_for_handover, last_login_at, created_at, updated_at";

pub const SORTABLE: &[(&str, &str)] = &[("email", "email"), ("name", "name"), ("created_at", "created_at")];

fn from_row(row: &Row) -> User {
    User {
        id: row.get(0),
        dealership_id: row.get(1),
        email: row.get(2),
        username: row.get(3),
        name: row.get(4),
        role: row.get(5),
        is_active: row.get(6),
        available_for_handover: row.get(7),
        last_login_at: row.get(8),
        created_at: row.get(9),
        updated_at: row.get(10),
    }
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub username: Option<&'a str>,
    pub name: Option<&'a str>,
    pub role: &'a str,
    pub password_hash: &'a str,
}

pub async fn create(tx: &Transaction<'_>, dealership: DealershipId, user: &NewUser<'_>) -> Result<User, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "INSERT INTO users (dealership_id, email, username, name, role, password_hash)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
            ),
            &[
                (&dealership.0, Type::INT8),
                (&user.email, Type::TEXT),
                (&user.username, Type::TEXT),
                (&user.name, Type::TEXT),
                (&user.role, Type::TEXT),
                (&user.password_hash, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("creating a user"))?;
    Ok(from_row(&rows[0]))
}

pub async fn list(tx: &Transaction<'_>, dealership: DealershipId, page: &Page) -> Result<(Vec<User>, i64), StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "SELECT {COLUMNS}, count(*) OVER () FROM users WHERE dealership_id = $1 ORDER BY {} {}, id LIMIT $2 OFFSET $3",
                page.sort_column, page.direction
            ),
            &[(&dealership.0, Type::INT8), (&page.limit, Type::INT8), (&page.offset(), Type::INT8)],
        )
        .await
        .map_err(StoreError::query("listing users"))?;
    let total = rows.first().map(|row| row.get(11)).unwrap_or(0);
    Ok((rows.iter().map(from_row).collect(), total))
}

pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<User>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("SELECT {COLUMNS} FROM users WHERE dealership_id = $1 AND id = $2"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a user"))?;
    Ok(rows.first().map(from_row))
}

/// What an admin may change on a user.
#[derive(Debug, Clone)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub available_for_handover: bool,
}

pub async fn update(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    changes: &UserChanges,
) -> Result<Option<User>, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "UPDATE users SET name = $3, role = $4, is_active = $5, available_for_handover = $6
                 WHERE dealership_id = $1 AND id = $2 RETURNING {COLUMNS}"
            ),
            &[
                (&dealership.0, Type::INT8),
                (&id, Type::INT8),
                (&changes.name, Type::TEXT),
                (&changes.role, Type::TEXT),
                (&changes.is_active, Type::BOOL),
                (&changes.available_for_handover, Type::BOOL),
            ],
        )
        .await
        .map_err(StoreError::query("updating a user"))?;
    Ok(rows.first().map(from_row))
}
