//! The words of Rylie's own mail, each message as plain text and HTML with the same content.
//!
//! Plain functions over plain values, so a change of wording is tested without sending
//! anything. Everything that comes from outside (addresses, URLs) is escaped in the HTML.

use chrono::{DateTime, Utc};

/// A rendered message, ready for [`rylie_cloud::OutgoingEmail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Rendered {
    /// The message from `from` to `to`, without attachments or extra headers.
    pub fn to_email(&self, from: impl Into<String>, to: impl Into<String>) -> rylie_cloud::OutgoingEmail {
        rylie_cloud::OutgoingEmail {
            from: from.into(),
            to: to.into(),
            subject: self.subject.clone(),
            text: self.text.clone(),
            html: self.html.clone(),
            attachments: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// The link a password-reset mail carries: `{app_base_url}/reset-password?token=…`. The token
/// is hex, so it needs no percent-encoding.
pub fn password_reset_link(app_base_url: &str, token: &str) -> String {
    format!("{}/reset-password?token={token}", app_base_url.trim_end_matches('/'))
}

/// The password-reset mail: the link, when it stops working, and what to do if the reader
/// did not ask for it.
pub fn password_reset(link: &str, valid_minutes: i64, expires_at: DateTime<Utc>) -> Rendered {
    let until = expires_at.format("%H:%M UTC on %-d %B %Y");
    let subject = "Reset your Rylie password".to_owned();
    let text = format!(
        "Hello,\n\
         \n\
         Someone asked to reset the password of your Rylie account. To choose a new password, open this link:\n\
         \n\
         {link}\n\
         \n\
         The link works once and expires in {valid_minutes} minutes (at {until}).\n\
         \n\
         If you did not ask for this, ignore this e-mail: your password stays as it is.\n\
         \n\
         -- \n\
         Rylie\n"
    );
    let link_html = escape_html(link);
    let html = format!(
        "<!DOCTYPE html>\n\
         <html><head><meta charset=\"utf-8\"><title>{subject}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n\
         <p>Hello,</p>\n\
         <p>Someone asked to reset the password of your Rylie account. To choose a new password, \
         open this link:</p>\n\
         <p><a href=\"{link_html}\">Reset my password</a></p>\n\
         <p style=\"font-size: small\">Or copy this address into your browser:<br>{link_html}</p>\n\
         <p>The link works once and expires in {valid_minutes} minutes (at {until}).</p>\n\
         <p>If you did not ask for this, ignore this e-mail: your password stays as it is.</p>\n\
         <p>Rylie</p>\n\
         </body></html>\n"
    );
    Rendered { subject, text, html }
}

/// The handover mail: the dossier of an escalated conversation, for the person taking over.
pub fn handover_dossier(
    dealership: &str,
    conversation_id: i64,
    dossier: &serde_json::Value,
    link: Option<&str>,
) -> Rendered {
    let field = |key: &str| {
        dossier
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let customer = &dossier["customer"];
    let customer_field = |key: &str| {
        customer
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("—")
            .to_owned()
    };
    let list = |key: &str| -> Vec<String> {
        dossier
            .get(key)
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned).unwrap_or_else(|| item.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let vehicles: Vec<String> = dossier
        .get("vehicles")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|vehicle| {
                    let stock = vehicle["stock_number"]
                        .as_str()
                        .map(|s| format!(" (stock {s})"))
                        .unwrap_or_default();
                    let link = vehicle["link"].as_str().map(|l| format!(" {l}")).unwrap_or_default();
                    format!("{}{stock}{link}", vehicle["description"].as_str().unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    let subject = format!(
        "Handover: {} needs a person ({})",
        customer
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("a customer"),
        list("reasons").join(", ")
    );
    let mut lines = vec![
        format!("{dealership}: conversation {conversation_id} was handed over to your team."),
        String::new(),
        format!("Summary: {}", field("summary")),
        format!("Waiting for: {}", field("waiting_for")),
        format!("Suggested next step: {}", field("suggested_next_step")),
        String::new(),
        format!(
            "Customer: {} — e-mail {}, phone {}, channel {}",
            customer_field("name"),
            customer_field("email"),
            customer_field("phone"),
            customer_field("channel")
        ),
        format!("Intents: {}", list("intents").join(", ")),
    ];
    if !vehicles.is_empty() {
        lines.push(format!("Vehicles discussed:\n  {}", vehicles.join("\n  ")));
    }
    let recent = list("recent_messages");
    if !recent.is_empty() {
        lines.push(format!("Recent messages from the customer:\n  {}", recent.join("\n  ")));
    }
    if let Some(link) = link {
        lines.push(format!("\nOpen the conversation: {link}"));
    }
    let text = format!("{}\n\n-- \nRylie\n", lines.join("\n"));
    let body: String = text
        .lines()
        .map(|line| format!("{}<br>\n", escape_html(line)))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}</body></html>\n",
        escape_html(&subject)
    );
    Rendered { subject, text, html }
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_mail_has_the_link_the_expiry_and_the_advice_in_both_parts() {
        let expires = DateTime::parse_from_rfc3339("2026-03-04T05:06:00Z").unwrap().to_utc();
        let link = password_reset_link("https://app.example/", "abc123");
        assert_eq!(link, "https://app.example/reset-password?token=abc123");
        let mail = password_reset(&link, 30, expires);
        for part in [&mail.text, &mail.html] {
            assert!(
                part.contains("https://app.example/reset-password?token=abc123"),
                "{part}"
            );
            assert!(
                part.contains("expires in 30 minutes (at 05:06 UTC on 4 March 2026)"),
                "{part}"
            );
            assert!(
                part.contains("If you did not ask for this, ignore this e-mail"),
                "{part}"
            );
        }
        assert!(
            mail.html
                .contains("<a href=\"https://app.example/reset-password?token=abc123\">")
        );
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
