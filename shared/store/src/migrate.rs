//! The migration runner: plain SQL files in infra/migrations, embedded at build time, applied
//! in version order, each in its own transaction, recorded in `schema_migrations` with a
//! checksum.
//!
//! Why by hand rather than refinery: we need the table shape the operators already query
//! (version, name, checksum, applied_at, duration_ms), a refusal that names the file when an
//! applied migration changed, a wait on a PostgreSQL advisory lock so two runners started by
//! two deploys apply each migration exactly once, and dry-run / validate-only modes. What is
//! left once those are written is a loop over files.
//!
//! Migration files may not contain statements that cannot run in a transaction
//! (`CREATE INDEX CONCURRENTLY`, `VACUUM`): a migration is all or nothing.

use std::{borrow::Cow, collections::BTreeMap, fmt, path::Path, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, error::SqlState, types::Type};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));
}

/// The advisory lock key every runner takes: "rylie-migrations" as a number.
const LOCK_KEY: i64 = 0x0072_796c_6965_6d69;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration file name {file:?} is not of the form NNNN_name.sql")]
    BadFileName { file: String },
    #[error("migrations {first} and {second} have the same version")]
    DuplicateVersion { first: String, second: String },
    #[error(
        "migration {file} was changed after it was applied (checksum {applied} in schema_migrations, {current} on disk); \
         restore the file and add a new migration instead"
    )]
    ChangedAfterApply {
        file: String,
        applied: String,
        current: String,
    },
    #[error("migration {version} ({name}) is recorded in schema_migrations but no file has that version")]
    UnknownApplied { version: i64, name: String },
    #[error("migration {file} is pending but a later migration, version {applied}, is already applied")]
    OutOfOrder { file: String, applied: i64 },
    #[error("migration {file} failed and was rolled back: {message}")]
    Failed { file: String, message: String },
    #[error("another migration runner held the lock for longer than {0:?}")]
    LockTimeout(Duration),
    #[error("reading migrations from {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {}", crate::describe(source))]
    Database {
        context: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
}

fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> MigrationError {
    move |source| MigrationError::Database { context, source }
}

/// One migration file.
#[derive(Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: String,
    pub file_name: String,
    pub sql: Cow<'static, str>,
    pub checksum: String,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Migration({} {})", self.file_name, &self.checksum[..12])
    }
}

impl Migration {
    /// Parses `NNNN_name.sql` and computes the checksum (SHA-256 of the text with line endings
    /// normalised, so a checkout with CRLF endings does not look changed).
    pub fn parse(file_name: &str, sql: impl Into<Cow<'static, str>>) -> Result<Self, MigrationError> {
        let bad = || MigrationError::BadFileName {
            file: file_name.to_owned(),
        };
        let stem = file_name.strip_suffix(".sql").ok_or_else(bad)?;
        let (digits, name) = stem.split_once('_').ok_or_else(bad)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
            return Err(bad());
        }
        let version = digits.parse().map_err(|_| bad())?;
        let sql = sql.into();
        let checksum = hex::encode(Sha256::digest(sql.replace("\r\n", "\n").as_bytes()));
        Ok(Self {
            version,
            name: name.to_owned(),
            file_name: file_name.to_owned(),
            sql,
            checksum,
        })
    }
}

/// The migrations a binary knows, in version order.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
}

impl MigrationSet {
    /// The migrations embedded in this binary.
    pub fn embedded() -> Result<Self, MigrationError> {
        let parsed = embedded::EMBEDDED
            .iter()
            .map(|(file, sql)| Migration::parse(file, *sql))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(parsed)
    }

    /// Reads `*.sql` from a folder (an operator checking files before a build).
    pub fn from_dir(dir: &Path) -> Result<Self, MigrationError> {
        let read = |source| MigrationError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut migrations = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.extension().is_some_and(|ext| ext == "sql") {
                let sql = std::fs::read_to_string(&path).map_err(|source| MigrationError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                migrations.push(Migration::parse(&file, sql)?);
            }
        }
        Self::new(migrations)
    }

    pub fn new(mut migrations: Vec<Migration>) -> Result<Self, MigrationError> {
        migrations.sort_by_key(|m| m.version);
        for pair in migrations.windows(2) {
            if pair[0].version == pair[1].version {
                return Err(MigrationError::DuplicateVersion {
                    first: pair[0].file_name.clone(),
                    second: pair[1].file_name.clone(),
                });
            }
        }
        Ok(Self { migrations })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Migration> {
        self.migrations.iter()
    }

    pub fn latest_version(&self) -> Option<i64> {
        self.migrations.last().map(|m| m.version)
    }

    /// Compares the files with what the database recorded and returns the pending migrations,
    /// or the first inconsistency that must stop a runner.
    pub fn pending<'a>(&'a self, applied: &[AppliedMigration]) -> Result<Vec<&'a Migration>, MigrationError> {
        let by_version: BTreeMap<i64, &AppliedMigration> = applied.iter().map(|a| (a.version, a)).collect();
        for record in applied {
            if !self.migrations.iter().any(|m| m.version == record.version) {
                return Err(MigrationError::UnknownApplied {
                    version: record.version,
                    name: record.name.clone(),
                });
            }
        }
        let mut pending = Vec::new();
        for migration in &self.migrations {
            match by_version.get(&migration.version) {
                Some(record) if record.checksum != migration.checksum => {
                    return Err(MigrationError::ChangedAfterApply {
                        file: migration.file_name.clone(),
                        applied: record.checksum.clone(),
                        current: migration.checksum.clone(),
                    });
                }
                Some(_) => {}
                None => pending.push(migration),
            }
        }
        if let (Some(first), Some(last_applied)) = (pending.first(), applied.iter().map(|a| a.version).max())
            && first.version < last_applied
        {
            return Err(MigrationError::OutOfOrder {
                file: first.file_name.clone(),
                applied: last_applied,
            });
        }
        Ok(pending)
    }
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedMigration {
    pub version: i64,
    pub name: String,
    pub checksum: String,
    pub applied_at: DateTime<Utc>,
    pub duration_ms: i64,
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Apply pending migrations.
    Apply,
    /// Validate, then list what would be applied. Writes nothing.
    DryRun,
    /// Check files and checksums against the database. Writes nothing.
    ValidateOnly,
}

/// What a run did (or, for dry-run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub already_applied: usize,
    /// Pending before the run (for apply: those it applied).
    pub pending: Vec<PendingMigration>,
    pub applied: Vec<AppliedNow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingMigration {
    pub version: i64,
    pub file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppliedNow {
    pub version: i64,
    pub file: String,
    pub duration_ms: i64,
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     bigint PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms bigint NOT NULL
)";

/// Lets the application role read the table, for `/healthz`.
const GRANT_READ: &str = "DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rylie_app') THEN
        GRANT SELECT ON schema_migrations TO rylie_app;
    END IF;
END $$";

/// Reads `schema_migrations`; a database that never saw a runner has applied nothing.
pub async fn applied(client: &Client) -> Result<Vec<AppliedMigration>, MigrationError> {
    let rows = match client
        .query_typed(
            "SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
    {
        Ok(rows) => rows,
        Err(error) if error.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
        Err(error) => return Err(db("reading schema_migrations")(error)),
    };
    Ok(rows
        .iter()
        .map(|row| AppliedMigration {
            version: row.get(0),
            name: row.get(1),
            checksum: row.get(2),
            applied_at: row.get(3),
            duration_ms: row.get(4),
        })
        .collect())
}

/// Runs the migrations in `mode`. Apply waits up to `lock_wait` for another runner to finish.
pub async fn run(
    client: &mut Client,
    set: &MigrationSet,
    mode: Mode,
    lock_wait: Duration,
) -> Result<Report, MigrationError> {
    if mode != Mode::Apply {
        let applied = applied(client).await?;
        let pending = set.pending(&applied)?;
        return Ok(report(mode, applied.len(), &pending, Vec::new()));
    }
    acquire_lock(client, lock_wait).await?;
    let result = apply_locked(client, set).await;
    let unlocked = client
        .query_typed("SELECT pg_advisory_unlock($1)", &[(&LOCK_KEY, Type::INT8)])
        .await
        .map_err(db("releasing the migration lock"));
    let report = result?;
    unlocked?;
    Ok(report)
}

async fn apply_locked(client: &mut Client, set: &MigrationSet) -> Result<Report, MigrationError> {
    client
        .batch_execute(CREATE_TABLE)
        .await
        .map_err(db("creating schema_migrations"))?;
    // Read under the lock: a runner that waited sees what the other one applied.
    let applied = applied(client).await?;
    let pending = set.pending(&applied)?;
    let mut done = Vec::with_capacity(pending.len());
    for migration in &pending {
        let started = std::time::Instant::now();
        let tx = client
            .transaction()
            .await
            .map_err(db("starting a migration transaction"))?;
        tx.batch_execute(&migration.sql)
            .await
            .map_err(|error| MigrationError::Failed {
                file: migration.file_name.clone(),
                message: describe_failure(&error, &migration.sql),
            })?;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        tx.query_typed(
            "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
            &[
                (&migration.version, Type::INT8),
                (&migration.name, Type::TEXT),
                (&migration.checksum, Type::TEXT),
                (&duration_ms, Type::INT8),
            ],
        )
        .await
        .map_err(db("recording a migration"))?;
        tx.commit().await.map_err(|error| MigrationError::Failed {
            file: migration.file_name.clone(),
            message: describe_failure(&error, &migration.sql),
        })?;
        tracing::info!(file = %migration.file_name, duration_ms, "migration applied");
        done.push(AppliedNow {
            version: migration.version,
            file: migration.file_name.clone(),
            duration_ms,
        });
    }
    client
        .batch_execute(GRANT_READ)
        .await
        .map_err(db("granting read access to schema_migrations"))?;
    Ok(report(Mode::Apply, applied.len(), &pending, done))
}

fn report(mode: Mode, already_applied: usize, pending: &[&Migration], applied: Vec<AppliedNow>) -> Report {
    Report {
        mode,
        already_applied,
        pending: pending
            .iter()
            .map(|m| PendingMigration {
                version: m.version,
                file: m.file_name.clone(),
            })
            .collect(),
        applied,
    }
}

async fn acquire_lock(client: &Client, wait: Duration) -> Result<(), MigrationError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut announced = false;
    loop {
        let rows = client
            .query_typed("SELECT pg_try_advisory_lock($1)", &[(&LOCK_KEY, Type::INT8)])
            .await
            .map_err(db("taking the migration lock"))?;
        if rows[0].get::<_, bool>(0) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(MigrationError::LockTimeout(wait));
        }
        if !announced {
            tracing::info!("another migration runner holds the lock; waiting");
            announced = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The server's message, with the line of the migration it points at.
fn describe_failure(error: &tokio_postgres::Error, sql: &str) -> String {
    let Some(db_error) = error.as_db_error() else {
        return error.to_string();
    };
    let mut message = format!("{}: {}", db_error.severity(), db_error.message());
    if let Some(tokio_postgres::error::ErrorPosition::Original(position)) = db_error.position() {
        let offset = sql
            .char_indices()
            .nth((*position as usize).saturating_sub(1))
            .map_or(sql.len(), |(i, _)| i);
        let line = sql[..offset].matches('\n').count() + 1;
        message.push_str(&format!(" (line {line})"));
    }
    if let Some(detail) = db_error.detail() {
        message.push_str(&format!("; {detail}"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(m: &Migration) -> AppliedMigration {
        AppliedMigration {
            version: m.version,
            name: m.name.clone(),
            checksum: m.checksum.clone(),
            applied_at: Utc::now(),
            duration_ms: 1,
        }
    }

    #[test]
    fn file_names_must_carry_a_version_and_a_name() {
        assert_eq!(Migration::parse("0007_add_leads.sql", "").unwrap().version, 7);
        for bad in ["add_leads.sql", "0007.sql", "0007_x.txt", "v7_x.sql", "_x.sql"] {
            assert!(
                matches!(Migration::parse(bad, ""), Err(MigrationError::BadFileName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn crlf_line_endings_do_not_change_the_checksum() {
        let unix = Migration::parse("0001_a.sql", "SELECT 1;\nSELECT 2;\n").unwrap();
        let windows = Migration::parse("0001_a.sql", "SELECT 1;\r\nSELECT 2;\r\n").unwrap();
        assert_eq!(unix.checksum, windows.checksum);
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let error = MigrationSet::new(vec![
            Migration::parse("0001_a.sql", "").unwrap(),
            Migration::parse("0001_b.sql", "").unwrap(),
        ])
        .unwrap_err();
        assert!(matches!(error, MigrationError::DuplicateVersion { .. }));
    }

    #[test]
    fn embedded_migrations_parse_in_order() {
        let set = MigrationSet::embedded().unwrap();
        let versions: Vec<i64> = set.iter().map(|m| m.version).collect();
        assert!(!versions.is_empty());
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn pending_is_what_was_not_applied_and_changes_are_named() {
        let a = Migration::parse("0001_a.sql", "SELECT 1;").unwrap();
        let b = Migration::parse("0002_b.sql", "SELECT 2;").unwrap();
        let set = MigrationSet::new(vec![a.clone(), b.clone()]).unwrap();
        let pending = set.pending(&[record(&a)]).unwrap();
        assert_eq!(pending.iter().map(|m| m.version).collect::<Vec<_>>(), vec![2]);

        let mut changed = record(&a);
        changed.checksum = "0".repeat(64);
        match set.pending(&[changed]).unwrap_err() {
            MigrationError::ChangedAfterApply { file, .. } => assert_eq!(file, "0001_a.sql"),
            other => panic!("unexpected {other}"),
        }

        let only_b = MigrationSet::new(vec![b.clone()]).unwrap();
        assert!(matches!(
            only_b.pending(&[record(&a)]),
            Err(MigrationError::UnknownApplied { version: 1, .. })
        ));
        assert!(matches!(
            set.pending(&[record(&b)]),
            Err(MigrationError::OutOfOrder { .. })
        ));
    }
}
