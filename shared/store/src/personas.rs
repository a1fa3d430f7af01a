//! Personas: the assistant's configurable character, one default per dealership.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use serde::Serialize;
use tokio_postgres::{
    Row, Transaction,
    types::{ToSql, Type},
};

use crate::{StoreError, page::Page};

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Persona {
    pub id: i64,
    pub dealership_id: i64,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub is_active: bool,
    pub prompt_template: String,
    pub temperature: f64,
    pub max_tokens: i32,
    pub handover_keywords: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a caller sets.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaFields {
    pub name: String,
    pub description: String,
    pub is_active: bool,
    pub prompt_template: String,
    pub temperature: f64,
    pub max_tokens: i32,
    pub handover_keywords: Vec<String>,
}

const COLUMNS: &str = "id, dealership_id, name, description, is_default, is_active, prompt_template, \
                       temperature::float8, max_tokens, handover_keywords, created_at, updated_at";

fn from_row(row: &Row) -> Persona {
    Persona {
        id: row.get(0),
        dealership_id: row.get(1),
        name: row.get(2),
        description: row.get(3),
        is_default: row.get(4),
        is_active: row.get(5),
        prompt_template: row.get(6),
        temperature: row.get(7),
        max_tokens: row.get(8),
        handover_keywords: row.get(9),
        created_at: row.get(10),
        updated_at: row.get(11),
    }
}

/// Sort keys a caller may choose, mapped to columns (never caller text in SQL).
pub const SORTABLE: &[(&str, &str)] = &[
    ("name", "name"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

/// One page of the dealership's personas and the total count, in one round trip.
pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    page: &Page,
) -> Result<(Vec<Persona>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () FROM personas WHERE dealership_id = $1 ORDER BY {} {}, id LIMIT $2 OFFSET $3",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing personas"))?;
    let total = crate::page::total(
        tx,
        &rows,
        12,
        "SELECT count(*) FROM personas WHERE dealership_id = $1",
        &[(&dealership.0, Type::INT8)],
    )
    .await?;
    Ok((rows.iter().map(from_row).collect(), total))
}

pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Persona>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("SELECT {COLUMNS} FROM personas WHERE dealership_id = $1 AND id = $2"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a persona"))?;
    Ok(rows.first().map(from_row))
}

/// The caller-set fields as parameters, in the column order both statements use.
fn field_params(fields: &PersonaFields) -> [(&(dyn ToSql + Sync), Type); 7] {
    [
        (&fields.name, Type::TEXT),
        (&fields.description, Type::TEXT),
        (&fields.is_active, Type::BOOL),
        (&fields.prompt_template, Type::TEXT),
        (&fields.temperature, Type::FLOAT8),
        (&fields.max_tokens, Type::INT4),
        (&fields.handover_keywords, Type::TEXT_ARRAY),
    ]
}

/// Creates a persona; the dealership's first one becomes its default.
pub async fn create(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    fields: &PersonaFields,
) -> Result<Persona, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "INSERT INTO personas (dealership_id, name, description, is_active, prompt_template, temperature,
                     max_tokens, handover_keywords, is_default)
                 VALUES ($1, $2, $3, $4, $5, $6::float8::numeric(3,2), $7, $8,
                     $4 AND NOT EXISTS (SELECT 1 FROM personas WHERE dealership_id = $1 AND is_default))
                 RETURNING {COLUMNS}"
            ),
            &[
                &[(&dealership.0 as &(dyn ToSql + Sync), Type::INT8)][..],
                &field_params(fields),
            ]
            .concat(),
        )
        .await
        .map_err(StoreError::query("creating a persona"))?;
    Ok(from_row(&rows[0]))
}

pub async fn update(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    fields: &PersonaFields,
) -> Result<Option<Persona>, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "UPDATE personas SET name = $3, description = $4, is_active = $5, prompt_template = $6,
                     temperature = $7::float8::numeric(3,2), max_tokens = $8, handover_keywords = $9
                 WHERE dealership_id = $1 AND id = $2
                 RETURNING {COLUMNS}"
            ),
            &[
                &[(&dealership.0 as &(dyn ToSql + Sync), Type::INT8), (&id, Type::INT8)][..],
                &field_params(fields),
            ]
            .concat(),
        )
        .await
        .map_err(StoreError::query("updating a persona"))?;
    Ok(rows.first().map(from_row))
}

/// Deletes a persona and returns it, or None when there was none. A persona that an experiment
/// uses cannot be deleted: the foreign key refuses, and the API answers 409.
pub async fn delete(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Persona>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("DELETE FROM personas WHERE dealership_id = $1 AND id = $2 RETURNING {COLUMNS}"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("deleting a persona"))?;
    Ok(rows.first().map(from_row))
}

/// Makes `id` the dealership's default persona (and no other). The old default is cleared
/// first, so the partial unique index never sees two.
pub async fn set_default(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
) -> Result<Option<Persona>, StoreError> {
    let exists = get(tx, dealership, id).await?;
    match exists {
        None => return Ok(None),
        Some(persona) if !persona.is_active => {
            return Err(StoreError::Conflict(
                "an inactive persona cannot be the default".to_owned(),
            ));
        }
        Some(_) => {}
    }
    tx.query_typed(
        "UPDATE personas SET is_default = false WHERE dealership_id = $1 AND is_default AND id <> $2",
        &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("clearing the default persona"))?;
    let rows = tx
        .query_typed(
            &format!("UPDATE personas SET is_default = true WHERE dealership_id = $1 AND id = $2 RETURNING {COLUMNS}"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("setting the default persona"))?;
    Ok(rows.first().map(from_row))
}
