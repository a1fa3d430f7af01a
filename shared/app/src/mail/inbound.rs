//! The `mail-inbound` handler and the processing of one recorded mail.
//!
//! SES invokes the function asynchronously, after its S3 action stored the raw message under
//! `<INBOUND_MAIL_PREFIX><SES message id>` in `FILES_BUCKET`. Lambda retries a failed
//! asynchronous invocation twice, then hands the event to the function's dead-letter queue;
//! the handler therefore fails only for what a retry can fix (the database or S3 unreachable),
//! and records everything else on the mail's row.

use aws_lambda_events::ses::{SimpleEmailEvent, SimpleEmailRecord};
use rylie_domain::{
    adf,
    mail::{self as mime, AttachmentKind, InboundMessage},
};
use rylie_store::{
    Scope, StoreError,
    inbound_emails::{self, InboundEmail, NewInboundEmail, Outcome, Recipient, Status},
    inventory_imports::{NewImport, Source},
    scope,
};

use super::{
    MailError,
    leads::{self, LeadOutcome, Origin},
    recipients::{self, Routing},
};
use crate::{State, inventory::job};

/// The `mail-inbound` function: records and processes each mail of the event. Any failure
/// but an event without a message id fails the invocation: Lambda retries it twice, then
/// puts the event on the function's dead-letter queue (alarmed), so a mail that could not be
/// recorded or finished is never dropped silently. What is wrong with the mail itself is not
/// a failure: it is recorded on the mail's row.
pub async fn handle(state: &State, event: SimpleEmailEvent) -> Result<(), MailError> {
    let mut failed = None;
    for record in &event.records {
        match receive(state, record).await {
            Ok(()) => {}
            Err(MailError::NoMessageId) => {
                tracing::error!(alert = true, "an SES event without a message id: nothing to read");
            }
            Err(error) => {
                tracing::error!(%error, transient = error.is_transient(), "inbound mail failed; the event will be retried");
                failed = Some(error);
            }
        }
    }
    // SES sends one mail per event; should there be more, a retry repeats the ones already
    // done harmlessly (they are recorded and final).
    failed.map_or(Ok(()), Err)
}

async fn receive(state: &State, record: &SimpleEmailRecord) -> Result<(), MailError> {
    let mail = &record.ses.mail;
    let message_id = mail.message_id.clone().ok_or(MailError::NoMessageId)?;
    let new = NewInboundEmail {
        s3_key: format!("{}{message_id}", state.config.inbound_mail_prefix),
        ses_message_id: message_id,
        mail_from: mail
            .common_headers
            .from
            .first()
            .cloned()
            .or_else(|| mail.source.clone()),
        rcpt_to: record.ses.receipt.recipients.clone(),
        subject: mail.common_headers.subject.clone(),
        s3_bucket: state.files().bucket().map(str::to_owned),
        received_at: record.ses.receipt.timestamp,
        sender_authenticated: Some(
            [&record.ses.receipt.spf_verdict, &record.ses.receipt.dkim_verdict]
                .iter()
                .any(|verdict| {
                    verdict
                        .status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("PASS"))
                }),
        ),
    };
    let infected = record
        .ses
        .receipt
        .virus_verdict
        .status
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("FAIL"));
    // One transaction records the mail and, unless it was finished before or is infected,
    // claims the first attempt and routes it: the row exists before anything is read.
    let (email, claimed) = {
        let mut client = state.db.client().await?;
        let tx = scope::begin(&mut client, Scope::Platform).await?;
        let (email, _) = inbound_emails::record(&tx, &new).await?;
        let finished = Status::parse(&email.status).is_some_and(Status::is_final);
        let claimed = if finished || infected {
            None
        } else {
            Some(claim(state, &tx, &email).await?)
        };
        tx.commit()
            .await
            .map_err(StoreError::query("recording an inbound mail"))?;
        (email, claimed)
    };
    match claimed {
        Some((routing, notes)) => run(state, &email, routing, notes).await.map(|_| ()),
        None if infected => {
            let outcome = Outcome {
                dealership: None,
                status: Status::Ignored,
                error: Some("SES found a virus in this mail; it was not opened".to_owned()),
                notes: Vec::new(),
                mail_from: None,
                subject: None,
            };
            finish(state, email.id, &outcome).await.map(|_| ())
        }
        None => {
            tracing::info!(inbound_email = email.id, status = %email.status, "inbound mail seen before; nothing to do");
            Ok(())
        }
    }
}

/// Processes the recorded mail `id` (again): routes it, reads it, records its leads and
/// imports, and writes the outcome on its row. Safe to repeat: what it creates is created once.
pub async fn process(state: &State, id: i64) -> Result<InboundEmail, MailError> {
    let (email, (routing, notes)) = {
        let mut client = state.db.client().await?;
        let tx = scope::begin(&mut client, Scope::Platform).await?;
        let email = inbound_emails::lock(&tx, id).await?.ok_or(MailError::NoSuchMail(id))?;
        let claimed = claim(state, &tx, &email).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("starting to process an inbound mail"))?;
        (email, claimed)
    };
    run(state, &email, routing, notes).await
}

/// Counts one more attempt on the mail and finds its dealership (in the caller's platform
/// transaction); returns the routing and the notes it made.
async fn claim(
    state: &State,
    tx: &rylie_store::Transaction<'_>,
    email: &InboundEmail,
) -> Result<(Routing, Vec<String>), MailError> {
    inbound_emails::start_attempt(tx, email.id).await?;
    let mut notes = Vec::new();
    let routing = recipients::route(
        tx,
        &email.rcpt_to,
        state.config.inbound_mail_domain.as_deref(),
        &mut notes,
    )
    .await?;
    Ok((routing, notes))
}

/// From a claimed, routed mail to its outcome on its row.
async fn run(
    state: &State,
    email: &InboundEmail,
    routing: Routing,
    notes: Vec<String>,
) -> Result<InboundEmail, MailError> {
    let outcome = work(state, email, routing, notes).await?;
    if outcome.status == Status::Unroutable {
        tracing::error!(
            alert = true,
            inbound_email = email.id,
            reason = outcome.error.as_deref().unwrap_or(""),
            "unroutable inbound mail kept"
        );
    }
    finish(state, email.id, &outcome).await
}

async fn finish(state: &State, id: i64, outcome: &Outcome) -> Result<InboundEmail, MailError> {
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Platform).await?;
    let email = inbound_emails::finish(&tx, id, outcome).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("recording how an inbound mail was processed"))?;
    Ok(email)
}

/// Everything between routing the mail and writing its outcome.
async fn work(
    state: &State,
    email: &InboundEmail,
    routing: Routing,
    mut notes: Vec<String>,
) -> Result<Outcome, MailError> {
    let ended = |dealership, status, error: String, notes| Outcome {
        dealership,
        status,
        error: Some(error),
        notes,
        mail_from: None,
        subject: None,
    };
    let recipient = match routing {
        Routing::Nowhere(reason) => return Ok(ended(None, Status::Unroutable, reason, notes)),
        Routing::To(recipient) if !recipient.active => {
            let reason = format!("dealership {} is inactive", recipient.dealership);
            return Ok(ended(Some(recipient.dealership), Status::Ignored, reason, notes));
        }
        Routing::To(recipient) => recipient,
    };
    let dealership = Some(recipient.dealership);
    let Some(key) = email.s3_key.as_deref() else {
        let reason = "the mail's row names no stored message".to_owned();
        return Ok(ended(dealership, Status::Failed, reason, notes));
    };
    let raw = match state.files().read(key, mime::MAX_MESSAGE_BYTES as u64).await {
        Ok(raw) => raw,
        Err(error) if !error.is_transient() => {
            return Ok(ended(dealership, Status::Failed, error.to_string(), notes));
        }
        Err(error) => return Err(error.into()),
    };
    let message = match mime::read_message(&raw) {
        Ok(message) => message,
        Err(error) => return Ok(ended(dealership, Status::Unparsable, error.to_string(), notes)),
    };
    notes.extend(message.notes.iter().cloned());
    let origin = Origin {
        inbound_email_id: email.id,
        raw_s3_key: Some(key),
    };
    let mut problems = Vec::new();
    let leads = record_leads(state, &recipient, &message, origin, &mut notes, &mut problems).await?;
    let imports = submit_feeds(state, &recipient, email, &message, &mut notes).await?;
    let (status, error) = match (leads + imports, problems.is_empty()) {
        (0, true) => (
            Status::Unparsable,
            Some("no ADF lead and no inventory file from an inventory sender in this mail".to_owned()),
        ),
        (0, false) => (Status::Unparsable, Some(problems.join("; "))),
        (_, true) => (Status::Processed, None),
        (_, false) => (Status::PartiallyProcessed, Some(problems.join("; "))),
    };
    Ok(Outcome {
        dealership,
        status,
        error,
        notes,
        mail_from: message.from.clone(),
        subject: message.subject.clone(),
    })
}

/// Records every prospect of every ADF document; returns how many leads the mail holds (new
/// or recorded before). A document that does not parse is a problem; its neighbours go on.
async fn record_leads(
    state: &State,
    recipient: &Recipient,
    message: &InboundMessage,
    origin: Origin<'_>,
    notes: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Result<usize, MailError> {
    let mut count = 0;
    for source in &message.adf_documents {
        let parsed = match adf::parse(&source.xml) {
            Ok(parsed) => parsed,
            Err(error) => {
                problems.push(format!("ADF in the {}: {error}", source.location));
                continue;
            }
        };
        for lead in &parsed {
            for warning in &lead.warnings {
                notes.push(format!("ADF in the {}: {warning}", source.location));
            }
            match leads::record(state, recipient, lead, origin).await? {
                LeadOutcome::Created(_) => {}
                LeadOutcome::AlreadyThere(id) => notes.push(format!("lead {id} was recorded before; not repeated")),
            }
            count += 1;
        }
    }
    Ok(count)
}

/// Hands each inventory file attached by one of the dealership's inventory senders to the
/// import job; returns how many. Other senders' files are noted and left alone.
async fn submit_feeds(
    state: &State,
    recipient: &Recipient,
    email: &InboundEmail,
    message: &InboundMessage,
    notes: &mut Vec<String>,
) -> Result<usize, MailError> {
    let sender = message
        .from
        .as_deref()
        .or(email.mail_from.as_deref())
        .map(str::to_lowercase);
    let allowed = sender
        .as_deref()
        .is_some_and(|sender| recipient.inventory_senders.iter().any(|s| s == sender));
    let mut count = 0;
    for (index, attachment) in message.attachments.iter().enumerate() {
        if attachment.kind != AttachmentKind::InventoryFeed {
            continue;
        }
        let name = attachment
            .file_name
            .clone()
            .unwrap_or_else(|| format!("attachment-{index}.tsv"));
        if !allowed {
            notes.push(format!(
                "inventory file {name} ignored: {} is not one of the dealership's inventory senders",
                sender.as_deref().unwrap_or("an unknown sender")
            ));
            continue;
        }
        if email.sender_authenticated == Some(false) {
            notes.push(format!(
                "inventory file {name} ignored: the sender failed both SPF and DKIM, so the From address is not proof"
            ));
            continue;
        }
        let key = format!(
            "inventory/{}/mail/{}/{index}/{}",
            recipient.dealership,
            email.ses_message_id,
            crate::inventory::drop::clean_file_name(Some(&name))
        );
        state.files().put(&key, attachment.bytes.clone(), "text/plain").await?;
        let new = NewImport {
            source: Source::Email,
            file_name: Some(name),
            s3_bucket: state.files().bucket().map(str::to_owned),
            s3_key: Some(key),
            content_hash: None,
            byte_size: Some(attachment.bytes.len() as i64),
            full_feed: true,
            requested_by: None,
            inbound_email_id: Some(email.id),
            source_ref: Some(format!("ses:{}#{index}", email.ses_message_id)),
        };
        let import = job::submit(state, recipient.dealership, &new).await?;
        notes.push(format!(
            "inventory file {} is import {} ({})",
            new.file_name.unwrap_or_default(),
            import.id,
            import.status
        ));
        count += 1;
    }
    Ok(count)
}
