//! HTML bodies turned into text that ADF can be found in.
//!
//! Lead providers and mail clients put ADF into HTML two ways: raw (`<adf>` as markup, which
//! a browser shows as bare text) and escaped (`&lt;adf&gt;`, often one line per `<p>` or
//! `<br>`, indented with `&nbsp;`). [`searchable_text`] handles both:
//! 1. HTML tags are removed by name: only the tags of HTML mail (`p`, `br`, `div`, `span`,
//!    `font`, Office's `o:p`, ...) go; any other tag, ADF's included (`address` and `option`
//!    are ADF elements, so they are not on the list), stays. Block tags leave a line break.
//!    Comments, `<style>` and `<script>` go with their content; CDATA sections stay as they
//!    are.
//! 2. The raw documents are found in that text and kept verbatim: their XML entities must
//!    reach the XML parser.
//! 3. Everywhere else entities are decoded once (`&amp;amp;` in escaped XML becomes the
//!    `&amp;` the XML had) and no-break spaces become spaces.
//!
//! Each step is a forward scan. Searches for a closing `>`, `-->`, `]]>` or `</style` remember
//! what they found (or that there is none), so markup that never closes is not rescanned for
//! every opening.

use super::locate::{self, find_ascii, has_at};

/// The text of an HTML body, ready for [`locate::find_documents`] once un-quoted (escaped text
/// may itself carry reply quoting, `&gt; &lt;adf&gt;`).
pub(super) fn searchable_text(html: &str) -> String {
    let stripped = strip_tags(html);
    let stripped = locate::unquote(&stripped);
    let mut text = String::with_capacity(stripped.len());
    let mut position = 0;
    for span in locate::find_documents(&stripped, usize::MAX) {
        decode_entities_into(stripped.get(position..span.start).unwrap_or_default(), &mut text);
        text.push_str(stripped.get(span.start..span.end).unwrap_or_default());
        position = span.end;
    }
    decode_entities_into(stripped.get(position..).unwrap_or_default(), &mut text);
    text
}

/// What removing a tag leaves in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaves {
    Nothing,
    LineBreak,
    Space,
    /// The element's content goes too (`style`, `script`).
    NoContent,
}

/// The HTML tags of mail bodies, and what each leaves behind. None of them is an ADF element.
fn html_tag(name: &str) -> Option<Leaves> {
    let leaves = match name {
        "br" | "p" | "div" | "tr" | "li" | "ul" | "ol" | "dl" | "dt" | "dd" | "h1" | "h2" | "h3" | "h4" | "h5"
        | "h6" | "pre" | "blockquote" | "table" | "hr" | "center" | "section" | "article" | "header" | "footer"
        | "main" | "nav" | "aside" | "figure" | "figcaption" => Leaves::LineBreak,
        "td" | "th" => Leaves::Space,
        "style" | "script" => Leaves::NoContent,
        "html" | "head" | "body" | "meta" | "link" | "base" | "xml" | "span" | "font" | "a" | "img" | "b" | "i"
        | "u" | "s" | "strong" | "em" | "small" | "big" | "sup" | "sub" | "strike" | "del" | "ins" | "tt" | "wbr"
        | "nobr" | "tbody" | "thead" | "tfoot" | "colgroup" | "col" | "picture" | "abbr" | "cite" => Leaves::Nothing,
        // Word's and Outlook's own namespaces: <o:p>, <v:shape>, <w:WordDocument>, <st1:place>.
        _ if ["o:", "v:", "w:", "m:", "x:", "st1:"]
            .iter()
            .any(|prefix| name.starts_with(prefix)) =>
        {
            Leaves::Nothing
        }
        _ => return None,
    };
    Some(leaves)
}

/// The longest tag name looked up; longer names are not HTML mail tags.
const MAX_TAG_NAME: usize = 32;

/// Removes HTML mail tags, comments, `<style>`/`<script>` content and `<!...>` declarations;
/// keeps all other text, entities and tags as they are.
fn strip_tags(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut text = String::with_capacity(html.len());
    let mut searches = Searches::default();
    // Text from `kept` up to the current `<` has not been copied yet.
    let mut kept = 0;
    let mut at = 0;
    while let Some(lt) = find_ascii(html, at, '<') {
        let removed = match bytes.get(lt + 1) {
            Some(b'!') if has_at(bytes, lt + 2, b"--") => searches
                .comment_end
                .find(html, lt + 4)
                .map(|end| (end + 3, Leaves::Nothing)),
            Some(b'!') if has_at(bytes, lt + 2, b"[cdata[") => {
                // Kept verbatim, `<` and `>` inside included.
                if let Some(end) = searches.cdata_end.find(html, lt + 9) {
                    at = end + 3;
                    continue;
                }
                None
            }
            Some(b'!') => searches
                .tag_end
                .find(html, lt + 2)
                .map(|end| (end + 1, Leaves::Nothing)),
            Some(_) => tag_removal(html, lt, &mut searches),
            None => None,
        };
        match removed {
            Some((end, leaves)) => {
                text.push_str(html.get(kept..lt).unwrap_or_default());
                match leaves {
                    Leaves::LineBreak => text.push('\n'),
                    Leaves::Space => text.push(' '),
                    Leaves::Nothing | Leaves::NoContent => {}
                }
                kept = end;
                at = end;
            }
            None => at = lt + 1,
        }
    }
    text.push_str(html.get(kept..).unwrap_or_default());
    text
}

/// When the `<` at `lt` opens or closes an HTML mail tag: where the removal ends (past the
/// tag, or past the element for `style`/`script`) and what it leaves.
fn tag_removal(html: &str, lt: usize, searches: &mut Searches) -> Option<(usize, Leaves)> {
    let bytes = html.as_bytes();
    let closing = bytes.get(lt + 1) == Some(&b'/');
    let name_start = if closing { lt + 2 } else { lt + 1 };
    let name_length = bytes
        .get(name_start..)?
        .iter()
        .take(MAX_TAG_NAME + 1)
        .take_while(|&&byte| byte.is_ascii_alphanumeric() || byte == b':' || byte == b'-' || byte == b'_')
        .count();
    if name_length == 0 || name_length > MAX_TAG_NAME {
        return None;
    }
    let after_name = name_start + name_length;
    if !bytes
        .get(after_name)
        .is_some_and(|&next| next == b'>' || next == b'/' || next.is_ascii_whitespace())
    {
        return None;
    }
    let mut lower = [0u8; MAX_TAG_NAME];
    let name = bytes.get(name_start..after_name)?;
    let lower = lower.get_mut(..name_length)?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let leaves = html_tag(std::str::from_utf8(lower).ok()?)?;
    let tag_end = searches.tag_end.find(html, after_name)? + 1;
    if leaves != Leaves::NoContent || closing || bytes.get(tag_end - 2) == Some(&b'/') {
        return Some((tag_end, leaves));
    }
    let element_close = if lower.starts_with(b"style") {
        searches.style_close.find(html, tag_end)
    } else {
        searches.script_close.find(html, tag_end)
    };
    match element_close.and_then(|close| searches.tag_end.find(html, close)) {
        Some(close_end) => Some((close_end + 1, Leaves::Nothing)),
        // An element that never closes loses its opening tag only.
        None => Some((tag_end, Leaves::Nothing)),
    }
}

/// The searches [`strip_tags`] repeats, each remembering its last answer.
struct Searches {
    tag_end: Search,
    comment_end: Search,
    cdata_end: Search,
    style_close: Search,
    script_close: Search,
}

impl Default for Searches {
    fn default() -> Self {
        Self {
            tag_end: Search::new(b">"),
            comment_end: Search::new(b"-->"),
            cdata_end: Search::new(b"]]>"),
            style_close: Search::new(b"</style"),
            script_close: Search::new(b"</script"),
        }
    }
}

/// A search for a fixed ASCII needle (any case; its first character is not a letter) that is
/// only ever asked for positions at or after its previous answer's, and so never scans a byte
/// twice once it found nothing.
struct Search {
    needle: &'static [u8],
    last: Option<Option<usize>>,
}

impl Search {
    fn new(needle: &'static [u8]) -> Self {
        Self { needle, last: None }
    }

    fn find(&mut self, text: &str, from: usize) -> Option<usize> {
        match self.last {
            Some(None) => return None,
            Some(Some(found)) if found >= from => return Some(found),
            _ => {}
        }
        let first = char::from(self.needle.first().copied().unwrap_or(b'>'));
        let mut at = from;
        let found = loop {
            let Some(candidate) = find_ascii(text, at, first) else {
                break None;
            };
            if has_at(text.as_bytes(), candidate, self.needle) {
                break Some(candidate);
            }
            at = candidate + 1;
        };
        self.last = Some(found);
        found
    }
}

/// Appends `text` with its character references decoded and no-break spaces made spaces.
/// A `&` that starts no known reference stays as it is.
fn decode_entities_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some((before, after)) = rest.split_once('&') {
        push_with_plain_spaces(before, out);
        match decode_entity(after) {
            Some((decoded, consumed)) => {
                out.push(if decoded == '\u{a0}' { ' ' } else { decoded });
                rest = after.get(consumed..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    push_with_plain_spaces(rest, out);
}

fn push_with_plain_spaces(text: &str, out: &mut String) {
    if text.contains('\u{a0}') {
        out.extend(text.chars().map(|c| if c == '\u{a0}' { ' ' } else { c }));
    } else {
        out.push_str(text);
    }
}

/// The character a reference stands for (`after` is the text after its `&`) and how many
/// bytes of `after` it used, `;` included. Needs the `;`.
fn decode_entity(after: &str) -> Option<(char, usize)> {
    let semicolon = after.bytes().take(12).position(|byte| byte == b';')?;
    let name = after.get(..semicolon)?;
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or(char::REPLACEMENT_CHARACTER)
    } else {
        named_entity(name)?
    };
    Some((decoded, semicolon + 1))
}

/// Latin-1's named references, U+00A0 to U+00FF in order.
const LATIN_1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not", "shy",
    "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1", "ordm",
    "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig",
    "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve",
    "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN",
    "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc",
    "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml",
    "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
];

fn named_entity(name: &str) -> Option<char> {
    let decoded = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "ndash" => '\u{2013}',
        "mdash" => '\u{2014}',
        "lsquo" => '\u{2018}',
        "rsquo" => '\u{2019}',
        "sbquo" => '\u{201a}',
        "ldquo" => '\u{201c}',
        "rdquo" => '\u{201d}',
        "bdquo" => '\u{201e}',
        "bull" => '\u{2022}',
        "hellip" => '\u{2026}',
        "euro" => '\u{20ac}',
        "trade" => '\u{2122}',
        "ensp" | "emsp" | "thinsp" => ' ',
        _ => {
            let index = LATIN_1.iter().position(|&entity| entity == name)?;
            char::from_u32(0xA0 + u32::try_from(index).ok()?)?
        }
    };
    Some(decoded)
}
