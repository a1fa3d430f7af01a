//! `rylie-ops bench adf`: ADF lead parsing, single-threaded, on typical provider leads
//! (AutoTrader, Cars.com, CarGurus, TrueCar; the fixtures of rylie-domain's tests), two ways
//! in one run:
//!
//! * **ours**: `rylie_domain::adf::parse`, which streams quick-xml's events once and stores
//!   each value where the element's place says it goes;
//! * **naive**: the generic way, also on quick-xml: build an owned tree of nodes (name,
//!   attributes, text, children) for the whole document, then walk the tree to fill the same
//!   `Lead` with the same value parsers.
//!
//! Before timing, both readers must agree on every sample (same content hash per lead), so
//! the comparison is of the same work.

use std::hint::black_box;
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use rylie_domain::adf::{
    self, Address, Contact, Customer, Email, Lead, LeadId, LeadStatus, Name, NamePart, NameType, Odometer, Phone,
    PhoneTime, PhoneType, Price, PriceType, Provider, Street, Timeframe, Vehicle, VehicleInterest, VehicleStatus,
    Vendor, values,
};

const SAMPLES: [(&str, &str); 4] = [
    (
        "autotrader",
        include_str!("../../../shared/domain/tests/fixtures/adf/autotrader.xml"),
    ),
    (
        "cars_com",
        include_str!("../../../shared/domain/tests/fixtures/adf/cars_com.xml"),
    ),
    (
        "cargurus",
        include_str!("../../../shared/domain/tests/fixtures/adf/cargurus.xml"),
    ),
    (
        "truecar",
        include_str!("../../../shared/domain/tests/fixtures/adf/truecar.xml"),
    ),
];

/// Parses the samples `iterations` times each, ours then naive, and prints the rates.
pub fn run(iterations: usize) -> Result<(), String> {
    let iterations = iterations.max(1);
    for (name, xml) in SAMPLES {
        let ours = adf::parse(xml).map_err(|error| format!("{name}: {error}"))?;
        let naive = naive::parse(xml).map_err(|error| format!("{name} (naive): {error}"))?;
        let agree = ours.len() == naive.len()
            && ours
                .iter()
                .zip(&naive)
                .all(|(a, b)| a.content_hash() == b.content_hash());
        if !agree {
            return Err(format!("{name}: the naive reader does not read the same lead as ours"));
        }
    }
    let bytes: usize = SAMPLES.iter().map(|(_, xml)| xml.len()).sum();
    println!(
        "{} typical leads ({} bytes on average), {iterations} rounds, one thread",
        SAMPLES.len(),
        bytes / SAMPLES.len()
    );

    // Warm caches and the allocator for both before measuring either.
    time(iterations / 10 + 1, parse_ours);
    time(iterations / 10 + 1, parse_naive);

    // The machine is shared (CI runners, laptops): the fastest of a few batches is the
    // figure least disturbed by other work.
    let per_batch = iterations.div_ceil(BATCHES);
    let (ours_leads, ours) = best_of(per_batch, parse_ours);
    let (naive_leads, naive) = best_of(per_batch, parse_naive);
    print_rate("ours: streaming, one pass", ours_leads, bytes * per_batch, ours);
    print_rate("naive: owned DOM, then walk it", naive_leads, bytes * per_batch, naive);
    println!(
        "ours is {:.1}x the naive rate (fastest of {BATCHES} batches of {per_batch} rounds each)",
        naive.as_secs_f64() / ours.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    Ok(())
}

const BATCHES: usize = 5;

fn parse_ours(xml: &str) -> usize {
    adf::parse(xml).map_or(0, |leads| leads.len())
}

fn parse_naive(xml: &str) -> usize {
    naive::parse(xml).map_or(0, |leads| leads.len())
}

/// The fastest of [`BATCHES`] timed batches.
fn best_of(iterations: usize, parse: fn(&str) -> usize) -> (usize, Duration) {
    (0..BATCHES)
        .map(|_| time(iterations, parse))
        .min_by_key(|(_, elapsed)| *elapsed)
        .unwrap_or((0, Duration::ZERO))
}

/// Runs `parse` over every sample `iterations` times; the leads read and the time taken.
fn time(iterations: usize, parse: fn(&str) -> usize) -> (usize, Duration) {
    let started = Instant::now();
    let mut leads = 0;
    for _ in 0..iterations {
        for (_, xml) in SAMPLES {
            leads += parse(black_box(xml));
        }
    }
    (black_box(leads), started.elapsed())
}

fn print_rate(label: &str, leads: usize, bytes: usize, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "{label:<34} {:>10.0} leads/s  {:>7.2} µs/lead  {:>7.1} MB/s",
        leads as f64 / seconds,
        seconds * 1e6 / leads.max(1) as f64,
        bytes as f64 / seconds / 1e6
    );
}

/// The generic way: a tree of owned nodes, then lookups by name.
mod naive {
    use super::*;

    #[derive(Debug, Default)]
    pub struct Node {
        name: String,
        attributes: Vec<(String, String)>,
        text: String,
        children: Vec<Node>,
    }

    impl Node {
        fn child(&self, name: &str) -> Option<&Node> {
            self.children.iter().find(|child| child.name == name)
        }

        fn all<'n>(&'n self, name: &'n str) -> impl Iterator<Item = &'n Node> {
            self.children.iter().filter(move |child| child.name == name)
        }

        fn attribute(&self, name: &str) -> Option<&str> {
            self.attributes
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        }

        fn text_of(&self, name: &str) -> Option<String> {
            self.child(name)
                .and_then(|child| values::collapse_whitespace(&child.text))
        }
    }

    /// The whole document as a tree (names lower-cased).
    pub fn build(xml: &str) -> Result<Node, String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().allow_dangling_amp = true;
        let mut stack = vec![Node::default()];
        loop {
            match reader.read_event().map_err(|error| error.to_string())? {
                Event::Start(start) => stack.push(open(&start)?),
                Event::Empty(start) => {
                    let node = open(&start)?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or("unbalanced end tag")?;
                    stack.last_mut().ok_or("unbalanced end tag")?.children.push(node);
                }
                Event::Text(text) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&text.xml10_content());
                    }
                }
                Event::CData(data) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&data.xml10_content());
                    }
                }
                Event::GeneralRef(reference) => {
                    let name: &str = reference.as_ref();
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => quick_xml::escape::resolve_predefined_entity(name)
                            .map_or_else(|| format!("&{name};"), str::to_owned),
                    };
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&resolved);
                    }
                }
                Event::DocType(doctype) => {
                    if doctype.contains("<!ENTITY") {
                        return Err("entity declarations are not allowed".to_owned());
                    }
                }
                Event::Eof => break,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            }
        }
        let mut document = stack.pop().ok_or("no document")?;
        if !stack.is_empty() {
            return Err("the document ends inside an element".to_owned());
        }
        document.children.pop().ok_or_else(|| "no root element".to_owned())
    }

    fn open(start: &quick_xml::events::BytesStart<'_>) -> Result<Node, String> {
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| error.to_string())?;
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|error| error.to_string())?;
            attributes.push((attribute.key.0.to_ascii_lowercase(), value.into_owned()));
        }
        Ok(Node {
            name: start.name().0.to_ascii_lowercase(),
            attributes,
            text: String::new(),
            children: Vec::new(),
        })
    }

    pub fn parse(xml: &str) -> Result<Vec<Lead>, String> {
        let root = build(xml)?;
        if root.name != "adf" {
            return Err("no <adf> root".to_owned());
        }
        let leads: Vec<Lead> = root.all("prospect").map(prospect).collect();
        if leads.is_empty() {
            return Err("no <prospect>".to_owned());
        }
        Ok(leads)
    }

    fn ids(node: &Node) -> Vec<LeadId> {
        node.all("id")
            .filter_map(|id| {
                Some(LeadId {
                    value: values::collapse_whitespace(&id.text)?,
                    source: id.attribute("source").and_then(values::collapse_whitespace),
                    sequence: id.attribute("sequence").and_then(values::collapse_whitespace),
                })
            })
            .collect()
    }

    fn date(node: &Node, name: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        node.child(name)
            .and_then(|child| values::parse_timestamp(&child.text))
            .map(|parsed| parsed.at)
    }

    fn prospect(node: &Node) -> Lead {
        Lead {
            ids: ids(node),
            request_date: date(node, "requestdate"),
            status: node.attribute("status").and_then(LeadStatus::parse).unwrap_or_default(),
            vehicles: node.all("vehicle").map(vehicle).collect(),
            customer: node.child("customer").map(customer).unwrap_or_default(),
            vendor: node.child("vendor").map(|vendor| Vendor {
                ids: ids(vendor),
                name: vendor.text_of("vendorname"),
                url: vendor.text_of("url"),
                contact: vendor.child("contact").map(contact),
            }),
            provider: node.child("provider").map(|provider| Provider {
                ids: ids(provider),
                name: provider.text_of("name"),
                service: provider.text_of("service"),
                url: provider.text_of("url"),
                email: provider.child("email").and_then(email),
                phone: provider
                    .child("phone")
                    .and_then(|p| phone(p, values::DialingRegion::NorthAmerica)),
                contact: provider.child("contact").map(contact),
            }),
            warnings: Vec::new(),
            extensions: Vec::new(),
        }
    }

    fn price(node: &Node) -> Price {
        Price {
            amount: values::parse_amount(&node.text).ok(),
            currency: node.attribute("currency").map(str::to_uppercase),
            kind: node.attribute("type").and_then(PriceType::parse).unwrap_or_default(),
            delta: node.attribute("delta").and_then(adf::PriceDelta::parse),
            relative_to: node.attribute("relativeto").and_then(adf::PriceRelativeTo::parse),
            source: node.attribute("source").and_then(values::collapse_whitespace),
        }
    }

    fn vehicle(node: &Node) -> Vehicle {
        Vehicle {
            ids: ids(node),
            interest: node
                .attribute("interest")
                .and_then(VehicleInterest::parse)
                .unwrap_or_default(),
            status: node
                .attribute("status")
                .and_then(VehicleStatus::parse)
                .unwrap_or_default(),
            year: node
                .text_of("year")
                .and_then(|year| rylie_domain::feed::values::parse_year(&year).ok()),
            make: node.text_of("make"),
            model: node.text_of("model"),
            vin: node.text_of("vin").map(|vin| vin.to_uppercase()),
            stock: node.text_of("stock"),
            trim: node.text_of("trim"),
            doors: node
                .text_of("doors")
                .and_then(|doors| values::parse_count(&doors))
                .and_then(|doors| u8::try_from(doors).ok()),
            body_style: node.text_of("bodystyle"),
            transmission: node.text_of("transmission"),
            odometer: node.child("odometer").map(|odometer| {
                let parsed = values::parse_distance(&odometer.text).ok();
                Odometer {
                    value: parsed.map(|(value, _)| value),
                    units: odometer
                        .attribute("units")
                        .and_then(adf::DistanceUnit::parse)
                        .or(parsed.and_then(|(_, unit)| unit)),
                    status: odometer.attribute("status").and_then(adf::OdometerStatus::parse),
                }
            }),
            condition: node.text_of("condition"),
            color_combinations: node
                .all("colorcombination")
                .map(|colors| adf::ColorCombination {
                    interior_color: colors.text_of("interiorcolor"),
                    exterior_color: colors.text_of("exteriorcolor"),
                    preference: colors.text_of("preference").and_then(|p| values::parse_count(&p)),
                })
                .collect(),
            image_tag: node.child("imagetag").map(|image| adf::ImageTag {
                url: values::collapse_whitespace(&image.text),
                width: image.attribute("width").and_then(values::parse_count),
                height: image.attribute("height").and_then(values::parse_count),
                alt_text: image.attribute("alttext").and_then(values::collapse_whitespace),
            }),
            price: node.child("price").map(price),
            price_comments: node.child("pricecomments").and_then(|c| values::clean_text(&c.text)),
            options: node
                .all("option")
                .map(|option| adf::VehicleOption {
                    name: option.text_of("optionname"),
                    manufacturer_code: option.text_of("manufacturercode"),
                    stock: option.text_of("stock"),
                    weighting: option.text_of("weighting").and_then(|w| values::parse_integer(&w)),
                    price: option.child("price").map(price),
                })
                .collect(),
            finance: node.child("finance").map(|finance| adf::Finance {
                method: finance.text_of("method").map(|method| method.to_lowercase()),
                amounts: finance
                    .all("amount")
                    .map(|amount| adf::FinanceAmount {
                        amount: values::parse_amount(&amount.text).ok(),
                        kind: amount
                            .attribute("type")
                            .and_then(adf::AmountType::parse)
                            .unwrap_or_default(),
                        limit: amount
                            .attribute("limit")
                            .and_then(adf::AmountLimit::parse)
                            .unwrap_or_default(),
                        currency: amount.attribute("currency").map(str::to_uppercase),
                    })
                    .collect(),
                balance: finance.child("balance").map(|balance| adf::Balance {
                    amount: values::parse_amount(&balance.text).ok(),
                    kind: balance
                        .attribute("type")
                        .and_then(adf::BalanceType::parse)
                        .unwrap_or_default(),
                    currency: balance.attribute("currency").map(str::to_uppercase),
                }),
            }),
            comments: node.child("comments").and_then(|c| values::clean_text(&c.text)),
        }
    }

    fn customer(node: &Node) -> Customer {
        Customer {
            contact: node.child("contact").map(contact).unwrap_or_default(),
            ids: ids(node),
            timeframe: node.child("timeframe").map(|timeframe| Timeframe {
                description: timeframe.text_of("description"),
                earliest_date: date(timeframe, "earliestdate"),
                latest_date: date(timeframe, "latestdate"),
            }),
            comments: node.child("comments").and_then(|c| values::clean_text(&c.text)),
        }
    }

    fn contact(node: &Node) -> Contact {
        let address = node.child("address").map(|address| Address {
            kind: address.attribute("type").and_then(adf::AddressType::parse),
            street: address
                .all("street")
                .filter_map(|street| {
                    Some(Street {
                        value: values::collapse_whitespace(&street.text)?,
                        line: street.attribute("line").and_then(values::parse_count),
                    })
                })
                .collect(),
            apartment: address.text_of("apartment"),
            city: address.text_of("city"),
            region_code: address.text_of("regioncode"),
            postal_code: address.text_of("postalcode"),
            country: address.text_of("country"),
        });
        let region = values::dialing_region(address.as_ref().and_then(|a| a.country.as_deref()));
        Contact {
            names: node
                .all("name")
                .filter_map(|name| {
                    Some(Name {
                        value: values::collapse_whitespace(&name.text)?,
                        part: name.attribute("part").and_then(NamePart::parse).unwrap_or_default(),
                        kind: name.attribute("type").and_then(NameType::parse).unwrap_or_default(),
                    })
                })
                .collect(),
            emails: node.all("email").filter_map(email).collect(),
            phones: node.all("phone").filter_map(|p| phone(p, region)).collect(),
            address,
        }
    }

    fn email(node: &Node) -> Option<Email> {
        Some(Email {
            address: values::parse_email(&node.text).ok()?,
            preferred_contact: node.attribute("preferredcontact").and_then(values::parse_flag) == Some(true),
        })
    }

    fn phone(node: &Node, region: values::DialingRegion) -> Option<Phone> {
        let raw = values::collapse_whitespace(&node.text)?;
        Some(Phone {
            number: values::normalize_phone(&raw, region).unwrap_or_else(|_| raw.clone()),
            raw,
            kind: node.attribute("type").and_then(PhoneType::parse).unwrap_or_default(),
            time: node.attribute("time").and_then(PhoneTime::parse).unwrap_or_default(),
            preferred_contact: node.attribute("preferredcontact").and_then(values::parse_flag) == Some(true),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_readers_agree_and_the_bench_runs() {
        super::run(2).expect("the bench runs");
    }
}
