//! The walk over a parsed message: every part, in document order, searched or listed.
//!
//! mail-parser gives each message a flat list of parts, multiparts naming their children by
//! index; forwarded messages (`message/rfc822`) are messages of their own. The walk follows
//! that tree from the root, so a `multipart/alternative` can have its text alternative read
//! before its HTML one, and forwarded messages are read with their place in the location.

use std::borrow::Cow;
use std::collections::HashSet;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use super::{AdfSource, Attachment, AttachmentKind, MAX_DOCUMENTS, MAX_FORWARD_DEPTH, MAX_PARTS, decode, html, locate};

/// What the walk found in a message.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub documents: Vec<AdfSource>,
    pub attachments: Vec<Attachment>,
    pub notes: Vec<String>,
}

pub(super) fn extract(message: &Message<'_>) -> Found {
    let mut walk = Walk::default();
    walk.message(message, "", 0);
    Found {
        documents: walk.documents,
        attachments: walk.attachments,
        notes: walk.notes,
    }
}

const FORWARDED: &str = "forwarded message > ";
/// How deep multiparts may nest inside one message (mail clients nest three or four).
const MAX_MULTIPART_NESTING: usize = 16;

#[derive(Default)]
struct Walk {
    documents: Vec<AdfSource>,
    attachments: Vec<Attachment>,
    notes: Vec<String>,
    /// Dedupe keys of the documents kept (see [`locate::dedupe_key`]).
    seen: HashSet<String>,
    parts_read: usize,
    parts_limit_noted: bool,
    documents_limit_noted: bool,
}

/// Where the walk is: the message whose parts it reads, and the location prefix for them.
#[derive(Clone, Copy)]
struct Scope<'w, 'm, 'x> {
    message: &'m Message<'x>,
    prefix: &'w str,
    forward_depth: usize,
}

/// What searching some parts gave: how many documents (kept or duplicate), all complete or
/// not.
#[derive(Debug, Clone, Copy, Default)]
struct Searched {
    documents: usize,
    incomplete: usize,
}

impl Searched {
    fn plus(self, other: Self) -> Self {
        Self {
            documents: self.documents + other.documents,
            incomplete: self.incomplete + other.incomplete,
        }
    }
}

/// How a text is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A mail body: quoted lines un-quoted, inline forwards deepen the location.
    Body,
    /// A file: searched as it is.
    File,
}

impl Walk {
    fn message(&mut self, message: &Message<'_>, prefix: &str, forward_depth: usize) {
        let scope = Scope {
            message,
            prefix,
            forward_depth,
        };
        self.part(scope, 0, 0, true);
    }

    /// Reads part `id` of the scope's message; HTML bodies only when `search_html`.
    fn part(&mut self, scope: Scope<'_, '_, '_>, id: usize, nesting: usize, search_html: bool) -> Searched {
        let Some(part) = scope.message.parts.get(id) else {
            return Searched::default();
        };
        if !self.take_part() {
            return Searched::default();
        }
        if part.is_encoding_problem {
            self.notes.push(format!(
                "{}{}: malformed MIME part, read as it is",
                scope.prefix,
                describe(part)
            ));
        }
        match &part.body {
            PartType::Multipart(children) => {
                if nesting >= MAX_MULTIPART_NESTING {
                    self.notes.push(format!(
                        "{}multiparts nested more than {MAX_MULTIPART_NESTING} deep: the deeper ones were not read",
                        scope.prefix
                    ));
                    return Searched::default();
                }
                // Children come after their parent; anything else would be a loop.
                let children: Vec<usize> = children
                    .iter()
                    .filter_map(|&child| usize::try_from(child).ok())
                    .filter(|&child| child > id)
                    .collect();
                if part.is_content_type("multipart", "alternative") {
                    self.alternatives(scope, &children, nesting + 1, search_html)
                } else {
                    children.iter().fold(Searched::default(), |searched, &child| {
                        searched.plus(self.part(scope, child, nesting + 1, search_html))
                    })
                }
            }
            PartType::Message(forwarded) => {
                if scope.forward_depth >= MAX_FORWARD_DEPTH {
                    self.notes.push(format!(
                        "{}a forwarded message more than {MAX_FORWARD_DEPTH} forwards deep was not read",
                        scope.prefix
                    ));
                    return Searched::default();
                }
                let prefix = format!("{}{FORWARDED}", scope.prefix);
                let before = self.documents.len();
                self.message(forwarded, &prefix, scope.forward_depth + 1);
                Searched {
                    documents: self.documents.len() - before,
                    incomplete: 0,
                }
            }
            PartType::Text(text) if is_body(part) => {
                let text = body_text(scope.message, part, text);
                self.search(scope, "text body", &text, Reading::Body)
            }
            PartType::Html(markup) if is_body(part) => {
                if !search_html {
                    self.notes.push(format!(
                        "{}html body: not searched, its text alternative gave the ADF",
                        scope.prefix
                    ));
                    return Searched::default();
                }
                let markup = body_text(scope.message, part, markup);
                self.search(scope, "html body", &html::searchable_text(&markup), Reading::Body)
            }
            _ => self.attachment(scope, part),
        }
    }

    /// The parts of a `multipart/alternative`: its plain-text parts first; the others (HTML,
    /// or a `multipart/related` around it) then, with HTML searched only when the text gave
    /// no document or an incomplete one.
    fn alternatives(
        &mut self,
        scope: Scope<'_, '_, '_>,
        children: &[usize],
        nesting: usize,
        search_html: bool,
    ) -> Searched {
        let is_text_body = |&id: &usize| {
            scope
                .message
                .parts
                .get(id)
                .is_some_and(|part| matches!(part.body, PartType::Text(_)) && is_body(part))
        };
        let (texts, others): (Vec<usize>, Vec<usize>) = children.iter().copied().partition(is_text_body);
        let from_text = texts.iter().fold(Searched::default(), |searched, &child| {
            searched.plus(self.part(scope, child, nesting, search_html))
        });
        let text_sufficed = from_text.documents > 0 && from_text.incomplete == 0;
        others.iter().fold(from_text, |searched, &child| {
            searched.plus(self.part(scope, child, nesting, search_html && !text_sufficed))
        })
    }

    fn attachment(&mut self, scope: Scope<'_, '_, '_>, part: &MessagePart<'_>) -> Searched {
        let file_name = part
            .attachment_name()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned);
        let content_type = content_type(part);
        let bytes = part_bytes(scope.message, part);
        let kind = classify(file_name.as_deref(), &content_type, &bytes);
        let label = describe(part);

        let searched = match (kind, &part.body) {
            (AttachmentKind::Adf, _) => {
                let charset = part.content_type().and_then(|c| c.attribute("charset"));
                let text = decode::xml_text(&bytes, charset);
                let searched = self.search(scope, &label, &text, Reading::File);
                if searched.documents == 0 {
                    self.notes
                        .push(format!("{}{label}: no ADF document in it", scope.prefix));
                }
                searched
            }
            // A text or HTML file that is not a feed may still carry a lead.
            (AttachmentKind::Other, PartType::Text(text)) => self.search(scope, &label, text, Reading::File),
            (AttachmentKind::Other, PartType::Html(markup)) => {
                self.search(scope, &label, &html::searchable_text(markup), Reading::File)
            }
            _ => Searched::default(),
        };
        if matches!(content_type.as_str(), "message/rfc822" | "message/global") {
            self.notes.push(format!(
                "{}{label}: an attached message that could not be read as one",
                scope.prefix
            ));
        }
        self.attachments.push(Attachment {
            file_name,
            content_type,
            bytes: bytes.into_owned(),
            kind,
        });
        searched
    }

    /// Finds the documents in `text` and keeps the new ones, located at `what` in the scope.
    fn search(&mut self, scope: Scope<'_, '_, '_>, what: &str, text: &str, reading: Reading) -> Searched {
        let unquoted;
        let text = match reading {
            Reading::Body => {
                unquoted = locate::unquote(text);
                unquoted.as_ref()
            }
            Reading::File => text,
        };
        let spans = locate::find_documents(text, MAX_DOCUMENTS + 1);
        if spans.is_empty() {
            return Searched::default();
        }
        let depths = match reading {
            Reading::Body => locate::forward_depths(text, &spans),
            Reading::File => vec![0; spans.len()],
        };
        let mut searched = Searched::default();
        for (span, depth) in spans.iter().zip(depths) {
            let Some(xml) = text.get(span.start..span.end) else {
                continue;
            };
            let depth = depth.min(MAX_FORWARD_DEPTH.saturating_sub(scope.forward_depth));
            let location = format!("{}{}{what}", scope.prefix, FORWARDED.repeat(depth));
            searched.documents += 1;
            if !span.complete {
                searched.incomplete += 1;
            }
            self.keep(location, xml, span.complete);
        }
        searched
    }

    fn keep(&mut self, location: String, xml: &str, complete: bool) {
        if self.documents.len() >= MAX_DOCUMENTS {
            if !self.documents_limit_noted {
                self.documents_limit_noted = true;
                self.notes.push(format!(
                    "more than {MAX_DOCUMENTS} ADF documents: only the first {MAX_DOCUMENTS} were kept"
                ));
            }
            return;
        }
        if !self.seen.insert(locate::dedupe_key(xml)) {
            self.notes.push(format!(
                "{location}: an ADF document already found elsewhere in the mail, skipped"
            ));
            return;
        }
        if !complete {
            self.notes.push(format!(
                "{location}: an ADF document starts but never ends (no </adf>), kept as found"
            ));
        }
        self.documents.push(AdfSource {
            location,
            xml: xml.to_owned(),
        });
    }

    /// Counts a part against [`MAX_PARTS`]; false once the limit is reached.
    fn take_part(&mut self) -> bool {
        if self.parts_read >= MAX_PARTS {
            if !self.parts_limit_noted {
                self.parts_limit_noted = true;
                self.notes
                    .push(format!("more than {MAX_PARTS} MIME parts: the rest were not read"));
            }
            return false;
        }
        self.parts_read += 1;
        true
    }
}

/// A part for notes and locations: "text body", "html body", "attachment NAME",
/// "attachment (TYPE)" when it has no name.
fn describe(part: &MessagePart<'_>) -> String {
    match &part.body {
        PartType::Text(_) if is_body(part) => "text body".to_owned(),
        PartType::Html(_) if is_body(part) => "html body".to_owned(),
        PartType::Multipart(_) => format!("{} part", quoted(&content_type(part))),
        PartType::Message(_) => "forwarded message".to_owned(),
        _ => match part.attachment_name().map(str::trim).filter(|name| !name.is_empty()) {
            Some(name) => format!("attachment {}", quoted(name)),
            None => format!("attachment ({})", quoted(&content_type(part))),
        },
    }
}

/// How many characters of a file name or content type a location or note quotes: one may be
/// quoted for every document and note of its part, and a hostile mail can name an attachment
/// with megabytes.
const QUOTED_CHARS: usize = 100;

/// At most [`QUOTED_CHARS`] characters of `name`, cut with `…`.
fn quoted(name: &str) -> Cow<'_, str> {
    match name.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &name[..cut])),
        None => Cow::Borrowed(name),
    }
}

/// Whether a text or HTML part is a body rather than an attached file: it is plain text or
/// HTML (or says nothing of its type), has no file name and is not marked as an attachment.
/// Other text types (`text/xml`, `text/csv`) are files even when they are the whole message.
fn is_body(part: &MessagePart<'_>) -> bool {
    let is_body_type = part.content_type().is_none_or(|content_type| {
        content_type.ctype().eq_ignore_ascii_case("text")
            && content_type
                .subtype()
                .is_none_or(|subtype| subtype.eq_ignore_ascii_case("plain") || subtype.eq_ignore_ascii_case("html"))
    });
    let marked_attachment = part
        .content_disposition()
        .is_some_and(|disposition| disposition.is_attachment());
    is_body_type && !marked_attachment && part.attachment_name().is_none()
}

/// `type/subtype`, lower-case; what the part holds when it says nothing.
fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(content_type) => match content_type.subtype() {
            Some(subtype) => format!("{}/{}", content_type.ctype(), subtype).to_ascii_lowercase(),
            None => content_type.ctype().to_ascii_lowercase(),
        },
        None => match part.body {
            PartType::Html(_) => "text/html".to_owned(),
            PartType::Text(_) => "text/plain".to_owned(),
            PartType::Message(_) => "message/rfc822".to_owned(),
            PartType::Multipart(_) => "multipart/mixed".to_owned(),
            PartType::Binary(_) | PartType::InlineBinary(_) => "application/octet-stream".to_owned(),
        },
    }
}

/// A body's text as mail-parser decoded it, unless it had no charset to go by and the bytes
/// were not UTF-8 (mail-parser then put U+FFFD in for every byte it could not read): those
/// are read again as Windows-1252, the usual charset of mailers that forget to name one.
fn body_text<'t>(message: &Message<'_>, part: &MessagePart<'_>, decoded: &'t str) -> Cow<'t, str> {
    let has_charset = part
        .content_type()
        .is_some_and(|content_type| content_type.attribute("charset").is_some());
    if has_charset || !decoded.contains(char::REPLACEMENT_CHARACTER) {
        return Cow::Borrowed(decoded);
    }
    let bytes = part_bytes(message, part);
    match std::str::from_utf8(&bytes) {
        Ok(_) => Cow::Borrowed(decoded),
        Err(_) => Cow::Owned(decode::legacy_text(&bytes, None)),
    }
}

/// A part's bytes with only the transfer encoding removed. mail-parser hands text parts over
/// already converted from their charset (and damaged when it guessed wrong), so their bytes
/// are taken from the raw message and decoded here.
fn part_bytes<'p>(message: &Message<'_>, part: &'p MessagePart<'_>) -> Cow<'p, [u8]> {
    let decoded_text = match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => return Cow::Borrowed(bytes.as_ref()),
        PartType::Text(text) | PartType::Html(text) => text.as_bytes(),
        PartType::Message(_) | PartType::Multipart(_) => return Cow::Borrowed(&[]),
    };
    let raw = usize::try_from(part.offset_body)
        .ok()
        .zip(usize::try_from(part.offset_end).ok())
        .and_then(|(start, end)| message.raw_message.get(start..end));
    let Some(raw) = raw else {
        return Cow::Borrowed(decoded_text);
    };
    match part.encoding {
        Encoding::Base64 => base64_decode(raw).map_or(Cow::Borrowed(decoded_text), Cow::Owned),
        Encoding::QuotedPrintable => Cow::Owned(decode::quoted_printable(raw)),
        Encoding::None => Cow::Owned(raw.to_vec()),
    }
}

/// By file name extension first, then content type; an ADF document at the start of the bytes
/// makes any file not already an ADF file one.
fn classify(file_name: Option<&str>, content_type: &str, bytes: &[u8]) -> AttachmentKind {
    let extension = file_name
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, extension)| extension.trim().to_ascii_lowercase());
    let by_name = match extension.as_deref() {
        Some("xml" | "adf") => Some(AttachmentKind::Adf),
        Some("tsv" | "csv" | "txt" | "tab") => Some(AttachmentKind::InventoryFeed),
        _ => None,
    };
    let by_type = || match content_type {
        "text/xml" | "application/xml" | "application/adf+xml" => Some(AttachmentKind::Adf),
        "text/csv" | "text/tab-separated-values" => Some(AttachmentKind::InventoryFeed),
        _ => None,
    };
    match by_name.or_else(by_type) {
        Some(AttachmentKind::Adf) => AttachmentKind::Adf,
        _ if starts_with_adf(bytes) => AttachmentKind::Adf,
        Some(kind) => kind,
        None => AttachmentKind::Other,
    }
}

/// Whether the bytes start with an ADF document: `<adf`, or `<?xml` with `<adf` in the first
/// kilobyte.
fn starts_with_adf(bytes: &[u8]) -> bool {
    if !decode::starts_like_xml(bytes) {
        return false;
    }
    let head = bytes.get(..1024).unwrap_or(bytes);
    head.windows(4).any(|window| window.eq_ignore_ascii_case(b"<adf"))
}
