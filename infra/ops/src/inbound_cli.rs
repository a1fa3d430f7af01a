//! `rylie-ops parse-adf` and `rylie-ops inbound reprocess`: what an operator needs when a
//! lead provider's mail does not come out as expected — see what the parser makes of a mail
//! or a bare ADF document, then, after a fix, run a recorded mail again.

use std::io::Read;

use rylie_app::{BoxError, Config, State, mail::inbound};
use rylie_domain::{adf, mail};

/// Reads `path` (`-`: stdin), a raw .eml or a bare ADF document, and returns the leads of
/// every ADF document in it as the operator JSON array. Documents that do not parse are
/// reported on stderr; no lead at all is an error naming why.
pub fn parse_adf(path: &str) -> Result<serde_json::Value, BoxError> {
    let mut raw = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(|e| format!("reading stdin: {e}"))?;
    } else {
        raw = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
    }
    let sources = mail::adf_sources(&raw)?;
    if sources.is_empty() {
        return Err(format!("{path}: no ADF document found").into());
    }
    let mut leads = Vec::new();
    let mut problems = Vec::new();
    for source in &sources {
        match adf::parse(&source.xml) {
            Ok(parsed) => leads.extend(parsed),
            Err(error) => problems.push(format!("ADF in the {}: {error}", source.location)),
        }
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    if leads.is_empty() {
        return Err(format!("{path}: no usable lead ({})", problems.join("; ")).into());
    }
    Ok(adf::report_all(&leads))
}

/// Processes the recorded mail `id` again with the environment's configuration (the
/// database, FILES_BUCKET for the raw message, the queues), and returns its row.
pub async fn reprocess(id: i64) -> Result<serde_json::Value, BoxError> {
    let config = Config::from_env("rylie-ops")?;
    let state = State::init(config).await?;
    let email = inbound::process(&state, id).await?;
    Ok(serde_json::to_value(email)?)
}
