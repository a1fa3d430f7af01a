//! `leads`: the sales pipeline. A lead from mail is recorded once however often it arrives:
//! a provider's lead id is unique per (dealership, provider), and a lead without an id is
//! unique by the hash of its content. Recording one that is already there creates nothing and
//! says which lead it is.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// A lead about to be recorded; the customer, conversation and vehicle are linked after.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLead<'a> {
    /// `email_adf`, `web`, `chat`, `sms`, `phone`, `api` or `manual`.
    pub source: &'a str,
    pub provider: Option<&'a str>,
    pub adf_id: Option<&'a str>,
    pub adf_id_source: Option<&'a str>,
    pub request_date: Option<DateTime<Utc>>,
    pub vehicle_of_interest: serde_json::Value,
    pub trade_in: Option<serde_json::Value>,
    pub timeframe: Option<serde_json::Value>,
    pub customer_comments: Option<&'a str>,
    pub content_hash: &'a str,
    pub inbound_email_id: Option<i64>,
    pub raw_s3_key: Option<&'a str>,
    pub details: serde_json::Value,
}

/// What recording a lead did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New(i64),
    /// The lead was recorded before; `first_contact_queued` says whether its first contact
    /// was handed to its queue.
    AlreadyThere {
        id: i64,
        first_contact_queued: bool,
    },
}

/// Records a lead unless it is already there. Two deliveries of one lead recorded at the same
/// time: the second waits on the unique index, then finds the first.
pub async fn record(tx: &Transaction<'_>, dealership: DealershipId, new: &NewLead<'_>) -> Result<Recorded, StoreError> {
    // The conflict target names the partial unique index that applies: the provider's id, or
    // the content hash when there is no id.
    let conflict = if new.adf_id.is_some() {
        "(dealership_id, provider, adf_id) WHERE adf_id IS NOT NULL"
    } else {
        "(dealership_id, content_hash) WHERE adf_id IS NULL"
    };
    let sql = format!(
        "INSERT INTO leads (dealership_id, source, provider, adf_id, adf_id_source, request_date, vehicle_of_interest,
                            trade_in, timeframe, customer_comments, content_hash, inbound_email_id, raw_s3_key, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT {conflict} DO NOTHING
         RETURNING id"
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&new.source, Type::TEXT),
                (&new.provider, Type::TEXT),
                (&new.adf_id, Type::TEXT),
                (&new.adf_id_source, Type::TEXT),
                (&new.request_date, Type::TIMESTAMPTZ),
                (&new.vehicle_of_interest, Type::JSONB),
                (&new.trade_in, Type::JSONB),
                (&new.timeframe, Type::JSONB),
                (&new.customer_comments, Type::TEXT),
                (&new.content_hash, Type::TEXT),
                (&new.inbound_email_id, Type::INT8),
                (&new.raw_s3_key, Type::TEXT),
                (&new.details, Type::JSONB),
            ],
        )
        .await
        .map_err(StoreError::query("recording a lead"))?;
    if let Some(row) = rows.first() {
        return Ok(Recorded::New(row.get(0)));
    }
    let rows = tx
        .query_typed(
            "SELECT id, first_contact_queued_at IS NOT NULL FROM leads
              WHERE dealership_id = $1
                AND CASE WHEN $2::text IS NULL THEN adf_id IS NULL AND content_hash = $4
                         ELSE adf_id = $2 AND provider IS NOT DISTINCT FROM $3 END",
            &[
                (&dealership.0, Type::INT8),
                (&new.adf_id, Type::TEXT),
                (&new.provider, Type::TEXT),
                (&new.content_hash, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("finding a lead recorded before"))?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Conflict("a lead conflicted with one that cannot be found".into()))?;
    Ok(Recorded::AlreadyThere {
        id: row.get(0),
        first_contact_queued: row.get(1),
    })
}

/// Links a new lead to its customer, conversation and the vehicle in stock it is about.
pub async fn link(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    lead: i64,
    customer: Option<i64>,
    conversation: Option<i64>,
    vehicle: Option<i64>,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE leads SET customer_id = $3, conversation_id = $4, vehicle_id = $5 WHERE dealership_id = $1 AND id = $2",
        &[
            (&dealership.0, Type::INT8),
            (&lead, Type::INT8),
            (&customer, Type::INT8),
            (&conversation, Type::INT8),
            (&vehicle, Type::INT8),
        ],
    )
    .await
    .map_err(StoreError::query("linking a lead"))?;
    Ok(())
}

/// Records that the lead's first contact is on its queue.
pub async fn first_contact_queued(tx: &Transaction<'_>, dealership: DealershipId, lead: i64) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE leads SET first_contact_queued_at = now() WHERE dealership_id = $1 AND id = $2",
        &[(&dealership.0, Type::INT8), (&lead, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("recording a lead's first contact as queued"))?;
    Ok(())
}

/// A lead's customer and conversation, for the first-contact job message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadLinks {
    pub customer_id: Option<i64>,
    pub conversation_id: Option<i64>,
}

pub async fn links(tx: &Transaction<'_>, dealership: DealershipId, lead: i64) -> Result<Option<LeadLinks>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT customer_id, conversation_id FROM leads WHERE dealership_id = $1 AND id = $2",
            &[(&dealership.0, Type::INT8), (&lead, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a lead"))?;
    Ok(rows.first().map(|row| LeadLinks {
        customer_id: row.get(0),
        conversation_id: row.get(1),
    }))
}

/// What a lead's first-contact e-mail needs: the customer, the vehicle they asked about (as it
/// is now), the dealership's facts, and the customer's local time for quiet hours.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstContactTarget {
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    /// The customer opted out of e-mail.
    pub email_opted_out: bool,
    /// The customer's UTC offset now, in seconds: their own zone, else the dealership's
    /// (PostgreSQL's time-zone database resolves it).
    pub utc_offset_seconds: i32,
    /// The customer's state or province code, for stricter quiet hours.
    pub customer_state: Option<String>,
    pub dealership_name: String,
    pub dealership_phone: Option<String>,
    pub dealership_email: Option<String>,
    pub dealership_website: Option<String>,
    /// The postal address CAN-SPAM wants in commercial mail.
    pub postal_address: Option<String>,
    /// `ai_config.quiet_hours`, when the dealership set its own.
    pub quiet_hours: Option<serde_json::Value>,
    pub persona_name: Option<String>,
    /// `ai_config.email_templates.lead_first_contact`, when the dealership wrote its own.
    pub custom_template: Option<serde_json::Value>,
    pub vehicle: Option<LeadVehicle>,
}

/// The vehicle of a lead, from inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadVehicle {
    pub year: Option<i32>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub trim: Option<String>,
    pub stock_number: Option<String>,
    /// Whole dollars, as listed.
    pub price: Option<f64>,
    pub vdp_url: Option<String>,
    /// Still for sale.
    pub is_active: bool,
}

pub async fn first_contact_target(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    lead: i64,
) -> Result<Option<FirstContactTarget>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT coalesce(cu.full_name, nullif(concat_ws(' ', cu.first_name, cu.last_name), '')), cu.email,
                    cu.email_opted_out_at IS NOT NULL,
                    extract(epoch FROM (now() AT TIME ZONE coalesce(cu.timezone, d.timezone))
                                      - (now() AT TIME ZONE 'UTC'))::int4,
                    nullif(coalesce(cu.address ->> 'region', cu.address ->> 'state'), ''),
                    d.name, d.contact_phone, d.contact_email, d.website,
                    nullif(concat_ws(', ', d.street, d.city, nullif(concat_ws(' ', d.region, d.postal_code), '')), ''),
                    d.ai_config -> 'quiet_hours', p.name,
                    v.year, v.make, v.model, v.trim, v.stock_number, v.price::float8, v.vdp_url, v.is_active,
                    d.ai_config -> 'email_templates' -> 'lead_first_contact'
               FROM leads l
               JOIN dealerships d ON d.id = l.dealership_id
               LEFT JOIN customers cu ON cu.dealership_id = l.dealership_id AND cu.id = l.customer_id
               LEFT JOIN vehicles v ON v.dealership_id = l.dealership_id AND v.id = l.vehicle_id
               LEFT JOIN LATERAL (SELECT name FROM personas
                                   WHERE dealership_id = l.dealership_id AND is_active AND is_default LIMIT 1) p ON true
              WHERE l.dealership_id = $1 AND l.id = $2",
            &[(&dealership.0, Type::INT8), (&lead, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading a lead's first-contact target"))?;
    Ok(rows.first().map(|row| FirstContactTarget {
        customer_name: row.get(0),
        customer_email: row.get(1),
        email_opted_out: row.get(2),
        utc_offset_seconds: row.get(3),
        customer_state: row.get(4),
        dealership_name: row.get(5),
        dealership_phone: row.get(6),
        dealership_email: row.get(7),
        dealership_website: row.get(8),
        postal_address: row.get(9),
        quiet_hours: row.get(10),
        persona_name: row.get(11),
        custom_template: row.get(20),
        vehicle: row.get::<_, Option<bool>>(19).map(|is_active| LeadVehicle {
            year: row.get(12),
            make: row.get(13),
            model: row.get(14),
            trim: row.get(15),
            stock_number: row.get(16),
            price: row.get(17),
            vdp_url: row.get(18),
            is_active,
        }),
    }))
}

/// A lead as staff and integrations see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Lead {
    pub id: i64,
    pub dealership_id: i64,
    pub customer_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// email_adf, web, chat, sms, phone, api or manual.
    pub source: String,
    /// The lead provider as the ADF names it (AutoTrader, Cars.com, …).
    pub provider: Option<String>,
    pub adf_id: Option<String>,
    /// new, contacted, qualified, appointment, sold, lost or duplicate.
    pub status: String,
    pub request_date: Option<DateTime<Utc>>,
    /// The vehicle in stock the lead asked for, when one matched.
    pub vehicle_id: Option<i64>,
    pub vehicle_of_interest: serde_json::Value,
    pub trade_in: Option<serde_json::Value>,
    pub timeframe: Option<serde_json::Value>,
    pub customer_comments: Option<String>,
    pub first_contact_queued_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const LEAD_COLUMNS: &str = "l.id, l.dealership_id, l.customer_id, l.conversation_id, l.source, l.provider, l.adf_id,
    l.status, l.request_date, l.vehicle_id, l.vehicle_of_interest, l.trade_in, l.timeframe, l.customer_comments,
    l.first_contact_queued_at, l.created_at, l.updated_at";

fn lead(row: &tokio_postgres::Row) -> Lead {
    Lead {
        id: row.get(0),
        dealership_id: row.get(1),
        customer_id: row.get(2),
        conversation_id: row.get(3),
        source: row.get(4),
        provider: row.get(5),
        adf_id: row.get(6),
        status: row.get(7),
        request_date: row.get(8),
        vehicle_id: row.get(9),
        vehicle_of_interest: row.get(10),
        trade_in: row.get(11),
        timeframe: row.get(12),
        customer_comments: row.get(13),
        first_contact_queued_at: row.get(14),
        created_at: row.get(15),
        updated_at: row.get(16),
    }
}

/// Sort keys for the list.
pub const SORTABLE: &[(&str, &str)] = &[("created_at", "l.created_at"), ("status", "l.status")];

/// The statuses a lead moves through.
pub const STATUSES: &[&str] = &[
    "new",
    "contacted",
    "qualified",
    "appointment",
    "sold",
    "lost",
    "duplicate",
];

/// One page of the dealership's leads, optionally of one status and source, and the total.
pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    status: Option<&str>,
    source: Option<&str>,
    page: &crate::page::Page,
) -> Result<(Vec<Lead>, i64), StoreError> {
    let filter = "l.dealership_id = $1 AND ($2::text IS NULL OR l.status = $2) AND ($3::text IS NULL OR l.source = $3)";
    let sql = format!(
        "SELECT {LEAD_COLUMNS}, count(*) OVER () FROM leads l WHERE {filter}
          ORDER BY {} {}, l.id LIMIT $4 OFFSET $5",
        page.sort_column, page.direction
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&status, Type::TEXT),
                (&source, Type::TEXT),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing leads"))?;
    let total = crate::page::total(
        tx,
        &rows,
        17,
        &format!("SELECT count(*) FROM leads l WHERE {filter}"),
        &[
            (&dealership.0, Type::INT8),
            (&status, Type::TEXT),
            (&source, Type::TEXT),
        ],
    )
    .await?;
    Ok((rows.iter().map(lead).collect(), total))
}

/// None: no such lead in this dealership.
pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<Lead>, StoreError> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.dealership_id = $1 AND l.id = $2");
    let rows = tx
        .query_typed(&sql, &[(&dealership.0, Type::INT8), (&id, Type::INT8)])
        .await
        .map_err(StoreError::query("reading a lead"))?;
    Ok(rows.first().map(lead))
}

/// Moves a lead to `status`, with a `lead.updated` event when it changed; None when the lead
/// does not exist.
pub async fn set_status(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    id: i64,
    status: &str,
) -> Result<Option<Lead>, StoreError> {
    let sql = format!(
        "WITH before AS (SELECT status FROM leads WHERE dealership_id = $1 AND id = $2),
              changed AS (UPDATE leads l SET status = $3 WHERE l.dealership_id = $1 AND l.id = $2
                          RETURNING {LEAD_COLUMNS}),
              updated AS ({event})
         SELECT * FROM changed",
        event = crate::events::queue_sql(
            "$1",
            "lead.updated",
            "jsonb_build_object('lead_id', changed.id, 'status', changed.status, 'previous_status', before.status,
                                'conversation_id', changed.conversation_id, 'customer_id', changed.customer_id)",
            "changed, before",
            "before.status IS DISTINCT FROM changed.status",
        )
    );
    let rows = tx
        .query_typed(
            &sql,
            &[(&dealership.0, Type::INT8), (&id, Type::INT8), (&status, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("changing a lead's status"))?;
    Ok(rows.first().map(lead))
}
