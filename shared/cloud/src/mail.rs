//! Outgoing mail: Amazon SES when deployed (or against moto), an outbox folder of `.eml` files
//! on one machine.
//!
//! # Why an outbox, not a log line
//!
//! Locally nobody should need an AWS account to see what Rylie sends, and a developer testing
//! the password reset needs the link. [`Mailer::Outbox`] writes each message as a complete
//! RFC 5322 file (headers, `multipart/alternative` with the plain-text and HTML parts, both
//! quoted-printable), so it opens in any mail client and tests can read it back exactly as a
//! recipient would. The file name is the message id [`Mailer::send`] returns.
//!
//! # SES and its errors
//!
//! [`Mailer::Ses`] uses `SendEmail` with a text and an HTML body: SES builds the MIME itself,
//! and we need no header of our own. Its errors fall in two kinds, and the caller acts on the
//! difference ([`CloudError::is_transient`]):
//!
//! * **permanent** ([`CloudError::MailRejected`]): `MessageRejected` (the address or content
//!   refused, an unverified sender in the sandbox), `MailFromDomainNotVerified`, and
//!   `InvalidParameterValue` (a malformed address). Sending again changes nothing.
//! * **transient** ([`CloudError::Mail`]): throttling (`Throttling`, "Maximum sending rate
//!   exceeded"), 5xx answers, timeouts, connection errors, a paused account: worth a retry.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_ses::error::ProvideErrorMetadata;
use aws_sdk_ses::types::{Body, Content, Destination, Message};

use crate::{CloudError, describe_sdk_error};

/// One message to one recipient: the `from` and `to` mailboxes (`Name <addr>` or `addr`), a
/// subject, and the same content as plain text and as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where outgoing mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    Ses { client: aws_sdk_ses::Client },
    Outbox { dir: PathBuf },
}

/// SES error codes that sending again will not cure.
const PERMANENT_SES_CODES: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "InvalidParameterValue",
];

impl Mailer {
    pub fn ses(config: &aws_config::SdkConfig) -> Self {
        Mailer::Ses {
            client: aws_sdk_ses::Client::new(config),
        }
    }

    /// The folder `dir`, created on the first message.
    pub fn outbox(dir: impl Into<PathBuf>) -> Self {
        Mailer::Outbox { dir: dir.into() }
    }

    /// The outbox folder, when mail goes there (local running, tests).
    pub fn outbox_dir(&self) -> Option<&Path> {
        match self {
            Mailer::Outbox { dir } => Some(dir),
            Mailer::Ses { .. } => None,
        }
    }

    /// Sends `email`; returns the message id (SES's, or the outbox file's name without `.eml`).
    pub async fn send(&self, email: &OutgoingEmail) -> Result<String, CloudError> {
        match self {
            Mailer::Ses { client } => ses_send(client, email).await,
            Mailer::Outbox { dir } => outbox_write(dir, email).await,
        }
    }
}

async fn ses_send(client: &aws_sdk_ses::Client, email: &OutgoingEmail) -> Result<String, CloudError> {
    let transient = |message: String| CloudError::Mail {
        operation: "ses send",
        message,
    };
    let content = |data: &str| {
        Content::builder()
            .data(data)
            .charset("UTF-8")
            .build()
            .map_err(|e| transient(format!("building the message: {e}")))
    };
    let message = Message::builder()
        .subject(content(&header_text(&email.subject))?)
        .body(
            Body::builder()
                .text(content(&email.text)?)
                .html(content(&email.html)?)
                .build(),
        )
        .build();
    let result = client
        .send_email()
        .source(&email.from)
        .destination(Destination::builder().to_addresses(&email.to).build())
        .message(message)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.message_id),
        Err(error) => {
            let permanent = error
                .as_service_error()
                .and_then(|e| e.code())
                .is_some_and(|code| PERMANENT_SES_CODES.contains(&code));
            let described = describe_sdk_error(&error);
            if permanent {
                Err(CloudError::MailRejected {
                    operation: "ses send",
                    reason: described,
                })
            } else {
                Err(transient(described))
            }
        }
    }
}

async fn outbox_write(dir: &Path, email: &OutgoingEmail) -> Result<String, CloudError> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let fail = |message: String| CloudError::Mail {
        operation: "outbox write",
        message: format!("{}: {message}", dir.display()),
    };
    let now = chrono::Utc::now();
    let id = format!(
        "{}-{}-{}",
        now.format("%Y%m%dT%H%M%S%.6fZ"),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let document = rfc5322(email, &id, now);
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| fail(format!("creating the folder: {e}")))?;
    // Written beside its final name and renamed, so a reader never sees half a message.
    let partial = dir.join(format!(".{id}.partial"));
    let path = dir.join(format!("{id}.eml"));
    tokio::fs::write(&partial, document)
        .await
        .map_err(|e| fail(format!("writing {}: {e}", partial.display())))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| fail(format!("renaming {} to {}: {e}", partial.display(), path.display())))?;
    Ok(id)
}

/// The message as an RFC 5322 document with CRLF line ends: `multipart/alternative`, text
/// first (clients show the last part they can render, so HTML wins where it can).
pub fn rfc5322(email: &OutgoingEmail, id: &str, date: chrono::DateTime<chrono::Utc>) -> String {
    let domain = email
        .from
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim_end_matches('>').trim())
        .filter(|domain| !domain.is_empty())
        .unwrap_or("localhost");
    let boundary = format!("=_rylie_{id}");
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    header("From", &header_text(&email.from));
    header("To", &header_text(&email.to));
    header("Subject", &encode_word(&header_text(&email.subject)));
    header("Date", &date.to_rfc2822());
    header("Message-ID", &format!("<{id}@{domain}>"));
    header("MIME-Version", "1.0");
    header(
        "Content-Type",
        &format!("multipart/alternative; boundary=\"{boundary}\""),
    );
    out.push_str("\r\n");
    for (content_type, body) in [("text/plain", &email.text), ("text/html", &email.html)] {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str(&format!("Content-Type: {content_type}; charset=utf-8\r\n"));
        out.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        out.push_str(&quoted_printable(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// A header value on one line: a CR or LF would start a header of the caller's choosing.
fn header_text(value: &str) -> String {
    value
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// RFC 2047 `Q` encoding for a header with non-ASCII text; ASCII stays as it is.
fn encode_word(value: &str) -> String {
    if value.is_ascii() {
        return value.to_owned();
    }
    let mut encoded = String::from("=?UTF-8?Q?");
    for byte in value.bytes() {
        match byte {
            b' ' => encoded.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("={byte:02X}")),
        }
    }
    encoded.push_str("?=");
    encoded
}

/// RFC 2045 quoted-printable with CRLF line ends and soft breaks before 76 characters.
pub fn quoted_printable(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    let mut out = String::new();
    for (index, line) in normalized.split('\n').enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        let mut width = 0;
        let bytes = line.as_bytes();
        for (position, &byte) in bytes.iter().enumerate() {
            let last = position + 1 == bytes.len();
            let literal = matches!(byte, b'!'..=b'<' | b'>'..=b'~') || (matches!(byte, b' ' | b'\t') && !last);
            let piece = if literal {
                (byte as char).to_string()
            } else {
                format!("={byte:02X}")
            };
            if width + piece.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += piece.len();
            out.push_str(&piece);
        }
    }
    out
}

/// Decodes [`quoted_printable`] (tests and tools read the outbox with it).
pub fn decode_quoted_printable(encoded: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = encoded.replace("=\r\n", "").replace("=\n", "").into_bytes().into_iter();
    while let Some(byte) = rest.next() {
        if byte == b'=' {
            let pair: Vec<u8> = rest.by_ref().take(2).collect();
            match std::str::from_utf8(&pair)
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(decoded) => bytes.push(decoded),
                None => {
                    bytes.push(b'=');
                    bytes.extend(pair);
                }
            }
        } else {
            bytes.push(byte);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            from: "Rylie <no-reply@rylie.local>".into(),
            to: "ana@example.com".into(),
            subject: "Réinitialiser\r\nBcc: victim@example.com".into(),
            text: format!("Hello = world\nA long line: {}\n", "x".repeat(100)),
            html: "<p>Hello</p>".into(),
        }
    }

    #[test]
    fn an_outbox_message_is_multipart_alternative_with_one_line_headers() {
        let date = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .into();
        let document = rfc5322(&email(), "abc", date);
        assert!(document.starts_with("From: Rylie <no-reply@rylie.local>\r\nTo: ana@example.com\r\n"));
        assert!(document.contains("Subject: =?UTF-8?Q?R=C3=A9initialiser__Bcc=3A_victim=40example=2Ecom?=\r\n"));
        assert!(!document.contains("\r\nBcc:"), "no header injection");
        assert!(document.contains("Message-ID: <abc@rylie.local>\r\n"));
        assert!(document.contains("Content-Type: multipart/alternative; boundary=\"=_rylie_abc\"\r\n"));
        assert!(document.contains("Content-Type: text/plain; charset=utf-8\r\n"));
        assert!(document.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(document.ends_with("--=_rylie_abc--\r\n"));
        assert!(document.lines().all(|line| line.len() <= 78), "{document}");
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let text = format!("Grüße = 100%\nend with space \n{}", "y".repeat(200));
        let encoded = quoted_printable(&text);
        assert!(encoded.lines().all(|line| line.len() <= 76), "{encoded}");
        assert!(encoded.contains("Gr=C3=BC=C3=9Fe =3D 100%"));
        assert!(encoded.contains("end with space=20"));
        assert_eq!(decode_quoted_printable(&encoded).replace("\r\n", "\n"), text);
    }
}
