//! ADF 1.0 (Auto-lead Data Format) lead parsing: the XML that lead providers (AutoTrader,
//! Cars.com, CarGurus, TrueCar, dealer website forms, OEM programmes) mail to a dealership,
//! read into [`Lead`]s.
//!
//! ADF is an old format with a short DTD and a long tail of providers that each bend it a
//! little: upper-case element names, `interest="Trade-In"`, misspelled attribute names,
//! vendor elements nobody declared, dates in five notations, phones written any way a person
//! types them. A lead is money for the dealership, so the rule here is **keep everything
//! good, say what was odd**: an oddity becomes a warning on the lead ([`Lead::warnings`]) and
//! an element the DTD does not know is kept in [`Lead::extensions`]; only a document that
//! holds no lead at all, or one that tries an XML attack, is an [`AdfError`].
//!
//! How the input is read, and why:
//!
//! - **Streaming, no DOM.** [`parse`] walks quick-xml's events over the borrowed `&str` once,
//!   with a stack of open elements that knows, for each one, where its text goes in the lead
//!   being built. Nothing is allocated for markup, only for the values a lead owns: a
//!   typical 2–3 kB lead takes about 18 µs on a small shared 2-core VM, of which quick-xml's
//!   own tokenising is close to half (`rylie-ops bench adf` measures it beside the naive
//!   build-a-tree-then-walk-it way).
//! - **Hostile input is expected.** Leads arrive by email from the internet. Input over
//!   [`MAX_DOCUMENT_BYTES`] and nesting deeper than [`MAX_DEPTH`] are refused; a DOCTYPE whose
//!   internal subset declares an entity is refused outright (that is the whole mechanism of
//!   XXE and "billion laughs"), and no entity is ever expanded or DTD fetched. Nothing here
//!   panics on any input, and what a lead holds is bounded by the input's size: at most
//!   [`MAX_WARNINGS`] warnings per lead and [`MAX_EXTENSIONS`] extensions per document, names
//!   and values quoted in warnings and paths cut to 60 characters, and what is copied into
//!   every lead (from outside any prospect) copied only while it stays under a few MiB in all.
//! - **Damage does not lose good leads.** A document cut short or with mismatched tags is an
//!   error naming the line and what was expected, unless complete `<prospect>`s came before
//!   the damage: those are returned, each with a warning.
//! - **Values are parsed at the edge** ([`values`]): dates to `DateTime<FixedOffset>`, phones
//!   to E.164 where the country is known, e-mail addresses validated and lower-cased, prices
//!   and odometers to numbers, DTD enumerations to Rust enums (matched loosely, with the
//!   DTD's defaults when a value is missing or unknown).
//!
//! [`Lead::report`] is the operator's view (`rylie-ops parse-adf`); `serde::Serialize` of the
//! whole model is what the store keeps as JSONB.

mod reader;
mod report;
pub mod values;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

pub use report::report_all;

/// The largest document [`parse`] reads (1 MiB). A real ADF lead is 1–10 kB; a provider's
/// batch of a few dozen prospects stays far below this.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// How deep elements may nest. The DTD's deepest path is five levels
/// (`adf/prospect/customer/contact/address/street`); vendor extensions add a few. Anything
/// near this limit is an attack on the parser's stack, not a lead.
pub const MAX_DEPTH: usize = 64;

/// How many warnings one lead keeps (and how many the document keeps from outside any
/// prospect, for every lead); past it, they are counted in one last warning. A real lead has a
/// handful; a hundred say all there is to say about a broken one.
pub const MAX_WARNINGS: usize = 100;

/// How many [`Extension`]s a document yields, in all its leads; past it, elements and
/// attributes the DTD does not declare are not kept (with a warning). Real vendor extensions
/// are a few per lead.
pub const MAX_EXTENSIONS: usize = 1000;

/// Reads one ADF document: one [`Lead`] per `<prospect>`, in document order.
///
/// See the module documentation for what is tolerated (with a warning on the lead) and what
/// is refused.
pub fn parse(xml: &str) -> Result<Vec<Lead>, AdfError> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(AdfError::TooLarge {
            size: xml.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    reader::read(xml)
}

/// Why a document yields no lead at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdfError {
    #[error("the document is {size} bytes, over the limit of {limit} bytes for one ADF document")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "refused: the DOCTYPE at line {line} declares an entity, and entity declarations are not allowed \
         (they are how XXE and \"billion laughs\" attacks work; ADF needs none)"
    )]
    EntityDeclaration { line: usize },
    #[error("elements nest deeper than {limit} levels at line {line}, column {column} (byte {position})")]
    TooDeep {
        limit: usize,
        line: usize,
        column: usize,
        position: usize,
    },
    #[error("malformed XML at line {line}, column {column} (byte {position}): {reason}")]
    Malformed {
        line: usize,
        column: usize,
        position: usize,
        reason: String,
    },
    #[error("no lead in the document: it has no <adf> root element with a <prospect> in it")]
    NoProspect,
}

/// One `<prospect>`: a customer's request about one or more vehicles, as a provider sent it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Lead {
    /// The prospect's `<id>`s; the first is the provider's lead id ([`Lead::adf_id`]).
    pub ids: Vec<LeadId>,
    /// When the customer made the request (`<requestdate>`); absent or unreadable is `None`,
    /// with a warning.
    pub request_date: Option<DateTime<FixedOffset>>,
    pub status: LeadStatus,
    pub vehicles: Vec<Vehicle>,
    pub customer: Customer,
    pub vendor: Option<Vendor>,
    pub provider: Option<Provider>,
    /// What was odd about this lead and what was done about it, one sentence each (at most
    /// [`MAX_WARNINGS`], then one that counts the rest).
    pub warnings: Vec<String>,
    /// Elements and attributes the DTD does not declare (vendor extensions), kept as found
    /// (at most [`MAX_EXTENSIONS`] in the document). Those outside any `<prospect>` are copied
    /// into every lead of the document (while the copies stay under a few MiB in all; the
    /// leads past that get a warning instead).
    pub extensions: Vec<Extension>,
}

impl Lead {
    /// The vehicle the customer wants: the first whose interest is not trade-in or sell.
    pub fn vehicle_of_interest(&self) -> Option<&Vehicle> {
        self.vehicles
            .iter()
            .find(|vehicle| !vehicle.interest.is_customers_car())
    }

    /// The customer's own cars: interest trade-in or sell.
    pub fn trade_ins(&self) -> impl Iterator<Item = &Vehicle> {
        self.vehicles
            .iter()
            .filter(|vehicle| vehicle.interest.is_customers_car())
    }

    /// The id to deduplicate on: the prospect's first `<id>`.
    pub fn adf_id(&self) -> Option<&LeadId> {
        self.ids.first()
    }

    /// Under which name [`Lead::adf_id`] is unique: the provider's name, else the first id's
    /// `source` attribute. Two providers may both send lead "12345".
    pub fn provider_key(&self) -> Option<&str> {
        self.provider
            .as_ref()
            .and_then(|provider| provider.name.as_deref())
            .or_else(|| self.ids.first().and_then(|id| id.source.as_deref()))
    }

    /// Hex SHA-256 of the lead's normalised content: the customer's name, e-mails, phones and
    /// comments, every vehicle, and the provider's and vendor's names. The status and the
    /// request date are left out, so a provider's resend of the same lead hashes the same,
    /// and so are ids, which some providers change on a resend.
    pub fn content_hash(&self) -> String {
        report::content_hash(self)
    }

    /// The operator's JSON view of the lead (fixed keys; absent values are `null` or `[]`).
    pub fn report(&self) -> serde_json::Value {
        report::report(self)
    }
}

/// An `<id>`: a provider's identifier for a prospect, vehicle, customer, vendor or provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeadId {
    pub value: String,
    pub source: Option<String>,
    pub sequence: Option<String>,
}

/// Declares an enumerated DTD attribute as a Rust enum: each variant with the DTD's spelling
/// (used by serde and `as_str`), and `parse`, which matches a value loosely: case, spaces
/// and punctuation are ignored, so `Trade-In`, `TRADE-IN`, `tradein` and ` trade in ` are all
/// `trade-in`. What the DTD's default is, and what an unknown value means, is decided where
/// the attribute is read.
macro_rules! dtd_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $spelling:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $spelling)] $variant,)+
        }

        impl $name {
            /// Every value, in the DTD's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The DTD's spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $spelling,)+
                }
            }

            /// The value `raw` names, ignoring case, spaces and punctuation; `None` when it
            /// names none.
            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| values::same_word(raw, value.as_str()))
            }
        }

        impl DtdValue for $name {
            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn spelling(self) -> &'static str {
                self.as_str()
            }
        }
    };
}

/// What the reader needs of every [`dtd_enum!`] to read and report attribute values
/// generically.
trait DtdValue: Copy + 'static {
    fn all() -> &'static [Self];
    fn spelling(self) -> &'static str;

    fn parse_value(raw: &str) -> Option<Self> {
        let all = Self::all().iter().copied();
        // Most values are written as the DTD spells them.
        all.clone()
            .find(|value| value.spelling() == raw)
            .or_else(|| all.into_iter().find(|value| values::same_word(raw, value.spelling())))
    }
}

dtd_enum! {
    /// `<prospect status>`: a new lead or the provider sending one again.
    #[derive(Default)]
    LeadStatus {
        #[default]
        New = "new",
        Resend = "resend",
    }
}

dtd_enum! {
    /// `<vehicle interest>`: what the customer wants to do with this vehicle.
    #[derive(Default)]
    VehicleInterest {
        #[default]
        Buy = "buy",
        Lease = "lease",
        Sell = "sell",
        TradeIn = "trade-in",
        TestDrive = "test-drive",
    }
}

impl VehicleInterest {
    /// Whether the vehicle is the customer's own (a trade-in or a car they sell).
    pub const fn is_customers_car(self) -> bool {
        matches!(self, Self::TradeIn | Self::Sell)
    }
}

dtd_enum! {
    /// `<vehicle status>`.
    #[derive(Default)]
    VehicleStatus {
        #[default]
        New = "new",
        Used = "used",
    }
}

dtd_enum! {
    /// `<odometer status>`.
    OdometerStatus {
        Unknown = "unknown",
        RolledOver = "rolledover",
        Replaced = "replaced",
        Original = "original",
    }
}

dtd_enum! {
    /// `<odometer units>`.
    DistanceUnit {
        Kilometers = "km",
        Miles = "mi",
    }
}

dtd_enum! {
    /// `<price type>`.
    #[derive(Default)]
    PriceType {
        #[default]
        Quote = "quote",
        Offer = "offer",
        Msrp = "msrp",
        Invoice = "invoice",
        Call = "call",
        Appraisal = "appraisal",
        Asking = "asking",
    }
}

dtd_enum! {
    /// `<price delta>`: the price is a difference from another price, not a price.
    PriceDelta {
        Absolute = "absolute",
        Relative = "relative",
        Percentage = "percentage",
    }
}

dtd_enum! {
    /// `<price relativeto>`: what a delta price is a difference from.
    PriceRelativeTo {
        Msrp = "msrp",
        Invoice = "invoice",
    }
}

dtd_enum! {
    /// `<amount type>` in `<finance>`.
    #[derive(Default)]
    AmountType {
        DownPayment = "downpayment",
        Monthly = "monthly",
        #[default]
        Total = "total",
    }
}

dtd_enum! {
    /// `<amount limit>` in `<finance>`.
    #[derive(Default)]
    AmountLimit {
        #[default]
        Maximum = "maximum",
        Minimum = "minimum",
        Exact = "exact",
    }
}

dtd_enum! {
    /// `<balance type>` in `<finance>`.
    #[derive(Default)]
    BalanceType {
        #[default]
        Finance = "finance",
        Residual = "residual",
    }
}

dtd_enum! {
    /// `<name part>`. `surname` is the DTD's older word for `last`.
    #[derive(Default)]
    NamePart {
        Surname = "surname",
        First = "first",
        Middle = "middle",
        Last = "last",
        #[default]
        Full = "full",
    }
}

dtd_enum! {
    /// `<name type>`.
    #[derive(Default)]
    NameType {
        Business = "business",
        #[default]
        Individual = "individual",
    }
}

dtd_enum! {
    /// `<phone type>`.
    #[derive(Default)]
    PhoneType {
        #[default]
        Voice = "voice",
        Fax = "fax",
        Cellphone = "cellphone",
        Pager = "pager",
    }
}

dtd_enum! {
    /// `<phone time>`: when the customer prefers to be called.
    #[derive(Default)]
    PhoneTime {
        Morning = "morning",
        Afternoon = "afternoon",
        Evening = "evening",
        #[default]
        NoPreference = "nopreference",
        Day = "day",
    }
}

dtd_enum! {
    /// `<address type>`.
    AddressType {
        Work = "work",
        Home = "home",
        Delivery = "delivery",
    }
}

/// A `<vehicle>`: the one the customer asks about, or their own (trade-in, sell).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Vehicle {
    pub ids: Vec<LeadId>,
    pub interest: VehicleInterest,
    pub status: VehicleStatus,
    /// A model year between 1900 and 2100.
    pub year: Option<i32>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Trimmed and upper-cased; kept even when it is not a valid VIN (a customer's partial
    /// trade-in VIN still helps), with a warning.
    pub vin: Option<String>,
    pub stock: Option<String>,
    pub trim: Option<String>,
    pub doors: Option<u8>,
    pub body_style: Option<String>,
    pub transmission: Option<String>,
    pub odometer: Option<Odometer>,
    /// `<condition>`: declared by the DTD but missing from its vehicle content model; sent
    /// by providers for trade-ins (`excellent`, `good`, `fair`, `poor`).
    pub condition: Option<String>,
    pub color_combinations: Vec<ColorCombination>,
    pub image_tag: Option<ImageTag>,
    pub price: Option<Price>,
    pub price_comments: Option<String>,
    pub options: Vec<VehicleOption>,
    pub finance: Option<Finance>,
    pub comments: Option<String>,
}

/// `<odometer>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Odometer {
    /// `None` when the text is not a distance (with a warning).
    pub value: Option<u32>,
    /// From the `units` attribute, else from a unit written after the number (`12,345 mi`).
    pub units: Option<DistanceUnit>,
    pub status: Option<OdometerStatus>,
}

/// `<colorcombination>`: one acceptable interior/exterior pairing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ColorCombination {
    pub interior_color: Option<String>,
    pub exterior_color: Option<String>,
    /// 1 is the most preferred.
    pub preference: Option<u32>,
}

/// `<imagetag>`: a picture of the vehicle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageTag {
    pub url: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub alt_text: Option<String>,
}

/// `<price>` (of a vehicle or an option).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Price {
    /// `None` when the element is empty or its text is not an amount (the latter with a
    /// warning). Negative only for a delta.
    pub amount: Option<f64>,
    /// The `currency` attribute, upper-cased (ISO 4217 in practice).
    pub currency: Option<String>,
    pub kind: PriceType,
    pub delta: Option<PriceDelta>,
    pub relative_to: Option<PriceRelativeTo>,
    pub source: Option<String>,
}

/// `<option>`: equipment the customer asks about.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VehicleOption {
    pub name: Option<String>,
    pub manufacturer_code: Option<String>,
    pub stock: Option<String>,
    /// How much the customer wants it, from -100 (must not have) to 100 (must have).
    pub weighting: Option<i32>,
    pub price: Option<Price>,
}

/// `<finance>`: how the customer means to pay.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Finance {
    /// `cash`, `finance` or `lease` in practice; kept as written (lower-cased).
    pub method: Option<String>,
    pub amounts: Vec<FinanceAmount>,
    pub balance: Option<Balance>,
}

/// `<amount>` in `<finance>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FinanceAmount {
    pub amount: Option<f64>,
    pub kind: AmountType,
    pub limit: AmountLimit,
    pub currency: Option<String>,
}

/// `<balance>` in `<finance>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Balance {
    pub amount: Option<f64>,
    pub kind: BalanceType,
    pub currency: Option<String>,
}

/// `<customer>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub contact: Contact,
    pub ids: Vec<LeadId>,
    pub timeframe: Option<Timeframe>,
    pub comments: Option<String>,
}

/// `<timeframe>`: when the customer means to buy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeframe {
    pub description: Option<String>,
    pub earliest_date: Option<DateTime<FixedOffset>>,
    pub latest_date: Option<DateTime<FixedOffset>>,
}

/// `<contact>`: of the customer, the vendor (the dealership) or the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// Every `<name>` in document order, whitespace collapsed.
    pub names: Vec<Name>,
    /// Valid addresses only (invalid ones are dropped with a warning).
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub address: Option<Address>,
}

impl Contact {
    pub fn first_name(&self) -> Option<&str> {
        self.name_part(|part| part == NamePart::First)
    }

    pub fn middle_name(&self) -> Option<&str> {
        self.name_part(|part| part == NamePart::Middle)
    }

    /// `part="last"`, else the DTD's older `part="surname"`.
    pub fn last_name(&self) -> Option<&str> {
        self.name_part(|part| part == NamePart::Last)
            .or_else(|| self.name_part(|part| part == NamePart::Surname))
    }

    /// The `part="full"` name (also what a `<name>` without `part` is), else the parts
    /// joined. A full name is never split into parts: "Mary Ann Smith" has no reliable
    /// first name.
    pub fn full_name(&self) -> Option<Cow<'_, str>> {
        if let Some(full) = self.name_part(|part| part == NamePart::Full) {
            return Some(Cow::Borrowed(full));
        }
        let parts: Vec<&str> = [self.first_name(), self.middle_name(), self.last_name()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| Cow::Owned(parts.join(" ")))
    }

    fn name_part(&self, wanted: impl Fn(NamePart) -> bool) -> Option<&str> {
        self.names
            .iter()
            .find(|name| wanted(name.part))
            .map(|name| name.value.as_str())
    }
}

/// `<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Name {
    pub value: String,
    pub part: NamePart,
    pub kind: NameType,
}

/// `<email>`: a validated address, trimmed and lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Email {
    pub address: String,
    pub preferred_contact: bool,
}

/// `<phone>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Phone {
    /// E.164 (`+15551234567`, extension dropped) when the number could be normalised; else
    /// the trimmed text as given (with a warning).
    pub number: String,
    /// The text as given, trimmed, extension included.
    pub raw: String,
    pub kind: PhoneType,
    pub time: PhoneTime,
    pub preferred_contact: bool,
}

/// `<address>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    pub kind: Option<AddressType>,
    /// Street lines, ordered by their `line` attribute when they have one.
    pub street: Vec<Street>,
    pub apartment: Option<String>,
    pub city: Option<String>,
    pub region_code: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// `<street>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Street {
    pub value: String,
    pub line: Option<u32>,
}

/// `<vendor>`: the dealership the lead is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Vendor {
    pub ids: Vec<LeadId>,
    /// `<vendorname>`.
    pub name: Option<String>,
    pub url: Option<String>,
    pub contact: Option<Contact>,
}

/// `<provider>`: who generated the lead (AutoTrader, a dealer website, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provider {
    pub ids: Vec<LeadId>,
    pub name: Option<String>,
    pub service: Option<String>,
    pub url: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub contact: Option<Contact>,
}

/// An element or attributes the DTD does not declare, kept as found.
///
/// An unknown element gives one extension with its path (`adf/prospect/vehicle/dealerPrice`,
/// names as written, a name over 60 characters cut there with `…`), its attributes and its
/// text; its child elements give their own.
/// Undeclared attributes on a known element give an extension with that element's path and
/// no text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub path: String,
    pub attributes: BTreeMap<String, String>,
    pub text: Option<String>,
}
