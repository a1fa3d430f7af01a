//! The streaming reader behind [`parse`](super::parse).
//!
//! Two passes over the text, the second the only real one:
//!
//! 1. [`find_root`] walks the prolog by hand (BOM, whitespace, XML declaration, processing
//!    instructions, comments, DOCTYPE, stray text) up to the root element's `<`. By hand
//!    because that is where real documents are broken (a PI closed with `>` instead of
//!    `?>`, a mail signature above the XML) and where the DOCTYPE must be inspected before
//!    anything else: one declaring an entity is refused there.
//! 2. From the root on, quick-xml's events drive a stack of [`Frame`]s. Each frame knows, as
//!    a [`Node`], what its element means *at that place* (an `<id>` under `<vehicle>` is a
//!    vehicle id, a `<name>` under the provider's `<contact>` is a contact name), decided once
//!    when the element opens from its parent's node and its own name. Text is collected only
//!    for frames that keep it, and a frame's value is stored when it closes. End-tag names
//!    are checked here, not by quick-xml, so that `<Prospect>…</prospect>` is accepted and a
//!    real mismatch is reported with both names and lines.
//!
//! An element that means nothing at its place (not in the DTD, or in the DTD but somewhere
//! else) becomes an [`Extension`], as do its descendants.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset};
use quick_xml::errors::{Error as XmlError, SyntaxError};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use super::values::{self, DialingRegion};
use super::{
    Address, AddressType, AdfError, AmountLimit, AmountType, Balance, BalanceType, ColorCombination, Contact,
    DistanceUnit, DtdValue, Email, Extension, Finance, FinanceAmount, ImageTag, Lead, LeadId, LeadStatus, MAX_DEPTH,
    MAX_EXTENSIONS, MAX_WARNINGS, Name, NamePart, NameType, Odometer, OdometerStatus, Phone, PhoneTime, PhoneType,
    Price, PriceType, Street, Vehicle, VehicleInterest, VehicleOption, VehicleStatus,
};
use crate::vin::Vin;

/// Attribute names real providers misspell, and the DTD attribute each stands for. Read as
/// the intended attribute, with a warning, on any element that declares that attribute.
/// Seen in the wild: `intrest`/`interst` on `<vehicle>` (several dealer-website form
/// vendors), `staus`/`stauts`/`satus` on `<vehicle>` and `<prospect>`.
const MISSPELLED_ATTRIBUTES: [(&str, &str); 6] = [
    ("intrest", "interest"),
    ("interst", "interest"),
    ("intrested", "interest"),
    ("staus", "status"),
    ("stauts", "status"),
    ("satus", "status"),
];

pub(super) fn read(xml: &str) -> Result<Vec<Lead>, AdfError> {
    let mut document = Document::new(xml);
    match find_root(xml, &mut document)? {
        Some(root) => document.read_body(root),
        None => Err(AdfError::NoProspect),
    }
}

/// Where the root element starts, after whatever precedes it; `None` when there is no
/// element at all.
fn find_root(xml: &str, document: &mut Document<'_>) -> Result<Option<usize>, AdfError> {
    let bytes = xml.as_bytes();
    let mut at = if xml.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut stray_bytes = 0;
    loop {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let rest = &bytes[at.min(bytes.len())..];
        if rest.is_empty() {
            return Ok(None);
        }
        if rest.starts_with(b"<?") {
            let Some(end) = rest.iter().position(|&b| b == b'>') else {
                document.warn(format!(
                    "ignored an unclosed processing instruction at line {}",
                    line_column(xml, at).0
                ));
                return Ok(None);
            };
            if rest[end - 1] != b'?' || end < 3 {
                // Finding the line costs the length of the text before: not for every one of
                // thousands.
                if document.warning_kept() {
                    document.warn(format!(
                        "ignored a malformed processing instruction at line {} ({}): it does not end with \"?>\"",
                        line_column(xml, at).0,
                        excerpt(&xml[at..at + end + 1])
                    ));
                } else {
                    document.drop_warning();
                }
            }
            at += end + 1;
        } else if rest.starts_with(b"<!--") {
            let Some(end) = find(&rest[4..], b"-->") else {
                return Err(malformed(xml, at, "a comment is not closed: expected \"-->\""));
            };
            at += 4 + end + 3;
        } else if starts_with_ignore_case(rest, b"<!DOCTYPE") {
            let end = doctype_end(rest);
            if find_ignore_case(&rest[..end.unwrap_or(rest.len())], b"<!ENTITY").is_some() {
                return Err(AdfError::EntityDeclaration {
                    line: line_column(xml, at).0,
                });
            }
            let Some(end) = end else {
                return Err(malformed(xml, at, "the DOCTYPE is not closed: expected \">\""));
            };
            at += end;
        } else if rest[0] == b'<'
            && rest
                .get(1)
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
        {
            if stray_bytes > 0 {
                document.warn(format!("ignored {stray_bytes} bytes of text before the root element"));
            }
            return Ok(Some(at));
        } else {
            let skip = rest[1..]
                .iter()
                .position(|&b| b == b'<')
                .map_or(rest.len(), |next| next + 1);
            stray_bytes += skip;
            at += skip;
        }
    }
}

/// The length of a `<!DOCTYPE …>` declaration, internal subset (`[…]`) and quoted strings
/// included; `None` when it never closes.
fn doctype_end(declaration: &[u8]) -> Option<usize> {
    let mut quote = None;
    let mut depth = 0usize;
    for (index, &byte) in declaration.iter().enumerate() {
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None => match byte {
                b'"' | b'\'' => quote = Some(byte),
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'>' if depth == 0 => return Some(index + 1),
                _ => {}
            },
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// 1-based line and column (in characters) of a byte position.
fn line_column(xml: &str, position: usize) -> (usize, usize) {
    let before = &xml.as_bytes()[..position.min(xml.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before[line_start..].iter().filter(|&&b| (b & 0xC0) != 0x80).count() + 1;
    (line, column)
}

fn malformed(xml: &str, position: usize, reason: impl Into<String>) -> AdfError {
    let (line, column) = line_column(xml, position);
    AdfError::Malformed {
        line,
        column,
        position,
        reason: reason.into(),
    }
}

/// How many characters of a value or name a warning or an extension's path quotes.
const QUOTED_CHARS: usize = 60;

/// How many bytes of warnings and extensions from outside any prospect are copied into the
/// leads, in all (about: strings are counted by their length plus a little). Every lead gets
/// them while the copies fit; the first lead always does. A real document's are a few hundred
/// bytes, copied into a few dozen leads.
const SHARED_COPY_BYTES: usize = 4 << 20;

/// At most [`QUOTED_CHARS`] characters of `text`, for a warning.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// At most [`QUOTED_CHARS`] characters of a name (or a value's debug form), unquoted, for a
/// warning or a path: any number of them may quote the same long name.
fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}

/// Every element the DTD declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Adf,
    Prospect,
    Id,
    RequestDate,
    Vehicle,
    Year,
    Make,
    Model,
    Vin,
    Stock,
    Trim,
    Doors,
    BodyStyle,
    Transmission,
    Odometer,
    Condition,
    ColorCombination,
    InteriorColor,
    ExteriorColor,
    Preference,
    ImageTag,
    Price,
    PriceComments,
    OptionTag,
    OptionName,
    ManufacturerCode,
    Weighting,
    Finance,
    Method,
    Amount,
    Balance,
    Comments,
    Customer,
    Contact,
    Name,
    Email,
    Phone,
    Address,
    Street,
    Apartment,
    City,
    RegionCode,
    PostalCode,
    Country,
    Timeframe,
    Description,
    EarliestDate,
    LatestDate,
    Vendor,
    VendorName,
    Url,
    Provider,
    Service,
}

impl Element {
    /// The element `name` is, in any case.
    fn from_name(name: &str) -> Option<Self> {
        let bytes = name.as_bytes();
        if let Some(element) = Self::from_lower_case(bytes) {
            return Some(element);
        }
        let mut lower = [0u8; 16];
        if bytes.len() > lower.len() || !bytes.iter().any(u8::is_ascii_uppercase) {
            return None;
        }
        for (slot, byte) in lower.iter_mut().zip(bytes) {
            *slot = byte.to_ascii_lowercase();
        }
        Self::from_lower_case(&lower[..bytes.len()])
    }

    fn from_lower_case(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"adf" => Self::Adf,
            b"prospect" => Self::Prospect,
            b"id" => Self::Id,
            b"requestdate" => Self::RequestDate,
            b"vehicle" => Self::Vehicle,
            b"year" => Self::Year,
            b"make" => Self::Make,
            b"model" => Self::Model,
            b"vin" => Self::Vin,
            b"stock" => Self::Stock,
            b"trim" => Self::Trim,
            b"doors" => Self::Doors,
            b"bodystyle" => Self::BodyStyle,
            b"transmission" => Self::Transmission,
            b"odometer" => Self::Odometer,
            b"condition" => Self::Condition,
            b"colorcombination" => Self::ColorCombination,
            b"interiorcolor" => Self::InteriorColor,
            b"exteriorcolor" => Self::ExteriorColor,
            b"preference" => Self::Preference,
            b"imagetag" => Self::ImageTag,
            b"price" => Self::Price,
            b"pricecomments" => Self::PriceComments,
            b"option" => Self::OptionTag,
            b"optionname" => Self::OptionName,
            b"manufacturercode" => Self::ManufacturerCode,
            b"weighting" => Self::Weighting,
            b"finance" => Self::Finance,
            b"method" => Self::Method,
            b"amount" => Self::Amount,
            b"balance" => Self::Balance,
            b"comments" => Self::Comments,
            b"customer" => Self::Customer,
            b"contact" => Self::Contact,
            b"name" => Self::Name,
            b"email" => Self::Email,
            b"phone" => Self::Phone,
            b"address" => Self::Address,
            b"street" => Self::Street,
            b"apartment" => Self::Apartment,
            b"city" => Self::City,
            b"regioncode" => Self::RegionCode,
            b"postalcode" => Self::PostalCode,
            b"country" => Self::Country,
            b"timeframe" => Self::Timeframe,
            b"description" => Self::Description,
            b"earliestdate" => Self::EarliestDate,
            b"latestdate" => Self::LatestDate,
            b"vendor" => Self::Vendor,
            b"vendorname" => Self::VendorName,
            b"url" => Self::Url,
            b"provider" => Self::Provider,
            b"service" => Self::Service,
            _ => return None,
        })
    }

    /// The attributes the DTD declares for the element.
    fn attributes(self) -> &'static [&'static str] {
        match self {
            Self::Prospect => &["status"],
            Self::Vehicle => &["interest", "status"],
            Self::Odometer => &["status", "units"],
            Self::ImageTag => &["width", "height", "alttext"],
            Self::Price => &["type", "currency", "delta", "relativeto", "source"],
            Self::Amount => &["type", "limit", "currency"],
            Self::Balance => &["type", "currency"],
            Self::Name => &["part", "type"],
            Self::Email => &["preferredcontact"],
            Self::Phone => &["type", "time", "preferredcontact"],
            Self::Address => &["type"],
            Self::Street => &["line"],
            Self::Id => &["sequence", "source"],
            _ => &[],
        }
    }
}

/// Whose contact (or address) an element belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Customer,
    Vendor,
    Provider,
}

/// What an `<id>` identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdOwner {
    Prospect,
    Vehicle,
    Customer,
    Vendor,
    Provider,
}

/// An element whose text is a value of the lead, by where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id(IdOwner),
    RequestDate,
    Year,
    Make,
    Model,
    Vin,
    VehicleStock,
    Trim,
    Doors,
    BodyStyle,
    Transmission,
    Odometer,
    Condition,
    ImageTag,
    VehiclePrice,
    PriceComments,
    VehicleComments,
    InteriorColor,
    ExteriorColor,
    Preference,
    OptionName,
    ManufacturerCode,
    OptionStock,
    Weighting,
    OptionPrice,
    Method,
    Amount,
    Balance,
    CustomerComments,
    Description,
    EarliestDate,
    LatestDate,
    VendorName,
    VendorUrl,
    ProviderName,
    Service,
    ProviderUrl,
    ProviderEmail,
    ProviderPhone,
    Name(Party),
    Email(Party),
    Phone(Party),
    Street(Party),
    Apartment(Party),
    City(Party),
    RegionCode(Party),
    PostalCode(Party),
    Country(Party),
}

/// What an open element means at its place in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Adf,
    Prospect,
    Vehicle,
    ColorCombination,
    VehicleOption,
    Finance,
    Customer,
    Timeframe,
    Vendor,
    Provider,
    Contact(Party),
    Address(Party),
    Field(Field),
    /// Index into the extensions of the lead being read, or of the document outside a
    /// prospect.
    Extension(usize),
    /// An element that would be an extension, past [`MAX_EXTENSIONS`]: not kept, nor are its
    /// descendants.
    Skipped,
}

impl Node {
    /// What `element` means as a child of this node; `None` when the DTD does not put it
    /// there (it becomes an extension).
    fn child(self, element: Element) -> Option<Node> {
        use Element as E;
        let field = |field| Some(Node::Field(field));
        match (self, element) {
            (Node::Adf, E::Prospect) => Some(Node::Prospect),
            (Node::Prospect, E::Id) => field(Field::Id(IdOwner::Prospect)),
            (Node::Prospect, E::RequestDate) => field(Field::RequestDate),
            (Node::Prospect, E::Vehicle) => Some(Node::Vehicle),
            (Node::Prospect, E::Customer) => Some(Node::Customer),
            (Node::Prospect, E::Vendor) => Some(Node::Vendor),
            (Node::Prospect, E::Provider) => Some(Node::Provider),
            (Node::Vehicle, E::Id) => field(Field::Id(IdOwner::Vehicle)),
            (Node::Vehicle, E::Year) => field(Field::Year),
            (Node::Vehicle, E::Make) => field(Field::Make),
            (Node::Vehicle, E::Model) => field(Field::Model),
            (Node::Vehicle, E::Vin) => field(Field::Vin),
            (Node::Vehicle, E::Stock) => field(Field::VehicleStock),
            (Node::Vehicle, E::Trim) => field(Field::Trim),
            (Node::Vehicle, E::Doors) => field(Field::Doors),
            (Node::Vehicle, E::BodyStyle) => field(Field::BodyStyle),
            (Node::Vehicle, E::Transmission) => field(Field::Transmission),
            (Node::Vehicle, E::Odometer) => field(Field::Odometer),
            (Node::Vehicle, E::Condition) => field(Field::Condition),
            (Node::Vehicle, E::ColorCombination) => Some(Node::ColorCombination),
            (Node::Vehicle, E::ImageTag) => field(Field::ImageTag),
            (Node::Vehicle, E::Price) => field(Field::VehiclePrice),
            (Node::Vehicle, E::PriceComments) => field(Field::PriceComments),
            (Node::Vehicle, E::OptionTag) => Some(Node::VehicleOption),
            (Node::Vehicle, E::Finance) => Some(Node::Finance),
            (Node::Vehicle, E::Comments) => field(Field::VehicleComments),
            (Node::ColorCombination, E::InteriorColor) => field(Field::InteriorColor),
            (Node::ColorCombination, E::ExteriorColor) => field(Field::ExteriorColor),
            (Node::ColorCombination, E::Preference) => field(Field::Preference),
            (Node::VehicleOption, E::OptionName) => field(Field::OptionName),
            (Node::VehicleOption, E::ManufacturerCode) => field(Field::ManufacturerCode),
            (Node::VehicleOption, E::Stock) => field(Field::OptionStock),
            (Node::VehicleOption, E::Weighting) => field(Field::Weighting),
            (Node::VehicleOption, E::Price) => field(Field::OptionPrice),
            (Node::Finance, E::Method) => field(Field::Method),
            (Node::Finance, E::Amount) => field(Field::Amount),
            (Node::Finance, E::Balance) => field(Field::Balance),
            (Node::Customer, E::Contact) => Some(Node::Contact(Party::Customer)),
            (Node::Customer, E::Id) => field(Field::Id(IdOwner::Customer)),
            (Node::Customer, E::Timeframe) => Some(Node::Timeframe),
            (Node::Customer, E::Comments) => field(Field::CustomerComments),
            (Node::Timeframe, E::Description) => field(Field::Description),
            (Node::Timeframe, E::EarliestDate) => field(Field::EarliestDate),
            (Node::Timeframe, E::LatestDate) => field(Field::LatestDate),
            (Node::Vendor, E::Id) => field(Field::Id(IdOwner::Vendor)),
            (Node::Vendor, E::VendorName) => field(Field::VendorName),
            (Node::Vendor, E::Url) => field(Field::VendorUrl),
            (Node::Vendor, E::Contact) => Some(Node::Contact(Party::Vendor)),
            (Node::Provider, E::Id) => field(Field::Id(IdOwner::Provider)),
            (Node::Provider, E::Name) => field(Field::ProviderName),
            (Node::Provider, E::Service) => field(Field::Service),
            (Node::Provider, E::Url) => field(Field::ProviderUrl),
            (Node::Provider, E::Email) => field(Field::ProviderEmail),
            (Node::Provider, E::Phone) => field(Field::ProviderPhone),
            (Node::Provider, E::Contact) => Some(Node::Contact(Party::Provider)),
            (Node::Contact(party), E::Name) => field(Field::Name(party)),
            (Node::Contact(party), E::Email) => field(Field::Email(party)),
            (Node::Contact(party), E::Phone) => field(Field::Phone(party)),
            (Node::Contact(party), E::Address) => Some(Node::Address(party)),
            (Node::Address(party), E::Street) => field(Field::Street(party)),
            (Node::Address(party), E::Apartment) => field(Field::Apartment(party)),
            (Node::Address(party), E::City) => field(Field::City(party)),
            (Node::Address(party), E::RegionCode) => field(Field::RegionCode(party)),
            (Node::Address(party), E::PostalCode) => field(Field::PostalCode(party)),
            (Node::Address(party), E::Country) => field(Field::Country(party)),
            _ => None,
        }
    }

    /// Whether the element's own text is kept.
    fn keeps_text(self) -> bool {
        matches!(self, Node::Field(_) | Node::Extension(_) | Node::Timeframe)
    }
}

/// What an element's attributes said, kept until its text is read.
#[derive(Debug, Default)]
enum Pending {
    #[default]
    Nothing,
    Id {
        source: Option<String>,
        sequence: Option<String>,
    },
    Name {
        part: NamePart,
        kind: NameType,
    },
    Email {
        preferred: bool,
    },
    Phone {
        kind: PhoneType,
        time: PhoneTime,
        preferred: bool,
    },
    Price(Price),
    Odometer {
        status: Option<OdometerStatus>,
        units: Option<DistanceUnit>,
    },
    ImageTag(ImageTag),
    Amount(FinanceAmount),
    Balance(Balance),
    Street {
        line: Option<u32>,
    },
}

/// One open element.
#[derive(Debug)]
struct Frame {
    node: Node,
    /// Where its name starts in [`Document::names`] (it ends where the next frame's starts).
    name_start: usize,
    /// Where its text starts in [`Document::text`].
    text_start: usize,
    /// Byte position of its start tag, for error messages.
    position: usize,
    pending: Pending,
}

/// A lead being read, with what the DTD requires that has not been seen yet.
#[derive(Debug, Default)]
struct Draft {
    lead: Lead,
    saw_request_date: bool,
    saw_customer: bool,
    /// Warnings past [`MAX_WARNINGS`], counted.
    dropped_warnings: usize,
}

/// Why reading stopped early.
#[derive(Debug)]
enum Stop {
    Damage { position: usize, reason: String },
    TooDeep { position: usize },
    Refused(AdfError),
}

/// The attributes of a known element: the declared ones by their DTD name (held inline: an
/// element declares at most five), the others kept for an extension.
#[derive(Debug, Default)]
struct Attributes<'e> {
    declared: [Option<(&'static str, Cow<'e, str>)>; 5],
    undeclared: Vec<(String, String)>,
}

impl<'e> Attributes<'e> {
    fn get(&self, name: &str) -> Option<&str> {
        self.declared
            .iter()
            .flatten()
            .find(|(declared, _)| *declared == name)
            .map(|(_, value)| value.as_ref())
    }

    /// Keeps the first value of each declared attribute (XML forbids repeating one).
    fn declare(&mut self, name: &'static str, value: Cow<'e, str>) {
        if self.get(name).is_some() {
            return;
        }
        if let Some(slot) = self.declared.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some((name, value));
        }
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name).and_then(values::collapse_whitespace)
    }
}

struct Document<'x> {
    xml: &'x str,
    frames: Vec<Frame>,
    /// The names of the open elements, end to end.
    names: String,
    /// The text of the open elements that keep text, end to end.
    text: String,
    draft: Option<Draft>,
    leads: Vec<Lead>,
    /// Warnings and extensions outside any prospect: every lead gets them.
    warnings: Vec<String>,
    extensions: Vec<Extension>,
    /// Warnings outside any prospect past [`MAX_WARNINGS`], counted.
    dropped_warnings: usize,
    /// Extensions made in the whole document, against [`MAX_EXTENSIONS`].
    extensions_made: usize,
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("frames", &self.frames)
            .field("leads", &self.leads.len())
            .finish_non_exhaustive()
    }
}

impl<'x> Document<'x> {
    fn new(xml: &'x str) -> Self {
        Self {
            xml,
            frames: Vec::with_capacity(16),
            names: String::with_capacity(256),
            text: String::with_capacity(256),
            draft: None,
            leads: Vec::new(),
            warnings: Vec::new(),
            extensions: Vec::new(),
            dropped_warnings: 0,
            extensions_made: 0,
        }
    }

    fn read_body(mut self, root: usize) -> Result<Vec<Lead>, AdfError> {
        let mut reader = Reader::from_str(&self.xml[root..]);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
        config.expand_empty_elements = false;
        let offset = |position: u64| root.saturating_add(usize::try_from(position).unwrap_or(usize::MAX));
        loop {
            let position = offset(reader.buffer_position());
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(error) => {
                    let position = offset(reader.error_position());
                    let reason = self.describe_xml_error(&error);
                    return self.stopped(Stop::Damage { position, reason });
                }
            };
            let step = match event {
                Event::Start(start) => self.open(&start, position),
                Event::Empty(start) => self.open(&start, position).and_then(|()| self.close_top()),
                Event::End(end) => self.close(end.name().0, position),
                Event::Text(text) => {
                    if self.keeps_text() {
                        if text.contains('\r') {
                            self.text.push_str(&text.xml10_content());
                        } else {
                            self.text.push_str(&text);
                        }
                    }
                    Ok(())
                }
                Event::CData(data) => {
                    if self.keeps_text() {
                        self.text.push_str(&data.xml10_content());
                    }
                    Ok(())
                }
                Event::GeneralRef(reference) => {
                    self.reference(&reference);
                    Ok(())
                }
                Event::DocType(doctype) => self.doctype(doctype.as_ref(), position),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => Ok(()),
                Event::Eof => match self.frames.last() {
                    Some(frame) => {
                        let name = clip(self.frame_name(self.frames.len() - 1));
                        let reason = format!(
                            "the document ends inside <{name}> (opened at line {}): expected </{name}>",
                            line_column(self.xml, frame.position).0
                        );
                        Err(Stop::Damage { position, reason })
                    }
                    None => break,
                },
            };
            if let Err(stop) = step {
                return self.stopped(stop);
            }
            if self.frames.is_empty() {
                // The root element is closed; anything after it (a mail signature) is not ours.
                break;
            }
        }
        self.finish()
    }

    /// Ends the reading at damage: an error when no complete lead came before it, else the
    /// complete leads, each told about the damage.
    fn stopped(mut self, stop: Stop) -> Result<Vec<Lead>, AdfError> {
        let (position, reason) = match stop {
            Stop::Refused(error) => return Err(error),
            Stop::TooDeep { position } if self.leads.is_empty() => {
                let (line, column) = line_column(self.xml, position);
                return Err(AdfError::TooDeep {
                    limit: MAX_DEPTH,
                    line,
                    column,
                    position,
                });
            }
            Stop::TooDeep { position } => (position, format!("elements nest deeper than {MAX_DEPTH} levels")),
            Stop::Damage { position, reason } if self.leads.is_empty() => {
                return Err(malformed(self.xml, position, reason));
            }
            Stop::Damage { position, reason } => (position, reason),
        };
        let (line, column) = line_column(self.xml, position);
        let dropped = if self.draft.take().is_some() {
            "; the <prospect> it interrupts was dropped"
        } else {
            ""
        };
        self.warnings.push(format!(
            "the document is damaged at line {line}, column {column} (byte {position}): {reason}; \
             the {} complete lead(s) before the damage were kept{dropped}",
            self.leads.len()
        ));
        self.finish()
    }

    fn finish(self) -> Result<Vec<Lead>, AdfError> {
        let Self {
            mut leads,
            mut warnings,
            extensions,
            dropped_warnings,
            ..
        } = self;
        if leads.is_empty() {
            return Err(AdfError::NoProspect);
        }
        if dropped_warnings > 0 {
            warnings.push(more_warnings(dropped_warnings));
        }
        if warnings.is_empty() && extensions.is_empty() {
            return Ok(leads);
        }
        // Copied into every lead, but not without bound: a document's worth of them times a
        // document's worth of leads would be quadratic.
        let shared = warnings.iter().map(|warning| warning.len() + 24).sum::<usize>()
            + extensions.iter().map(extension_bytes).sum::<usize>();
        let mut budget = SHARED_COPY_BYTES.max(shared);
        for lead in &mut leads {
            if shared > budget {
                lead.warnings.push(format!(
                    "the {} warning(s) and {} extension(s) from outside any <prospect> were not copied into this lead: \
                     at {shared} bytes they are too large to copy into every lead (the first lead has them)",
                    warnings.len(),
                    extensions.len()
                ));
                continue;
            }
            budget -= shared;
            lead.warnings.extend(warnings.iter().cloned());
            lead.extensions.extend(extensions.iter().cloned());
        }
        Ok(leads)
    }

    fn describe_xml_error(&self, error: &XmlError) -> String {
        let what = match error {
            XmlError::Syntax(SyntaxError::UnclosedTag) => "a tag is not closed: expected \">\"".to_owned(),
            XmlError::Syntax(SyntaxError::UnclosedComment) => "a comment is not closed: expected \"-->\"".to_owned(),
            XmlError::Syntax(SyntaxError::UnclosedCData) => {
                "a CDATA section is not closed: expected \"]]>\"".to_owned()
            }
            XmlError::Syntax(SyntaxError::UnclosedPI | SyntaxError::UnclosedXmlDecl) => {
                "a processing instruction is not closed: expected \"?>\"".to_owned()
            }
            XmlError::Syntax(SyntaxError::UnclosedDoctype) => "a DOCTYPE is not closed: expected \">\"".to_owned(),
            XmlError::Syntax(
                SyntaxError::UnclosedSingleQuotedAttributeValue | SyntaxError::UnclosedDoubleQuotedAttributeValue,
            ) => "an attribute value is not closed: expected a closing quote and \">\"".to_owned(),
            XmlError::Syntax(SyntaxError::InvalidBangMarkup) => {
                "\"<!\" starts neither a comment, a CDATA section nor a DOCTYPE".to_owned()
            }
            other => other.to_string(),
        };
        match self.frames.last() {
            Some(_) => format!("{what} (inside <{}>)", clip(self.frame_name(self.frames.len() - 1))),
            None => what,
        }
    }

    fn doctype(&mut self, doctype: &str, position: usize) -> Result<(), Stop> {
        if find_ignore_case(doctype.as_bytes(), b"<!ENTITY").is_some() {
            return Err(Stop::Refused(AdfError::EntityDeclaration {
                line: line_column(self.xml, position).0,
            }));
        }
        // Finding the line costs the length of the text before: not for every one of thousands.
        if self.warning_kept() {
            self.warn(format!(
                "ignored a DOCTYPE inside the document at line {}",
                line_column(self.xml, position).0
            ));
        } else {
            self.drop_warning();
        }
        Ok(())
    }

    fn keeps_text(&self) -> bool {
        self.frames.last().is_some_and(|frame| frame.node.keeps_text())
    }

    fn frame_name(&self, index: usize) -> &str {
        let Some(frame) = self.frames.get(index) else {
            return "";
        };
        let end = self
            .frames
            .get(index + 1)
            .map_or(self.names.len(), |next| next.name_start);
        self.names.get(frame.name_start..end).unwrap_or("")
    }

    /// The names of the open elements, joined with `/`.
    fn path(&self) -> String {
        let mut path = String::with_capacity(self.names.len() + self.frames.len());
        for index in 0..self.frames.len() {
            if index > 0 {
                path.push('/');
            }
            path.push_str(&clip(self.frame_name(index)));
        }
        path
    }

    /// Keeps a warning on the lead being read (outside a prospect, for every lead), unless it
    /// has [`MAX_WARNINGS`] already: then it is only counted.
    fn warn(&mut self, message: String) {
        let (warnings, dropped) = self.warnings_mut();
        if warnings.len() < MAX_WARNINGS {
            warnings.push(message);
        } else {
            *dropped += 1;
        }
    }

    /// Counts a warning that is not written (there are [`MAX_WARNINGS`] already).
    fn drop_warning(&mut self) {
        *self.warnings_mut().1 += 1;
    }

    fn warnings_mut(&mut self) -> (&mut Vec<String>, &mut usize) {
        match &mut self.draft {
            Some(draft) => (&mut draft.lead.warnings, &mut draft.dropped_warnings),
            None => (&mut self.warnings, &mut self.dropped_warnings),
        }
    }

    /// Whether [`warn`](Self::warn) would keep a warning, for the callers whose message costs
    /// more to write than its length.
    fn warning_kept(&self) -> bool {
        let kept = match &self.draft {
            Some(draft) => draft.lead.warnings.len(),
            None => self.warnings.len(),
        };
        kept < MAX_WARNINGS
    }

    /// Counts one more extension against [`MAX_EXTENSIONS`]; false (with a warning the first
    /// time) when there is no room for it.
    fn take_extension(&mut self) -> bool {
        if self.extensions_made < MAX_EXTENSIONS {
            self.extensions_made += 1;
            return true;
        }
        if self.extensions_made == MAX_EXTENSIONS {
            self.extensions_made += 1;
            self.warn(format!(
                "more than {MAX_EXTENSIONS} elements or attribute sets the DTD does not declare: the rest were not kept"
            ));
        }
        false
    }

    fn extensions_mut(&mut self) -> &mut Vec<Extension> {
        match &mut self.draft {
            Some(draft) => &mut draft.lead.extensions,
            None => &mut self.extensions,
        }
    }

    fn open(&mut self, start: &BytesStart<'_>, position: usize) -> Result<(), Stop> {
        if self.frames.len() >= MAX_DEPTH {
            return Err(Stop::TooDeep { position });
        }
        let name = start.name().0;
        let element = Element::from_name(name);
        let node = match self.frames.last() {
            None if element == Some(Element::Adf) => Some(Node::Adf),
            None => return Err(Stop::Refused(AdfError::NoProspect)),
            Some(parent) => element.and_then(|element| parent.node.child(element)),
        };
        self.frames.push(Frame {
            node: Node::Adf,
            name_start: self.names.len(),
            text_start: self.text.len(),
            position,
            pending: Pending::Nothing,
        });
        self.names.push_str(name);
        let (node, pending) = match (node, element) {
            (Some(node), Some(element)) => self.begin(node, element, start),
            _ => (self.begin_extension(start), Pending::Nothing),
        };
        if let Some(frame) = self.frames.last_mut() {
            frame.node = node;
            frame.pending = pending;
        }
        Ok(())
    }

    fn close(&mut self, name: &str, position: usize) -> Result<(), Stop> {
        let Some(frame) = self.frames.last() else {
            return Ok(());
        };
        let open = self.frame_name(self.frames.len() - 1);
        if !open.eq_ignore_ascii_case(name) {
            let reason = format!(
                "expected </{}> (opened at line {}), found </{}>",
                clip(open),
                line_column(self.xml, frame.position).0,
                clip(name)
            );
            return Err(Stop::Damage { position, reason });
        }
        self.close_top()
    }

    fn close_top(&mut self) -> Result<(), Stop> {
        let Some(frame) = self.frames.pop() else {
            return Ok(());
        };
        let text = std::mem::take(&mut self.text);
        let own_text = text.get(frame.text_start..).unwrap_or("");
        self.end(frame.node, frame.pending, own_text);
        self.text = text;
        self.text.truncate(frame.text_start);
        self.names.truncate(frame.name_start);
        Ok(())
    }

    fn reference(&mut self, reference: &BytesRef<'_>) {
        if !self.keeps_text() {
            return;
        }
        let name: &str = reference.as_ref();
        match resolve_reference(name) {
            Some(Resolved::Char(c)) => self.text.push(c),
            Some(Resolved::Text(text)) => self.text.push_str(text),
            None => {
                let element = clip(self.frame_name(self.frames.len().saturating_sub(1))).into_owned();
                self.warn(format!(
                    "undefined entity &{}; in <{element}> kept as written",
                    clip(name)
                ));
                self.text.push('&');
                self.text.push_str(name);
                self.text.push(';');
            }
        }
    }

    /// Unescapes an attribute value: the five predefined entities and character references
    /// are decoded; an undefined entity is kept as written, with a warning.
    fn attribute_value<'v>(&mut self, raw: Cow<'v, str>, element: &str, attribute: &str) -> Cow<'v, str> {
        if !raw.contains('&') {
            return raw;
        }
        let mut value = String::with_capacity(raw.len());
        let mut rest: &str = &raw;
        while let Some(amp) = rest.find('&') {
            value.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let name_end = after
                .find(';')
                .filter(|&end| end > 0 && end <= 32 && !after[..end].contains(['&', ' ', '<', '"', '\'']));
            match name_end {
                Some(end) => {
                    let name = &after[..end];
                    match resolve_reference(name) {
                        Some(Resolved::Char(c)) => value.push(c),
                        Some(Resolved::Text(text)) => value.push_str(text),
                        None => {
                            self.warn(format!(
                                "undefined entity &{name}; in attribute {} of <{}> kept as written",
                                clip(attribute),
                                clip(element)
                            ));
                            value.push('&');
                            value.push_str(name);
                            value.push(';');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    value.push('&');
                    rest = after;
                }
            }
        }
        value.push_str(rest);
        Cow::Owned(value)
    }

    /// The attributes of a known element, each under its DTD name when it has one
    /// (matched in any case, misspellings of [`MISSPELLED_ATTRIBUTES`] with a warning).
    fn attributes<'e>(&mut self, element: Element, start: &'e BytesStart<'_>) -> Attributes<'e> {
        let mut attributes = Attributes::default();
        if start.attributes_raw().trim_ascii().is_empty() {
            return attributes;
        }
        let declared = element.attributes();
        let element_name = start.name().0;
        let mut iterator = start.html_attributes();
        iterator.with_checks(false);
        for attribute in iterator {
            let attribute = match attribute {
                Ok(attribute) => attribute,
                Err(error) => {
                    self.warn(format!(
                        "could not read the attributes of <{element_name}> ({error}); the rest of them were ignored"
                    ));
                    break;
                }
            };
            let key = attribute.key.0;
            if key.eq_ignore_ascii_case("xmlns") || starts_with_ignore_case(key.as_bytes(), b"xmlns:") {
                continue;
            }
            let value = self.attribute_value(attribute.value, element_name, key);
            if let Some(name) = declared.iter().copied().find(|name| key.eq_ignore_ascii_case(name)) {
                attributes.declare(name, value);
            } else if let Some((_, name)) = MISSPELLED_ATTRIBUTES
                .iter()
                .copied()
                .find(|(wrong, right)| key.eq_ignore_ascii_case(wrong) && declared.contains(right))
            {
                self.warn(format!(
                    "<{element_name} {key}=\"{value}\">: read the misspelled attribute \"{key}\" as \"{name}\""
                ));
                attributes.declare(name, value);
            } else {
                attributes.undeclared.push((key.to_owned(), value.into_owned()));
            }
        }
        attributes
    }

    /// An enumerated attribute with a default: absent → the default; empty or unknown → the
    /// default with a warning naming the element, the attribute and the value.
    fn enumerated<T: DtdValue>(&mut self, element: &str, attribute: &str, value: Option<&str>, default: T) -> T {
        let Some(value) = value else {
            return default;
        };
        if let Some(parsed) = T::parse_value(value) {
            return parsed;
        }
        let problem = Self::enumeration_problem::<T>(value);
        self.warn(format!(
            "<{element} {attribute}=\"{value}\">: {problem}; read as the default, \"{}\"",
            default.spelling()
        ));
        default
    }

    /// An enumerated attribute without a default (`#IMPLIED`): absent → `None`; empty or
    /// unknown → `None` with a warning.
    fn implied<T: DtdValue>(&mut self, element: &str, attribute: &str, value: Option<&str>) -> Option<T> {
        let value = value?;
        let parsed = T::parse_value(value);
        if parsed.is_none() {
            let problem = Self::enumeration_problem::<T>(value);
            self.warn(format!("<{element} {attribute}=\"{value}\">: {problem}; ignored"));
        }
        parsed
    }

    fn enumeration_problem<T: DtdValue>(value: &str) -> String {
        if value.trim().is_empty() {
            return "empty".to_owned();
        }
        let choices: Vec<&str> = T::all().iter().map(|choice| choice.spelling()).collect();
        format!("not one of {}", choices.join(", "))
    }

    fn flag(&mut self, element: &str, attribute: &str, value: Option<&str>) -> bool {
        let Some(value) = value else {
            return false;
        };
        values::parse_flag(value).unwrap_or_else(|| {
            self.warn(format!(
                "<{element} {attribute}=\"{value}\">: not 0 or 1; read as the default, \"0\""
            ));
            false
        })
    }

    fn number_attribute(&mut self, element: &str, attribute: &str, value: Option<&str>) -> Option<u32> {
        let value = value?;
        let parsed = values::parse_count(value);
        if parsed.is_none() {
            self.warn(format!("<{element} {attribute}=\"{value}\">: not a number; ignored"));
        }
        parsed
    }

    /// An unknown or misplaced element: an extension with all its attributes (none past
    /// [`MAX_EXTENSIONS`]).
    fn begin_extension(&mut self, start: &BytesStart<'_>) -> Node {
        if !self.take_extension() {
            return Node::Skipped;
        }
        let element_name = start.name().0;
        let mut attributes = BTreeMap::new();
        let mut iterator = start.html_attributes();
        iterator.with_checks(false);
        for attribute in iterator {
            let Ok(attribute) = attribute else {
                self.warn(format!(
                    "could not read the attributes of <{}>; the rest of them were ignored",
                    clip(element_name)
                ));
                break;
            };
            let key = attribute.key.0;
            let value = self.attribute_value(attribute.value, element_name, key);
            attributes.insert(key.to_owned(), value.into_owned());
        }
        let extension = Extension {
            path: self.path(),
            attributes,
            text: None,
        };
        let extensions = self.extensions_mut();
        extensions.push(extension);
        Node::Extension(extensions.len() - 1)
    }

    /// Starts a known element: reads its attributes, creates the part of the lead it fills,
    /// and returns what its text will need.
    fn begin(&mut self, node: Node, element: Element, start: &BytesStart<'_>) -> (Node, Pending) {
        let attributes = self.attributes(element, start);
        if !attributes.undeclared.is_empty() && self.take_extension() {
            let extension = Extension {
                path: self.path(),
                attributes: attributes.undeclared.iter().cloned().collect(),
                text: None,
            };
            self.extensions_mut().push(extension);
        }
        let name = start.name().0;
        let pending = match node {
            Node::Prospect => {
                let status = self.enumerated(name, "status", attributes.get("status"), LeadStatus::New);
                self.draft = Some(Draft {
                    lead: Lead {
                        status,
                        ..Lead::default()
                    },
                    ..Draft::default()
                });
                Pending::Nothing
            }
            Node::Vehicle => {
                let interest = self.enumerated(name, "interest", attributes.get("interest"), VehicleInterest::Buy);
                let status = self.enumerated(name, "status", attributes.get("status"), VehicleStatus::New);
                if let Some(lead) = self.lead() {
                    lead.vehicles.push(Vehicle {
                        interest,
                        status,
                        ..Vehicle::default()
                    });
                }
                Pending::Nothing
            }
            Node::ColorCombination => {
                if let Some(vehicle) = self.vehicle() {
                    vehicle.color_combinations.push(ColorCombination::default());
                }
                Pending::Nothing
            }
            Node::VehicleOption => {
                if let Some(vehicle) = self.vehicle() {
                    vehicle.options.push(VehicleOption::default());
                }
                Pending::Nothing
            }
            Node::Finance => {
                if let Some(vehicle) = self.vehicle() {
                    vehicle.finance.get_or_insert_default();
                }
                Pending::Nothing
            }
            Node::Customer => {
                if let Some(draft) = &mut self.draft {
                    draft.saw_customer = true;
                }
                Pending::Nothing
            }
            Node::Timeframe => {
                if let Some(lead) = self.lead() {
                    lead.customer.timeframe.get_or_insert_default();
                }
                Pending::Nothing
            }
            Node::Vendor => {
                if let Some(lead) = self.lead() {
                    lead.vendor.get_or_insert_default();
                }
                Pending::Nothing
            }
            Node::Provider => {
                if let Some(lead) = self.lead() {
                    lead.provider.get_or_insert_default();
                }
                Pending::Nothing
            }
            Node::Contact(party) => {
                let _created = self.contact(party);
                Pending::Nothing
            }
            Node::Address(party) => {
                let kind = self.implied::<AddressType>(name, "type", attributes.get("type"));
                if let Some(contact) = self.contact(party) {
                    contact.address.get_or_insert_default().kind = kind;
                }
                Pending::Nothing
            }
            Node::Field(field) => self.pending(field, name, &attributes),
            Node::Adf | Node::Extension(_) | Node::Skipped => Pending::Nothing,
        };
        (node, pending)
    }

    fn pending(&mut self, field: Field, name: &str, attributes: &Attributes<'_>) -> Pending {
        match field {
            Field::Id(_) => Pending::Id {
                source: attributes.owned("source"),
                sequence: attributes.owned("sequence"),
            },
            Field::Name(_) => Pending::Name {
                part: self.enumerated(name, "part", attributes.get("part"), NamePart::Full),
                kind: self.enumerated(name, "type", attributes.get("type"), NameType::Individual),
            },
            Field::Email(_) | Field::ProviderEmail => Pending::Email {
                preferred: self.flag(name, "preferredcontact", attributes.get("preferredcontact")),
            },
            Field::Phone(_) | Field::ProviderPhone => Pending::Phone {
                kind: self.enumerated(name, "type", attributes.get("type"), PhoneType::Voice),
                time: self.enumerated(name, "time", attributes.get("time"), PhoneTime::NoPreference),
                preferred: self.flag(name, "preferredcontact", attributes.get("preferredcontact")),
            },
            Field::VehiclePrice | Field::OptionPrice => Pending::Price(Price {
                amount: None,
                currency: attributes.owned("currency").map(|currency| upper_case(&currency)),
                kind: self.enumerated(name, "type", attributes.get("type"), PriceType::Quote),
                delta: self.implied(name, "delta", attributes.get("delta")),
                relative_to: self.implied(name, "relativeto", attributes.get("relativeto")),
                source: attributes.owned("source"),
            }),
            Field::Odometer => {
                let written = attributes.get("units");
                let units = match written.and_then(unit_alias) {
                    Some(units) => Some(units),
                    None => self.implied(name, "units", written),
                };
                Pending::Odometer {
                    status: self.implied(name, "status", attributes.get("status")),
                    units,
                }
            }
            Field::ImageTag => Pending::ImageTag(ImageTag {
                url: None,
                width: self.number_attribute(name, "width", attributes.get("width")),
                height: self.number_attribute(name, "height", attributes.get("height")),
                alt_text: attributes.owned("alttext"),
            }),
            Field::Amount => Pending::Amount(FinanceAmount {
                amount: None,
                kind: self.enumerated(name, "type", attributes.get("type"), AmountType::Total),
                limit: self.enumerated(name, "limit", attributes.get("limit"), AmountLimit::Maximum),
                currency: attributes.owned("currency").map(|currency| upper_case(&currency)),
            }),
            Field::Balance => Pending::Balance(Balance {
                amount: None,
                kind: self.enumerated(name, "type", attributes.get("type"), BalanceType::Finance),
                currency: attributes.owned("currency").map(|currency| upper_case(&currency)),
            }),
            Field::Street(_) => Pending::Street {
                line: self.number_attribute(name, "line", attributes.get("line")),
            },
            _ => Pending::Nothing,
        }
    }

    /// Ends an element: stores its value, or finishes the part of the lead it built.
    fn end(&mut self, node: Node, pending: Pending, text: &str) {
        match node {
            Node::Field(field) => self.field(field, pending, text),
            Node::Extension(index) => {
                let text = values::clean_text(text);
                if let Some(extension) = self.extensions_mut().get_mut(index) {
                    extension.text = text;
                }
            }
            Node::Timeframe => {
                // The DTD declares <timeframe> as #PCDATA; some providers write the
                // description as its text.
                if let Some(description) = values::collapse_whitespace(text)
                    && let Some(timeframe) = self.lead().and_then(|lead| lead.customer.timeframe.as_mut())
                {
                    timeframe.description.get_or_insert(description);
                }
            }
            Node::Prospect => self.finish_prospect(),
            // Their phones and street lines are finished with the prospect: an element may come
            // again (a second <contact> adds to the first), and finishing everything at each
            // close would be quadratic.
            Node::Contact(_)
            | Node::Address(_)
            | Node::Provider
            | Node::Adf
            | Node::Vehicle
            | Node::ColorCombination
            | Node::VehicleOption
            | Node::Finance
            | Node::Customer
            | Node::Vendor
            | Node::Skipped => {}
        }
    }

    fn finish_prospect(&mut self) {
        self.finish_contacts();
        let Some(Draft {
            mut lead,
            saw_request_date,
            saw_customer,
            dropped_warnings,
        }) = self.draft.take()
        else {
            return;
        };
        if dropped_warnings > 0 {
            lead.warnings.push(more_warnings(dropped_warnings));
        }
        if !saw_request_date {
            lead.warnings.push("the prospect has no <requestdate>".to_owned());
        }
        if lead.vehicles.is_empty() {
            lead.warnings.push("the prospect has no <vehicle>".to_owned());
        }
        let contact = &lead.customer.contact;
        if !saw_customer {
            lead.warnings.push("the prospect has no <customer>".to_owned());
        } else if contact.names.is_empty() {
            lead.warnings.push("the customer has no <name>".to_owned());
        }
        if saw_customer && contact.emails.is_empty() && contact.phones.is_empty() {
            lead.warnings
                .push("the customer has neither a valid <email> nor a <phone>".to_owned());
        }
        self.leads.push(lead);
    }

    fn lead(&mut self) -> Option<&mut Lead> {
        self.draft.as_mut().map(|draft| &mut draft.lead)
    }

    fn vehicle(&mut self) -> Option<&mut Vehicle> {
        self.lead().and_then(|lead| lead.vehicles.last_mut())
    }

    fn contact(&mut self, party: Party) -> Option<&mut Contact> {
        let lead = self.lead()?;
        Some(match party {
            Party::Customer => &mut lead.customer.contact,
            Party::Vendor => lead.vendor.get_or_insert_default().contact.get_or_insert_default(),
            Party::Provider => lead.provider.get_or_insert_default().contact.get_or_insert_default(),
        })
    }

    fn address(&mut self, party: Party) -> Option<&mut Address> {
        self.contact(party)
            .map(|contact| contact.address.get_or_insert_default())
    }

    /// Puts `value` in the slot `slot` picks, unless the slot already holds a value (the DTD
    /// allows one): then the first is kept and a differing second is reported.
    fn fill<T: PartialEq + fmt::Debug>(
        &mut self,
        element: &str,
        value: Option<T>,
        slot: impl FnOnce(&mut Lead) -> Option<&mut Option<T>>,
    ) {
        let Some(value) = value else {
            return;
        };
        // The first value is quoted again for every second one: written only when kept.
        let warning_kept = self.warning_kept();
        let Some(slot) = self.lead().and_then(slot) else {
            return;
        };
        let conflict = match slot {
            None => {
                *slot = Some(value);
                None
            }
            Some(existing) if *existing == value => None,
            Some(existing) => Some(warning_kept.then(|| {
                format!(
                    "a second <{element}> ({}) was ignored; kept the first ({})",
                    clip(&format!("{value:?}")),
                    clip(&format!("{existing:?}"))
                )
            })),
        };
        match conflict {
            Some(Some(message)) => self.warn(message),
            Some(None) => self.drop_warning(),
            None => {}
        }
    }

    fn date(&mut self, element: &str, raw: &str) -> Option<DateTime<FixedOffset>> {
        let text = raw.trim();
        if text.is_empty() {
            return None;
        }
        match values::parse_timestamp(text) {
            Some(parsed) => {
                if parsed.had_time && !parsed.had_zone {
                    self.warn(format!("<{element}> {text:?} has no time zone; read as UTC"));
                }
                Some(parsed.at)
            }
            None => {
                self.warn(format!("<{element}> {} is not a date; left empty", excerpt(text)));
                None
            }
        }
    }

    fn amount(&mut self, element: &str, raw: &str, quiet: bool) -> Option<f64> {
        let text = raw.trim();
        if text.is_empty() {
            return None;
        }
        match values::parse_amount(text) {
            Ok(amount) => Some(amount),
            Err(error) => {
                if !quiet {
                    self.warn(format!("<{element}> {} {error}; left empty", excerpt(text)));
                }
                None
            }
        }
    }

    fn price(&mut self, pending: Pending, element: &str, raw: &str) -> Option<Price> {
        let mut price = match pending {
            Pending::Price(price) => price,
            _ => Price::default(),
        };
        // "Call for price" is what a price of type "call" says.
        price.amount = self.amount(element, raw, price.kind == PriceType::Call);
        Some(price)
    }

    fn field(&mut self, field: Field, pending: Pending, raw: &str) {
        let element = field.element_name();
        let line = || values::collapse_whitespace(raw);
        match field {
            Field::Id(owner) => {
                let (source, sequence) = match pending {
                    Pending::Id { source, sequence } => (source, sequence),
                    _ => (None, None),
                };
                let Some(value) = line() else { return };
                let id = LeadId {
                    value,
                    source,
                    sequence,
                };
                let Some(lead) = self.lead() else { return };
                let ids = match owner {
                    IdOwner::Prospect => Some(&mut lead.ids),
                    IdOwner::Vehicle => lead.vehicles.last_mut().map(|vehicle| &mut vehicle.ids),
                    IdOwner::Customer => Some(&mut lead.customer.ids),
                    IdOwner::Vendor => lead.vendor.as_mut().map(|vendor| &mut vendor.ids),
                    IdOwner::Provider => lead.provider.as_mut().map(|provider| &mut provider.ids),
                };
                if let Some(ids) = ids {
                    ids.push(id);
                }
            }
            Field::RequestDate => {
                if let Some(draft) = &mut self.draft {
                    draft.saw_request_date = true;
                }
                if raw.trim().is_empty() {
                    self.warn("<requestdate> is empty".to_owned());
                }
                let date = self.date(element, raw);
                self.fill(element, date, |lead| Some(&mut lead.request_date));
            }
            Field::Year => {
                let text = raw.trim();
                if text.is_empty() {
                    return;
                }
                let year = match crate::feed::values::parse_year(text) {
                    Ok(year) => Some(year),
                    Err(error) => {
                        self.warn(format!("<year> {} {error}; left empty", excerpt(text)));
                        None
                    }
                };
                self.fill(element, year, |lead| lead.vehicles.last_mut().map(|v| &mut v.year));
            }
            Field::Make => self.fill(element, line(), |lead| lead.vehicles.last_mut().map(|v| &mut v.make)),
            Field::Model => self.fill(element, line(), |lead| lead.vehicles.last_mut().map(|v| &mut v.model)),
            Field::Vin => {
                let Some(vin) = line().map(|vin| upper_case(&vin)) else {
                    return;
                };
                if let Err(error) = Vin::parse(&vin) {
                    self.warn(format!("<vin> {vin:?} is not a valid VIN ({error}); kept as given"));
                }
                self.fill(element, Some(vin), |lead| lead.vehicles.last_mut().map(|v| &mut v.vin));
            }
            Field::VehicleStock => self.fill(element, line(), |lead| lead.vehicles.last_mut().map(|v| &mut v.stock)),
            Field::Trim => self.fill(element, line(), |lead| lead.vehicles.last_mut().map(|v| &mut v.trim)),
            Field::Doors => {
                let Some(text) = line() else { return };
                let doors = values::parse_count(&text).and_then(|doors| u8::try_from(doors).ok());
                if doors.is_none() {
                    self.warn(format!(
                        "<doors> {} is not a number of doors; left empty",
                        excerpt(&text)
                    ));
                }
                self.fill(element, doors, |lead| lead.vehicles.last_mut().map(|v| &mut v.doors));
            }
            Field::BodyStyle => {
                self.fill(element, line(), |lead| {
                    lead.vehicles.last_mut().map(|v| &mut v.body_style)
                });
            }
            Field::Transmission => {
                self.fill(element, line(), |lead| {
                    lead.vehicles.last_mut().map(|v| &mut v.transmission)
                });
            }
            Field::Odometer => {
                let (status, units) = match pending {
                    Pending::Odometer { status, units } => (status, units),
                    _ => (None, None),
                };
                let text = raw.trim();
                let (value, written_unit) = if text.is_empty() {
                    (None, None)
                } else {
                    match values::parse_distance(text) {
                        Ok((value, unit)) => (Some(value), unit),
                        Err(error) => {
                            self.warn(format!("<odometer> {} {error}; left empty", excerpt(text)));
                            (None, None)
                        }
                    }
                };
                let odometer = Odometer {
                    value,
                    units: units.or(written_unit),
                    status,
                };
                self.fill(element, Some(odometer), |lead| {
                    lead.vehicles.last_mut().map(|v| &mut v.odometer)
                });
            }
            Field::Condition => {
                self.fill(element, line(), |lead| {
                    lead.vehicles.last_mut().map(|v| &mut v.condition)
                });
            }
            Field::ImageTag => {
                let mut image = match pending {
                    Pending::ImageTag(image) => image,
                    _ => ImageTag::default(),
                };
                image.url = line();
                self.fill(element, Some(image), |lead| {
                    lead.vehicles.last_mut().map(|v| &mut v.image_tag)
                });
            }
            Field::VehiclePrice => {
                let price = self.price(pending, element, raw);
                self.fill(element, price, |lead| lead.vehicles.last_mut().map(|v| &mut v.price));
            }
            Field::PriceComments => {
                let text = values::clean_text(raw);
                self.fill(element, text, |lead| {
                    lead.vehicles.last_mut().map(|v| &mut v.price_comments)
                });
            }
            Field::VehicleComments => {
                let text = values::clean_text(raw);
                self.fill(element, text, |lead| lead.vehicles.last_mut().map(|v| &mut v.comments));
            }
            Field::InteriorColor => self.fill(element, line(), |lead| {
                color_combination(lead).map(|colors| &mut colors.interior_color)
            }),
            Field::ExteriorColor => self.fill(element, line(), |lead| {
                color_combination(lead).map(|colors| &mut colors.exterior_color)
            }),
            Field::Preference => {
                let Some(text) = line() else { return };
                let preference = values::parse_count(&text);
                if preference.is_none() {
                    self.warn(format!("<preference> {} is not a number; left empty", excerpt(&text)));
                }
                self.fill(element, preference, |lead| {
                    color_combination(lead).map(|colors| &mut colors.preference)
                });
            }
            Field::OptionName => self.fill(element, line(), |lead| option(lead).map(|o| &mut o.name)),
            Field::ManufacturerCode => {
                self.fill(element, line(), |lead| option(lead).map(|o| &mut o.manufacturer_code));
            }
            Field::OptionStock => self.fill(element, line(), |lead| option(lead).map(|o| &mut o.stock)),
            Field::Weighting => {
                let Some(text) = line() else { return };
                let weighting = values::parse_integer(&text);
                if weighting.is_none() {
                    self.warn(format!("<weighting> {} is not a number; left empty", excerpt(&text)));
                }
                self.fill(element, weighting, |lead| option(lead).map(|o| &mut o.weighting));
            }
            Field::OptionPrice => {
                let price = self.price(pending, element, raw);
                self.fill(element, price, |lead| option(lead).map(|o| &mut o.price));
            }
            Field::Method => {
                let method = line().map(|method| {
                    if method.is_ascii() {
                        method.to_ascii_lowercase()
                    } else {
                        method.to_lowercase()
                    }
                });
                self.fill(element, method, |lead| finance(lead).map(|f| &mut f.method));
            }
            Field::Amount => {
                let mut amount = match pending {
                    Pending::Amount(amount) => amount,
                    _ => FinanceAmount::default(),
                };
                amount.amount = self.amount(element, raw, false);
                if let Some(finance) = self.lead().and_then(finance) {
                    finance.amounts.push(amount);
                }
            }
            Field::Balance => {
                let mut balance = match pending {
                    Pending::Balance(balance) => balance,
                    _ => Balance::default(),
                };
                balance.amount = self.amount(element, raw, false);
                self.fill(element, Some(balance), |lead| finance(lead).map(|f| &mut f.balance));
            }
            Field::CustomerComments => {
                let text = values::clean_text(raw);
                self.fill(element, text, |lead| Some(&mut lead.customer.comments));
            }
            Field::Description => self.fill(element, line(), |lead| {
                lead.customer.timeframe.as_mut().map(|t| &mut t.description)
            }),
            Field::EarliestDate => {
                let date = self.date(element, raw);
                self.fill(element, date, |lead| {
                    lead.customer.timeframe.as_mut().map(|t| &mut t.earliest_date)
                });
            }
            Field::LatestDate => {
                let date = self.date(element, raw);
                self.fill(element, date, |lead| {
                    lead.customer.timeframe.as_mut().map(|t| &mut t.latest_date)
                });
            }
            Field::VendorName => self.fill(element, line(), |lead| lead.vendor.as_mut().map(|v| &mut v.name)),
            Field::VendorUrl => self.fill(element, line(), |lead| lead.vendor.as_mut().map(|v| &mut v.url)),
            Field::ProviderName => self.fill(element, line(), |lead| lead.provider.as_mut().map(|p| &mut p.name)),
            Field::Service => self.fill(element, line(), |lead| lead.provider.as_mut().map(|p| &mut p.service)),
            Field::ProviderUrl => self.fill(element, line(), |lead| lead.provider.as_mut().map(|p| &mut p.url)),
            Field::ProviderEmail => {
                let email = self.email(pending, raw);
                self.fill(element, email, |lead| lead.provider.as_mut().map(|p| &mut p.email));
            }
            Field::ProviderPhone => {
                let phone = phone(pending, raw);
                self.fill(element, phone, |lead| lead.provider.as_mut().map(|p| &mut p.phone));
            }
            Field::Name(party) => {
                let (part, kind) = match pending {
                    Pending::Name { part, kind } => (part, kind),
                    _ => (NamePart::Full, NameType::Individual),
                };
                let Some(value) = line() else { return };
                if let Some(contact) = self.contact(party) {
                    contact.names.push(Name { value, part, kind });
                }
            }
            Field::Email(party) => {
                if let Some(email) = self.email(pending, raw)
                    && let Some(contact) = self.contact(party)
                {
                    contact.emails.push(email);
                }
            }
            Field::Phone(party) => {
                if let Some(phone) = phone(pending, raw)
                    && let Some(contact) = self.contact(party)
                {
                    contact.phones.push(phone);
                }
            }
            Field::Street(party) => {
                let line_number = match pending {
                    Pending::Street { line } => line,
                    _ => None,
                };
                let Some(value) = line() else { return };
                if let Some(address) = self.address(party) {
                    address.street.push(Street {
                        value,
                        line: line_number,
                    });
                }
            }
            Field::Apartment(party) => {
                self.fill(element, line(), |lead| {
                    address_of(lead, party).map(|a| &mut a.apartment)
                });
            }
            Field::City(party) => self.fill(element, line(), |lead| address_of(lead, party).map(|a| &mut a.city)),
            Field::RegionCode(party) => {
                self.fill(element, line(), |lead| {
                    address_of(lead, party).map(|a| &mut a.region_code)
                });
            }
            Field::PostalCode(party) => {
                self.fill(element, line(), |lead| {
                    address_of(lead, party).map(|a| &mut a.postal_code)
                });
            }
            Field::Country(party) => {
                self.fill(element, line(), |lead| address_of(lead, party).map(|a| &mut a.country));
            }
        }
    }
}

impl Field {
    /// The DTD name of the field's element, for messages.
    fn element_name(self) -> &'static str {
        match self {
            Field::Id(_) => "id",
            Field::RequestDate => "requestdate",
            Field::Year => "year",
            Field::Make => "make",
            Field::Model => "model",
            Field::Vin => "vin",
            Field::VehicleStock | Field::OptionStock => "stock",
            Field::Trim => "trim",
            Field::Doors => "doors",
            Field::BodyStyle => "bodystyle",
            Field::Transmission => "transmission",
            Field::Odometer => "odometer",
            Field::Condition => "condition",
            Field::ImageTag => "imagetag",
            Field::VehiclePrice | Field::OptionPrice => "price",
            Field::PriceComments => "pricecomments",
            Field::VehicleComments | Field::CustomerComments => "comments",
            Field::InteriorColor => "interiorcolor",
            Field::ExteriorColor => "exteriorcolor",
            Field::Preference => "preference",
            Field::OptionName => "optionname",
            Field::ManufacturerCode => "manufacturercode",
            Field::Weighting => "weighting",
            Field::Method => "method",
            Field::Amount => "amount",
            Field::Balance => "balance",
            Field::Description => "description",
            Field::EarliestDate => "earliestdate",
            Field::LatestDate => "latestdate",
            Field::VendorName => "vendorname",
            Field::VendorUrl | Field::ProviderUrl => "url",
            Field::ProviderName | Field::Name(_) => "name",
            Field::Service => "service",
            Field::ProviderEmail | Field::Email(_) => "email",
            Field::ProviderPhone | Field::Phone(_) => "phone",
            Field::Street(_) => "street",
            Field::Apartment(_) => "apartment",
            Field::City(_) => "city",
            Field::RegionCode(_) => "regioncode",
            Field::PostalCode(_) => "postalcode",
            Field::Country(_) => "country",
        }
    }
}

impl Document<'_> {
    fn email(&mut self, pending: Pending, raw: &str) -> Option<Email> {
        let preferred = matches!(pending, Pending::Email { preferred: true });
        let text = raw.trim();
        if text.is_empty() {
            return None;
        }
        match values::parse_email(text) {
            Ok(address) => Some(Email {
                address,
                preferred_contact: preferred,
            }),
            Err(error) => {
                self.warn(format!("dropped the e-mail address {}: it {error}", excerpt(text)));
                None
            }
        }
    }

    /// Writes the phones of every contact of the lead in E.164 and orders their street lines,
    /// once the prospect is complete (see [`finish_contact`]); the provider's own phone by the
    /// country of the provider's contact.
    fn finish_contacts(&mut self) {
        let mut problems = Vec::new();
        if let Some(lead) = self.lead() {
            finish_contact(&mut lead.customer.contact, &mut problems);
            if let Some(contact) = lead.vendor.as_mut().and_then(|vendor| vendor.contact.as_mut()) {
                finish_contact(contact, &mut problems);
            }
            if let Some(provider) = lead.provider.as_mut() {
                if let Some(contact) = provider.contact.as_mut() {
                    finish_contact(contact, &mut problems);
                }
                let country = provider
                    .contact
                    .as_ref()
                    .and_then(|contact| contact.address.as_ref())
                    .and_then(|address| address.country.as_deref());
                let region = values::dialing_region(country);
                if let Some(phone) = &mut provider.phone {
                    normalize(phone, region, &mut problems);
                }
            }
        }
        for problem in problems {
            self.warn(problem);
        }
    }
}

/// Writes a contact's phones in E.164, now that its address (which comes after them) has said
/// which country they are in, and puts its street lines in the order of their `line`
/// attributes when every one has one.
fn finish_contact(contact: &mut Contact, problems: &mut Vec<String>) {
    let region = values::dialing_region(contact.address.as_ref().and_then(|a| a.country.as_deref()));
    for phone in &mut contact.phones {
        normalize(phone, region, problems);
    }
    if let Some(address) = contact.address.as_mut()
        && address.street.iter().all(|street| street.line.is_some())
    {
        address.street.sort_by_key(|street| street.line);
    }
}

fn normalize(phone: &mut Phone, region: DialingRegion, problems: &mut Vec<String>) {
    match values::normalize_phone(&phone.raw, region) {
        Ok(number) => phone.number = number,
        Err(error) => {
            phone.number.clone_from(&phone.raw);
            problems.push(format!(
                "the phone number {} {error}; kept as given",
                excerpt(&phone.raw)
            ));
        }
    }
}

/// A `<phone>` as given; its number is written when its contact closes, once the address
/// has said which country it is in.
fn phone(pending: Pending, raw: &str) -> Option<Phone> {
    let raw = values::collapse_whitespace(raw)?;
    let (kind, time, preferred) = match pending {
        Pending::Phone { kind, time, preferred } => (kind, time, preferred),
        _ => (PhoneType::Voice, PhoneTime::NoPreference, false),
    };
    Some(Phone {
        number: String::new(),
        raw,
        kind,
        time,
        preferred_contact: preferred,
    })
}

fn color_combination(lead: &mut Lead) -> Option<&mut ColorCombination> {
    lead.vehicles.last_mut()?.color_combinations.last_mut()
}

fn option(lead: &mut Lead) -> Option<&mut VehicleOption> {
    lead.vehicles.last_mut()?.options.last_mut()
}

fn finance(lead: &mut Lead) -> Option<&mut Finance> {
    lead.vehicles.last_mut()?.finance.as_mut()
}

fn address_of(lead: &mut Lead, party: Party) -> Option<&mut Address> {
    let contact = match party {
        Party::Customer => Some(&mut lead.customer.contact),
        Party::Vendor => lead.vendor.as_mut()?.contact.as_mut(),
        Party::Provider => lead.provider.as_mut()?.contact.as_mut(),
    }?;
    contact.address.as_mut()
}

fn upper_case(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_uppercase()
    } else {
        text.to_uppercase()
    }
}

/// Spellings of odometer units that are not the DTD's but are unambiguous.
fn unit_alias(units: &str) -> Option<DistanceUnit> {
    const ALIASES: [(&str, DistanceUnit); 6] = [
        ("miles", DistanceUnit::Miles),
        ("mile", DistanceUnit::Miles),
        ("kilometers", DistanceUnit::Kilometers),
        ("kilometres", DistanceUnit::Kilometers),
        ("kilometer", DistanceUnit::Kilometers),
        ("kms", DistanceUnit::Kilometers),
    ];
    ALIASES
        .iter()
        .find(|(alias, _)| values::same_word(units, alias))
        .map(|(_, unit)| *unit)
}

enum Resolved {
    Char(char),
    Text(&'static str),
}

/// A character reference (`#233`, `#xE9`) or one of XML's five predefined entities; `None`
/// for anything else (no other entity is ever defined, let alone expanded).
fn resolve_reference(name: &str) -> Option<Resolved> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0').map(Resolved::Char);
    }
    quick_xml::escape::resolve_predefined_entity(name).map(Resolved::Text)
}

/// The last warning of a lead that had more than [`MAX_WARNINGS`].
fn more_warnings(dropped: usize) -> String {
    format!("{dropped} more warning(s) were not kept (at most {MAX_WARNINGS} per lead)")
}

/// About what an extension costs to copy.
fn extension_bytes(extension: &Extension) -> usize {
    let attributes: usize = extension
        .attributes
        .iter()
        .map(|(name, value)| name.len() + value.len() + 48)
        .sum();
    extension.path.len() + attributes + extension.text.as_ref().map_or(0, String::len) + 96
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtd_element_name_is_known_in_any_case() {
        for name in [
            "adf",
            "PROSPECT",
            "Vehicle",
            "colorcombination",
            "manufacturercode",
            "ManufacturerCode",
        ] {
            assert!(Element::from_name(name).is_some(), "{name}");
        }
        assert_eq!(Element::from_name("manufacturercodes"), None);
        assert_eq!(Element::from_name("dealer"), None);
        assert_eq!(Element::from_name(""), None);
        assert_eq!(Element::from_name("é"), None);
    }

    #[test]
    fn a_dtd_element_outside_its_place_means_nothing() {
        assert_eq!(Node::Customer.child(Element::Make), None);
        assert_eq!(Node::Adf.child(Element::Vehicle), None);
        assert_eq!(
            Node::Contact(Party::Vendor).child(Element::Phone),
            Some(Node::Field(Field::Phone(Party::Vendor)))
        );
    }

    #[test]
    fn doctype_ends_after_its_internal_subset() {
        assert_eq!(doctype_end(b"<!DOCTYPE adf>rest"), Some(14));
        assert_eq!(doctype_end(b"<!DOCTYPE adf [<!ELEMENT a (b)>]>rest"), Some(33));
        assert_eq!(doctype_end(b"<!DOCTYPE adf SYSTEM \"a>b.dtd\">"), Some(31));
        assert_eq!(doctype_end(b"<!DOCTYPE adf [<!ELEMENT a (b)>"), None);
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let xml = "ab\ncdé\nf";
        assert_eq!(line_column(xml, 0), (1, 1));
        assert_eq!(line_column(xml, 3), (2, 1));
        assert_eq!(line_column(xml, 7), (2, 4));
        assert_eq!(line_column(xml, 8), (3, 1));
        assert_eq!(line_column(xml, 100), (3, 2));
    }

    #[test]
    fn references_resolve_to_characters_and_predefined_entities_only() {
        assert!(matches!(resolve_reference("#233"), Some(Resolved::Char('é'))));
        assert!(matches!(resolve_reference("#xE9"), Some(Resolved::Char('é'))));
        assert!(matches!(resolve_reference("amp"), Some(Resolved::Text("&"))));
        assert!(resolve_reference("nbsp").is_none());
        assert!(resolve_reference("#0").is_none());
        assert!(resolve_reference("#xD800").is_none());
        assert!(resolve_reference("#99999999999").is_none());
    }
}
