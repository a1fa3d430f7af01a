//! `rylie-ops import-tsv`: an operator applies a feed file from disk, through the same path as
//! the import job (recorded as an import with source `cli`, skipped when identical to the last
//! one, held when it would deactivate too much unless `--confirm`).

use std::path::Path;

use rylie_app::{BoxError, Config, State, inventory::job};
use rylie_domain::DealershipId;
use rylie_store::{
    ConnectSettings, Db,
    inventory_imports::{Import, NewImport, Source},
};

pub async fn run(
    database_url: &str,
    dealership: i64,
    file: &Path,
    full_feed: bool,
    confirm: bool,
) -> Result<Import, BoxError> {
    let byte_size = std::fs::metadata(file)
        .map_err(|e| format!("reading {}: {e}", file.display()))?
        .len();
    let config = Config::from_lookup("rylie-ops", |name| {
        (name == "DATABASE_URL").then(|| database_url.to_owned())
    })?;
    let state = State::new(config, Db::new(ConnectSettings::from_url(database_url)?))?;
    let dealership = DealershipId(dealership);
    let new = NewImport {
        source: Source::Cli,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        s3_bucket: None,
        s3_key: None,
        content_hash: None,
        byte_size: Some(byte_size as i64),
        full_feed,
        requested_by: None,
        inbound_email_id: None,
        source_ref: None,
    };
    let import = job::record(&state, dealership, &new).await?;
    Ok(job::apply_local_file(&state, dealership, &import, file, confirm).await?)
}
