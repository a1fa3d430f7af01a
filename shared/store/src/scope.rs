//! Transactions scoped to one tenant, or to the whole platform, for row-level security.
//!
//! The scope is set with `set_config(name, value, true)`: local to the transaction, so it
//! ends with it and never pins an RDS Proxy session (a plain `SET` would). Store functions
//! take a [`Scope`]; nothing else sets these settings.

use rylie_domain::DealershipId;
use tokio_postgres::{Client, Transaction};

use crate::StoreError;

/// Whose rows a transaction may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One dealership's rows.
    Tenant(DealershipId),
    /// Every dealership's rows: super_admin routes, login look-ups, jobs that route by
    /// recipient. Used deliberately and only through store functions.
    Platform,
}

/// Opens a transaction on `client` and applies `scope` to it: two round trips (BEGIN, then
/// the setting).
pub async fn begin(client: &mut Client, scope: Scope) -> Result<Transaction<'_>, StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(StoreError::query("starting a transaction"))?;
    let statement = match scope {
        // An integer, formatted by us: nothing to escape.
        Scope::Tenant(id) => format!("SELECT set_config('rylie.dealership_id', '{}', true)", id.0),
        Scope::Platform => "SELECT set_config('rylie.scope', 'platform', true)".to_owned(),
    };
    tx.batch_execute(&statement)
        .await
        .map_err(StoreError::query("setting the transaction's scope"))?;
    Ok(tx)
}
