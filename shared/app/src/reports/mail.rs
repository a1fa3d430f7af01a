//! The `email.scheduled_report` message: a computed report on its way to its recipients
//! through job-email, and what job-email does with it (one e-mail per recipient, HTML and
//! plain text, the CSV attached, each delivery once by its key).

use rylie_cloud::{Attachment, JobMessage, OutgoingEmail};
use rylie_domain::{
    DealershipId,
    report::{PeriodKind, ReportPeriod},
};
use rylie_store::{Scope, email_deliveries::NewDelivery};
use serde::{Deserialize, Serialize};

use super::{Report, csv, label, lines, readable, section_title};
use crate::{
    State,
    email::{
        EmailError, Outcome,
        templates::{Rendered, escape_html},
    },
};

/// The `type` and payload version of a scheduled report's e-mail.
pub const JOB: &str = "email.scheduled_report";
pub const VERSION: u32 = 1;

/// The payload of `email.scheduled_report` version 1: the report as job-report computed it,
/// its period and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    pub period: ReportPeriod,
    pub recipients: Vec<String>,
    pub report: Report,
}

/// The e-mail message of `dealership`'s report for `period`; its key derives from the
/// report's key.
pub fn message(dealership: DealershipId, payload: &Payload) -> JobMessage {
    JobMessage {
        r#type: JOB.to_owned(),
        version: VERSION,
        dealership_id: Some(dealership.0),
        idempotency_key: format!("email.{}", payload.period.key(dealership)),
        payload: serde_json::to_value(payload).expect("a report serializes"),
    }
}

/// The attachment's file name: `report-{subdomain-free name}-{kind}-{first day}.csv`.
pub fn file_name(period: &ReportPeriod) -> String {
    format!("rylie-{}-report-{}.csv", period.kind, period.start)
}

/// The e-mail: subject, a plain-text and an HTML part with every figure, section by section.
pub fn render(period: &ReportPeriod, report: &Report) -> Rendered {
    let last_day = period.end.pred_opt().unwrap_or(period.end);
    let subject = match period.kind {
        PeriodKind::Daily => format!("{}: daily report for {}", report.dealership_name, period.start),
        PeriodKind::Weekly => format!(
            "{}: weekly report, {} to {}",
            report.dealership_name, period.start, last_day
        ),
    };
    let mut text = format!("{subject}\n");
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.4\">\n<h1 style=\"font-size: 1.3em\">{}</h1>\n",
        escape_html(&subject),
        escape_html(&subject)
    );
    let mut current = "";
    for line in lines(report) {
        if line.section != current {
            if !current.is_empty() {
                html.push_str("</table>\n");
            }
            current = line.section;
            let title = section_title(current);
            text.push_str(&format!("\n{title}\n"));
            html.push_str(&format!(
                "<h2 style=\"font-size: 1.1em\">{}</h2>\n<table cellpadding=\"4\" style=\"border-collapse: collapse\">\n",
                escape_html(title)
            ));
        }
        let what = if line.key.is_empty() {
            label(line.metric).to_owned()
        } else {
            format!("{}: {}", label(line.metric), line.key)
        };
        let value = readable(line.metric, &line.value);
        text.push_str(&format!("  {what}: {value}\n"));
        html.push_str(&format!(
            "<tr><td>{}</td><td style=\"text-align: right\"><b>{}</b></td></tr>\n",
            escape_html(&what),
            escape_html(&value)
        ));
    }
    if !current.is_empty() {
        html.push_str("</table>\n");
    }
    let note = "The attached CSV has every figure; the README of Rylie defines each one.";
    text.push_str(&format!("\n{note}\n\n-- \nRylie\n"));
    html.push_str(&format!("<p>{}</p>\n<p>Rylie</p>\n</body></html>\n", escape_html(note)));
    Rendered { subject, text, html }
}

/// Sends the report to each recipient once (job-email calls this). A transient failure for
/// one recipient hands the whole message back; the recipients already served are skipped
/// when it comes back.
pub async fn send(
    state: &State,
    message: &JobMessage,
    dealership: DealershipId,
    payload: &Payload,
) -> Result<Outcome, EmailError> {
    let from = crate::email::job::sender(state)?;
    if payload.recipients.is_empty() {
        return Ok(Outcome::Suppressed {
            reason: "the report has no recipients".to_owned(),
        });
    }
    let rendered = render(&payload.period, &payload.report);
    let attachment = Attachment {
        file_name: file_name(&payload.period),
        content_type: "text/csv; charset=utf-8".to_owned(),
        content: csv(&payload.report).into_bytes(),
    };
    let mut client = state.db.client().await?;
    let mut sent = Vec::new();
    let mut last = None;
    for recipient in &payload.recipients {
        let key = format!("{}:{recipient}", message.idempotency_key);
        let delivery = NewDelivery {
            dealership_id: Some(dealership.0),
            idempotency_key: &key,
            email_type: "scheduled_report",
            to_address: recipient,
            subject: &rendered.subject,
        };
        let email = OutgoingEmail {
            attachments: vec![attachment.clone()],
            ..rendered.to_email(from, recipient)
        };
        let outcome =
            crate::email::job::send_once(state, &mut client, Scope::Tenant(dealership), &delivery, email, None).await?;
        match outcome {
            Outcome::Sent { message_id } => sent.push(message_id),
            other => last = Some(other),
        }
    }
    Ok(match (sent.is_empty(), last) {
        (false, _) | (true, None) => Outcome::Sent {
            message_id: sent.join(","),
        },
        (true, Some(outcome)) => outcome,
    })
}
