//! The database half of `/healthz`: can we reach PostgreSQL, and is its schema the one this
//! binary was built for?

use serde::Serialize;

use crate::{
    Db, StoreError,
    migrate::{self, MigrationError, MigrationSet},
};

/// Readiness of the database for this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DatabaseHealth {
    Ready { schema_version: Option<i64> },
    NotReady { reason: String },
}

/// Reads `schema_migrations` (one round trip) and compares it with the embedded migrations.
pub async fn check(db: &Db, migrations: &MigrationSet) -> DatabaseHealth {
    let applied = db
        .run(async |client| migrate::applied(client).await.map_err(HealthError::from))
        .await;
    let applied = match applied {
        Ok(applied) => applied,
        Err(HealthError::Store(error)) => {
            return not_ready(format!("database unreachable: {error}"));
        }
        Err(HealthError::Migration(error)) => return not_ready(error.to_string()),
    };
    match migrations.pending(&applied) {
        Ok(pending) if pending.is_empty() => DatabaseHealth::Ready {
            schema_version: applied.iter().map(|a| a.version).max(),
        },
        Ok(pending) => {
            let files: Vec<&str> = pending.iter().map(|m| m.file_name.as_str()).collect();
            not_ready(format!("{} migration(s) pending: {}", files.len(), files.join(", ")))
        }
        Err(error) => not_ready(error.to_string()),
    }
}

fn not_ready(reason: String) -> DatabaseHealth {
    DatabaseHealth::NotReady { reason }
}

#[derive(Debug)]
enum HealthError {
    Store(StoreError),
    Migration(MigrationError),
}

impl From<StoreError> for HealthError {
    fn from(error: StoreError) -> Self {
        HealthError::Store(error)
    }
}

impl From<MigrationError> for HealthError {
    fn from(error: MigrationError) -> Self {
        match error {
            MigrationError::Database { context, source } => HealthError::Store(StoreError::Query { context, source }),
            other => HealthError::Migration(other),
        }
    }
}

impl crate::db::AsConnectionError for HealthError {
    fn connection_broken(&self) -> bool {
        matches!(self, HealthError::Store(error) if error.is_unavailable())
    }
}
