//! `customers`: the people a dealership talks to. A lead names its customer by e-mail and
//! phone; the same person writing again, through another provider or another channel, is the
//! same customer.

use rylie_domain::DealershipId;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// What a lead (or a chat) tells about its customer. E-mail lower-case, phone E.164.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerDetails {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: serde_json::Value,
    pub preferred_channel: Option<&'static str>,
}

/// The dealership's customer with this e-mail, else with this phone, else a new one; returns
/// its id and whether it was created. Details the customer lacks are filled in, never
/// overwritten: what a person told the dealership earlier is not replaced by a lead form.
pub async fn find_or_create(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    details: &CustomerDetails,
) -> Result<(i64, bool), StoreError> {
    let address = if details.address.is_object() {
        details.address.clone()
    } else {
        serde_json::json!({})
    };
    // One statement: match on the e-mail, then on the phone (the most recent customer with
    // it), else insert. The e-mail's unique index settles two leads of one new customer
    // arriving at the same time.
    let rows = tx
        .query_typed(
            "WITH found AS (
                 SELECT id FROM customers
                  WHERE dealership_id = $1 AND $5::text IS NOT NULL AND email = $5
                 UNION ALL
                 (SELECT id FROM customers
                   WHERE dealership_id = $1 AND $6::text IS NOT NULL AND phone = $6
                   ORDER BY updated_at DESC LIMIT 1)
                 LIMIT 1
             ), updated AS (
                 UPDATE customers c
                    SET first_name = coalesce(c.first_name, $2), last_name = coalesce(c.last_name, $3),
                        full_name = coalesce(c.full_name, $4), email = coalesce(c.email, $5),
                        phone = coalesce(c.phone, $6),
                        address = CASE WHEN c.address = '{}' THEN $7 ELSE c.address END,
                        preferred_channel = coalesce(c.preferred_channel, $8)
                   FROM found WHERE c.id = found.id
                 RETURNING c.id, false
             ), inserted AS (
                 INSERT INTO customers (dealership_id, first_name, last_name, full_name, email, phone, address,
                                        preferred_channel)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM found)
                 ON CONFLICT (dealership_id, email) WHERE email IS NOT NULL
                 DO UPDATE SET first_name = coalesce(customers.first_name, EXCLUDED.first_name)
                 RETURNING id, (xmax = 0)
             )
             SELECT * FROM updated UNION ALL SELECT * FROM inserted",
            &[
                (&dealership.0, Type::INT8),
                (&details.first_name, Type::TEXT),
                (&details.last_name, Type::TEXT),
                (&details.full_name, Type::TEXT),
                (&details.email, Type::TEXT),
                (&details.phone, Type::TEXT),
                (&address, Type::JSONB),
                (&details.preferred_channel, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("finding or creating a customer"))?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Conflict("the customer could be neither found nor created".into()))?;
    Ok((row.get(0), row.get(1)))
}
