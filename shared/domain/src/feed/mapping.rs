//! From a feed's header to canonical fields: which column feeds which field of
//! [`FeedVehicle`](super::FeedVehicle), decided once per file.
//!
//! Every provider names its columns differently ("Stock #", "StockNumber", "vehicle_id"), so a
//! header is reduced to lower-case ASCII letters and digits ("Stock #" → "stock") and looked up
//! in [`SYNONYMS`], the one table that lists every spelling we accept for each [`Field`]. The
//! reader then works with column indices only: no name lookup happens per row.
//!
//! Rules when several columns feed one field (duplicated headers, or two synonyms such as
//! "Exterior Color" and "Color"):
//! - columns are tried in the order of their header in the field's synonym list (so the more
//!   specific spelling wins), and in file order among equal headers;
//! - for a single-valued field the first non-empty value wins;
//! - for a list field (features, images) every column contributes, in that order, and
//!   repeated items are dropped.
//!
//! Columns no field claims are kept in `extra` under their header. A header that appears more
//! than once is told apart by its occurrence: "Book Value", "Book Value (2)". Columns with an
//! empty header (a trailing delimiter) are ignored.

use std::collections::BTreeMap;

use serde::Serialize;

/// A canonical field of a vehicle, the target of a feed column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Vin,
    StockNumber,
    Condition,
    Certified,
    Make,
    Model,
    Year,
    Trim,
    BodyStyle,
    ExteriorColor,
    InteriorColor,
    Mileage,
    Engine,
    Transmission,
    Drivetrain,
    FuelType,
    /// Combined text such as "28/36" or "28 city / 36 hwy".
    FuelEconomy,
    /// City MPG in its own column; combined with [`Field::MpgHighway`] into `fuel_economy`
    /// when the feed has no combined column.
    MpgCity,
    MpgHighway,
    Msrp,
    SellingPrice,
    InternetPrice,
    InvoicePrice,
    Features,
    Description,
    Images,
    VideoUrl,
    VdpUrl,
    InStockDate,
    Status,
}

/// Every spelling accepted for each field, most specific first (the first one a feed has
/// wins when several columns feed one field). Written as providers write them; compared after
/// [`normalise_header`]. Sources: seed 002, HomeNet / vAuto exports, Dealer.com and
/// DealerInspire website exports, the Facebook automotive catalog, Google vehicle listings.
///
/// Deliberately absent, so they land in `extra`: "Book Value", "Cost", "Title",
/// "mileage.unit", "store_code", "vehicle_fulfillment", "dealership_name".
const SYNONYMS: &[(Field, &[&str])] = &[
    (Field::Vin, &["VIN", "VIN Number", "Vehicle VIN"]),
    (
        Field::StockNumber,
        // "Stock #" and "STOCK_NO." reduce to "stock" and "stockno".
        &["Stock Number", "Stock", "Stock No", "StockNum", "vehicle_id", "id"],
    ),
    (
        Field::Condition,
        &[
            "state_of_vehicle",
            "Condition",
            "New/Used",
            "Vehicle Condition",
            "Inventory Type",
            "Type",
        ],
    ),
    (
        Field::Certified,
        &["Certified", "CPO", "Is Certified", "Certified Pre-Owned"],
    ),
    (Field::Make, &["Make", "brand", "Vehicle Make", "Manufacturer"]),
    (Field::Model, &["Model", "Vehicle Model", "Model Name"]),
    (Field::Year, &["Year", "Model Year", "Vehicle Year"]),
    (Field::Trim, &["Trim", "Trim Level", "Series"]),
    (Field::BodyStyle, &["Body Style", "Body Type", "Body"]),
    (
        Field::ExteriorColor,
        &[
            "Exterior Color",
            "Ext Color",
            "Exterior Colour",
            "Exterior Color Generic",
            "Ext Color Generic",
            "Color",
        ],
    ),
    (
        Field::InteriorColor,
        &[
            "Interior Color",
            "Int Color",
            "Interior Colour",
            "Interior Color Generic",
        ],
    ),
    (
        Field::Mileage,
        &["Mileage", "mileage.value", "Odometer", "Miles", "Odometer Reading"],
    ),
    (Field::Engine, &["Engine Description", "Engine", "Engine Desc"]),
    (
        Field::Transmission,
        &["Transmission Description", "Transmission", "Trans Desc", "Trans"],
    ),
    (Field::Drivetrain, &["Drivetrain", "Drive Type", "Drive Line", "Drive"]),
    (Field::FuelType, &["Fuel Type", "Fuel", "Engine Fuel Type"]),
    (
        Field::FuelEconomy,
        &["MPG City/Hwy", "City/Hwy MPG", "Fuel Economy", "MPG"],
    ),
    (Field::MpgCity, &["MPG City", "City MPG", "EPA City"]),
    (
        Field::MpgHighway,
        &["MPG Highway", "MPG Hwy", "Highway MPG", "Hwy MPG", "EPA Highway"],
    ),
    (
        Field::Msrp,
        &["MSRP", "vehicle_msrp", "Original MSRP", "List Price", "Sticker Price"],
    ),
    (
        Field::SellingPrice,
        &["Selling Price", "Asking Price", "Retail Price", "Price"],
    ),
    (
        Field::InternetPrice,
        &[
            "Internet Price",
            "sale_price",
            "Special Price",
            "Web Price",
            "Website Price",
            "Advertised Price",
            "Our Price",
        ],
    ),
    (
        Field::InvoicePrice,
        &["Invoice", "Invoice Price", "Invoice Amount", "Dealer Invoice"],
    ),
    (
        Field::Features,
        &[
            "Features",
            "Options",
            "Equipment",
            "Installed Options",
            "Option List",
            "Vehicle Features",
        ],
    ),
    (
        Field::Description,
        &[
            "Description",
            "Dealer Comments",
            "Comments",
            "Vehicle Description",
            "Seller Comments",
        ],
    ),
    (
        Field::Images,
        &[
            "Images",
            "image_link",
            "additional_image_link",
            "ImageList",
            "Image URLs",
            "Image URL",
            "Photo Url List",
            "Photo URLs",
            "Photos",
        ],
    ),
    (Field::VideoUrl, &["Video URL", "video_link", "Video"]),
    (
        Field::VdpUrl,
        &[
            "VDP URL",
            "VDP",
            "Vehicle URL",
            "Vehicle Detail URL",
            "Detail URL",
            "Link",
            "url",
        ],
    ),
    (
        Field::InStockDate,
        &[
            "Date In Stock",
            "In Stock Date",
            "Inventory Date",
            "Stock Date",
            "Date Received",
        ],
    ),
    (
        Field::Status,
        &["Status", "Vehicle Status", "Inventory Status", "Availability"],
    ),
];

impl Field {
    /// The field's name as the `vehicles` table and the statistics spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vin => "vin",
            Self::StockNumber => "stock_number",
            Self::Condition => "condition",
            Self::Certified => "certified",
            Self::Make => "make",
            Self::Model => "model",
            Self::Year => "year",
            Self::Trim => "trim",
            Self::BodyStyle => "body_style",
            Self::ExteriorColor => "exterior_color",
            Self::InteriorColor => "interior_color",
            Self::Mileage => "mileage",
            Self::Engine => "engine",
            Self::Transmission => "transmission",
            Self::Drivetrain => "drivetrain",
            Self::FuelType => "fuel_type",
            Self::FuelEconomy => "fuel_economy",
            Self::MpgCity => "mpg_city",
            Self::MpgHighway => "mpg_highway",
            Self::Msrp => "msrp",
            Self::SellingPrice => "selling_price",
            Self::InternetPrice => "internet_price",
            Self::InvoicePrice => "invoice_price",
            Self::Features => "features",
            Self::Description => "description",
            Self::Images => "images",
            Self::VideoUrl => "video_url",
            Self::VdpUrl => "vdp_url",
            Self::InStockDate => "in_stock_date",
            Self::Status => "status",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const FIELD_COUNT: usize = SYNONYMS.len();

/// Reduces a header to lower-case ASCII letters and digits: "Stock #" → "stock",
/// "mileage.value" → "mileagevalue", "New/Used" → "newused".
fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The field a header feeds and the rank of its spelling in the field's synonym list, or
/// None for a column that goes to `extra`.
fn field_for_header(header: &str) -> Option<(Field, usize)> {
    let normalised = normalise_header(header);
    if normalised.is_empty() {
        return None;
    }
    SYNONYMS
        .iter()
        .find_map(|(field, spellings)| {
            spellings
                .iter()
                .position(|spelling| normalise_header(spelling) == normalised)
                .map(|rank| (*field, rank))
        })
        .or_else(|| numbered_image_column(&normalised).then_some((Field::Images, usize::MAX)))
}

/// One image per column, numbered: Facebook's `image[0].url`, `image[1].url`, ... and the
/// "Image1", "Photo2", "PhotoURL3" of other exports. (`image[0].tag[0]` is not an image.)
fn numbered_image_column(normalised: &str) -> bool {
    let Some(rest) = ["image", "photo", "picture"]
        .iter()
        .find_map(|prefix| normalised.strip_prefix(prefix))
    else {
        return false;
    };
    let has_digit = rest.bytes().any(|b| b.is_ascii_digit());
    let words: String = rest.chars().filter(|c| !c.is_ascii_digit()).collect();
    has_digit && (words.is_empty() || words == "url")
}

/// How one feed's columns map onto [`Field`]s, decided from its header.
///
/// Serialises, for the import statistics, as `{"fields": {"vin": ["VIN"], "images":
/// ["image[0].url", "image[1].url"], ...}, "extra": ["Book Value", ...]}`: for each field the
/// headers that feed it (first = preferred), and the headers kept in `extra`.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnMapping {
    fields: BTreeMap<Field, Vec<String>>,
    extra: Vec<String>,
    /// Header of each column as the file writes it, made unique; "" for an ignored column.
    #[serde(skip)]
    headers: Vec<String>,
    /// For each field (by [`Field::index`]), the columns that feed it, preferred first.
    #[serde(skip)]
    columns_by_field: Vec<Vec<usize>>,
    /// Columns kept in `extra`, with their (unique) header.
    #[serde(skip)]
    extra_columns: Vec<usize>,
}

impl ColumnMapping {
    /// Maps a header, given as its cells in file order (already decoded and trimmed).
    pub fn from_headers<S: AsRef<str>>(cells: &[S]) -> Self {
        let headers = unique_headers(cells);
        let mut ranked: Vec<(Field, usize, usize)> = Vec::new();
        let mut extra_columns = Vec::new();
        for (column, header) in headers.iter().enumerate() {
            if header.is_empty() {
                continue;
            }
            match field_for_header(cells[column].as_ref()) {
                Some((field, rank)) => ranked.push((field, rank, column)),
                None => extra_columns.push(column),
            }
        }
        ranked.sort_by_key(|&(field, rank, column)| (field, rank, column));

        let mut columns_by_field = vec![Vec::new(); FIELD_COUNT];
        let mut fields: BTreeMap<Field, Vec<String>> = BTreeMap::new();
        for (field, _, column) in ranked {
            columns_by_field[field.index()].push(column);
            fields.entry(field).or_default().push(headers[column].clone());
        }
        let extra = extra_columns.iter().map(|&column| headers[column].clone()).collect();
        Self {
            fields,
            extra,
            headers,
            columns_by_field,
            extra_columns,
        }
    }

    /// The columns that feed `field`, preferred first; empty when the feed has none.
    pub fn columns(&self, field: Field) -> &[usize] {
        &self.columns_by_field[field.index()]
    }

    pub fn is_mapped(&self, field: Field) -> bool {
        !self.columns(field).is_empty()
    }

    /// The preferred header feeding `field`, as written in the file.
    pub fn header_for(&self, field: Field) -> Option<&str> {
        self.fields
            .get(&field)
            .and_then(|headers| headers.first())
            .map(String::as_str)
    }

    /// Every header feeding `field`, preferred first.
    pub fn headers_for(&self, field: Field) -> &[String] {
        self.fields.get(&field).map_or(&[], Vec::as_slice)
    }

    /// The headers kept in `extra`, in file order, as they appear as keys of `extra`.
    pub fn extra_headers(&self) -> &[String] {
        &self.extra
    }

    /// The (unique) header of a column: what a [`RowIssue`](super::RowIssue) names.
    pub fn header(&self, column: usize) -> &str {
        self.headers.get(column).map_or("", String::as_str)
    }

    /// Number of columns in the header, ignored ones included.
    pub fn column_count(&self) -> usize {
        self.headers.len()
    }

    pub(super) fn extra_columns(&self) -> &[usize] {
        &self.extra_columns
    }
}

/// The headers as written, with the second and later occurrences of a header suffixed by
/// their occurrence number ("Name (2)"), skipping any suffixed name the file itself uses.
/// Empty headers stay empty (ignored columns).
fn unique_headers<S: AsRef<str>>(cells: &[S]) -> Vec<String> {
    let mut headers: Vec<String> = Vec::with_capacity(cells.len());
    for cell in cells {
        let header = cell.as_ref();
        let taken = |name: &str, headers: &[String]| {
            headers.iter().any(|h| h == name) || cells.iter().any(|c| c.as_ref() == name)
        };
        if header.is_empty() || !headers.iter().any(|h| h == header) {
            headers.push(header.to_owned());
            continue;
        }
        let unique = (2..)
            .map(|occurrence| format!("{header} ({occurrence})"))
            .find(|candidate| !taken(candidate, &headers))
            .unwrap_or_default();
        headers.push(unique);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_synonyms_and_no_spelling_is_claimed_twice() {
        let mut seen: BTreeMap<String, Field> = BTreeMap::new();
        for (position, (field, spellings)) in SYNONYMS.iter().enumerate() {
            assert_eq!(
                field.index(),
                position,
                "SYNONYMS lists {field:?} out of declaration order"
            );
            assert!(!spellings.is_empty(), "{field:?} has no synonyms");
            for spelling in *spellings {
                let normalised = normalise_header(spelling);
                assert!(!normalised.is_empty(), "{spelling:?}");
                if let Some(other) = seen.insert(normalised.clone(), *field) {
                    panic!("{spelling:?} ({normalised}) is claimed by {other:?} and {field:?}");
                }
            }
        }
        assert_eq!(
            Field::Status.index() + 1,
            FIELD_COUNT,
            "a field is missing from SYNONYMS"
        );
    }

    #[test]
    fn headers_match_whatever_their_case_spacing_and_punctuation() {
        for (header, field) in [
            ("STOCK #", Field::StockNumber),
            ("stock_number", Field::StockNumber),
            ("Ext. Color", Field::ExteriorColor),
            ("ext_color", Field::ExteriorColor),
            ("MILEAGE.VALUE", Field::Mileage),
            ("new-used", Field::Condition),
            ("DateInStock", Field::InStockDate),
        ] {
            assert_eq!(field_for_header(header).map(|(f, _)| f), Some(field), "{header}");
        }
        assert_eq!(field_for_header("Book Value"), None);
        assert_eq!(field_for_header("***"), None);
    }

    #[test]
    fn numbered_image_columns_feed_images_but_image_tags_do_not() {
        for header in ["image[0].url", "image[12].url", "Image1", "PhotoURL3", "Photo 2"] {
            assert_eq!(
                field_for_header(header).map(|(f, _)| f),
                Some(Field::Images),
                "{header}"
            );
        }
        for header in ["image[0].tag[0]", "Image", "Photographer"] {
            assert_ne!(
                field_for_header(header).map(|(f, _)| f),
                Some(Field::Images),
                "{header}"
            );
        }
    }

    #[test]
    fn the_more_specific_synonym_is_preferred_whatever_the_column_order() {
        let mapping = ColumnMapping::from_headers(&["Color", "VIN", "Exterior Color"]);
        assert_eq!(mapping.columns(Field::ExteriorColor), [2, 0]);
        assert_eq!(mapping.header_for(Field::ExteriorColor), Some("Exterior Color"));
        assert_eq!(mapping.headers_for(Field::ExteriorColor), ["Exterior Color", "Color"]);
    }

    #[test]
    fn duplicated_headers_are_numbered_and_empty_headers_ignored() {
        let mapping = ColumnMapping::from_headers(&["Price", "Note", "Price", "Note", "", "Note (2)", ""]);
        assert_eq!(mapping.columns(Field::SellingPrice), [0, 2]);
        assert_eq!(mapping.headers_for(Field::SellingPrice), ["Price", "Price (2)"]);
        assert_eq!(mapping.extra_headers(), ["Note", "Note (3)", "Note (2)"]);
        assert_eq!(mapping.extra_columns(), [1, 3, 5]);
        assert_eq!(mapping.column_count(), 7);
    }

    #[test]
    fn mapping_serialises_fields_to_headers_and_the_extra_headers() {
        let mapping = ColumnMapping::from_headers(&["VIN", "Make", "Book Value"]);
        let json = serde_json::to_value(&mapping).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"fields": {"vin": ["VIN"], "make": ["Make"]}, "extra": ["Book Value"]})
        );
    }
}
