//! `inbound_emails`: one row per mail SES received, written before anything is parsed, so no
//! mail is ever lost: whatever becomes of it (leads, an import, `unroutable`, `unparsable`)
//! is recorded on its row with the reason, and the raw message stays in S3 to be processed
//! again.
//!
//! A mail is routed to a dealership only after it is recorded, so recording, routing and the
//! mail's own bookkeeping run in platform scope; what the mail creates in a dealership (leads,
//! customers, conversations) runs in that dealership's scope.

use chrono::{DateTime, Utc};
use rylie_domain::DealershipId;
use serde::Serialize;
use tokio_postgres::{Row, Transaction, types::Type};

use crate::{StoreError, page::Page};

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct InboundEmail {
    pub id: i64,
    pub dealership_id: Option<i64>,
    pub ses_message_id: String,
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
    pub subject: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub error: Option<String>,
    /// What was skipped or went wrong, one line each (a bad prospect, an ignored attachment).
    pub notes: serde_json::Value,
    pub leads_created: i32,
    pub imports_created: i32,
    /// SES's verdict: SPF or DKIM passed (None: not known, e.g. recorded by hand).
    pub sender_authenticated: Option<bool>,
    pub attempts: i32,
    pub processed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where processing a mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    Processing,
    /// Everything in it was used.
    Processed,
    /// Some of it was used; the notes say what was not.
    PartiallyProcessed,
    /// No dealership receives mail at its recipients.
    Unroutable,
    /// Routed, but nothing usable in it (no ADF, no lead in the ADF).
    Unparsable,
    /// Deliberately not used (an inactive dealership, a virus verdict).
    Ignored,
    /// Processing failed for a reason that is not the mail's (recorded, retried).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Processing => "processing",
            Status::Processed => "processed",
            Status::PartiallyProcessed => "partially_processed",
            Status::Unroutable => "unroutable",
            Status::Unparsable => "unparsable",
            Status::Ignored => "ignored",
            Status::Failed => "failed",
        }
    }

    pub const ALL: [Status; 8] = [
        Status::Received,
        Status::Processing,
        Status::Processed,
        Status::PartiallyProcessed,
        Status::Unroutable,
        Status::Unparsable,
        Status::Ignored,
        Status::Failed,
    ];

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Processing reached a conclusion; a redelivery of the same mail changes nothing.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Received | Status::Processing | Status::Failed)
    }
}

/// What SES tells about a mail before it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInboundEmail {
    pub ses_message_id: String,
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
    pub subject: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: String,
    pub received_at: DateTime<Utc>,
    pub sender_authenticated: Option<bool>,
}

/// How processing a mail ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub dealership: Option<DealershipId>,
    pub status: Status,
    pub error: Option<String>,
    pub notes: Vec<String>,
    /// From the parsed headers, when SES's summary lacked them.
    pub mail_from: Option<String>,
    pub subject: Option<String>,
}

const COLUMNS: &str = "id, dealership_id, ses_message_id, mail_from, rcpt_to, subject, s3_bucket, s3_key, received_at, \
                       status, error, notes, leads_created, imports_created, sender_authenticated, attempts, processed_at, \
                       created_at, updated_at";

fn from_row(row: &Row) -> InboundEmail {
    InboundEmail {
        id: row.get(0),
        dealership_id: row.get(1),
        ses_message_id: row.get(2),
        mail_from: row.get(3),
        rcpt_to: row.get(4),
        subject: row.get(5),
        s3_bucket: row.get(6),
        s3_key: row.get(7),
        received_at: row.get(8),
        status: row.get(9),
        error: row.get(10),
        notes: row.get(11),
        leads_created: row.get(12),
        imports_created: row.get(13),
        sender_authenticated: row.get(14),
        attempts: row.get(15),
        processed_at: row.get(16),
        created_at: row.get(17),
        updated_at: row.get(18),
    }
}

pub const SORTABLE: &[(&str, &str)] = &[("received_at", "received_at"), ("status", "status")];

/// Records a mail (platform scope). Returns its row and whether it is new: the same SES
/// message recorded again returns the first row, untouched.
pub async fn record(tx: &Transaction<'_>, new: &NewInboundEmail) -> Result<(InboundEmail, bool), StoreError> {
    let sql = format!(
        "INSERT INTO inbound_emails (ses_message_id, mail_from, rcpt_to, subject, s3_bucket, s3_key, received_at,
                                     sender_authenticated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (ses_message_id) DO UPDATE SET ses_message_id = EXCLUDED.ses_message_id
         RETURNING {COLUMNS}, (xmax = 0)"
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&new.ses_message_id, Type::TEXT),
                (&new.mail_from, Type::TEXT),
                (&new.rcpt_to, Type::TEXT_ARRAY),
                (&new.subject, Type::TEXT),
                (&new.s3_bucket, Type::TEXT),
                (&new.s3_key, Type::TEXT),
                (&new.received_at, Type::TIMESTAMPTZ),
                (&new.sender_authenticated, Type::BOOL),
            ],
        )
        .await
        .map_err(StoreError::query("recording an inbound mail"))?;
    let row = rows.first().expect("INSERT RETURNING returns the row");
    Ok((from_row(row), row.get(19)))
}

/// The mail `id` (platform scope), locked until the transaction ends so two deliveries of one
/// mail never process it at the same time.
pub async fn lock(tx: &Transaction<'_>, id: i64) -> Result<Option<InboundEmail>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("SELECT {COLUMNS} FROM inbound_emails WHERE id = $1 FOR UPDATE"),
            &[(&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("locking an inbound mail"))?;
    Ok(rows.first().map(from_row))
}

/// Marks the start of one more attempt (platform scope).
pub async fn start_attempt(tx: &Transaction<'_>, id: i64) -> Result<(), StoreError> {
    tx.execute_typed(
        "UPDATE inbound_emails SET status = 'processing', attempts = attempts + 1 WHERE id = $1",
        &[(&id, Type::INT8)],
    )
    .await
    .map_err(StoreError::query("starting to process an inbound mail"))?;
    Ok(())
}

/// Records how processing ended (platform scope) and returns the row. The lead and import
/// counts are of the rows that name this mail, so a second delivery processed alongside the
/// first, which finds every lead already there, still reports them.
pub async fn finish(tx: &Transaction<'_>, id: i64, outcome: &Outcome) -> Result<InboundEmail, StoreError> {
    let notes = serde_json::to_value(&outcome.notes).expect("strings serialize");
    let dealership = outcome.dealership.map(|d| d.0);
    let sql = format!(
        "UPDATE inbound_emails
            SET dealership_id = coalesce($2, dealership_id), status = $3, error = $4, notes = $5,
                leads_created = (SELECT count(*) FROM leads WHERE inbound_email_id = $1),
                imports_created = (SELECT count(*) FROM inventory_imports WHERE inbound_email_id = $1),
                processed_at = now(), mail_from = coalesce(mail_from, $6), subject = coalesce(subject, $7)
          WHERE id = $1
         RETURNING {COLUMNS}"
    );
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&id, Type::INT8),
                (&dealership, Type::INT8),
                (&outcome.status.as_str(), Type::TEXT),
                (&outcome.error, Type::TEXT),
                (&notes, Type::JSONB),
                (&outcome.mail_from, Type::TEXT),
                (&outcome.subject, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("recording how an inbound mail was processed"))?;
    rows.first()
        .map(from_row)
        .ok_or_else(|| StoreError::Conflict(format!("inbound mail {id} disappeared")))
}

/// One mail of a dealership.
pub async fn get(tx: &Transaction<'_>, dealership: DealershipId, id: i64) -> Result<Option<InboundEmail>, StoreError> {
    let rows = tx
        .query_typed(
            &format!("SELECT {COLUMNS} FROM inbound_emails WHERE dealership_id = $1 AND id = $2"),
            &[(&dealership.0, Type::INT8), (&id, Type::INT8)],
        )
        .await
        .map_err(StoreError::query("reading an inbound mail"))?;
    Ok(rows.first().map(from_row))
}

/// A dealership's mail, newest first by default; with `with_unroutable` (platform scope, for
/// super_admin) also the mail no dealership received. `status` filters.
pub async fn list(
    tx: &Transaction<'_>,
    dealership: DealershipId,
    with_unroutable: bool,
    status: Option<Status>,
    page: &Page,
) -> Result<(Vec<InboundEmail>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () FROM inbound_emails
          WHERE (dealership_id = $1 OR ($2 AND dealership_id IS NULL))
            AND ($3::text IS NULL OR status = $3)
          ORDER BY {} {}, id DESC LIMIT $4 OFFSET $5",
        page.sort_column, page.direction
    );
    let status = status.map(Status::as_str);
    let rows = tx
        .query_typed(
            &sql,
            &[
                (&dealership.0, Type::INT8),
                (&with_unroutable, Type::BOOL),
                (&status, Type::TEXT),
                (&page.limit, Type::INT8),
                (&page.offset(), Type::INT8),
            ],
        )
        .await
        .map_err(StoreError::query("listing inbound mail"))?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(19));
    Ok((rows.iter().map(from_row).collect(), total))
}

/// A dealership that receives mail at an address, with what processing needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub dealership: DealershipId,
    pub active: bool,
    /// Senders whose TSV/CSV attachments are inventory feeds (lower-case).
    pub inventory_senders: Vec<String>,
    /// `assistant`, `template` or `none`.
    pub first_contact: String,
}

/// The dealerships that receive mail sent to `address` (lower-case), or, when `alias` is
/// given (the `<alias>` of `leads+<alias>@`), to that alias: the dealership's inbound alias,
/// or its subdomain when it has no alias. Platform scope. More than one answer means two
/// dealerships claim the address; the caller refuses to guess.
pub async fn recipients(
    tx: &Transaction<'_>,
    alias: Option<&str>,
    address: &str,
) -> Result<Vec<Recipient>, StoreError> {
    let rows = tx
        .query_typed(
            "SELECT id, active, inventory_sender_emails, first_contact FROM dealerships
              WHERE inbound_email_alias = $1
                 OR (inbound_email_alias IS NULL AND subdomain = $1)
                 OR inbound_email_addresses @> ARRAY[$2]
              ORDER BY id LIMIT 2",
            &[(&alias, Type::TEXT), (&address, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("finding the dealership of an inbound address"))?;
    Ok(rows
        .iter()
        .map(|row| Recipient {
            dealership: DealershipId(row.get(0)),
            active: row.get(1),
            inventory_senders: row.get(2),
            first_contact: row.get(3),
        })
        .collect())
}
