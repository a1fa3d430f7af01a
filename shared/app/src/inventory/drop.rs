//! Files that arrive in the bucket under `inventory/incoming/`: a pre-signed upload from the
//! API, or a dealer's system dropping its daily export. The bucket notifies the import queue
//! (S3 → SQS); the worker records each object as an import and runs it.
//!
//! The key says whose file it is and how to apply it:
//! `inventory/incoming/<dealership id>/<full|partial>/<anything>/<file name>`. A redelivered
//! notification (same key and sequencer or ETag) finds its import already recorded.

use rylie_domain::DealershipId;
use rylie_store::{
    Scope, StoreError,
    dealerships::{self, Gate},
    inventory_imports::{Import, NewImport, Source},
    scope,
};

use super::job::{self, JobError};
use crate::State;

const INCOMING: &str = "inventory/incoming/";

/// A fresh key for a file the dealership will upload.
pub fn incoming_key(dealership: DealershipId, full_feed: bool, file_name: &str) -> String {
    let kind = if full_feed { "full" } else { "partial" };
    let random = hex::encode(crate::auth::random_bytes::<8>());
    format!("{INCOMING}{}/{kind}/{random}/{file_name}", dealership.0)
}

/// A file name safe to use in a storage key: its last path segment, letters, digits, `.-_`.
pub fn clean_file_name(raw: Option<&str>) -> String {
    let name = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        "feed.tsv".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// The dealership, full-feed flag and file name a key under `inventory/incoming/` encodes.
pub fn parse_incoming_key(key: &str) -> Result<(DealershipId, bool, String), String> {
    let rest = key
        .strip_prefix(INCOMING)
        .ok_or_else(|| format!("{key} is not under {INCOMING}"))?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [dealership, kind, .., file_name] = parts.as_slice() else {
        return Err(format!(
            "{key} is not {INCOMING}<dealership id>/<full|partial>/.../<file name>"
        ));
    };
    let dealership = dealership
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("{key}: {dealership:?} is not a dealership id"))?;
    let full_feed = match *kind {
        "full" => true,
        "partial" => false,
        other => return Err(format!("{key}: {other:?} is neither full nor partial")),
    };
    if file_name.is_empty() {
        return Err(format!("{key} names no file"));
    }
    Ok((DealershipId(dealership), full_feed, (*file_name).to_owned()))
}

/// S3 event keys are URL-encoded the way HTML forms are (`+` for a space, `%XX`).
pub fn decode_event_key(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match raw
                .get(i + 1..i + 3)
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why an arrived object was not imported.
#[derive(Debug, thiserror::Error)]
pub enum DropError {
    /// The key or the dealership is wrong: the file stays where it is, the alert is logged.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Job(#[from] JobError),
}

/// Records the object `key` (of `size` bytes; `version`: the event's sequencer or ETag) as an
/// import and runs it.
pub async fn record_and_run(
    state: &State,
    bucket: &str,
    key: &str,
    size: Option<i64>,
    version: Option<&str>,
) -> Result<Import, DropError> {
    let (dealership, full_feed, file_name) = parse_incoming_key(key).map_err(DropError::Refused)?;
    {
        let mut client = state.db.client().await.map_err(JobError::from)?;
        let tx = scope::begin(&mut client, Scope::Tenant(dealership))
            .await
            .map_err(JobError::from)?;
        match dealerships::gate(&tx, dealership).await.map_err(JobError::from)? {
            Gate::Open { .. } => {}
            Gate::Inactive => {
                return Err(DropError::Refused(format!(
                    "{key}: dealership {dealership} is inactive"
                )));
            }
            Gate::Missing => {
                return Err(DropError::Refused(format!(
                    "{key}: there is no dealership {dealership}"
                )));
            }
        }
        tx.commit()
            .await
            .map_err(|e| JobError::from(StoreError::query("checking the dealership")(e)))?;
    }
    let new = NewImport {
        source: Source::S3,
        file_name: Some(file_name),
        s3_bucket: Some(bucket.to_owned()),
        s3_key: Some(key.to_owned()),
        content_hash: None,
        byte_size: size,
        full_feed,
        requested_by: None,
        inbound_email_id: None,
        source_ref: Some(format!("s3://{bucket}/{key}#{}", version.unwrap_or(""))),
    };
    let import = job::record(state, dealership, &new).await?;
    Ok(job::run(state, dealership, import.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incoming_key_round_trips_and_a_foreign_key_is_refused() {
        let key = incoming_key(DealershipId(42), false, "feed.tsv");
        assert_eq!(
            parse_incoming_key(&key),
            Ok((DealershipId(42), false, "feed.tsv".to_owned()))
        );
        assert!(parse_incoming_key("inventory/incoming/x/full/a/f.tsv").is_err());
        assert!(parse_incoming_key("inventory/incoming/7/weekly/a/f.tsv").is_err());
        assert!(parse_incoming_key("elsewhere/7/full/a/f.tsv").is_err());
    }

    #[test]
    fn event_keys_are_form_decoded() {
        assert_eq!(decode_event_key("a+b%2Fc%zz.tsv"), "a b/c%zz.tsv");
        assert_eq!(decode_event_key("%+5%2"), "% 5%2", "a sign is not a hex digit");
    }
}
