//! rylie-store: PostgreSQL, the system of record.
//!
//! Three jobs live here: reaching the database from a Lambda container ([`Db`], [`connect`]),
//! keeping its schema current ([`migrate`]), and the queries the use cases need.
//!
//! # Statement strategy (RDS Proxy)
//!
//! Functions reach PostgreSQL through RDS Proxy, which multiplexes many client connections
//! over few database connections between transactions, unless a session is *pinned* to one
//! backend by session state. tokio-postgres offers three ways to run a parameterised query:
//!
//! * `Client::query(sql, ..)` prepares a **named** statement (`s0`, `s1`, …), binds it, then
//!   closes it: two round trips per query, and named statements are session state.
//! * a statement prepared once and reused: one round trip, but the name lives in the session
//!   for as long as the client does, which is exactly what pins a proxy session.
//! * `Client::query_typed(sql, [(value, type)])` sends Parse/Bind/Execute for the **unnamed**
//!   statement in one go: one round trip, nothing left behind in the session.
//!
//! We use `query_typed` (and `execute_typed`-style helpers built on it) for every query on a
//! request path. `rylie-ops bench statements` measures the three side by side; the figures
//! are in the README. Session settings are never changed with `SET`: per-transaction settings
//! use `set_config(name, value, true)`, which ends with the transaction and does not pin.
//! Migrations are the exception (advisory lock, DDL), and they run as their own function.
//!
//! The price of the unnamed statement is that PostgreSQL parses and plans it every time. Where
//! that dominates a hot path (an assistant turn: 2.7 ms of planning for 0.7 ms of work, per
//! statement), the statements are PL/pgSQL functions instead (migration 0012): their plans
//! are kept in the database backend, which the proxy shares between clients without pinning,
//! and the call itself costs nothing to plan.

pub mod analysis;
pub mod audit;
pub mod auth;
pub mod connect;
pub mod conversations;
pub mod customers;
mod db;
pub mod dealerships;
pub mod email_deliveries;
pub mod events;
pub mod experiments;
pub mod health;
pub mod inbound_emails;
pub mod inventory;
pub mod inventory_imports;
pub mod job_failures;
pub mod leads;
pub mod migrate;
pub mod page;
pub mod personas;
pub mod reports;
pub mod scope;
pub mod turns;
pub mod users;
pub mod vehicles;
pub mod webhooks;

pub use connect::{ConnectSettings, SslMode};
pub use db::{AsConnectionError, Db, is_connection_broken};
pub use scope::Scope;
pub use tokio_postgres::{
    Client, Error as PgError, Transaction,
    error::SqlState,
    types::{ToSql, Type},
};

/// Errors of the store, each saying what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database connection settings: {0}")]
    Settings(String),
    #[error("connecting to PostgreSQL at {target}: {}", describe(source))]
    Connect {
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("{context}: {}", describe(source))]
    Query {
        context: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(transparent)]
    Migration(#[from] migrate::MigrationError),
    /// The request conflicts with the data (a unique key, a row still referenced).
    #[error("{0}")]
    Conflict(String),
}

/// A driver error in words: the server's message and SQLSTATE for database errors (the
/// driver's own Display says only "db error"), the whole chain otherwise.
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

impl StoreError {
    /// Wraps a driver error with what we were doing when it happened.
    pub fn query(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
        move |source| StoreError::Query { context, source }
    }

    /// The server's constraint violation, when that is what this is: (SQLSTATE, constraint).
    pub fn constraint_violation(&self) -> Option<(&str, Option<&str>)> {
        match self {
            StoreError::Query { source, .. } => source
                .as_db_error()
                .filter(|db| db.code().code().starts_with("23"))
                .map(|db| (db.code().code(), db.constraint())),
            _ => None,
        }
    }

    /// True when the error means the database could not be reached (as opposed to a query
    /// that the database refused).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Query { source, .. } => is_connection_broken(source),
            _ => false,
        }
    }
}
