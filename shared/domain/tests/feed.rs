//! Reading inventory feeds end to end: bytes as dealers' systems write them in, vehicles and
//! row issues out.

use std::io::{self, Read};

use rylie_domain::feed::{
    Cents, ColumnMapping, Condition, FeedError, FeedReader, FeedVehicle, Field, RowIssue, RowOutcome, VehicleKey,
    VehicleStatus,
};
use rylie_domain::vin::check_digit;

/// A syntactically valid VIN with a correct check digit, distinct per serial.
fn vin(serial: u32) -> String {
    let mut vin = format!("1HGCM826_3{serial:07}");
    let digit = check_digit(&vin).expect("VIN alphabet");
    vin.replace_range(8..9, &digit.to_string());
    vin
}

fn read(feed: impl AsRef<[u8]>) -> (FeedReader<io::Cursor<Vec<u8>>>, Vec<RowOutcome>) {
    let mut reader = FeedReader::new(io::Cursor::new(feed.as_ref().to_vec())).expect("a readable feed");
    let outcomes: Vec<RowOutcome> = reader.by_ref().collect();
    assert!(reader.error().is_none(), "{:?}", reader.error());
    (reader, outcomes)
}

fn open_error(feed: impl AsRef<[u8]>) -> FeedError {
    FeedReader::new(io::Cursor::new(feed.as_ref().to_vec())).expect_err("an unreadable feed")
}

/// The vehicles of a feed whose every row must import without warnings.
fn clean_vehicles(feed: impl AsRef<[u8]>) -> Vec<FeedVehicle> {
    read(feed)
        .1
        .into_iter()
        .map(|outcome| match outcome {
            RowOutcome::Vehicle { vehicle, warnings } if warnings.is_empty() => *vehicle,
            other => panic!("expected a clean vehicle, got {other:?}"),
        })
        .collect()
}

fn only_vehicle(feed: impl AsRef<[u8]>) -> FeedVehicle {
    let mut vehicles = clean_vehicles(feed);
    assert_eq!(vehicles.len(), 1);
    vehicles.remove(0)
}

/// The single row of a feed, which must be a vehicle, with its warnings.
fn vehicle_with_warnings(feed: impl AsRef<[u8]>) -> (FeedVehicle, Vec<RowIssue>) {
    let mut outcomes = read(feed).1;
    assert_eq!(outcomes.len(), 1);
    match outcomes.remove(0) {
        RowOutcome::Vehicle { vehicle, warnings } => (*vehicle, warnings),
        RowOutcome::Rejected { issues } => panic!("rejected: {issues:?}"),
    }
}

fn rejection(outcome: &RowOutcome) -> &[RowIssue] {
    match outcome {
        RowOutcome::Rejected { issues } => issues,
        RowOutcome::Vehicle { vehicle, .. } => panic!("expected a rejection, got {vehicle:?}"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn dollars(amount: i64) -> Option<Cents> {
    Some(Cents::new(amount * 100))
}

// ---------------------------------------------------------------------------------------------
// Column names of the providers

#[test]
fn seed_002_columns_fill_their_fields() {
    let feed = format!(
        "VIN\tStockNumber\tMake\tModel\tYear\tTrim\tExteriorColor\tInteriorColor\tMileage\tPrice\tBodyStyle\t\
         Transmission\tEngine\tFuelType\tDrivetrain\tFeatures\tImages\n\
         {}\tA100\tHonda\tAccord\t2021\tEX-L\tPlatinum White\tBlack\t23,456\t$24,995.00\tSedan\t\
         CVT\t1.5L I4 Turbo\tGasoline\tFWD\tSunroof, Heated Seats\thttps://img.x/1.jpg,https://img.x/2.jpg\n",
        vin(1)
    );
    let vehicle = only_vehicle(feed);
    assert_eq!(vehicle.vin.as_deref(), Some(vin(1).as_str()));
    assert_eq!(vehicle.stock_number.as_deref(), Some("A100"));
    assert_eq!(
        (vehicle.make.as_str(), vehicle.model.as_str(), vehicle.year),
        ("Honda", "Accord", 2021)
    );
    assert_eq!(vehicle.trim.as_deref(), Some("EX-L"));
    assert_eq!(vehicle.exterior_color.as_deref(), Some("Platinum White"));
    assert_eq!(vehicle.interior_color.as_deref(), Some("Black"));
    assert_eq!(vehicle.mileage, Some(23_456));
    assert_eq!(vehicle.selling_price, Some(Cents::new(2_499_500)));
    assert_eq!(vehicle.price, Some(Cents::new(2_499_500)));
    assert_eq!(vehicle.body_style.as_deref(), Some("Sedan"));
    assert_eq!(vehicle.transmission.as_deref(), Some("CVT"));
    assert_eq!(vehicle.engine.as_deref(), Some("1.5L I4 Turbo"));
    assert_eq!(vehicle.fuel_type.as_deref(), Some("Gasoline"));
    assert_eq!(vehicle.drivetrain.as_deref(), Some("FWD"));
    assert_eq!(vehicle.features, strings(&["Sunroof", "Heated Seats"]));
    assert_eq!(vehicle.images, strings(&["https://img.x/1.jpg", "https://img.x/2.jpg"]));
    assert_eq!(vehicle.status, VehicleStatus::Available);
    assert!(vehicle.extra.is_empty());
}

#[test]
fn homenet_and_vauto_exports_fill_their_fields() {
    let feed = format!(
        "Type,Stock #,VIN,Year,Make,Model,Series,Body Type,Ext Color,Int Color,Odometer,Engine Description,\
         Transmission Description,Drive Train,Fuel,MPG City/Hwy,Selling Price,Internet Price,Invoice,MSRP,\
         Book Value,Certified,Options,Dealer Comments,ImageList,Date In Stock,VDP URL,Status\n\
         Used,U2231,{},2019,Toyota,RAV4,XLE,SUV,Magnetic Gray,Ash,\"41,200\",2.5L 4-Cylinder,8-Speed Automatic,\
         AWD,Gasoline,26/35,\"$26,500\",\"$25,990\",\"$22,100\",\"$29,000\",\"$21,000\",Yes,\
         Blind Spot Monitor|Apple CarPlay,\"One owner, clean history\",https://img.x/a.jpg|https://img.x/b.jpg,\
         11/20/2026,https://dealer.x/vdp/U2231,In Stock\n",
        vin(2)
    );
    let vehicle = only_vehicle(feed);
    assert_eq!(vehicle.condition, Some(Condition::Used));
    assert!(vehicle.certified, "the Certified column says Yes");
    assert_eq!(vehicle.stock_number.as_deref(), Some("U2231"));
    assert_eq!(vehicle.trim.as_deref(), Some("XLE"));
    assert_eq!(vehicle.body_style.as_deref(), Some("SUV"));
    assert_eq!(vehicle.exterior_color.as_deref(), Some("Magnetic Gray"));
    assert_eq!(vehicle.interior_color.as_deref(), Some("Ash"));
    assert_eq!(vehicle.mileage, Some(41_200));
    assert_eq!(vehicle.engine.as_deref(), Some("2.5L 4-Cylinder"));
    assert_eq!(vehicle.transmission.as_deref(), Some("8-Speed Automatic"));
    assert_eq!(vehicle.drivetrain.as_deref(), Some("AWD"));
    assert_eq!(vehicle.fuel_type.as_deref(), Some("Gasoline"));
    assert_eq!(vehicle.fuel_economy.as_deref(), Some("26/35"));
    assert_eq!(vehicle.selling_price, dollars(26_500));
    assert_eq!(vehicle.internet_price, dollars(25_990));
    assert_eq!(vehicle.invoice_price, dollars(22_100));
    assert_eq!(vehicle.msrp, dollars(29_000));
    assert_eq!(vehicle.price, dollars(25_990));
    assert_eq!(vehicle.features, strings(&["Blind Spot Monitor", "Apple CarPlay"]));
    assert_eq!(vehicle.description.as_deref(), Some("One owner, clean history"));
    assert_eq!(vehicle.images, strings(&["https://img.x/a.jpg", "https://img.x/b.jpg"]));
    assert_eq!(vehicle.in_stock_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 20));
    assert_eq!(vehicle.vdp_url.as_deref(), Some("https://dealer.x/vdp/U2231"));
    assert_eq!(vehicle.status, VehicleStatus::Available);
    assert_eq!(vehicle.extra.get("Book Value").map(String::as_str), Some("$21,000"));
}

#[test]
fn facebook_automotive_catalog_fills_its_fields() {
    let feed = format!(
        "vehicle_id\ttitle\tdescription\turl\tmake\tmodel\tyear\tmileage.value\tmileage.unit\timage[0].url\t\
         image[0].tag[0]\timage[1].url\ttransmission\tfuel_type\tbody_style\tdrivetrain\tvin\tstate_of_vehicle\t\
         exterior_color\tprice\tsale_price\ttrim\n\
         FB-77\t2022 Ford F-150 XLT\tWell kept truck\thttps://dealer.x/v/77\tFord\tF-150\t2022\t18000\tMI\t\
         https://img.x/77-0.jpg\tExterior\thttps://img.x/77-1.jpg\tAutomatic\tGasoline\tTruck\t4X4\t{}\tCPO\t\
         Blue\t45000 USD\t43500 USD\tXLT\n",
        vin(3)
    );
    let vehicle = only_vehicle(feed);
    assert_eq!(vehicle.stock_number.as_deref(), Some("FB-77"));
    assert_eq!(vehicle.description.as_deref(), Some("Well kept truck"));
    assert_eq!(vehicle.vdp_url.as_deref(), Some("https://dealer.x/v/77"));
    assert_eq!(vehicle.mileage, Some(18_000));
    assert_eq!(
        vehicle.images,
        strings(&["https://img.x/77-0.jpg", "https://img.x/77-1.jpg"])
    );
    assert_eq!(vehicle.transmission.as_deref(), Some("Automatic"));
    assert_eq!(vehicle.fuel_type.as_deref(), Some("Gasoline"));
    assert_eq!(vehicle.body_style.as_deref(), Some("Truck"));
    assert_eq!(vehicle.drivetrain.as_deref(), Some("4X4"));
    assert_eq!(vehicle.condition, Some(Condition::Certified));
    assert!(vehicle.certified);
    assert_eq!(vehicle.exterior_color.as_deref(), Some("Blue"));
    assert_eq!(vehicle.selling_price, dollars(45_000));
    assert_eq!(
        vehicle.internet_price,
        dollars(43_500),
        "sale_price is the advertised price"
    );
    assert_eq!(vehicle.price, dollars(43_500));
    assert_eq!(vehicle.trim.as_deref(), Some("XLT"));
    let extra_keys: Vec<&str> = vehicle.extra.keys().map(String::as_str).collect();
    assert_eq!(extra_keys, ["image[0].tag[0]", "mileage.unit", "title"]);
}

#[test]
fn google_vehicle_listings_feed_fills_its_fields() {
    let feed = format!(
        "id\tvin\tstore_code\tbrand\tmodel\tyear\tmileage\tcondition\tprice\tsale_price\tvehicle_msrp\timage_link\t\
         additional_image_link\tlink\tcolor\ttrim\tbody_style\tengine\tdate_in_stock\tvehicle_fulfillment\n\
         G-5\t{}\tSTORE-9\tMazda\tCX-5\t2026\t12 miles\tnew\t32000.00 USD\t30500.00 USD\t33000.00 USD\t\
         https://img.x/g0.jpg\thttps://img.x/g0.jpg,https://img.x/g1.jpg\thttps://dealer.x/g/5\tSoul Red\t\
         Touring\tSUV\t2.5L\t2026-11-20\tin_store:STORE-9\n",
        vin(4)
    );
    let vehicle = only_vehicle(feed);
    assert_eq!(vehicle.stock_number.as_deref(), Some("G-5"));
    assert_eq!(vehicle.make, "Mazda");
    assert_eq!(vehicle.mileage, Some(12));
    assert_eq!(vehicle.condition, Some(Condition::New));
    assert!(!vehicle.certified);
    assert_eq!(vehicle.selling_price, dollars(32_000));
    assert_eq!(vehicle.internet_price, dollars(30_500));
    assert_eq!(vehicle.msrp, dollars(33_000));
    assert_eq!(
        vehicle.images,
        strings(&["https://img.x/g0.jpg", "https://img.x/g1.jpg"]),
        "repeats dropped"
    );
    assert_eq!(vehicle.vdp_url.as_deref(), Some("https://dealer.x/g/5"));
    assert_eq!(vehicle.exterior_color.as_deref(), Some("Soul Red"));
    assert_eq!(vehicle.trim.as_deref(), Some("Touring"));
    assert_eq!(vehicle.body_style.as_deref(), Some("SUV"));
    assert_eq!(vehicle.engine.as_deref(), Some("2.5L"));
    assert_eq!(vehicle.in_stock_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 20));
    assert_eq!(vehicle.extra.get("store_code").map(String::as_str), Some("STORE-9"));
    assert_eq!(
        vehicle.extra.get("vehicle_fulfillment").map(String::as_str),
        Some("in_store:STORE-9")
    );
}

#[test]
fn dealer_website_exports_fill_their_fields() {
    let feed = format!(
        "stockNumber|vin|year|make|model|trim|ext_color|int_color|miles|askingPrice|internetPrice|invoicePrice|\
         type|certified|inventoryDate|image_urls|features|driveLine|fuelType|bodyStyle|MPG City|MPG Highway|\
         Video URL|Vehicle URL|Availability\n\
         D-1|{}|2020|Subaru|Outback|Limited|Crystal Black|Slate|\"30,100 mi\"|27995|26995|24000|\
         Used|No|20261101|https://img.x/d1.jpg https://img.x/d2.jpg|EyeSight; Heated Seats|AWD|Gas|Wagon|26|33|\
         https://video.x/d1|https://dealer.x/d1|Sale Pending\n",
        vin(5)
    );
    let vehicle = only_vehicle(feed);
    assert_eq!(vehicle.stock_number.as_deref(), Some("D-1"));
    assert_eq!(vehicle.exterior_color.as_deref(), Some("Crystal Black"));
    assert_eq!(vehicle.interior_color.as_deref(), Some("Slate"));
    assert_eq!(vehicle.mileage, Some(30_100));
    assert_eq!(vehicle.selling_price, dollars(27_995));
    assert_eq!(vehicle.internet_price, dollars(26_995));
    assert_eq!(vehicle.invoice_price, dollars(24_000));
    assert_eq!(vehicle.condition, Some(Condition::Used));
    assert!(!vehicle.certified);
    assert_eq!(vehicle.in_stock_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 1));
    assert_eq!(
        vehicle.images,
        strings(&["https://img.x/d1.jpg", "https://img.x/d2.jpg"])
    );
    assert_eq!(vehicle.features, strings(&["EyeSight", "Heated Seats"]));
    assert_eq!(vehicle.drivetrain.as_deref(), Some("AWD"));
    assert_eq!(vehicle.fuel_type.as_deref(), Some("Gas"));
    assert_eq!(vehicle.body_style.as_deref(), Some("Wagon"));
    assert_eq!(vehicle.fuel_economy.as_deref(), Some("26 city / 33 hwy"));
    assert_eq!(vehicle.video_url.as_deref(), Some("https://video.x/d1"));
    assert_eq!(vehicle.vdp_url.as_deref(), Some("https://dealer.x/d1"));
    assert_eq!(vehicle.status, VehicleStatus::Pending);
}

#[test]
fn every_synonym_family_is_recognised_in_a_provider_spelling() {
    let cases = [
        ("VIN", Field::Vin),
        ("Stock #", Field::StockNumber),
        ("vehicle_id", Field::StockNumber),
        ("New/Used", Field::Condition),
        ("state_of_vehicle", Field::Condition),
        ("CPO", Field::Certified),
        ("brand", Field::Make),
        ("Model", Field::Model),
        ("Model Year", Field::Year),
        ("Series", Field::Trim),
        ("Body", Field::BodyStyle),
        ("Exterior Color Generic", Field::ExteriorColor),
        ("Color", Field::ExteriorColor),
        ("InteriorColor", Field::InteriorColor),
        ("Odometer", Field::Mileage),
        ("mileage.value", Field::Mileage),
        ("Engine Description", Field::Engine),
        ("Transmission Description", Field::Transmission),
        ("DriveType", Field::Drivetrain),
        ("Fuel", Field::FuelType),
        ("MPG City/Hwy", Field::FuelEconomy),
        ("City MPG", Field::MpgCity),
        ("Highway MPG", Field::MpgHighway),
        ("MSRP", Field::Msrp),
        ("vehicle_msrp", Field::Msrp),
        ("Selling Price", Field::SellingPrice),
        ("Price", Field::SellingPrice),
        ("Internet Price", Field::InternetPrice),
        ("sale_price", Field::InternetPrice),
        ("Invoice", Field::InvoicePrice),
        ("Equipment", Field::Features),
        ("Comments", Field::Description),
        ("Photo Url List", Field::Images),
        ("Image URLs", Field::Images),
        ("image[3].url", Field::Images),
        ("additional_image_link", Field::Images),
        ("video_link", Field::VideoUrl),
        ("Link", Field::VdpUrl),
        ("DateInStock", Field::InStockDate),
        ("Inventory Date", Field::InStockDate),
        ("Vehicle Status", Field::Status),
    ];
    for (header, field) in cases {
        let mapping = ColumnMapping::from_headers(&[header]);
        assert_eq!(
            mapping.header_for(field),
            Some(header),
            "{header} should feed {field:?}"
        );
        assert!(mapping.extra_headers().is_empty(), "{header}");
    }
    for header in ["Book Value", "store_code", "title", "Cost"] {
        assert_eq!(ColumnMapping::from_headers(&[header]).extra_headers(), [header]);
    }
}

#[test]
fn the_mapping_reports_which_header_each_field_took_and_what_went_to_extra() {
    let (reader, _) = read("Stock #,Make,Model,Year,Color,Exterior Color,Book Value\nS1,Kia,Soul,2020,Red,Ruby,1\n");
    let mapping = reader.mapping();
    assert_eq!(mapping.header_for(Field::StockNumber), Some("Stock #"));
    assert_eq!(mapping.headers_for(Field::ExteriorColor), ["Exterior Color", "Color"]);
    assert_eq!(mapping.extra_headers(), ["Book Value"]);
    let json = serde_json::to_value(mapping).expect("serialises");
    assert_eq!(json["fields"]["stock_number"], serde_json::json!(["Stock #"]));
    assert_eq!(json["extra"], serde_json::json!(["Book Value"]));
}

// ---------------------------------------------------------------------------------------------
// File format

#[test]
fn each_of_the_four_delimiters_is_detected() {
    for delimiter in ['\t', ',', '|', ';'] {
        let header = ["VIN", "Make", "Model", "Year", "Features"].join(&delimiter.to_string());
        let row = [
            vin(6).as_str(),
            "Honda",
            "Civic",
            "2020",
            "\"A/C, Cruise | Bluetooth; USB\"",
        ]
        .join(&delimiter.to_string());
        let (reader, outcomes) = read(format!("{header}\n{row}\n{row}\n"));
        assert_eq!(reader.format().delimiter, delimiter);
        assert_eq!(outcomes.len(), 2, "{delimiter:?}");
        let RowOutcome::Vehicle { vehicle, .. } = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(vehicle.model, "Civic", "{delimiter:?}");
    }
}

#[test]
fn a_header_with_no_known_delimiter_is_refused() {
    let error = open_error(format!("VIN Make Model Year\n{} Honda Civic 2020\n", vin(7)));
    assert!(matches!(error, FeedError::UndetectedDelimiter(_)), "{error}");
    assert!(
        error.to_string().contains("no tab, comma, pipe or semicolon"),
        "{error}"
    );
}

#[test]
fn a_utf8_bom_is_not_part_of_the_first_header() {
    let (reader, outcomes) = read(format!("\u{FEFF}VIN,Make,Model,Year\n{},Honda,Fit,2019\n", vin(8)));
    assert!(reader.format().had_bom);
    assert_eq!(reader.format().encoding, "utf-8");
    assert_eq!(reader.mapping().header_for(Field::Vin), Some("VIN"));
    assert_eq!(outcomes.len(), 1);
}

#[test]
fn crlf_line_endings_leave_no_carriage_return_and_keep_line_numbers() {
    let vehicles = clean_vehicles(format!(
        "VIN,Make,Model,Year,Trim\r\n{},Honda,Fit,2019,LX\r\n{},Honda,Fit,2020,\"EX\"\r\n",
        vin(9),
        vin(10)
    ));
    assert_eq!(
        vehicles.iter().map(|v| v.trim.as_deref()).collect::<Vec<_>>(),
        [Some("LX"), Some("EX")]
    );
    assert_eq!(vehicles.iter().map(|v| v.line).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn windows_1252_bytes_are_decoded_cell_by_cell() {
    let mut feed = b"VIN;Make;Model;Year;Description\n".to_vec();
    feed.extend_from_slice(format!("{};Citro", vin(11)).as_bytes());
    feed.extend_from_slice(b"\xebn;C5;2018;Caf\xe9 au lait \x96 tr\xe8s propre\n");
    feed.extend_from_slice(format!("{};", vin(12)).as_bytes());
    feed.extend_from_slice("Škoda;Octavia;2017;ok\n".as_bytes());
    let (reader, outcomes) = read(feed);
    assert_eq!(reader.format().encoding, "windows-1252");
    let vehicles: Vec<FeedVehicle> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            RowOutcome::Vehicle { vehicle, .. } => *vehicle,
            rejected => panic!("{rejected:?}"),
        })
        .collect();
    assert_eq!(vehicles[0].make, "Citroën");
    assert_eq!(vehicles[0].description.as_deref(), Some("Café au lait – très propre"));
    assert_eq!(
        vehicles[1].make, "Škoda",
        "a UTF-8 cell in a Windows-1252 file stays UTF-8"
    );
}

#[test]
fn quoted_cells_keep_embedded_delimiters_quotes_and_newlines_and_lines_count_them() {
    let feed = format!(
        "VIN,Make,Model,Year,Description\n\
         {},Jeep,Wrangler,2021,\"Lifted, 35\"\" tires\nNew top,\r\nno smoke\"\n\
         {},Jeep,Compass,2022,plain\n",
        vin(13),
        vin(14)
    );
    let vehicles = clean_vehicles(feed);
    assert_eq!(
        vehicles[0].description.as_deref(),
        Some("Lifted, 35\" tires\nNew top,\r\nno smoke")
    );
    assert_eq!(vehicles[0].line, 2);
    assert_eq!(vehicles[1].model, "Compass");
    assert_eq!(vehicles[1].line, 5, "the quoted cell spans lines 2 to 4");
}

#[test]
fn blank_lines_and_lines_of_bare_delimiters_are_skipped_and_counted() {
    let feed = format!(
        "\n\nVIN,Make,Model,Year\n\n{},Honda,Fit,2019\n,,,\n   \n\r\n{},Honda,Fit,2020\n\n\n",
        vin(15),
        vin(16)
    );
    let vehicles = clean_vehicles(feed);
    assert_eq!(vehicles.iter().map(|v| v.line).collect::<Vec<_>>(), [5, 9]);
}

#[test]
fn trailing_delimiters_add_no_columns() {
    let (reader, outcomes) = read(format!("VIN|Make|Model|Year|\n{}|Ford|Focus|2016|\n", vin(17)));
    assert!(reader.mapping().extra_headers().is_empty());
    assert_eq!(reader.mapping().column_count(), 5);
    let RowOutcome::Vehicle { vehicle, warnings } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(
        warnings.is_empty() && vehicle.extra.is_empty(),
        "{warnings:?} {:?}",
        vehicle.extra
    );
}

#[test]
fn short_rows_lack_their_last_cells_and_long_rows_warn_about_the_cells_past_the_header() {
    let feed = format!(
        "VIN,Make,Model,Year,Trim\n{},Ford,Focus,2016\n{},Ford,Fiesta,2015,SE,oops\n",
        vin(18),
        vin(19)
    );
    let (_, outcomes) = read(feed);
    let RowOutcome::Vehicle { vehicle, warnings } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!((vehicle.trim.as_deref(), warnings.len()), (None, 0));
    let RowOutcome::Vehicle { vehicle, warnings } = &outcomes[1] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(vehicle.trim.as_deref(), Some("SE"));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].reason.contains("6 cells but the header only 5"),
        "{warnings:?}"
    );
}

#[test]
fn a_duplicated_mapped_column_takes_the_first_non_empty_value_and_unmapped_duplicates_are_numbered() {
    let feed = format!(
        "VIN,Make,Model,Year,Price,Price,Note,Note\n{},Kia,Rio,2018,,\"12,500\",first,second\n{},Kia,Rio,2018,9000,9500,,x\n",
        vin(20),
        vin(21)
    );
    let (reader, outcomes) = read(feed);
    assert_eq!(
        reader.mapping().headers_for(Field::SellingPrice),
        ["Price", "Price (2)"]
    );
    assert_eq!(reader.mapping().extra_headers(), ["Note", "Note (2)"]);
    let vehicles: Vec<&FeedVehicle> = outcomes
        .iter()
        .map(|outcome| match outcome {
            RowOutcome::Vehicle { vehicle, .. } => &**vehicle,
            rejected => panic!("{rejected:?}"),
        })
        .collect();
    assert_eq!(vehicles[0].selling_price, dollars(12_500));
    assert_eq!(vehicles[1].selling_price, dollars(9_000));
    assert_eq!(vehicles[0].extra.get("Note").map(String::as_str), Some("first"));
    assert_eq!(vehicles[0].extra.get("Note (2)").map(String::as_str), Some("second"));
    assert_eq!(vehicles[1].extra.keys().collect::<Vec<_>>(), ["Note (2)"]);
}

#[test]
fn rows_beyond_the_sniffed_first_64_kib_are_all_read() {
    let mut feed = String::from("Stock,Make,Model,Year,Description\n");
    for n in 0..3000 {
        feed.push_str(&format!("S{n},Honda,Civic,2020,\"{}\"\n", "long text ".repeat(5)));
    }
    assert!(feed.len() > 128 * 1024);
    let vehicles = clean_vehicles(feed);
    assert_eq!(vehicles.len(), 3000);
    assert_eq!(vehicles[2999].stock_number.as_deref(), Some("S2999"));
    assert_eq!(vehicles[2999].line, 3001);
}

// ---------------------------------------------------------------------------------------------
// Feed-level errors

#[test]
fn an_empty_file_is_refused_as_empty() {
    assert!(matches!(open_error(""), FeedError::Empty));
    assert!(matches!(open_error("\u{FEFF}"), FeedError::Empty));
}

#[test]
fn a_file_of_blank_lines_has_no_header() {
    let error = open_error("\n\r\n  \n");
    assert!(matches!(error, FeedError::NoHeader(_)), "{error}");
}

#[test]
fn a_header_without_vin_or_stock_number_is_refused() {
    let error = open_error("Make,Model,Year\nHonda,Fit,2019\n");
    assert!(matches!(error, FeedError::NoIdentifier { .. }), "{error}");
    assert!(
        error.to_string().contains("neither a VIN nor a stock number"),
        "{error}"
    );
}

#[test]
fn a_header_missing_required_columns_names_them() {
    let error = open_error("VIN,Model,Color\nX,Fit,Red\n");
    let FeedError::MissingRequired { fields, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(fields, &["make", "year"]);
    assert!(error.to_string().contains("make, year"), "{error}");
}

/// Gives `data`, then fails.
struct FailingAfter {
    data: io::Cursor<Vec<u8>>,
}

impl Read for FailingAfter {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.data.read(buffer)? {
            0 => Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset")),
            n => Ok(n),
        }
    }
}

#[test]
fn a_read_error_while_sniffing_is_an_io_error() {
    let error = FeedReader::new(FailingAfter {
        data: io::Cursor::new(b"VIN,Make".to_vec()),
    })
    .expect_err("fails");
    assert!(matches!(error, FeedError::Io(_)), "{error}");
}

#[test]
fn a_read_error_mid_feed_ends_the_rows_and_is_reported() {
    let mut feed = String::from("Stock,Make,Model,Year\n");
    for n in 0..5000 {
        feed.push_str(&format!("S{n},Honda,Civic,2020\n"));
    }
    let mut reader = FeedReader::new(FailingAfter {
        data: io::Cursor::new(feed.into_bytes()),
    })
    .expect("header");
    let rows = reader.by_ref().count();
    assert!(rows > 0 && rows <= 5000, "{rows}");
    assert!(matches!(reader.error(), Some(FeedError::Io(_))), "{:?}", reader.error());
    assert_eq!(reader.next(), None);
}

// ---------------------------------------------------------------------------------------------
// Rows

#[test]
fn bad_rows_are_rejected_with_line_column_and_reason_and_later_rows_still_import() {
    let feed = format!(
        "VIN\tMake\tModel\tYear\n{}\tHonda\tFit\t2019\n{}\t\tFit\t2019\n{}\tHonda\tFit\t19\n{}\tHonda\tFit\t2021\n",
        vin(22),
        vin(23),
        vin(24),
        vin(25)
    );
    let (_, outcomes) = read(feed);
    assert_eq!(outcomes.len(), 4);
    assert!(matches!(outcomes[0], RowOutcome::Vehicle { .. }));
    assert_eq!(
        rejection(&outcomes[1]),
        [RowIssue {
            line: 3,
            column: Some("Make".into()),
            reason: "make is missing".into()
        }]
    );
    let issues = rejection(&outcomes[2]);
    assert_eq!((issues[0].line, issues[0].column.as_deref()), (4, Some("Year")));
    assert!(
        issues[0]
            .reason
            .contains("\"19\" is not a model year between 1900 and 2100"),
        "{issues:?}"
    );
    let RowOutcome::Vehicle { vehicle, .. } = &outcomes[3] else {
        panic!("{:?}", outcomes[3])
    };
    assert_eq!((vehicle.year, vehicle.line), (2021, 5));
}

#[test]
fn a_rejection_lists_every_missing_required_value() {
    let (_, outcomes) = read("Stock,Make,Model,Year\n,,Fit,\n");
    let issues = rejection(&outcomes[0]);
    let reasons: Vec<&str> = issues.iter().map(|issue| issue.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "no VIN and no stock number: nothing identifies the vehicle",
            "make is missing",
            "year is missing"
        ]
    );
    assert_eq!(issues[0].column, None);
}

#[test]
fn a_row_without_vin_is_identified_by_its_stock_number() {
    let vehicle = only_vehicle("VIN,Stock Number,Make,Model,Year\n,S-42,Honda,Fit,2019\n");
    assert_eq!(vehicle.vin, None);
    assert_eq!(vehicle.key(), VehicleKey::Stock("S-42".into()));
}

#[test]
fn a_malformed_vin_next_to_a_stock_number_is_dropped_with_a_warning() {
    let (vehicle, warnings) =
        vehicle_with_warnings("VIN,Stock,Make,Model,Year\n1HGCM82633A00435,S-43,Honda,Fit,2019\n");
    assert_eq!(vehicle.key(), VehicleKey::Stock("S-43".into()));
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].line, warnings[0].column.as_deref()), (2, Some("VIN")));
    assert!(
        warnings[0].reason.contains("17 characters, this one has 16"),
        "{warnings:?}"
    );
}

#[test]
fn a_malformed_vin_without_a_stock_number_rejects_the_row() {
    let (_, outcomes) = read("VIN,Stock,Make,Model,Year\n1HGCM82633A0O4352,,Honda,Fit,2019\n");
    let issues = rejection(&outcomes[0]);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].column.as_deref(), Some("VIN"));
    assert!(
        issues[0].reason.contains("no stock number to fall back on"),
        "{issues:?}"
    );
}

#[test]
fn a_wrong_check_digit_keeps_the_vin_with_a_warning() {
    let good = vin(26);
    let wrong_digit = if good.as_bytes()[8] == b'1' { '2' } else { '1' };
    let mut bad = good.clone();
    bad.replace_range(8..9, &wrong_digit.to_string());
    let (vehicle, warnings) =
        vehicle_with_warnings(format!("VIN,Make,Model,Year\n{},Honda,Fit,2019\n", bad.to_lowercase()));
    assert_eq!(vehicle.vin.as_deref(), Some(bad.as_str()), "kept, upper-cased");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].reason.contains(&format!("should be {}", &good[8..9])),
        "{warnings:?}"
    );
}

#[test]
fn no_value_markers_read_as_absent() {
    let feed = format!(
        "VIN,Make,Model,Year,Trim,Color,Mileage,Price,Features,Images,Notes\n\
         {},Honda,Fit,2019,N/A,#N/A,-,null,none,--,NA\n\
         {},N/A,Fit,2019,,,,,,,\n",
        vin(27),
        vin(28)
    );
    let (_, outcomes) = read(feed);
    let RowOutcome::Vehicle { vehicle, warnings } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        (vehicle.trim.as_deref(), vehicle.exterior_color.as_deref()),
        (None, None)
    );
    assert_eq!((vehicle.mileage, vehicle.price), (None, None));
    assert!(vehicle.features.is_empty() && vehicle.images.is_empty() && vehicle.extra.is_empty());
    assert_eq!(rejection(&outcomes[1])[0].reason, "make is missing");
}

#[test]
fn prices_mileage_and_dates_are_read_from_their_usual_spellings() {
    let feed = format!(
        "VIN,Make,Model,Year,MSRP,Selling Price,Internet Price,Invoice,Mileage,Date In Stock\n\
         {},Honda,Fit,2019,\"$23,995.00\",23995,\"23,995\",USD 23995.00,\"12,345 mi\",2026-11-20T10:00:00Z\n\
         {},Honda,Fit,2019,23995 USD,23995.5,0,1,12345 miles,20261120\n",
        vin(29),
        vin(30)
    );
    let vehicles = clean_vehicles(feed);
    let expected = Some(Cents::new(2_399_500));
    let first = &vehicles[0];
    assert_eq!(
        [
            first.msrp,
            first.selling_price,
            first.internet_price,
            first.invoice_price
        ],
        [expected; 4]
    );
    assert_eq!(first.mileage, Some(12_345));
    assert_eq!(first.in_stock_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 20));
    let second = &vehicles[1];
    assert_eq!(second.msrp, expected);
    assert_eq!(second.selling_price, Some(Cents::new(2_399_550)));
    assert_eq!(second.internet_price, None, "a zero price is no price");
    assert_eq!(second.mileage, Some(12_345));
    assert_eq!(second.in_stock_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 20));
}

#[test]
fn an_unreadable_optional_value_is_dropped_with_a_warning_naming_its_column() {
    let (vehicle, warnings) = vehicle_with_warnings(format!(
        "VIN,Make,Model,Year,Odometer,Internet Price,Date In Stock,Condition,Status\n\
         {},Honda,Fit,2019,low,-500,someday,demo,lost\n",
        vin(31)
    ));
    assert_eq!(
        (vehicle.mileage, vehicle.internet_price, vehicle.in_stock_date),
        (None, None, None)
    );
    assert_eq!((vehicle.condition, vehicle.status), (None, VehicleStatus::Available));
    let by_column: Vec<(Option<&str>, &str)> = warnings
        .iter()
        .map(|w| (w.column.as_deref(), w.reason.as_str()))
        .collect();
    assert_eq!(
        by_column,
        [
            (
                Some("Condition"),
                "condition \"demo\" is not a condition (expected new, used or certified); dropped"
            ),
            (Some("Internet Price"), "internet_price \"-500\" is negative; dropped"),
            (Some("Odometer"), "mileage \"low\" is not a number; dropped"),
            (
                Some("Date In Stock"),
                "in_stock_date \"someday\" is not a date (expected 2026-11-20, 11/20/2026 or 20261120); dropped"
            ),
            (
                Some("Status"),
                "status \"lost\" is not a status (expected available, pending, sold or in transit); dropped"
            ),
        ]
    );
    assert!(warnings.iter().all(|warning| warning.line == 2));
}

#[test]
fn customer_price_is_internet_then_selling_then_msrp_and_never_invoice() {
    let feed = format!(
        "VIN,Make,Model,Year,MSRP,Selling Price,Internet Price,Invoice\n\
         {},Kia,Rio,2020,30000,29000,28000,25000\n\
         {},Kia,Rio,2020,30000,29000,,25000\n\
         {},Kia,Rio,2020,30000,,,25000\n\
         {},Kia,Rio,2020,,,,25000\n",
        vin(32),
        vin(33),
        vin(34),
        vin(35)
    );
    let prices: Vec<Option<Cents>> = clean_vehicles(feed).iter().map(|v| v.price).collect();
    assert_eq!(prices, [dollars(28_000), dollars(29_000), dollars(30_000), None]);
}

#[test]
fn condition_certified_and_a_certified_column_both_set_certified() {
    let feed = format!(
        "VIN,Make,Model,Year,Condition,Certified\n{},Kia,Rio,2020,Certified Pre-Owned,\n{},Kia,Rio,2020,Used,Y\n{},Kia,Rio,2020,U,N\n",
        vin(36),
        vin(37),
        vin(38)
    );
    let flags: Vec<(Option<Condition>, bool)> = clean_vehicles(feed)
        .iter()
        .map(|v| (v.condition, v.certified))
        .collect();
    assert_eq!(
        flags,
        [
            (Some(Condition::Certified), true),
            (Some(Condition::Used), true),
            (Some(Condition::Used), false)
        ]
    );
}

#[test]
fn unmapped_columns_are_kept_in_extra_under_their_header() {
    let vehicle = only_vehicle(format!(
        "VIN,Make,Model,Year,Book Value,Lot Location\n{},Kia,Rio,2020,$9000, Back row \n",
        vin(39)
    ));
    let extra: Vec<(&str, &str)> = vehicle.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(extra, [("Book Value", "$9000"), ("Lot Location", "Back row")]);
}

#[test]
fn content_hash_ignores_the_line_and_changes_with_any_field() {
    let row =
        |price: &str, features: &str, note: &str| format!("{},Kia,Rio,2020,{price},\"{features}\",{note}\n", vin(40));
    let feed = format!(
        "VIN,Make,Model,Year,Price,Features,Note\n{}{}{}{}{}",
        row("9000", "a|bc", "x"),
        row("9000", "a|bc", "x"),
        row("9001", "a|bc", "x"),
        row("9000", "ab|c", "x"),
        row("9000", "a|bc", "y"),
    );
    let hashes: Vec<String> = clean_vehicles(feed).into_iter().map(|v| v.content_hash).collect();
    assert_eq!(hashes[0].len(), 32);
    assert!(hashes[0].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(hashes[0], hashes[1], "same vehicle on another line");
    for (index, changed) in hashes.iter().enumerate().skip(2) {
        assert_ne!(&hashes[0], changed, "row {index} changed a field");
    }
}
