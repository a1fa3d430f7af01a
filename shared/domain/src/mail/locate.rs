//! Finding ADF documents in text, and where inline forwards start in it.
//!
//! Everything here is one forward scan (or a few) over the text: the next `<adf`, `</adf>`
//! and `?>` are each searched from where the previous search stopped, so a text full of
//! openings that never close costs no more than a clean one.

use std::borrow::Cow;

/// One document in a text: `text[start..end]`, and whether it ended with `</adf>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
    pub complete: bool,
}

/// How many declarations (`<?xml ...?>`, `<?adf ...?>`) may precede `<adf`, and how long one
/// may be; a prolog is a line or two.
const MAX_PROLOG_ITEMS: usize = 3;
const MAX_PROLOG_ITEM_BYTES: usize = 512;
/// A `<!DOCTYPE ...>` before `<adf` belongs to the document too (with an internal subset it
/// can be long): the ADF parser must see it to refuse entity declarations (XXE, entity
/// bombs) rather than meet their references undeclared.
const MAX_DOCTYPE_BYTES: usize = 64 << 10;

/// The documents in `text`, in order, at most `limit` of them.
///
/// A document starts at `<adf` (any case, followed by `>`, `/` or whitespace), or at the
/// `<?xml`/`<?adf` declarations just before it, and ends after the next `</adf>`. When another
/// `<adf` comes before that `</adf>`, or none comes at all, the document is cut where the next
/// one starts (or at the end of the text) and marked incomplete.
pub(super) fn find_documents(text: &str, limit: usize) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut closes = CloseFinder::default();
    let mut floor = 0;
    let mut next_open = find_open(text, 0);
    while let Some(open) = next_open {
        if spans.len() >= limit {
            break;
        }
        let start = prolog_start(bytes, open, floor);
        let following = find_open(text, open + 4);
        match closes.next_from(text, open + 4) {
            Some((close_start, close_end)) if following.is_none_or(|next| close_start < next) => {
                spans.push(Span {
                    start,
                    end: close_end,
                    complete: true,
                });
                floor = close_end;
            }
            _ => {
                let cut = following.map_or(bytes.len(), |next| prolog_start(bytes, next, open + 4));
                let end = trim_end(bytes, start, cut);
                spans.push(Span {
                    start,
                    end,
                    complete: false,
                });
                floor = end;
            }
        }
        next_open = following;
    }
    spans
}

/// The text with the quoting of replies removed: every line that starts with `>` loses its
/// `>` markers, each with the one space after it (`> > x`, `>> x` and `>x` all become `x`).
/// A line of XML that starts with `>` (a tag broken across lines) would lose it too; mail
/// quoting is far more common.
pub(super) fn unquote(text: &str) -> Cow<'_, str> {
    if !text.starts_with('>') && !text.contains("\n>") {
        return Cow::Borrowed(text);
    }
    let mut unquoted = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while let Some(after) = rest.strip_prefix('>') {
            rest = after.strip_prefix(' ').unwrap_or(after);
        }
        unquoted.push_str(rest);
    }
    Cow::Owned(unquoted)
}

/// For each span, how many inline forwards begin before it: the number of forward markers
/// (see [`forward_marks`]) before its start that are not inside a document.
pub(super) fn forward_depths(text: &str, spans: &[Span]) -> Vec<usize> {
    let marks = forward_marks(text);
    let mut marks = marks.iter().copied().peekable();
    let mut depth = 0;
    let mut depths = Vec::with_capacity(spans.len());
    for span in spans {
        while marks.next_if(|&mark| mark < span.start).is_some() {
            depth += 1;
        }
        // Marks inside this document are its text, not forwards.
        while marks.next_if(|&mark| mark < span.end).is_some() {}
        depths.push(depth);
    }
    depths
}

/// Byte offsets of the lines where an inline forward begins, in order:
/// - a separator line: `---------- Forwarded message ---------` (Gmail),
///   `-------- Original Message --------` (Thunderbird), `-----Original Message-----`
///   (Outlook), `Begin forwarded message:` (Apple Mail);
/// - a `From:` line followed within five lines by `Sent:` or `Date:` (Outlook's header block),
///   unless it is the header block right under a separator line.
fn forward_marks(text: &str) -> Vec<usize> {
    let mut marks = Vec::new();
    let mut offset = 0;
    let mut last_separator: Option<usize> = None;
    let mut pending_from: Option<(usize, usize)> = None;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim().trim_matches('*').trim();
        if is_separator(trimmed) {
            marks.push(start);
            last_separator = Some(index);
            pending_from = None;
            continue;
        }
        if starts_with_ignore_case(trimmed, "from:") {
            pending_from = Some((start, index));
        } else if (starts_with_ignore_case(trimmed, "sent:") || starts_with_ignore_case(trimmed, "date:"))
            && let Some((from_start, from_index)) = pending_from.take()
            && index - from_index <= 5
            && last_separator.is_none_or(|separator| from_index > separator + 3)
        {
            marks.push(from_start);
        }
    }
    marks
}

fn is_separator(line: &str) -> bool {
    if line.eq_ignore_ascii_case("begin forwarded message:") {
        return true;
    }
    if !line.starts_with("--") || line.len() > 80 {
        return false;
    }
    let lower = line.to_ascii_lowercase();
    lower.contains("forwarded message") || lower.contains("original message")
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// The content a document is compared on to find duplicates: from `<adf` on (a declaration
/// present in one copy and not the other does not make two leads), without whitespace.
pub(super) fn dedupe_key(xml: &str) -> String {
    let from_root = find_open(xml, 0).and_then(|open| xml.get(open..)).unwrap_or(xml);
    from_root.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the bytes hold `needle` (ASCII, lower-case) at `at`, in any case.
pub(super) fn has_at(bytes: &[u8], at: usize, needle: &[u8]) -> bool {
    bytes
        .get(at..at.saturating_add(needle.len()))
        .is_some_and(|window| window.eq_ignore_ascii_case(needle))
}

/// The next `character` (ASCII) at or after byte `from`. `str::find` looks for it a word at a
/// time, several times faster than a byte loop. `from` must be a character boundary (it is
/// always just past an ASCII character here); if it were not, nothing would be found.
pub(super) fn find_ascii(text: &str, from: usize, character: char) -> Option<usize> {
    text.get(from..)?.find(character).map(|offset| from + offset)
}

/// The next `<adf` opening tag at or after `from`.
fn find_open(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(lt) = find_ascii(text, at, '<') {
        if has_at(bytes, lt + 1, b"adf")
            && bytes
                .get(lt + 4)
                .is_none_or(|&next| next == b'>' || next == b'/' || next.is_ascii_whitespace())
        {
            return Some(lt);
        }
        at = lt + 1;
    }
    None
}

/// The next `</adf>` (whitespace allowed before `>`) at or after `from`: its start and end.
fn find_close(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(lt) = find_ascii(text, at, '<') {
        if has_at(bytes, lt + 1, b"/adf") {
            let mut end = lt + 5;
            while bytes.get(end).is_some_and(u8::is_ascii_whitespace) {
                end += 1;
            }
            if bytes.get(end) == Some(&b'>') {
                return Some((lt, end + 1));
            }
        }
        at = lt + 1;
    }
    None
}

/// Remembers the last `</adf>` found, so that searching again from a later point does not
/// rescan (and a text with no `</adf>` is scanned for one once).
#[derive(Default)]
struct CloseFinder {
    last: Option<Option<(usize, usize)>>,
}

impl CloseFinder {
    fn next_from(&mut self, text: &str, from: usize) -> Option<(usize, usize)> {
        match self.last {
            Some(None) => return None,
            Some(Some(close)) if close.0 >= from => return Some(close),
            _ => {}
        }
        let found = find_close(text, from);
        self.last = Some(found);
        found
    }
}

/// Where the document whose `<adf` is at `open` starts: before the `<?xml ...?>` and
/// `<?adf ...?>` declarations that precede it with only whitespace between, never before
/// `floor` (the end of the previous document).
fn prolog_start(bytes: &[u8], open: usize, floor: usize) -> usize {
    let mut start = open;
    for _ in 0..MAX_PROLOG_ITEMS {
        let mut end = start;
        while end > floor && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
            end -= 1;
        }
        if let Some(doctype) = doctype_before(bytes, end, floor) {
            start = doctype;
            continue;
        }
        if end < floor + 4 || bytes.get(end - 2..end) != Some(b"?>") {
            break;
        }
        let window_start = floor.max(end.saturating_sub(MAX_PROLOG_ITEM_BYTES));
        let Some(window) = bytes.get(window_start..end - 2) else {
            break;
        };
        let Some(offset) = window.windows(2).rposition(|pair| pair == b"<?") else {
            break;
        };
        let declaration = window_start + offset;
        let is_known = (has_at(bytes, declaration + 2, b"xml") || has_at(bytes, declaration + 2, b"adf"))
            && bytes
                .get(declaration + 5)
                .is_some_and(|&next| next == b'?' || next.is_ascii_whitespace());
        if !is_known {
            break;
        }
        start = declaration;
    }
    start
}

/// Where the `<!DOCTYPE` declaration that ends (with `>`) at `end` starts, if one does.
fn doctype_before(bytes: &[u8], end: usize, floor: usize) -> Option<usize> {
    if end <= floor || bytes.get(end - 1) != Some(&b'>') {
        return None;
    }
    let window_start = floor.max(end.saturating_sub(MAX_DOCTYPE_BYTES));
    let window = bytes.get(window_start..end)?;
    let offset = window.windows(9).rposition(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE"))?;
    let start = window_start + offset;
    // Only the ADF document's own declaration (`<!DOCTYPE adf ...`), never an HTML page's.
    let name = bytes.get(start + 9..)?;
    let name = &name[name.iter().position(|b| !b.is_ascii_whitespace())?..];
    let is_adf = name.len() > 3
        && name[..3].eq_ignore_ascii_case(b"adf")
        && (name[3].is_ascii_whitespace() || name[3] == b'[' || name[3] == b'>');
    is_adf.then_some(start)
}

fn trim_end(bytes: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
        end -= 1;
    }
    end
}
