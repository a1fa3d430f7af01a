//! Mail to a dealership's staff that is not a dossier or a report: the **conversation
//! summary** (a closed conversation, analysed: what the customer wanted, the lead score and why)
//! and **system alerts** (something that needs a person: an inventory feed held because it
//! would empty the lot, a webhook endpoint disabled after a day of failures).
//!
//! The producer writes the notice (subject, lines, a link) into the job message, as the report
//! job does with its report: job-email only picks the address and sends, once per idempotency
//! key, so a redelivered or re-queued notice is one mail. A summary goes to the handover address
//! (the people who follow up), an alert to the contact address (the people who run the
//! account); each falls back to the other.

use rylie_cloud::JobMessage;
use rylie_domain::DealershipId;
use rylie_store::{
    email_deliveries::NewDelivery,
    scope::{self, Scope},
};
use serde::{Deserialize, Serialize};

use super::{
    EmailError, Outcome,
    job::send_once,
    templates::{Rendered, escape_html},
};
use crate::State;

/// The two kinds, as job types.
pub const SUMMARY_JOB: &str = "email.conversation_summary";
pub const ALERT_JOB: &str = "email.system_alert";
pub const VERSION: u32 = 1;

/// What the mail says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub subject: String,
    /// Paragraphs, plain text.
    pub lines: Vec<String>,
    /// Where to act (the conversation, the import), when the web app's address is known.
    #[serde(default)]
    pub link: Option<String>,
}

/// A conversation summary for `dealership`, keyed by `key` (the conversation's state).
pub fn summary_message(dealership: DealershipId, key: &str, notice: &Notice) -> JobMessage {
    message(SUMMARY_JOB, dealership, key, notice)
}

/// A system alert for `dealership`, keyed by `key` (what it is about: one alert per event).
pub fn alert_message(dealership: DealershipId, key: &str, notice: &Notice) -> JobMessage {
    message(ALERT_JOB, dealership, key, notice)
}

fn message(job: &str, dealership: DealershipId, key: &str, notice: &Notice) -> JobMessage {
    JobMessage {
        r#type: job.to_owned(),
        version: VERSION,
        dealership_id: Some(dealership.0),
        idempotency_key: format!("{job}:{}:{key}", dealership.0),
        payload: serde_json::to_value(notice).unwrap_or_default(),
    }
}

/// Queues a notice; a failure to queue is logged (the thing it tells of is recorded where it
/// happened: the import's status, the endpoint's `disabled_reason`).
pub async fn queue(state: &State, message: &JobMessage) {
    if let Err(error) = super::submit(state, message).await {
        tracing::error!(%error, job = %message.r#type, key = %message.idempotency_key, alert = true,
                        "a staff notice was not queued");
    }
}

/// Sends a notice (job-email calls this for both job types).
pub async fn send(
    state: &State,
    message: &JobMessage,
    dealership: DealershipId,
    notice: &Notice,
) -> Result<Outcome, EmailError> {
    let from = super::job::sender(state)?;
    let summary = message.r#type == SUMMARY_JOB;
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let found = rylie_store::dealerships::get(&tx, dealership).await?;
    tx.commit()
        .await
        .map_err(rylie_store::StoreError::query("reading a notice's recipient"))?;
    let Some(found) = found else {
        return Ok(Outcome::Suppressed {
            reason: format!("dealership {} no longer exists", dealership.0),
        });
    };
    let (first, second) = if summary {
        (&found.fields.handover_email, &found.fields.contact_email)
    } else {
        (&found.fields.contact_email, &found.fields.handover_email)
    };
    let Some(to) = first.clone().or_else(|| second.clone()) else {
        return Ok(Outcome::Suppressed {
            reason: "the dealership has neither a handover nor a contact address".to_owned(),
        });
    };
    let rendered = render(&found.fields.name, notice);
    let delivery = NewDelivery {
        dealership_id: Some(dealership.0),
        idempotency_key: &message.idempotency_key,
        email_type: if summary {
            "conversation_summary"
        } else {
            "system_alert"
        },
        to_address: &to,
        subject: &rendered.subject,
    };
    let email = rendered.to_email(from, &to);
    send_once(state, &mut client, Scope::Tenant(dealership), &delivery, email, None).await
}

/// The notice as plain text and HTML.
pub fn render(dealership: &str, notice: &Notice) -> Rendered {
    let subject = format!("{dealership}: {}", notice.subject);
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n",
        escape_html(&subject)
    );
    for line in &notice.lines {
        text.push_str(line);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>\n", escape_html(line)));
    }
    if let Some(link) = &notice.link {
        text.push_str(&format!("Open it: {link}\n\n"));
        html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape_html(link)));
    }
    text.push_str("-- \nRylie\n");
    html.push_str("<p>Rylie</p>\n</body></html>\n");
    Rendered { subject, text, html }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_the_same_in_text_and_html_and_escaped() {
        let notice = Notice {
            subject: "Inventory feed held: it would deactivate 80% of the lot".into(),
            lines: vec!["Import 7 <feed.tsv> would deactivate 800 of 1,000 vehicles.".into()],
            link: Some("https://app.rylie.test/inventory/imports/7".into()),
        };
        let rendered = render("Alpha Motors", &notice);
        assert_eq!(
            rendered.subject,
            "Alpha Motors: Inventory feed held: it would deactivate 80% of the lot"
        );
        assert!(rendered.text.contains("Import 7 <feed.tsv> would"));
        assert!(rendered.html.contains("Import 7 &lt;feed.tsv&gt; would"));
        assert!(
            rendered
                .text
                .contains("Open it: https://app.rylie.test/inventory/imports/7")
        );
        let message = alert_message(DealershipId(3), "import:7", &notice);
        assert_eq!(message.idempotency_key, "email.system_alert:3:import:7");
        assert_eq!(serde_json::from_value::<Notice>(message.payload).unwrap(), notice);
    }
}
