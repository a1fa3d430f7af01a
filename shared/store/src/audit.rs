//! The audit log: who changed what, from where, with the values before and after. Written in
//! the same transaction as the change, so there is no change without its row.

use serde_json::Value;
use tokio_postgres::{Transaction, types::Type};

use crate::StoreError;

/// Field names whose values never reach the audit log.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "password_hash",
    "token",
    "token_hash",
    "refresh_token",
    "key_hash",
    "secret",
    "api_key",
];

/// One audit row.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub dealership_id: Option<i64>,
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_values: Option<Value>,
    pub new_values: Option<Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// Replaces secret fields, at any depth, with `"[redacted]"`.
pub fn redact(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if SECRET_FIELDS.contains(&key.to_ascii_lowercase().as_str()) {
                        *child = Value::String("[redacted]".to_owned());
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

pub async fn record(tx: &Transaction<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
    let old = entry.old_values.clone().map(redact);
    let new = entry.new_values.clone().map(redact);
    tx.query_typed(
        "INSERT INTO audit_logs (dealership_id, user_id, api_key_id, action, resource_type, resource_id,
             old_values, new_values, ip_address, user_agent, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::inet, $10, $11)",
        &[
            (&entry.dealership_id, Type::INT8),
            (&entry.user_id, Type::INT8),
            (&entry.api_key_id, Type::INT8),
            (&entry.action, Type::TEXT),
            (&entry.resource_type, Type::TEXT),
            (&entry.resource_id, Type::TEXT),
            (&old, Type::JSONB),
            (&new, Type::JSONB),
            (&entry.ip, Type::TEXT),
            (&entry.user_agent, Type::TEXT),
            (&entry.request_id, Type::TEXT),
        ],
    )
    .await
    .map_err(StoreError::query("writing the audit log"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let redacted = redact(json!({"name": "x", "password": "p", "nested": [{"key_hash": "h", "ok": 1}]}));
        assert_eq!(
            redacted,
            json!({"name": "x", "password": "[redacted]", "nested": [{"key_hash": "[redacted]", "ok": 1}]})
        );
    }
}

/// An audit row as the API shows it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct AuditRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_values: Option<Value>,
    pub new_values: Option<Value>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Filters of the audit list; every one optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Newest first.
pub async fn list(
    tx: &Transaction<'_>,
    dealership_id: i64,
    filter: &AuditFilter,
    page: &crate::page::Page,
) -> Result<(Vec<AuditRow>, i64), StoreError> {
    let rows = tx
        .query_typed(
            "SELECT id, user_id, api_key_id, action, resource_type, resource_id, old_values, new_values,
                    host(ip_address), user_agent, request_id, created_at, count(*) OVER ()
             FROM audit_logs
             WHERE dealership_id = $1
               AND ($2::int8 IS NULL OR user_id = $2)
               AND ($3::text IS NULL OR action = $3)
               AND ($4::text IS NULL OR resource_type = $4)
               AND ($5::text IS NULL OR resource_id = $5)
               AND ($6::timestamptz IS NULL OR created_at >= $6)
               AND ($7::timestamptz IS NULL OR created_at < $7)
             ORDER BY created_at DESC, id DESC
             LIMIT $8 OFFSET $9",
            &[
                (&dealership_id, Type::INT8),
                (&filter.user_id, Type::INT8),
                (&filter.action, Type::TEXT),
                (&filter.resource_type, Type::TEXT),
                (&filter.resource_id, Type::TEXT),
                (&filter.from, Type::TIMESTAMPTZ),
                (&filter.to, Type::TIMESTAMPTZ),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing the audit log"))?;
    let total = rows.first().map(|row| row.get(12)).unwrap_or(0);
    let items = rows
        .iter()
        .map(|row| AuditRow {
            id: row.get(0),
            user_id: row.get(1),
            api_key_id: row.get(2),
            action: row.get(3),
            resource_type: row.get(4),
            resource_id: row.get(5),
            old_values: row.get(6),
            new_values: row.get(7),
            ip_address: row.get(8),
            user_agent: row.get(9),
            request_id: row.get(10),
            created_at: row.get(11),
        })
        .collect();
    Ok((items, total))
}
