//! The `db-migrate` function: invoked after each deploy with `{"mode": "apply"}` (or
//! `"dry-run"`, `"validate-only"`), returns the runner's report, and fails the invocation,
//! and so the deploy, when the runner refuses.

use std::time::Duration;

use rylie_store::migrate::{self, Mode, Report};
use serde::Deserialize;

use crate::State;

/// How long a runner waits for another one (a concurrent deploy) to finish.
const LOCK_WAIT: Duration = Duration::from_secs(240);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateRequest {
    #[serde(default = "default_mode")]
    pub mode: Mode,
}

fn default_mode() -> Mode {
    Mode::Apply
}

/// Runs the embedded migrations against the state's database.
pub async fn handle(state: &State, request: MigrateRequest) -> Result<Report, crate::BoxError> {
    let mut client = state.db.client().await?;
    let report = migrate::run(&mut client, &state.migrations, request.mode, LOCK_WAIT).await?;
    tracing::info!(mode = ?report.mode, applied = report.applied.len(), pending = report.pending.len(), "migrations");
    Ok(report)
}
