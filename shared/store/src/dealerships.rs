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
