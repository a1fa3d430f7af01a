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
//! # Attachments
//!
//! A message with [`Attachment`]s (a scheduled report's CSV) is `multipart/mixed`: the same
//! `multipart/alternative` part first, then each attachment, base64. [`rfc5322`] is the one
//! MIME builder: the outbox writes its output, and SES gets the same bytes through
//! `SendRawEmail`, so what a test reads in the outbox is what SES sends.
//!
//! # SES and its errors
//!
//! [`Mailer::Ses`] uses `SendEmail` with a text and an HTML body when there is no attachment
//! (SES builds the MIME itself), and `SendRawEmail` with [`rfc5322`]'s document when there
//! is. Its errors fall in two kinds, and the caller acts on the difference
//! ([`CloudError::is_transient`]):
//!
//! * **permanent** ([`CloudError::MailRejected`]): `MessageRejected` (the address or content
//!   refused, an unverified sender in the sandbox), `MailFromDomainNotVerified`, and
//!   `InvalidParameterValue` (a malformed address). Sending again changes nothing.
//! * **transient** ([`CloudError::Mail`]): throttling (`Throttling`, "Maximum sending rate
//!   exceeded"), 5xx answers, timeouts, connection errors, a paused account: worth a retry.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::{Body, Content, Destination, Message, RawMessage};

use crate::{CloudError, describe_sdk_error};

/// One message to one recipient: the `from` and `to` mailboxes (`Name <addr>` or `addr`), a
/// subject, the same content as plain text and as HTML, and any attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// Extra header fields (`List-Unsubscribe`, …), written as given after the standard ones;
    /// line breaks in them are removed. With any, SES gets the raw message.
    pub headers: Vec<(String, String)>,
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name the recipient sees (`report.csv`); quotes and line breaks are replaced.
    pub file_name: String,
    /// `text/csv; charset=utf-8`, `application/pdf`, ...
    pub content_type: String,
    pub content: Vec<u8>,
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
            Mailer::Ses { client } if email.attachments.is_empty() && email.headers.is_empty() => {
                ses_send(client, email).await
            }
            Mailer::Ses { client } => ses_send_raw(client, email).await,
            Mailer::Outbox { dir } => outbox_write(dir, email).await,
        }
    }
}

/// SES's refusal as a [`CloudError`]: permanent for the codes in [`PERMANENT_SES_CODES`],
/// transient otherwise.
fn ses_error<E, R>(operation: &'static str, error: &SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let permanent = error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| PERMANENT_SES_CODES.contains(&code));
    let described = describe_sdk_error(error);
    if permanent {
        CloudError::MailRejected {
            operation,
            reason: described,
        }
    } else {
        CloudError::Mail {
            operation,
            message: described,
        }
    }
}

/// `SendRawEmail` with the document [`rfc5322`] builds (the outbox's, byte for byte).
async fn ses_send_raw(client: &aws_sdk_ses::Client, email: &OutgoingEmail) -> Result<String, CloudError> {
    let now = chrono::Utc::now();
    let document = rfc5322(email, &message_id(now), now);
    let raw = RawMessage::builder()
        .data(Blob::new(document.into_bytes()))
        .build()
        .map_err(|e| CloudError::Mail {
            operation: "ses send raw",
            message: format!("building the message: {e}"),
        })?;
    let result = client
        .send_raw_email()
        .source(&email.from)
        .destinations(header_text(&email.to))
        .raw_message(raw)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.message_id),
        Err(error) => Err(ses_error("ses send raw", &error)),
    }
}

/// A unique message id: time, process and a sequence number.
fn message_id(now: chrono::DateTime<chrono::Utc>) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        now.format("%Y%m%dT%H%M%S%.6fZ"),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
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
        Err(error) => Err(ses_error("ses send", &error)),
    }
}

async fn outbox_write(dir: &Path, email: &OutgoingEmail) -> Result<String, CloudError> {
    let fail = |message: String| CloudError::Mail {
        operation: "outbox write",
        message: format!("{}: {message}", dir.display()),
    };
    let now = chrono::Utc::now();
    let id = message_id(now);
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
/// first (clients show the last part they can render, so HTML wins where it can); with
/// attachments, that part inside a `multipart/mixed` followed by each attachment in base64.
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
    for (name, value) in &email.headers {
        let name: String = name.chars().filter(|c| c.is_ascii_graphic() && *c != ':').collect();
        header(&name, &header_text(value));
    }
    header("MIME-Version", "1.0");
    let alternative_type = format!("multipart/alternative; boundary=\"{boundary}\"");
    if email.attachments.is_empty() {
        header("Content-Type", &alternative_type);
        out.push_str("\r\n");
        push_alternative(&mut out, email, &boundary);
        return out;
    }
    let mixed = format!("=_rylie_mixed_{id}");
    header("Content-Type", &format!("multipart/mixed; boundary=\"{mixed}\""));
    out.push_str("\r\n");
    out.push_str(&format!("--{mixed}\r\nContent-Type: {alternative_type}\r\n\r\n"));
    push_alternative(&mut out, email, &boundary);
    for attachment in &email.attachments {
        let name = file_name_text(&attachment.file_name);
        let content_type = header_text(&attachment.content_type).replace('"', "");
        out.push_str(&format!("--{mixed}\r\n"));
        out.push_str(&format!("Content-Type: {content_type}; name=\"{name}\"\r\n"));
        out.push_str(&format!("Content-Disposition: attachment; filename=\"{name}\"\r\n"));
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&base64_lines(&attachment.content));
    }
    out.push_str(&format!("--{mixed}--\r\n"));
    out
}

/// The text and HTML parts between `boundary` lines, closed.
fn push_alternative(out: &mut String, email: &OutgoingEmail, boundary: &str) {
    for (content_type, body) in [("text/plain", &email.text), ("text/html", &email.html)] {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str(&format!("Content-Type: {content_type}; charset=utf-8\r\n"));
        out.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        out.push_str(&quoted_printable(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
}

/// A file name fit for a quoted MIME parameter: printable ASCII without quotes or backslashes.
fn file_name_text(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.trim().is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

const BASE64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 2045 base64 in lines of 76 characters, each ended by CRLF.
fn base64_lines(content: &[u8]) -> String {
    let mut encoded = String::with_capacity(content.len().div_ceil(3) * 4);
    for chunk in content.chunks(3) {
        let bytes = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let group = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for position in 0..4 {
            if position <= chunk.len() {
                encoded.push(BASE64_ALPHABET[((group >> (18 - 6 * position)) & 63) as usize] as char);
            } else {
                encoded.push('=');
            }
        }
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// Decodes base64, ignoring line breaks (tests and tools read attachments with it); None for
/// anything else than the alphabet, `=` padding and whitespace.
pub fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(encoded.len() / 4 * 3);
    let mut group = 0u32;
    let mut filled = 0;
    for c in encoded.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let value = BASE64_ALPHABET.iter().position(|&a| a == c)? as u32;
        group = (group << 6) | value;
        filled += 1;
        if filled == 4 {
            bytes.extend_from_slice(&[(group >> 16) as u8, (group >> 8) as u8, group as u8]);
            group = 0;
            filled = 0;
        }
    }
    match filled {
        0 => {}
        2 => bytes.push((group >> 4) as u8),
        3 => bytes.extend_from_slice(&[(group >> 10) as u8, (group >> 2) as u8]),
        _ => return None,
    }
    Some(bytes)
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
            attachments: Vec::new(),
            headers: Vec::new(),
        }
    }

    #[test]
    fn a_message_with_an_attachment_is_multipart_mixed_with_the_file_in_base64() {
        let date = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .into();
        let csv = format!("section,value\r\n{}\r\n", "conversations,12,".repeat(20));
        let mut message = email();
        message.attachments.push(Attachment {
            file_name: "report \"2026\"\r\n.csv".into(),
            content_type: "text/csv; charset=utf-8".into(),
            content: csv.clone().into_bytes(),
        });
        let document = rfc5322(&message, "abc", date);
        assert!(document.contains("Content-Type: multipart/mixed; boundary=\"=_rylie_mixed_abc\"\r\n"));
        assert!(
            document.contains(
                "\r\n--=_rylie_mixed_abc\r\nContent-Type: multipart/alternative; boundary=\"=_rylie_abc\"\r\n"
            )
        );
        assert!(document.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(document.contains("--=_rylie_abc--\r\n--=_rylie_mixed_abc\r\n"));
        assert!(document.contains("Content-Disposition: attachment; filename=\"report _2026___.csv\"\r\n"));
        assert!(document.ends_with("--=_rylie_mixed_abc--\r\n"));
        assert!(document.lines().all(|line| line.len() <= 78), "{document}");
        let encoded = document
            .split("Content-Transfer-Encoding: base64\r\n\r\n")
            .nth(1)
            .unwrap()
            .split("--=_rylie_mixed_abc--")
            .next()
            .unwrap();
        assert_eq!(decode_base64(encoded).unwrap(), csv.into_bytes());
    }

    #[test]
    fn base64_round_trips_every_padding() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let encoded = base64_lines(text.as_bytes());
            assert_eq!(decode_base64(&encoded).unwrap(), text.as_bytes(), "{encoded}");
        }
        assert_eq!(base64_lines(b"foobar"), "Zm9vYmFy\r\n");
        assert_eq!(base64_lines(b"fo"), "Zm8=\r\n");
        assert_eq!(decode_base64("Zm9v!"), None);
    }

    #[test]
    fn extra_headers_are_written_on_one_line_each() {
        let mut email = email();
        email.headers = vec![(
            "List-Unsubscribe".to_owned(),
            "<mailto:sales@alpha.test?subject=unsubscribe>\r\nBcc: victim@example.com".to_owned(),
        )];
        let document = rfc5322(&email, "abc", chrono::Utc::now());
        assert!(
            document.contains(
                "\r\nList-Unsubscribe: <mailto:sales@alpha.test?subject=unsubscribe>  Bcc: victim@example.com\r\n"
            ),
            "{document}"
        );
        assert!(!document.contains("\r\nBcc:"), "no header injection");
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
