//! Limits on the raw message, checked before mail-parser reads it.
//!
//! mail-parser is quick on mail as clients write it, but four shapes of hostile input hurt it,
//! and they have to be refused before it runs:
//! - attached messages (`message/rfc822`, and the parts of a `multipart/digest`) become nested
//!   values that it builds, copies and drops recursively: the hundreds of thousands of levels
//!   that fit in 40 MB overflow the stack, which aborts the process (no panic to catch);
//! - a multipart whose boundary never comes is searched for up to the end of the input, once
//!   per multipart, so many of them make the parse quadratic;
//! - every part costs a couple of hundred bytes whatever its size, so millions of empty parts
//!   take gigabytes;
//! - an attached message whose content is, unencoded, nothing but another attached message
//!   (its header block declares `message/rfc822` again), inside a multipart: when the
//!   multipart's boundary ends them, mail-parser closes only the inner message before
//!   handling the boundary, so it files parts under the wrong message and trips over its own
//!   indexes (a debug assertion, "Invalid part ID, could not find multipart."; in release a
//!   wrong tree, and in a `multipart/alternative` a slice out of range, a panic, hence an
//!   abort). Found by the fuzzer. With no boundary in effect (at the top of the mail) such
//!   nesting reads fine and is allowed.
//!
//! So the check counts, in one pass over the lines, what each of those needs: a Content-Type
//! field (its name read as mail-parser reads it, whitespace ignored) whose type is `message`
//! or subtype `digest`, one whose type is `multipart`, `--` (every boundary starts with
//! it), and, once a multipart was declared, header blocks (runs of non-blank lines) declaring
//! a `message` type right after a block that makes a message (its Content-Type says
//! `message`, or it has a line starting with `--` and no Content-Type after it: a
//! `multipart/digest` part). mail-parser also parses again what it decoded from a base64 or
//! quoted-printable attached message, up to three levels down, so when the input declares an
//! attached message, its runs of base64 lines are decoded and counted, and so is a
//! quoted-printable reading of it. The counts over-estimate (a Content-Type line quoted in a
//! body counts, so does any `--`, and a block of body text counts as a header block); the
//! limits are far above what mail clients write.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;

use super::{MailError, decode};

/// At most this many attached messages or digests (a forward of a forward of ... counts one
/// per level; so does each attached .eml).
const MAX_MESSAGE_PARTS: usize = 32;
/// At most this many multiparts (a mail has one to three per message in it)...
const MAX_MULTIPARTS: usize = 100;
/// ...and multiparts times input bytes at most this: the worst case of the boundary search,
/// about a second.
const MULTIPART_SCAN_BUDGET: usize = 1 << 30;
/// At most this many `--` (bounds the number of parts, hence mail-parser's memory, to tens of
/// megabytes).
const MAX_BOUNDARY_MARKERS: usize = 500_000;
/// How many times mail-parser decodes and parses again.
const DECODING_LEVELS: usize = 3;
/// Base64 runs shorter than this cannot hide enough structure to matter (two nested messages
/// in a multipart take some 140 characters of base64), and single lines of plain text often
/// look like base64.
const MIN_BASE64_RUN: usize = 128;

pub(super) fn check_structure(raw: &[u8]) -> Result<(), MailError> {
    let counts = count(raw, 0);
    let too_complex = |reason: String| Err(MailError::TooComplex { reason });
    if counts.message_parts > MAX_MESSAGE_PARTS {
        return too_complex(format!(
            "{} attached messages or digests (at most {MAX_MESSAGE_PARTS})",
            counts.message_parts
        ));
    }
    if counts.multiparts > MAX_MULTIPARTS || counts.multiparts.saturating_mul(raw.len()) > MULTIPART_SCAN_BUDGET {
        return too_complex(format!(
            "{} multipart sections in {} bytes (at most {MAX_MULTIPARTS}, fewer in large messages)",
            counts.multiparts,
            raw.len()
        ));
    }
    if counts.boundary_markers > MAX_BOUNDARY_MARKERS {
        return too_complex(format!(
            "{} boundary markers (\"--\"; at most {MAX_BOUNDARY_MARKERS})",
            counts.boundary_markers
        ));
    }
    if counts.nested_messages > 0 {
        return too_complex(
            "an attached message that holds, unencoded, nothing but another attached message, \
             inside a multipart (a nesting mail-parser misreads)"
                .to_owned(),
        );
    }
    Ok(())
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    message_parts: usize,
    multiparts: usize,
    boundary_markers: usize,
    /// Header blocks declaring a `message` type right after one that makes a message, with a
    /// multipart declared before them.
    nested_messages: usize,
}

impl Counts {
    fn max(self, other: Self) -> Self {
        Self {
            message_parts: self.message_parts.max(other.message_parts),
            multiparts: self.multiparts.max(other.multiparts),
            boundary_markers: self.boundary_markers.max(other.boundary_markers),
            nested_messages: self.nested_messages.max(other.nested_messages),
        }
    }

    fn plus(self, other: Self) -> Self {
        Self {
            message_parts: self.message_parts.saturating_add(other.message_parts),
            multiparts: self.multiparts.saturating_add(other.multiparts),
            boundary_markers: self.boundary_markers.saturating_add(other.boundary_markers),
            nested_messages: self.nested_messages.saturating_add(other.nested_messages),
        }
    }
}

/// The counts of `bytes`; when they declare an attached message (the only kind of part
/// mail-parser decodes and parses again), the larger of those and the counts of a
/// quoted-printable reading, plus the counts of the base64 runs in them, decoded.
fn count(bytes: &[u8], level: usize) -> Counts {
    let mut counts = count_fields(bytes);
    if counts.message_parts == 0 {
        return counts;
    }
    if contains_ignore_case(bytes, b"quoted-printable") {
        counts = counts.max(count_fields(&decode::quoted_printable(bytes)));
    }
    if level < DECODING_LEVELS {
        for run in base64_runs(bytes) {
            if let Some(decoded) = base64_decode(run) {
                counts = counts.plus(count(&decoded, level + 1));
            }
        }
    }
    counts
}

/// Where a Content-Type field's value is, as it is read line by line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Within {
    Type,
    Subtype,
    Parameters,
}

fn count_fields(bytes: &[u8]) -> Counts {
    // Read as text so that lines and dashes are found a word at a time rather than a byte at a
    // time; bytes that are not UTF-8 become U+FFFD, which changes no count.
    // (`from_utf8` first: it checks ASCII a word at a time, `from_utf8_lossy` does not.)
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let mut counts = Counts {
        boundary_markers: count_double_dashes(&text),
        ..Counts::default()
    };
    // The Content-Type field being read (its value may continue on folded lines).
    let mut field: Option<ContentTypeField> = None;
    let mut blocks = Blocks::default();
    for line in text.split('\n').map(str::as_bytes) {
        if let Some(current) = field.as_mut()
            && matches!(line.first(), Some(b' ' | b'\t'))
        {
            current.read(line, &mut counts);
            blocks.typed(current.message_type);
            continue;
        }
        field = None;
        if line.strip_suffix(b"\r").unwrap_or(line).is_empty() {
            blocks.blank_line(&mut counts);
            continue;
        }
        blocks.line(line);
        if let Some(value) = content_type_value(line) {
            let mut current = ContentTypeField {
                within: Within::Type,
                multipart: false,
                message: false,
                message_type: false,
            };
            current.read(value, &mut counts);
            blocks.typed(current.message_type);
            field = Some(current);
        }
    }
    blocks.blank_line(&mut counts);
    counts
}

/// The runs of non-blank lines (header blocks, and body text taken for one), read for
/// [`Counts::nested_messages`].
#[derive(Debug, Default)]
struct Blocks {
    /// Whether the current block has a line yet.
    started: bool,
    /// Whether the current block came right after one that makes a message, one blank line
    /// between.
    follows_message: bool,
    /// Whether the current block makes the part it heads a message: its last Content-Type
    /// says `message`, or it has none after a line starting with `--` (a `multipart/digest`
    /// part is a message unless it says otherwise; parts of other multiparts count too).
    makes_message: bool,
    /// Whether a Content-Type of the current block says `message`.
    declares_message: bool,
    /// Whether the block before the last blank line makes a message.
    previous_makes_message: bool,
}

impl Blocks {
    fn line(&mut self, line: &[u8]) {
        if !self.started {
            self.started = true;
            self.follows_message = self.previous_makes_message;
        }
        if line.starts_with(b"--") {
            self.makes_message = true;
        }
    }

    /// A line of a Content-Type field of the current block was read; `message` is whether
    /// its type says `message` so far.
    fn typed(&mut self, message: bool) {
        self.makes_message = message;
        self.declares_message |= message;
    }

    fn blank_line(&mut self, counts: &mut Counts) {
        if !self.started {
            // Two blank lines in a row: the next block follows no header block.
            self.previous_makes_message = false;
            return;
        }
        if self.follows_message && self.declares_message && counts.multiparts > 0 {
            counts.nested_messages += 1;
        }
        *self = Self {
            previous_makes_message: self.makes_message,
            ..Self::default()
        };
    }
}

struct ContentTypeField {
    within: Within,
    multipart: bool,
    /// The type is `message` or the subtype `digest`.
    message: bool,
    /// The type is `message`.
    message_type: bool,
}

impl ContentTypeField {
    fn read(&mut self, mut value: &[u8], counts: &mut Counts) {
        if self.within == Within::Type {
            let slash = value.iter().position(|&byte| byte == b'/');
            let media_type = slash.and_then(|slash| value.get(..slash)).unwrap_or(value);
            if !self.multipart && contains_ignore_case(media_type, b"multipart") {
                self.multipart = true;
                counts.multiparts += 1;
            }
            if contains_ignore_case(media_type, b"message") {
                self.message_type = true;
                if !self.message {
                    self.message = true;
                    counts.message_parts += 1;
                }
            }
            match slash {
                Some(slash) => {
                    self.within = Within::Subtype;
                    value = value.get(slash + 1..).unwrap_or_default();
                }
                None => return,
            }
        }
        if self.within == Within::Subtype {
            let semicolon = value.iter().position(|&byte| byte == b';');
            let subtype = semicolon.and_then(|semicolon| value.get(..semicolon)).unwrap_or(value);
            if !self.message && contains_ignore_case(subtype, b"digest") {
                self.message = true;
                counts.message_parts += 1;
            }
            if semicolon.is_some() {
                self.within = Within::Parameters;
            }
        }
    }
}

/// The value of the Content-Type field this line starts, if it starts one: its name read as
/// mail-parser reads names (whitespace inside ignored, any case), then `:`. Most lines fail
/// on their first character.
fn content_type_value(line: &[u8]) -> Option<&[u8]> {
    let mut expected = b"content-type".iter();
    for (at, &byte) in line.iter().enumerate() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        match expected.next() {
            Some(&wanted) if byte.to_ascii_lowercase() == wanted => {}
            Some(_) => return None,
            None if byte == b':' => return line.get(at + 1..),
            None => return None,
        }
    }
    None
}

/// How many `--` there are, not overlapping.
fn count_double_dashes(text: &str) -> usize {
    let mut count = 0;
    let mut unpaired: Option<usize> = None;
    for (at, _) in text.match_indices('-') {
        match unpaired {
            Some(previous) if previous + 1 == at => {
                count += 1;
                unpaired = None;
            }
            _ => unpaired = Some(at),
        }
    }
    count
}

/// Runs of consecutive lines made only of base64 characters, at least [`MIN_BASE64_RUN`]
/// bytes long.
fn base64_runs(bytes: &[u8]) -> Vec<&[u8]> {
    let mut runs = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in bytes.split(|&byte| byte == b'\n') {
        let start = offset;
        offset += line.len() + 1;
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        let is_base64 = content.len() >= 4
            && content
                .iter()
                .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'='));
        run = match (is_base64, run) {
            (true, Some((run_start, _))) => Some((run_start, start + content.len())),
            (true, None) => Some((start, start + content.len())),
            (false, Some(finished)) => {
                runs.push(finished);
                None
            }
            (false, None) => None,
        };
    }
    runs.extend(run);
    runs.into_iter()
        .filter(|(start, end)| end - start >= MIN_BASE64_RUN)
        .filter_map(|(start, end)| bytes.get(start..end))
        .collect()
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    haystack
        .iter()
        .enumerate()
        .filter(|(_, byte)| byte.to_ascii_lowercase() == first)
        .any(|(at, _)| {
            haystack
                .get(at..at + needle.len())
                .is_some_and(|window| window.eq_ignore_ascii_case(needle))
        })
}
