//! Dealerships as the tenant root: the gate every tenant route passes.

use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// What a tenant route needs to know about the dealership before it does anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Open { allowed_origins: Vec<String> },
    Inactive,
    Missing,
}

/// Reads the dealership's gate inside an already scoped transaction.
pub async fn gate(tx: &Transaction<'_>, id: DealershipId) -> Result<Gate, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT active, allowed_origins FROM dealerships WHERE id = $1",
            &[(&id.0, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading the dealership"))?;
    Ok(match rows.first() {
        None => Gate::Missing,
        Some(row) if !row.get::<_, bool>(0) => Gate::Inactive,
        Some(row) => Gate::Open {
            allowed_origins: row.get(1),
        },
    })
}

/// A dealership as the API shows it: its settable fields, flattened, and its bookkeeping.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Dealership {
    pub id: i64,
    pub active: bool,
    #[serde(flatten)]
    pub fields: DealershipFields,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The fields a caller sets (all of them; a partial update is merged by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct DealershipFields {
    pub name: String,
    pub subdomain: String,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub handover_email: Option<String>,
    pub inbound_email_alias: Option<String>,
    pub allowed_origins: Vec<String>,
    pub timezone: String,
    pub website: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    /// Senders whose TSV/CSV attachments are imported as inventory (lower-case).
    pub inventory_sender_emails: Vec<String>,
    /// The dealership's own addresses that deliver to our inbound mail (lower-case).
    pub inbound_email_addresses: Vec<String>,
    /// What a new lead gets first: `assistant`, `template` or `none`.
    pub first_contact: String,
}

const COLUMNS: &str = "id, active, created_at, updated_at, name, subdomain, contact_email, contact_phone, handover_email, \
                       inbound_email_alias, allowed_origins, timezone, website, street, city, region, postal_code, country, \
                       inventory_sender_emails, inbound_email_addresses, first_contact";

fn from_row(row: &tokio_postgres::Row) -> Dealership {
    Dealership {
        id: row.get(0),
        active: row.get(1),
        created_at: row.get(2),
        updated_at: row.get(3),
        fields: DealershipFields {
            name: row.get(4),
            subdomain: row.get(5),
            contact_email: row.get(6),
            contact_phone: row.get(7),
            handover_email: row.get(8),
            inbound_email_alias: row.get(9),
            allowed_origins: row.get(10),
            timezone: row.get(11),
            website: row.get(12),
            street: row.get(13),
            city: row.get(14),
            region: row.get(15),
            postal_code: row.get(16),
            country: row.get(17),
            inventory_sender_emails: row.get(18),
            inbound_email_addresses: row.get(19),
            first_contact: row.get(20),
        },
    }
}

/// True when PostgreSQL knows the IANA time zone name.
pub async fn is_time_zone(tx: &Transaction<'_>, name: &str) -> Result<bool, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)",
            &[(&name, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("checking a time zone"))?;
    Ok(rows[0].get(0))
}

fn field_params(f: &DealershipFields) -> [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 17] {
    [
        (&f.name, Type::TEXT),
        (&f.subdomain, Type::TEXT),
        (&f.contact_email, Type::TEXT),
        (&f.contact_phone, Type::TEXT),
        (&f.handover_email, Type::TEXT),
        (&f.inbound_email_alias, Type::TEXT),
        (&f.allowed_origins, Type::TEXT_ARRAY),
        (&f.timezone, Type::TEXT),
        (&f.website, Type::TEXT),
        (&f.street, Type::TEXT),
        (&f.city, Type::TEXT),
        (&f.region, Type::TEXT),
        (&f.postal_code, Type::TEXT),
        (&f.country, Type::TEXT),
        (&f.inventory_sender_emails, Type::TEXT_ARRAY),
        (&f.inbound_email_addresses, Type::TEXT_ARRAY),
        (&f.first_contact, Type::TEXT),
    ]
}

/// Creates a dealership (platform scope).
pub async fn create(tx: &Transaction<'_>, fields: &DealershipFields) -> Result<Dealership, StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "INSERT INTO dealerships (name, subdomain, contact_email, contact_phone, handover_email,
                     inbound_email_alias, allowed_origins, timezone, website, street, city, region, postal_code, country,
                     inventory_sender_emails, inbound_email_addresses, first_contact)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING {COLUMNS}"
            ),
            &field_params(fields),
        )
        .await
        .map_err(StoreError::query("creating a dealership"))?;
    Ok(from_row(&rows[0]))
}

pub async fn get(tx: &Transaction<'_>, id: DealershipId) -> Result<Option<Dealership>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("SELECT {COLUMNS} FROM dealerships WHERE id = $1"),
            &[(&id.0, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a dealership"))?;
    Ok(rows.first().map(from_row))
}

pub async fn list(tx: &Transaction<'_>, page: &crate::page::Page) -> Result<(Vec<Dealership>, i64), StoreError> {
    let rows = tx
        .query_typed(
            &format!(
                "SELECT {COLUMNS}, count(*) OVER () FROM dealerships ORDER BY {} {}, id LIMIT $1 OFFSET $2",
                page.sort_column, page.direction
            ),
            &[(&page.limit, Type::INT8), (&page.offset(), Type::INT8)],
        )
        .await
        .map_err(StoreError::query("listing dealerships"))?;
    let total = rows.first().map(|row| row.get(21)).unwrap_or(0);
    Ok((rows.iter().map(from_row).collect(), total))
}

pub async fn update(
    tx: &Transaction<'_>,
    id: DealershipId,
    fields: &DealershipFields,
) -> Result<Option<Dealership>, StoreError> {
    let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = field_params(fields).to_vec();
    params.push((&id.0, Type::INT8));
    let rows = tx
        .query_typed(
            &format!(
                "UPDATE dealerships SET name = $1, subdomain = $2, contact_email = $3, contact_phone = $4,
                     handover_email = $5, inbound_email_alias = $6, allowed_origins = $7, timezone = $8, website = $9,
                     street = $10, city = $11, region = $12, postal_code = $13, country = $14,
                     inventory_sender_emails = $15, inbound_email_addresses = $16, first_contact = $17
                 WHERE id = $18 RETURNING {COLUMNS}"
            ),
            &params,
        )
        .await
        .map_err(StoreError::query("updating a dealership"))?;
    Ok(rows.first().map(from_row))
}

pub async fn set_active(
    tx: &Transaction<'_>,
    id: DealershipId,
    active: bool,
) -> Result<Option<Dealership>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("UPDATE dealerships SET active = $2 WHERE id = $1 RETURNING {COLUMNS}"),
            &[(&id.0, Type::INT8), (&active, Type::BOOL)],
        )
        .await
        .map_err(StoreError::query("changing a dealership's active flag"))?;
    Ok(rows.first().map(from_row))
}

/// The settings the assistant, the handover and the reports read, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub business_hours: serde_json::Value,
    pub ai_config: serde_json::Value,
    pub agent_config: serde_json::Value,
    pub report_settings: serde_json::Value,
}

/// A change of settings: `business_hours` and `report_settings` are replaced, `ai_config` and
/// `agent_config` merged key by key (so a key this API does not manage is kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsChange {
    pub business_hours: Option<serde_json::Value>,
    pub ai_config: Option<serde_json::Value>,
    pub agent_config: Option<serde_json::Value>,
    pub report_settings: Option<serde_json::Value>,
}

/// Reads the settings (with `change` applied first, when given); None: no such dealership.
pub async fn settings(
    tx: &Transaction<'_>,
    id: DealershipId,
    change: Option<&SettingsChange>,
) -> Result<Option<Settings>, StoreError> {
    let none = SettingsChange::default();
    let change = change.unwrap_or(&none);
    let rows = tx
        .query_typed(
            "WITH changed AS (
                 UPDATE dealerships SET business_hours = coalesce($2, business_hours),
                        ai_config = ai_config || coalesce($3, '{}'),
                        agent_config = agent_config || coalesce($4, '{}'),
                        report_settings = coalesce($5, report_settings)
                  WHERE id = $1 AND ($2::jsonb IS NOT NULL OR $3::jsonb IS NOT NULL OR $4::jsonb IS NOT NULL
                                     OR $5::jsonb IS NOT NULL)
                  RETURNING business_hours, ai_config, agent_config, report_settings)
             SELECT * FROM changed
             UNION ALL
             SELECT business_hours, ai_config, agent_config, report_settings FROM dealerships
              WHERE id = $1 AND NOT EXISTS (SELECT FROM changed)",
            &[
                (&id.0, Type::INT8),
                (&change.business_hours, Type::JSONB),
                (&change.ai_config, Type::JSONB),
                (&change.agent_config, Type::JSONB),
                (&change.report_settings, Type::JSONB),
            ],
        )
        .await
        .map_err(StoreError::query("reading or changing a dealership's settings"))?;
    Ok(rows.first().map(|row| Settings {
        business_hours: row.get(0),
        ai_config: row.get(1),
        agent_config: row.get(2),
        report_settings: row.get(3),
    }))
}
