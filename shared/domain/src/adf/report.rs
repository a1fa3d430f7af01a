//! The two derived views of a [`Lead`]: the operator's JSON report and the content hash.
//!
//! The report has a fixed shape (every key always present, `null` or `[]` when there is
//! nothing, never an empty string) so that `rylie-ops parse-adf` output can be diffed and
//! scripted against; it is a summary, the full model is the lead's `Serialize`.
//!
//! The hash is over an unambiguous encoding (each text ends with a byte UTF-8 never holds,
//! an absent value is a different byte) of case-folded content, so that "HONDA" and "Honda"
//! are the same lead but a field moving to its neighbour is not.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Contact, Lead, Phone, Vehicle};
use crate::content_hash::ContentEncoder;

/// The reports of several leads, as a JSON array.
pub fn report_all(leads: &[Lead]) -> Value {
    Value::Array(leads.iter().map(Lead::report).collect())
}

pub(super) fn report(lead: &Lead) -> Value {
    json!({
        "ids": lead.ids.iter().map(|id| json!({"value": id.value, "source": id.source})).collect::<Vec<_>>(),
        "request_date": lead.request_date.as_ref().map(rfc3339),
        "status": lead.status.as_str(),
        "vehicles": lead.vehicles.iter().map(vehicle).collect::<Vec<_>>(),
        "customer": customer(lead),
        "vendor": lead.vendor.as_ref().map(|vendor| {
            let contact = vendor.contact.as_ref();
            json!({
                "name": vendor.name,
                "contact_name": contact.and_then(Contact::full_name),
                "email": contact.and_then(first_email),
                "phone": contact.and_then(first_phone),
            })
        }),
        "provider": lead.provider.as_ref().map(|provider| {
            let contact = provider.contact.as_ref();
            json!({
                "name": provider.name,
                "service": provider.service,
                "url": provider.url,
                "email": provider.email.as_ref().map(|email| email.address.as_str()).or_else(|| contact.and_then(first_email)),
                "phone": provider.phone.as_ref().map(|phone| phone.number.as_str()).or_else(|| contact.and_then(first_phone)),
            })
        }),
        "warnings": lead.warnings,
    })
}

fn vehicle(vehicle: &Vehicle) -> Value {
    json!({
        "interest": vehicle.interest.as_str(),
        "status": vehicle.status.as_str(),
        "year": vehicle.year,
        "make": vehicle.make,
        "model": vehicle.model,
        "trim": vehicle.trim,
        "vin": vehicle.vin,
        "stock": vehicle.stock,
        "price": vehicle.price.as_ref().map(|price| json!({
            "amount": price.amount,
            "currency": price.currency,
            "type": price.kind.as_str(),
        })),
        "odometer": vehicle.odometer.as_ref().map(|odometer| json!({
            "value": odometer.value,
            "units": odometer.units.map(|units| units.as_str()),
        })),
        "comments": vehicle.comments,
    })
}

fn customer(lead: &Lead) -> Value {
    let customer = &lead.customer;
    let contact = &customer.contact;
    json!({
        "first_name": contact.first_name(),
        "middle_name": contact.middle_name(),
        "last_name": contact.last_name(),
        "full_name": contact.full_name(),
        "emails": contact.emails.iter().map(|email| email.address.as_str()).collect::<Vec<_>>(),
        "phones": contact.phones.iter().map(phone).collect::<Vec<_>>(),
        "address": contact.address.as_ref().map(|address| json!({
            "street": address.street.iter().map(|street| street.value.as_str()).collect::<Vec<_>>(),
            "apartment": address.apartment,
            "city": address.city,
            "region": address.region_code,
            "postal_code": address.postal_code,
            "country": address.country,
        })),
        "comments": customer.comments,
        "timeframe": customer.timeframe.as_ref().map(|timeframe| json!({
            "description": timeframe.description,
            "earliest": timeframe.earliest_date.as_ref().map(rfc3339),
            "latest": timeframe.latest_date.as_ref().map(rfc3339),
        })),
    })
}

fn phone(phone: &Phone) -> Value {
    json!({
        "number": phone.number,
        "raw": phone.raw,
        "type": phone.kind.as_str(),
        "time": phone.time.as_str(),
    })
}

fn first_email(contact: &Contact) -> Option<&str> {
    contact.emails.first().map(|email| email.address.as_str())
}

fn first_phone(contact: &Contact) -> Option<&str> {
    contact.phones.first().map(|phone| phone.number.as_str())
}

fn rfc3339(at: &DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(super) fn content_hash(lead: &Lead) -> String {
    let mut buffer = Vec::with_capacity(512);
    let mut encoder = ContentEncoder(&mut buffer);
    encoder.text(Some("rylie-adf-lead-v1"));
    let contact = &lead.customer.contact;
    encoder.folded(contact.first_name());
    encoder.folded(contact.middle_name());
    encoder.folded(contact.last_name());
    encoder.folded(contact.full_name().as_deref());
    encoder.list(contact.emails.iter().map(|email| email.address.as_str()));
    encoder.list(contact.phones.iter().map(|phone| phone.number.as_str()));
    encoder.folded(lead.customer.comments.as_deref());
    for vehicle in &lead.vehicles {
        encoder.text(Some(vehicle.interest.as_str()));
        encoder.text(Some(vehicle.status.as_str()));
        encoder.optional_number(vehicle.year.map(i64::from));
        encoder.folded(vehicle.make.as_deref());
        encoder.folded(vehicle.model.as_deref());
        encoder.folded(vehicle.trim.as_deref());
        encoder.text(vehicle.vin.as_deref());
        encoder.folded(vehicle.stock.as_deref());
        match &vehicle.price {
            None => encoder.text(None),
            Some(price) => {
                encoder.text(Some(price.kind.as_str()));
                // Cents, so that 23995 and 23995.00 are one price.
                encoder.optional_number(price.amount.map(|amount| (amount * 100.0).round() as i64));
            }
        }
        match &vehicle.odometer {
            None => encoder.text(None),
            Some(odometer) => {
                encoder.optional_number(odometer.value.map(i64::from));
                encoder.text(odometer.units.map(|units| units.as_str()));
            }
        }
        encoder.folded(vehicle.comments.as_deref());
    }
    encoder.text(None);
    encoder.folded(lead.provider.as_ref().and_then(|provider| provider.name.as_deref()));
    encoder.folded(lead.vendor.as_ref().and_then(|vendor| vendor.name.as_deref()));
    hex::encode(Sha256::digest(&buffer))
}
