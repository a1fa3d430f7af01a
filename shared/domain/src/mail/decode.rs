//! Bytes to text where mail-parser's own decoding is not enough: XML files, whose encoding is
//! named inside them rather than in the MIME header, and parts labelled with no charset that
//! are not UTF-8.
//!
//! Files in the wild are often labelled wrongly: a declaration saying ISO-8859-1 over UTF-8
//! bytes is common (the template said so, the generator wrote UTF-8). Bytes that are valid
//! UTF-8 are almost never meant as anything else, so validity wins over labels; labels decide
//! only for bytes that are not UTF-8, and Windows-1252 (a superset of ISO-8859-1 that every
//! byte decodes in) is the last resort.

use mail_parser::decoders::charsets::map::charset_decoder;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16_LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16_BE_BOM: &[u8] = b"\xFE\xFF";

/// Whether the input starts, after a BOM and whitespace, with `<?xml` or `<adf` (any case).
pub(super) fn starts_like_xml(bytes: &[u8]) -> bool {
    let head = if bytes.starts_with(UTF16_LE_BOM) || bytes.starts_with(UTF16_BE_BOM) {
        xml_text(bytes.get(..256).unwrap_or(bytes), None)
    } else {
        let without_bom = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        String::from_utf8_lossy(without_bom.trim_ascii_start().get(..5).unwrap_or_default()).into_owned()
    };
    let head = head.trim_start().as_bytes();
    let starts_with = |prefix: &[u8]| {
        head.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    starts_with(b"<?xml") || starts_with(b"<adf")
}

/// An XML file's text: by its BOM; else as UTF-8 when it is valid UTF-8; else in the
/// encoding its declaration names, else `mime_charset`, else Windows-1252. The BOM is dropped.
pub(super) fn xml_text(bytes: &[u8], mime_charset: Option<&str>) -> String {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(UTF16_LE_BOM) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(UTF16_BE_BOM) {
        return utf16(rest, u16::from_be_bytes);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    let label = declared_encoding(bytes).or(mime_charset);
    legacy_text(bytes, label)
}

/// Text of bytes that are not valid UTF-8, in the charset `label` names when it is a known one
/// other than UTF-8, else in Windows-1252.
pub(super) fn legacy_text(bytes: &[u8], label: Option<&str>) -> String {
    let decoder = label
        .map(str::trim)
        .filter(|label| !is_utf8_label(label))
        .and_then(|label| charset_decoder(label.as_bytes()))
        .or_else(|| charset_decoder(b"windows-1252"));
    match decoder {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn is_utf8_label(label: &str) -> bool {
    label.eq_ignore_ascii_case("utf-8") || label.eq_ignore_ascii_case("utf8")
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes
        .chunks_exact(2)
        .filter_map(|pair| <[u8; 2]>::try_from(pair).ok())
        .map(unit);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// The `encoding` of an XML declaration at the start of the bytes, if any.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let start = bytes.trim_ascii_start();
    if !start.get(..5).is_some_and(|head| head.eq_ignore_ascii_case(b"<?xml")) {
        return None;
    }
    let declaration = start.get(..start.len().min(256))?;
    let end = declaration.windows(2).position(|pair| pair == b"?>")?;
    let declaration = declaration.get(..end)?;
    let key = declaration
        .windows(8)
        .position(|window| window.eq_ignore_ascii_case(b"encoding"))?;
    let rest = declaration
        .get(key + 8..)?
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let (&quote, value) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let length = value.iter().position(|&byte| byte == quote)?;
    std::str::from_utf8(value.get(..length)?).ok()
}

/// Quoted-printable decoding that never fails: `=XX` becomes its byte, `=` at a line end (soft
/// line break, trailing blanks allowed) goes, and anything else, a stray `=` included, stays.
pub(super) fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'=' {
            if let (Some(high), Some(low)) = (
                bytes.get(at + 1).copied().and_then(hex_value),
                bytes.get(at + 2).copied().and_then(hex_value),
            ) {
                decoded.push((high << 4) | low);
                at += 3;
                continue;
            }
            let blanks = bytes
                .get(at + 1..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&next| next == b' ' || next == b'\t')
                .count();
            let after_blanks = at + 1 + blanks;
            match (bytes.get(after_blanks), bytes.get(after_blanks + 1)) {
                (Some(b'\r'), Some(b'\n')) => {
                    at = after_blanks + 2;
                    continue;
                }
                (Some(b'\n'), _) => {
                    at = after_blanks + 1;
                    continue;
                }
                (None, _) => break,
                _ => {}
            }
        }
        decoded.push(byte);
        at += 1;
    }
    decoded
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}
