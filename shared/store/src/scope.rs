//! Transactions scoped to one tenant, or to the whole platform, for row-level security.
//!
//! The scope is set with `set_config(name, value, true)`: local to the transaction, so it
//! ends with it and never pins an RDS Proxy session (a plain `SET` would). Store functions
//! take a [`Scope`]; nothing else sets these settings, but for the assistant turn's database
//! functions (migration 0012), which set the same tenant setting from the dealership they are
//! given, for the transaction of their own call.

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
    tx.batch_execute(&setting(scope))
        .await
        .map_err(StoreError::query("setting the transaction's scope"))?;
    Ok(tx)
}

/// The statement that applies `scope` to the current transaction.
pub fn setting(scope: Scope) -> String {
    match scope {
        // An integer, formatted by us: nothing to escape.
        Scope::Tenant(id) => format!("SELECT set_config('rylie.dealership_id', '{}', true)", id.0),
        Scope::Platform => "SELECT set_config('rylie.scope', 'platform', true)".to_owned(),
    }
}

/// Runs `statement` as a transaction of its own in `scope`, in one round trip: BEGIN and the
/// setting, the statement and COMMIT are pipelined (sent together, answered together). For
/// the hot paths that write or read everything in one statement (an assistant turn).
pub async fn one_statement(
    client: &Client,
    scope: Scope,
    statement: &str,
    parameters: &[(&(dyn tokio_postgres::types::ToSql + Sync), tokio_postgres::types::Type)],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    pipelined(client, scope, client.query_typed(statement, parameters)).await?
}

/// Runs `work` as a transaction of its own in `scope`, in one round trip: BEGIN and the
/// setting are sent before it and COMMIT right behind it, without waiting for its answer.
/// `work` must send exactly one statement on `client`, on its first poll (an async function
/// that builds a statement and awaits it does): a second statement would be sent after the
/// COMMIT, outside the transaction and the scope. The outer error is the transaction's own
/// (BEGIN, the setting, COMMIT), the inner one `work`'s.
pub async fn pipelined<T, E>(
    client: &Client,
    scope: Scope,
    work: impl Future<Output = Result<T, E>>,
) -> Result<Result<T, E>, tokio_postgres::Error> {
    let opening = format!("BEGIN; {}", setting(scope));
    // join! polls in order, so the three requests leave in this order.
    let (opened, done, committed) = tokio::join!(
        client.batch_execute(&opening),
        work,
        // After a failed statement PostgreSQL answers COMMIT with a rollback.
        client.batch_execute("COMMIT"),
    );
    opened?;
    committed?;
    Ok(done)
}
