//! [`FeedReader`]: sniffs a feed's format from its first 64 KiB, maps its header, then turns
//! one record at a time into a [`RowOutcome`].
//!
//! The reader streams: the sniffed bytes are handed on to the csv parser followed by the rest
//! of the input, one [`ByteRecord`] buffer is reused for every record, a record is checked as
//! UTF-8 once and its cells are borrowed from it (decoded one by one only when the record is
//! not UTF-8), and columns are found by the indices the header mapping fixed. What a row
//! allocates is what the [`FeedVehicle`] it becomes owns.
//!
//! Line numbers are counted here rather than taken from the csv record's position: that
//! position is where the parser stood after the previous record, which is before any blank
//! lines it skipped and, with CRLF endings, still on the previous line.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::{self, Read};

use chrono::Datelike;
use csv::{ByteRecord, StringRecord};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::mapping::{ColumnMapping, Field};
use super::values::{self, Cents, ValueError};
use super::{Condition, FeedVehicle, RowIssue, RowOutcome};
use crate::content_hash::ContentEncoder;
use crate::vin::{self, Vin};

/// How many bytes are looked at to sniff the delimiter and the encoding.
const SNIFF_BYTES: usize = 64 * 1024;
/// How many records after the header are compared with it to confirm a delimiter.
const SNIFF_RECORDS: usize = 20;
/// The delimiters a feed may use, in order of preference when two fit equally well.
const CANDIDATE_DELIMITERS: [u8; 4] = [b'\t', b',', b'|', b';'];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What sniffing found out about the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedFormat {
    pub delimiter: char,
    /// "utf-8" when the sniffed bytes are valid UTF-8, else "windows-1252". Informative only:
    /// every cell is decoded on its own (UTF-8 when valid, else Windows-1252).
    pub encoding: &'static str,
    pub had_bom: bool,
}

/// Why a feed cannot be read at all (a single bad row never is one: it becomes a
/// [`RowOutcome::Rejected`]).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the feed is empty")]
    Empty,
    #[error("the feed has no header: {0}")]
    NoHeader(&'static str),
    #[error("cannot tell how the columns are separated: {0}")]
    UndetectedDelimiter(String),
    #[error(
        "no column identifies a vehicle: the header has neither a VIN nor a stock number column (columns: {})",
        .headers.join(", ")
    )]
    NoIdentifier { headers: Vec<String> },
    #[error(
        "the header has no column for {}, which every vehicle needs (columns: {})",
        .fields.join(", "),
        .headers.join(", ")
    )]
    MissingRequired {
        fields: Vec<&'static str>,
        headers: Vec<String>,
    },
    #[error("cannot read the feed: {0}")]
    Io(#[from] io::Error),
    #[error("cannot read the feed: {0}")]
    Csv(csv::Error),
}

impl From<csv::Error> for FeedError {
    fn from(error: csv::Error) -> Self {
        if !error.is_io_error() {
            return Self::Csv(error);
        }
        match error.into_kind() {
            csv::ErrorKind::Io(io) => Self::Io(io),
            other => Self::Io(io::Error::other(format!("{other:?}"))),
        }
    }
}

/// The bytes the csv parser reads: the sniffed head (after any BOM), the rest of the input,
/// and one final LF so that the last record, like every other, ends with a line feed (which
/// keeps line numbers exact; a blank last line is skipped anyway).
type Source<R> = io::Chain<io::Chain<io::Cursor<Vec<u8>>, R>, &'static [u8]>;

/// Reads a feed record by record: one [`RowOutcome`] per non-blank record.
///
/// Row rules:
/// - a record whose cells are all blank (an empty line, a line of delimiters) is skipped;
/// - a row is rejected when nothing identifies it (no VIN and no stock number, or a malformed
///   VIN and no stock number) or when make, model or year is missing or unreadable; a
///   rejection lists every such reason and nothing else;
/// - a malformed VIN next to a stock number is dropped with a warning, and the stock number
///   identifies the vehicle; a VIN with a wrong check digit is kept with a warning;
/// - an unreadable optional value (mileage, a price, a date, condition, status, certified) is
///   dropped with a warning naming its column;
/// - a price of zero means "call for price" and is treated as no price, without a warning;
/// - cells past the last header column are ignored, with a warning when they hold anything;
/// - every cell is trimmed, and a "no value" marker ([`values::is_no_value`]) is no value, in
///   `extra` too: an unmapped column enters `extra` only when its cell holds a value.
///
/// Line numbers are the file's own (1-based, blank lines and the lines of multi-line quoted
/// cells included) and point at the line where the record starts. Files whose lines end with
/// a bare CR (classic Mac OS) are not supported: lines end with LF or CRLF.
///
/// Iterate it for the rows; when the iteration ends, check [`FeedReader::error`]: a feed cut
/// short by a read error must not be taken for a complete one (vehicles missing from it are
/// not sold).
pub struct FeedReader<R: Read> {
    csv: csv::Reader<Source<R>>,
    format: FeedFormat,
    delimiter: u8,
    mapping: ColumnMapping,
    /// The record buffer, reused for every record (None only while a row is being built).
    record: Option<ByteRecord>,
    /// Where each row's content is encoded for hashing, reused from row to row.
    hash_buffer: Vec<u8>,
    error: Option<FeedError>,
}

impl<R: Read> fmt::Debug for FeedReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedReader")
            .field("format", &self.format)
            .field("mapping", &self.mapping)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<R: Read> FeedReader<R> {
    /// Sniffs the format from the first 64 KiB, reads the header and maps its columns.
    pub fn new(mut input: R) -> Result<Self, FeedError> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        input.by_ref().take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
        let reached_end = head.len() < SNIFF_BYTES;

        let had_bom = head.starts_with(UTF8_BOM);
        let body = if had_bom { &head[UTF8_BOM.len()..] } else { &head[..] };
        if body.is_empty() {
            return Err(FeedError::Empty);
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(FeedError::NoHeader("the file holds only blank lines"));
        }
        let delimiter = detect_delimiter(body, reached_end)?;
        let encoding = detect_encoding(body);

        let mut cursor = io::Cursor::new(head);
        cursor.set_position(if had_bom { UTF8_BOM.len() as u64 } else { 0 });
        let source = cursor.chain(input).chain(&b"\n"[..]);
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(SNIFF_BYTES)
            .from_reader(source);

        let mut record = ByteRecord::new();
        let mapping = read_header(&mut csv, &mut record)?;
        let format = FeedFormat {
            delimiter: char::from(delimiter),
            encoding,
            had_bom,
        };
        Ok(Self {
            csv,
            format,
            delimiter,
            mapping,
            record: Some(record),
            hash_buffer: Vec::new(),
            error: None,
        })
    }

    pub fn format(&self) -> &FeedFormat {
        &self.format
    }

    pub fn mapping(&self) -> &ColumnMapping {
        &self.mapping
    }

    /// The read error that ended the iteration early, if one did.
    pub fn error(&self) -> Option<&FeedError> {
        self.error.as_ref()
    }

    /// The line where the record just read starts. The parser has consumed the record and its
    /// line feed; subtracting that line feed and the ones inside quoted cells gives the start.
    fn record_line(&self, record: &ByteRecord) -> u64 {
        let newlines_inside = record.as_slice().iter().filter(|&&byte| byte == b'\n').count() as u64;
        self.csv.position().line().saturating_sub(1 + newlines_inside).max(1)
    }

    fn row_outcome(&mut self, cells: Cells<'_>, line: u64) -> RowOutcome {
        let row = Row {
            mapping: &self.mapping,
            cells,
            hash_buffer: &mut self.hash_buffer,
            line,
            feed_delimiter: self.delimiter,
            warnings: Vec::new(),
            rejections: Vec::new(),
        };
        row.into_outcome()
    }
}

impl<R: Read> Iterator for FeedReader<R> {
    type Item = RowOutcome;

    fn next(&mut self) -> Option<RowOutcome> {
        if self.error.is_some() {
            return None;
        }
        // The buffer is taken out and put back so that it can become a StringRecord (UTF-8
        // checked once for the whole record, cells then borrowed as &str) without allocating.
        let mut record = self.record.take().unwrap_or_default();
        loop {
            match self.csv.read_byte_record(&mut record) {
                Ok(true) if is_blank(&record) => continue,
                Ok(true) => break,
                Ok(false) => {
                    self.record = Some(record);
                    return None;
                }
                Err(error) => {
                    self.error = Some(error.into());
                    return None;
                }
            }
        }
        let line = self.record_line(&record);
        let (outcome, record) = match StringRecord::from_byte_record(record) {
            Ok(text) => (self.row_outcome(Cells::Utf8(&text), line), text.into_byte_record()),
            Err(not_utf8) => {
                let bytes = not_utf8.into_byte_record();
                (self.row_outcome(Cells::Bytes(&bytes), line), bytes)
            }
        };
        self.record = Some(record);
        Some(outcome)
    }
}

/// Reads the first non-blank record as the header and maps it; the feed must have a column
/// that identifies vehicles and columns for make, model and year.
fn read_header<R: Read>(csv: &mut csv::Reader<R>, record: &mut ByteRecord) -> Result<ColumnMapping, FeedError> {
    loop {
        if !csv.read_byte_record(record)? {
            return Err(FeedError::NoHeader("the file holds only blank lines"));
        }
        if !is_blank(record) {
            break;
        }
    }
    let cells: Vec<String> = record
        .iter()
        .map(|cell| values::decode_text(cell).trim().to_owned())
        .collect();
    let mapping = ColumnMapping::from_headers(&cells);
    let named_headers = || cells.iter().filter(|h| !h.is_empty()).cloned().collect::<Vec<_>>();
    if !mapping.is_mapped(Field::Vin) && !mapping.is_mapped(Field::StockNumber) {
        return Err(FeedError::NoIdentifier {
            headers: named_headers(),
        });
    }
    let missing: Vec<&'static str> = [Field::Make, Field::Model, Field::Year]
        .into_iter()
        .filter(|field| !mapping.is_mapped(*field))
        .map(Field::name)
        .collect();
    if !missing.is_empty() {
        return Err(FeedError::MissingRequired {
            fields: missing,
            headers: named_headers(),
        });
    }
    Ok(mapping)
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

/// "utf-8" when the sniffed bytes are UTF-8 (a sequence cut by the 64 KiB boundary is fine).
fn detect_encoding(sample: &[u8]) -> &'static str {
    match std::str::from_utf8(sample) {
        Ok(_) => "utf-8",
        Err(error) if error.error_len().is_none() => "utf-8",
        Err(_) => "windows-1252",
    }
}

/// Picks the delimiter: among the candidates found outside quotes on the header line, the one
/// that splits the most following lines into as many cells as the header; ties go to the one
/// found on more lines, then to the one the header has more of, then to the order tab, comma,
/// pipe, semicolon.
fn detect_delimiter(sample: &[u8], sample_is_whole_file: bool) -> Result<u8, FeedError> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Fit {
        lines_agreeing: usize,
        lines_containing: usize,
        header_count: usize,
        preference: usize,
    }
    let mut best: Option<(Fit, u8, bool)> = None;
    let mut saw_a_line = false;
    for (position, &delimiter) in CANDIDATE_DELIMITERS.iter().enumerate() {
        let counts = delimiter_counts(sample, delimiter, sample_is_whole_file);
        let Some((&header_count, following)) = counts.split_first() else {
            continue;
        };
        saw_a_line = true;
        if header_count == 0 {
            continue;
        }
        let fit = Fit {
            lines_agreeing: following.iter().filter(|&&count| count == header_count).count(),
            lines_containing: following.iter().filter(|&&count| count > 0).count(),
            header_count,
            preference: CANDIDATE_DELIMITERS.len() - position,
        };
        if best.as_ref().is_none_or(|(best_fit, _, _)| fit > *best_fit) {
            best = Some((fit, delimiter, following.is_empty()));
        }
    }
    match best {
        Some((fit, delimiter, header_only)) if header_only || fit.lines_containing > 0 => Ok(delimiter),
        Some((_, delimiter, _)) => Err(FeedError::UndetectedDelimiter(format!(
            "the header splits on {:?} but none of the following lines does",
            char::from(delimiter)
        ))),
        None if saw_a_line => Err(FeedError::UndetectedDelimiter(
            "the header line has no tab, comma, pipe or semicolon".into(),
        )),
        None => Err(FeedError::UndetectedDelimiter(format!(
            "the first {} KiB hold no complete line",
            SNIFF_BYTES / 1024
        ))),
    }
}

/// How many times `delimiter` occurs outside quotes in each of the first non-blank records of
/// `sample` (header first), with the quoting rules of the csv parser: a quote opens a quoted
/// cell only at the start of a cell, and `""` inside one is a literal quote. The last record is
/// counted only when the sample is the whole file (otherwise it may be cut short).
fn delimiter_counts(sample: &[u8], delimiter: u8, sample_is_whole_file: bool) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        CellStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut counts = Vec::new();
    let (mut count, mut blank, mut state) = (0, true, State::CellStart);
    for &byte in sample {
        match state {
            State::Quoted => {
                if byte == b'"' {
                    state = State::QuoteInQuoted;
                }
                continue;
            }
            State::QuoteInQuoted if byte == b'"' => {
                state = State::Quoted;
                continue;
            }
            _ => {}
        }
        if byte == b'\n' {
            if !blank {
                counts.push(count);
                if counts.len() > SNIFF_RECORDS {
                    return counts;
                }
            }
            (count, blank, state) = (0, true, State::CellStart);
        } else if byte == delimiter {
            (count, state) = (count + 1, State::CellStart);
        } else if byte == b'"' && state == State::CellStart {
            (blank, state) = (false, State::Quoted);
        } else if byte.is_ascii_whitespace() {
            state = State::Unquoted;
        } else {
            (blank, state) = (false, State::Unquoted);
        }
    }
    if sample_is_whole_file && !blank && state != State::Quoted {
        counts.push(count);
    }
    counts
}

/// The cells of a record: checked as UTF-8 once when the whole record is, else decoded one by
/// one.
#[derive(Clone, Copy)]
enum Cells<'a> {
    Utf8(&'a StringRecord),
    Bytes(&'a ByteRecord),
}

impl<'a> Cells<'a> {
    fn get(self, column: usize) -> Option<Cow<'a, str>> {
        match self {
            Self::Utf8(record) => record.get(column).map(Cow::Borrowed),
            Self::Bytes(record) => record.get(column).map(values::decode_text),
        }
    }

    fn len(self) -> usize {
        match self {
            Self::Utf8(record) => record.len(),
            Self::Bytes(record) => record.len(),
        }
    }
}

/// One record being turned into a vehicle.
struct Row<'a> {
    mapping: &'a ColumnMapping,
    cells: Cells<'a>,
    hash_buffer: &'a mut Vec<u8>,
    line: u64,
    feed_delimiter: u8,
    warnings: Vec<RowIssue>,
    rejections: Vec<RowIssue>,
}

impl<'a> Row<'a> {
    fn into_outcome(mut self) -> RowOutcome {
        match self.vehicle() {
            Some(vehicle) => RowOutcome::Vehicle {
                vehicle: Box::new(vehicle),
                warnings: self.warnings,
            },
            None => RowOutcome::Rejected {
                issues: self.rejections,
            },
        }
    }

    fn vehicle(&mut self) -> Option<FeedVehicle> {
        let stock_number = self.text(Field::StockNumber);
        let vin = self.vin(stock_number.is_some());
        if vin.is_none() && stock_number.is_none() && self.rejections.is_empty() {
            self.reject(
                None,
                "no VIN and no stock number: nothing identifies the vehicle".into(),
            );
        }
        let make = self.required_text(Field::Make);
        let model = self.required_text(Field::Model);
        let year = self.year();
        let (Some(make), Some(model), Some(year), true) = (make, model, year, self.rejections.is_empty()) else {
            return None;
        };

        let condition = self.parsed(Field::Condition, values::parse_condition);
        let certified_column = self.parsed(Field::Certified, values::parse_yes_no).unwrap_or(false);
        let msrp = self.price(Field::Msrp);
        let selling_price = self.price(Field::SellingPrice);
        let internet_price = self.price(Field::InternetPrice);
        let mut vehicle = FeedVehicle {
            line: self.line,
            vin,
            stock_number,
            condition,
            certified: certified_column || condition == Some(Condition::Certified),
            make,
            model,
            year,
            trim: self.text(Field::Trim),
            body_style: self.text(Field::BodyStyle),
            exterior_color: self.text(Field::ExteriorColor),
            interior_color: self.text(Field::InteriorColor),
            mileage: self.parsed(Field::Mileage, values::parse_mileage),
            engine: self.text(Field::Engine),
            transmission: self.text(Field::Transmission),
            drivetrain: self.text(Field::Drivetrain),
            fuel_type: self.text(Field::FuelType),
            fuel_economy: self.fuel_economy(),
            price: values::customer_price(internet_price, selling_price, msrp),
            msrp,
            selling_price,
            internet_price,
            invoice_price: self.price(Field::InvoicePrice),
            features: self.list(Field::Features, values::push_list_items),
            description: self.text(Field::Description),
            images: self.list(Field::Images, values::push_image_urls),
            video_url: self.text(Field::VideoUrl),
            vdp_url: self.text(Field::VdpUrl),
            in_stock_date: self.parsed(Field::InStockDate, values::parse_date),
            status: self.parsed(Field::Status, values::parse_status).unwrap_or_default(),
            extra: self.extra(),
            content_hash: String::new(),
        };
        self.warn_about_cells_past_the_header();
        vehicle.content_hash = content_hash(&vehicle, self.hash_buffer);
        Some(vehicle)
    }

    /// The cell of a column, decoded and trimmed; None when absent or a "no value" marker.
    fn cell(&self, column: usize) -> Option<Cow<'a, str>> {
        let cell = match self.cells.get(column)? {
            Cow::Borrowed(text) => Cow::Borrowed(values::trim(text)),
            Cow::Owned(text) if values::trim(&text).len() == text.len() => Cow::Owned(text),
            Cow::Owned(text) => Cow::Owned(values::trim(&text).to_owned()),
        };
        (!values::is_no_value(&cell)).then_some(cell)
    }

    /// The first value among the columns of `field`, with the column it came from.
    fn value(&self, field: Field) -> Option<(usize, Cow<'a, str>)> {
        self.mapping
            .columns(field)
            .iter()
            .find_map(|&column| Some((column, self.cell(column)?)))
    }

    fn text(&self, field: Field) -> Option<String> {
        self.value(field).map(|(_, text)| text.into_owned())
    }

    /// A value read by `parse`; an unreadable one is dropped with a warning.
    fn parsed<T>(&mut self, field: Field, parse: fn(&str) -> Result<T, ValueError>) -> Option<T> {
        let (column, text) = self.value(field)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.warn(Some(column), format!("{} {text:?} {error}; dropped", field.name()));
                None
            }
        }
    }

    fn price(&mut self, field: Field) -> Option<Cents> {
        self.parsed(field, values::parse_money)
            .filter(|cents| cents.as_i64() > 0)
    }

    fn required_text(&mut self, field: Field) -> Option<String> {
        let text = self.text(field);
        if text.is_none() {
            self.reject(
                self.mapping.columns(field).first().copied(),
                format!("{} is missing", field.name()),
            );
        }
        text
    }

    fn year(&mut self) -> Option<i32> {
        let Some((column, text)) = self.value(Field::Year) else {
            self.reject(
                self.mapping.columns(Field::Year).first().copied(),
                "year is missing".into(),
            );
            return None;
        };
        match values::parse_year(&text) {
            Ok(year) => Some(year),
            Err(error) => {
                self.reject(Some(column), format!("year {text:?} {error}"));
                None
            }
        }
    }

    fn vin(&mut self, has_stock_number: bool) -> Option<String> {
        let (column, text) = self.value(Field::Vin)?;
        match Vin::parse(&text) {
            Ok(vin) => {
                if !vin.check_digit_ok() {
                    let expected = vin::check_digit(vin.as_str()).unwrap_or('?');
                    self.warn(
                        Some(column),
                        format!("VIN {text:?} fails its check digit (position 9 should be {expected}); kept"),
                    );
                }
                Some(vin.into_string())
            }
            Err(error) if has_stock_number => {
                self.warn(
                    Some(column),
                    format!("VIN {text:?} is malformed ({error}); dropped, the stock number identifies the vehicle"),
                );
                None
            }
            Err(error) => {
                self.reject(
                    Some(column),
                    format!("VIN {text:?} is malformed ({error}) and there is no stock number to fall back on"),
                );
                None
            }
        }
    }

    /// The combined fuel economy column, else "{city} city / {highway} hwy" from separate ones.
    fn fuel_economy(&self) -> Option<String> {
        if let Some(text) = self.text(Field::FuelEconomy) {
            return Some(text);
        }
        match (self.value(Field::MpgCity), self.value(Field::MpgHighway)) {
            (Some((_, city)), Some((_, highway))) => Some(format!("{city} city / {highway} hwy")),
            (Some((_, city)), None) => Some(format!("{city} city")),
            (None, Some((_, highway))) => Some(format!("{highway} hwy")),
            (None, None) => None,
        }
    }

    /// Every column of a list field contributes; repeats are dropped when several did.
    fn list(&self, field: Field, push_items: fn(&str, u8, &mut Vec<String>)) -> Vec<String> {
        let mut items = Vec::new();
        let mut contributing_columns = 0;
        for &column in self.mapping.columns(field) {
            if let Some(cell) = self.cell(column) {
                push_items(&cell, self.feed_delimiter, &mut items);
                contributing_columns += 1;
            }
        }
        if contributing_columns > 1 {
            remove_repeats(&mut items);
        }
        items
    }

    fn extra(&self) -> BTreeMap<String, String> {
        self.mapping
            .extra_columns()
            .iter()
            .filter_map(|&column| Some((self.mapping.header(column).to_owned(), self.cell(column)?.into_owned())))
            .collect()
    }

    fn warn_about_cells_past_the_header(&mut self) {
        let columns = self.mapping.column_count();
        let cells = self.cells.len();
        if cells > columns
            && (columns..cells).any(|column| self.cells.get(column).is_some_and(|c| !c.trim().is_empty()))
        {
            let reason = format!(
                "the row has {cells} cells but the header only {columns}; the cells past the last column are ignored"
            );
            self.warn(None, reason);
        }
    }

    fn warn(&mut self, column: Option<usize>, reason: String) {
        let issue = self.issue(column, reason);
        self.warnings.push(issue);
    }

    fn reject(&mut self, column: Option<usize>, reason: String) {
        let issue = self.issue(column, reason);
        self.rejections.push(issue);
    }

    fn issue(&self, column: Option<usize>, reason: String) -> RowIssue {
        RowIssue {
            line: self.line,
            column: column.map(|c| self.mapping.header(c).to_owned()),
            reason,
        }
    }
}

/// Drops items seen earlier in the list, keeping the first occurrence and the order.
fn remove_repeats(items: &mut Vec<String>) {
    let mut seen = HashSet::with_capacity(items.len());
    let keep: Vec<bool> = items.iter().map(|item| seen.insert(item.clone())).collect();
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(true));
}

/// SHA-256 over every field of the vehicle except `line` (and the hash itself), in
/// declaration order; the first 128 bits, in hex.
///
/// The fields are encoded into `buffer` (reused from row to row) so that no two different
/// vehicles encode alike: text is its UTF-8 bytes followed by 0xFF, "no value" is 0xFE, and a
/// list or map is its items each followed by 0xFF, then 0xFE. UTF-8 never contains 0xFE or
/// 0xFF, so these markers cannot be confused with text; numbers have a fixed width.
fn content_hash(vehicle: &FeedVehicle, buffer: &mut Vec<u8>) -> String {
    buffer.clear();
    let mut encoder = ContentEncoder(buffer);
    encoder.text(Some("rylie-feed-vehicle-v1"));
    encoder.text(vehicle.vin.as_deref());
    encoder.text(vehicle.stock_number.as_deref());
    encoder.text(vehicle.condition.map(Condition::as_str));
    encoder.number(i64::from(vehicle.certified));
    encoder.text(Some(&vehicle.make));
    encoder.text(Some(&vehicle.model));
    encoder.number(i64::from(vehicle.year));
    encoder.text(vehicle.trim.as_deref());
    encoder.text(vehicle.body_style.as_deref());
    encoder.text(vehicle.exterior_color.as_deref());
    encoder.text(vehicle.interior_color.as_deref());
    encoder.optional_number(vehicle.mileage.map(i64::from));
    encoder.text(vehicle.engine.as_deref());
    encoder.text(vehicle.transmission.as_deref());
    encoder.text(vehicle.drivetrain.as_deref());
    encoder.text(vehicle.fuel_type.as_deref());
    encoder.text(vehicle.fuel_economy.as_deref());
    for price in [
        vehicle.price,
        vehicle.msrp,
        vehicle.selling_price,
        vehicle.internet_price,
        vehicle.invoice_price,
    ] {
        encoder.optional_number(price.map(Cents::as_i64));
    }
    encoder.list(vehicle.features.iter().map(String::as_str));
    encoder.text(vehicle.description.as_deref());
    encoder.list(vehicle.images.iter().map(String::as_str));
    encoder.text(vehicle.video_url.as_deref());
    encoder.text(vehicle.vdp_url.as_deref());
    encoder.optional_number(vehicle.in_stock_date.map(|date| i64::from(date.num_days_from_ce())));
    encoder.text(Some(vehicle.status.as_str()));
    encoder.list(
        vehicle
            .extra
            .iter()
            .flat_map(|(header, value)| [header.as_str(), value.as_str()]),
    );
    let digest = Sha256::digest(buffer.as_slice());
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(sample: &str) -> Result<char, String> {
        detect_delimiter(sample.as_bytes(), true)
            .map(char::from)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_delimiter_that_splits_following_lines_like_the_header_wins() {
        assert_eq!(
            detect("VIN\tMake\tOptions\nX\tHonda\tA/C, Sunroof, Leather\n"),
            Ok('\t')
        );
        assert_eq!(detect("VIN|Make|Options\nX|Honda|A/C, Sunroof\nY|Ford|A;B\n"), Ok('|'));
        assert_eq!(detect("VIN;Make;Price\nX;Honda;23,99\n"), Ok(';'));
        assert_eq!(detect("VIN,Make,Notes\nX,Honda,\"a;b;c|d\"\n"), Ok(','));
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count() {
        assert_eq!(detect("\"VIN;Stock\",Make\n\"1;2\",Honda\n"), Ok(','));
        assert_eq!(delimiter_counts(b"a,\"x\"\"y,z\",b\n", b',', true), [2]);
        assert_eq!(
            delimiter_counts(b"a,\"multi\nline, cell\",b\nc,d,e", b',', true),
            [2, 2]
        );
        assert_eq!(delimiter_counts(b"a,b\n\n  \nc,d,e", b',', false), [1]);
    }

    #[test]
    fn a_header_without_any_candidate_delimiter_is_an_error() {
        let error = detect("VIN Make Model\n1 2 3\n").expect_err("no delimiter");
        assert!(error.contains("no tab, comma, pipe or semicolon"), "{error}");
        let error = detect("VIN,Make\n1 2\n3 4\n").expect_err("header only splits");
        assert!(error.contains("none of the following lines"), "{error}");
    }

    #[test]
    fn encoding_is_utf8_unless_the_bytes_say_otherwise() {
        assert_eq!(detect_encoding("Citroën".as_bytes()), "utf-8");
        assert_eq!(detect_encoding(&"Citroën".as_bytes()[..6]), "utf-8");
        assert_eq!(detect_encoding(b"Citro\xebn"), "windows-1252");
    }

    #[test]
    fn repeats_are_removed_keeping_the_first_occurrence() {
        let mut items: Vec<String> = ["a", "b", "a", "c", "b"].map(String::from).to_vec();
        remove_repeats(&mut items);
        assert_eq!(items, ["a", "b", "c"]);
    }
}
