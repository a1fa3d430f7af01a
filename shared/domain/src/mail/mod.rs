//! Inbound mail: the MIME front end that finds ADF documents and inventory files.
//!
//! Dealers receive sales leads by email, as ADF XML, from dozens of lead providers, and each
//! provider wraps the XML its own way: as the plain-text body, pasted raw into an HTML body or
//! HTML-escaped inside `<p>`, `<pre>` and `<br>`, as a `lead.xml` attachment, or deep inside a
//! message a salesperson forwarded or replied to. Inventory files arrive as TSV/CSV
//! attachments. SES stores each raw message in S3, and [`read_message`] turns those bytes into
//! an [`InboundMessage`]: the header fields that route it, the text of every ADF document in
//! it ([`AdfSource`]), its attachments classified ([`AttachmentKind`]), and notes on what was
//! skipped and why. Parsing the ADF itself is the `adf` module's job; this one stops at the
//! text.
//!
//! How documents are found:
//! - MIME decoding (transfer encodings, charsets, nesting) is mail-parser's. Plain-text parts
//!   are searched as they are; HTML parts first lose their HTML tags (tags that are not HTML,
//!   such as ADF's own, stay), then their entities are decoded (outside ADF pasted raw into
//!   the HTML, whose XML entities must survive), so an escaped `&lt;adf&gt;` becomes `<adf>`.
//!   Lines quoted with `>` by a reply are un-quoted first.
//! - A document is the text from `<adf` (with the `<?xml ...?>` / `<?adf ...?>` declarations
//!   just before it) to the next `</adf>`, kept exactly as found so the XML parser sees CDATA
//!   and entities intact. One that never ends is kept too, with a note: the XML parser reports
//!   the truncation better than a guess here would.
//! - Forwarded messages are searched: attached ones (`message/rfc822`) recursively, and inline
//!   forwards (Gmail's "Forwarded message", Outlook's "Original Message" or From:/Sent: block)
//!   only change the location a document is reported at, since their text is already searched
//!   with the body that carries it.
//! - The same lead often comes twice in one mail (the text and HTML alternatives, a forward
//!   quoting the original): documents are deduplicated on their content with whitespace
//!   removed, the first found wins, and text parts are searched before HTML ones. When the
//!   text alternative of a `multipart/alternative` already gave complete documents, its HTML
//!   alternative is not searched at all.
//!
//! Hostile input (the mail-inbound Lambda reads whatever anyone sends, and this module is
//! fuzzed): every input is read without panicking, and the work done is bounded by its size.
//! The message is limited to [`MAX_MESSAGE_BYTES`]; before mail-parser runs, the raw bytes
//! are checked for the structures that would make it slow, huge or nest without bound (see
//! `guard`); then at most [`MAX_PARTS`] parts are read, [`MAX_FORWARD_DEPTH`] forwards deep,
//! and at most [`MAX_DOCUMENTS`] documents are kept. Every text scan here goes forward once
//! (searches remember what they found), so no input makes one quadratic.

mod decode;
mod guard;
mod html;
mod locate;
mod walk;

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate};
use mail_parser::{Address, HeaderName, HeaderValue, MessageParser};

/// SES refuses to receive messages larger than this; a larger input is not a mail SES stored.
pub const MAX_MESSAGE_BYTES: usize = 40 << 20;
/// How many MIME parts are read, across all forwarded messages; the rest is skipped (noted).
pub const MAX_PARTS: usize = 256;
/// How many forwards deep documents are looked for (attached `message/rfc822` parts).
pub const MAX_FORWARD_DEPTH: usize = 8;
/// How many distinct ADF documents are kept from one mail; a batch of leads is far smaller.
pub const MAX_DOCUMENTS: usize = 100;

/// What an inbound mail carries, as far as Rylie cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The Message-ID, without its angle brackets.
    pub message_id: Option<String>,
    /// The first From address, lower-cased.
    pub from: Option<String>,
    /// The To and Cc addresses, lower-cased, each once, in header order.
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub date: Option<DateTime<FixedOffset>>,
    /// Every distinct ADF document, in the order found (text before HTML, then attachments,
    /// then forwarded messages, at each level).
    pub adf_documents: Vec<AdfSource>,
    /// Every attachment, forwarded messages' included, except the forwarded messages
    /// themselves (which are read, not listed).
    pub attachments: Vec<Attachment>,
    /// What was skipped and why, and anything odd on the way (duplicate or truncated
    /// documents, limits reached, malformed encodings). For logs and the operator.
    pub notes: Vec<String>,
}

/// The text of one ADF document and where in the mail it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdfSource {
    /// Where the document was: "text body", "html body", "attachment lead.xml" (a file name
    /// over 100 characters cut there with `…`), each prefixed by "forwarded message > " once
    /// per forward it sat in.
    pub location: String,
    /// From `<?xml`/`<adf` to `</adf>`, as found (after HTML un-escaping). It is Unicode text:
    /// an encoding named in its XML declaration describes the bytes it was decoded from.
    pub xml: String,
}

/// A file attached to the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: Option<String>,
    /// `type/subtype`, lower-case, without parameters.
    pub content_type: String,
    /// The file's bytes, transfer encoding (base64, quoted-printable) removed and nothing
    /// else changed: a Windows-1252 feed stays Windows-1252.
    pub bytes: Vec<u8>,
    pub kind: AttachmentKind,
}

/// What an attachment is for Rylie, by its file name first, then its content type, then its
/// first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    /// An ADF lead: `*.xml`, `*.adf`, `text/xml`, `application/xml`, `application/adf+xml`,
    /// or any file that starts with an ADF document.
    Adf,
    /// An inventory feed: `*.tsv`, `*.csv`, `*.txt`, `*.tab`, `text/csv`,
    /// `text/tab-separated-values`.
    InventoryFeed,
    Other,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adf => "adf",
            Self::InventoryFeed => "inventory_feed",
            Self::Other => "other",
        }
    }
}

/// Why the input cannot be read as a mail at all. A mail that can be read but carries no ADF
/// is not an error: its [`InboundMessage::adf_documents`] is empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("the message is {size} bytes, more than the {limit} bytes SES accepts")]
    TooLarge { size: usize, limit: usize },
    #[error("the input is empty")]
    Empty,
    /// The input does not start with a header field (`Name: value`), as every message SES
    /// stores does (a UTF-8 BOM, leading blank lines and an mbox `From ` line are skipped).
    /// mail-parser alone would read almost anything as a message with odd headers.
    #[error("not a MIME message: it does not start with a header field (it starts with {start:?})")]
    NotAMessage { start: String },
    /// The MIME structure is of a shape that would make parsing slow or nest without bound
    /// (a hostile or broken mail; no mail client writes one).
    #[error("the MIME structure is too complex to read safely: {reason}")]
    TooComplex { reason: String },
}

/// Reads a raw message (as SES stores it) into what Rylie needs from it.
pub fn read_message(raw: &[u8]) -> Result<InboundMessage, MailError> {
    check_size(raw)?;
    let raw = message_start(raw)?;
    guard::check_structure(raw)?;
    // mail-parser drops a last header field that no line break ends; only a message with no
    // body can end in one.
    let raw: Cow<'_, [u8]> = if has_body(raw) || raw.ends_with(b"\n") {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned([raw, b"\r\n"].concat())
    };
    let message = MessageParser::default()
        .parse(raw.as_ref())
        .ok_or_else(|| MailError::NotAMessage { start: preview(&raw) })?;
    let Some(root) = message.parts.first() else {
        return Err(MailError::NotAMessage { start: preview(&raw) });
    };

    let mut inbound = InboundMessage {
        message_id: None,
        from: None,
        to: Vec::new(),
        subject: None,
        date: None,
        adf_documents: Vec::new(),
        attachments: Vec::new(),
        notes: Vec::new(),
    };
    for header in &root.headers {
        match (&header.name, &header.value) {
            (HeaderName::MessageId, HeaderValue::Text(id)) if inbound.message_id.is_none() => {
                inbound.message_id = non_empty(id);
            }
            (HeaderName::MessageId, HeaderValue::TextList(ids)) if inbound.message_id.is_none() => {
                inbound.message_id = ids.first().and_then(|id| non_empty(id));
            }
            (HeaderName::From, HeaderValue::Address(address)) if inbound.from.is_none() => {
                inbound.from = addresses(address).next();
            }
            (HeaderName::To | HeaderName::Cc, HeaderValue::Address(address)) => {
                for address in addresses(address) {
                    if !inbound.to.contains(&address) {
                        inbound.to.push(address);
                    }
                }
            }
            (HeaderName::Subject, HeaderValue::Text(subject)) if inbound.subject.is_none() => {
                inbound.subject = non_empty(subject);
            }
            (HeaderName::Date, HeaderValue::DateTime(date)) if inbound.date.is_none() => {
                inbound.date = to_chrono(date);
            }
            _ => {}
        }
    }

    let found = walk::extract(&message);
    inbound.adf_documents = found.documents;
    inbound.attachments = found.attachments;
    inbound.notes = found.notes;
    Ok(inbound)
}

/// For the operator CLI: the ADF documents of a bare ADF document or of a mail.
///
/// Input that starts, after a BOM and whitespace, with `<?xml` or `<adf` (any case) is one
/// bare document and is returned whole as one source (decoded as its BOM or declaration
/// says, else UTF-8, else Windows-1252); anything else is read as a mail by
/// [`read_message`].
pub fn adf_sources(raw: &[u8]) -> Result<Vec<AdfSource>, MailError> {
    check_size(raw)?;
    if decode::starts_like_xml(raw) {
        return Ok(vec![AdfSource {
            location: "document".to_owned(),
            xml: decode::xml_text(raw, None).trim().to_owned(),
        }]);
    }
    read_message(raw).map(|message| message.adf_documents)
}

fn check_size(raw: &[u8]) -> Result<(), MailError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(MailError::TooLarge {
            size: raw.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    Ok(())
}

/// The message from its first header field on: skips a UTF-8 BOM, leading whitespace and an
/// mbox `From ` separator line, which a saved .eml may have and mail-parser would take for
/// headers or body; then requires a header field (a name of printable ASCII, then a colon).
fn message_start(raw: &[u8]) -> Result<&[u8], MailError> {
    let mut rest = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw).trim_ascii_start();
    if rest.starts_with(b"From ") {
        rest = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .and_then(|newline| rest.get(newline + 1..))
            .unwrap_or_default()
            .trim_ascii_start();
    }
    if rest.is_empty() {
        return Err(MailError::Empty);
    }
    let first_line = rest.split(|&byte| byte == b'\n').next().unwrap_or_default();
    let is_header_field = first_line
        .iter()
        .position(|&byte| byte == b':')
        .and_then(|colon| first_line.get(..colon))
        .map(|name| name.trim_ascii_end())
        .is_some_and(|name| !name.is_empty() && name.iter().all(|&byte| (33..=126).contains(&byte)));
    if !is_header_field {
        return Err(MailError::NotAMessage { start: preview(rest) });
    }
    Ok(rest)
}

/// Whether the header is followed by a body: a blank line comes somewhere.
fn has_body(raw: &[u8]) -> bool {
    raw.iter()
        .enumerate()
        .any(|(at, &byte)| byte == b'\n' && matches!(raw.get(at + 1..), Some([b'\n', ..] | [b'\r', b'\n', ..])))
}

/// The first characters of the input, for an error message.
fn preview(raw: &[u8]) -> String {
    let head = raw.get(..60).unwrap_or(raw);
    String::from_utf8_lossy(head).into_owned()
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn addresses<'a>(address: &'a Address<'_>) -> impl Iterator<Item = String> + 'a {
    address
        .iter()
        .filter_map(|addr| addr.address.as_deref())
        .map(|address| address.trim().to_lowercase())
        .filter(|address| !address.is_empty())
}

fn to_chrono(date: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let offset_seconds = i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60;
    let offset = FixedOffset::east_opt(if date.tz_before_gmt {
        -offset_seconds
    } else {
        offset_seconds
    })?;
    NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))?
        .and_hms_opt(
            u32::from(date.hour),
            u32::from(date.minute),
            u32::from(date.second.min(59)),
        )?
        .and_local_timezone(offset)
        .single()
}
