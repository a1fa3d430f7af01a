//! Inbound mail: SES receives a message, stores the raw MIME in S3 and invokes `mail-inbound`
//! with a summary. Every mail becomes an `inbound_emails` row before anything is parsed, then
//! leads (one per ADF prospect, with customer, conversation and first contact) and inventory
//! imports (TSV/CSV attachments from the dealership's inventory senders).
//!
//! Nothing is lost: a mail nobody receives is `unroutable`, one with nothing usable is
//! `unparsable`, each with its reason; the raw message stays in S3, and
//! [`inbound::process`] (`rylie-ops inbound reprocess ID`) runs one again after a fix. Running a
//! mail twice creates nothing twice: leads are unique per provider id (or content hash),
//! imports per mail and attachment, and a first contact is queued once per lead.

pub mod inbound;
pub mod leads;
pub mod recipients;

pub use aws_lambda_events::ses::SimpleEmailEvent as SesEvent;

/// Why a mail could not be processed now. Everything about the mail itself (unroutable,
/// unparsable, a bad prospect) is an outcome recorded on its row, not an error; errors are the
/// platform's: the database, S3 or a queue unreachable, worth trying again.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Store(#[from] rylie_store::StoreError),
    #[error(transparent)]
    Cloud(#[from] rylie_cloud::CloudError),
    #[error(transparent)]
    Import(#[from] crate::inventory::job::JobError),
    #[error("no inbound mail {0}")]
    NoSuchMail(i64),
    #[error("the SES event has no message id")]
    NoMessageId,
}

impl MailError {
    /// True when trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Store(error) => error.is_unavailable(),
            MailError::Cloud(error) => error.is_transient(),
            MailError::Import(error) => error.is_transient(),
            MailError::NoSuchMail(_) | MailError::NoMessageId => false,
        }
    }
}
