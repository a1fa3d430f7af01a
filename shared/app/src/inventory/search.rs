//! Vehicle search: one parser for the filters, whether they come from a query string
//! (`GET /v1/dealerships/{id}/vehicles?make=Toyota&price_max=30000`) or from the assistant's
//! tool call. The search itself is `rylie_store::vehicles::search`, run in the caller's
//! tenant transaction.

use rylie_store::vehicles::VehicleQuery;

use crate::http::envelope::FieldError;

/// The filters a caller may use, each with what it accepts (also the tool's documentation).
pub const FILTERS: &[(&str, &str)] = &[
    (
        "q",
        "free text over make, model, trim, colours, body, fuel, drivetrain, features, description",
    ),
    ("make", "make, exact or close (typos tolerated)"),
    ("model", "model, exact or close (typos tolerated)"),
    ("year_min", "model year from"),
    ("year_max", "model year to"),
    ("price_min", "price from, in dollars"),
    ("price_max", "price to, in dollars"),
    ("mileage_max", "at most this many miles"),
    ("body_style", "sedan, suv, truck, ..."),
    ("fuel_type", "gasoline, diesel, hybrid, electric, ..."),
    ("drivetrain", "fwd, rwd, awd, 4wd"),
    ("condition", "new, used or certified"),
    ("status", "available, pending, sold or in_transit"),
    ("include_inactive", "true to include vehicles no longer in the feed"),
];

/// Parses the filters from `lookup` (a query string, tool arguments), reporting every bad one.
pub fn parse_query<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Result<VehicleQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let text = |name: &str, max: usize, errors: &mut Vec<FieldError>| -> Option<String> {
        let value = lookup(name)?.trim();
        if value.is_empty() {
            return None;
        }
        if value.chars().count() > max {
            errors.push(FieldError {
                field: name.to_owned(),
                message: format!("must be at most {max} characters"),
                code: "TOO_LONG",
            });
            return None;
        }
        Some(value.to_owned())
    };
    let number = |name: &str, min: f64, max: f64, errors: &mut Vec<FieldError>| -> Option<f64> {
        let raw = lookup(name)?.trim();
        match raw.replace([',', '$'], "").parse::<f64>() {
            Ok(value) if value.is_finite() && (min..=max).contains(&value) => Some(value),
            _ => {
                errors.push(FieldError {
                    field: name.to_owned(),
                    message: format!("must be a number from {min} to {max}"),
                    code: "OUT_OF_RANGE",
                });
                None
            }
        }
    };
    let one_of = |name: &str, allowed: &[&str], errors: &mut Vec<FieldError>| -> Option<String> {
        let value = lookup(name)?.trim().to_ascii_lowercase();
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            errors.push(FieldError {
                field: name.to_owned(),
                message: format!("must be one of {}", allowed.join(", ")),
                code: "INVALID_VALUE",
            });
            None
        }
    };
    let query = VehicleQuery {
        text: text("q", 200, &mut errors),
        make: text("make", 60, &mut errors),
        model: text("model", 60, &mut errors),
        year_min: number("year_min", 1900.0, 2100.0, &mut errors).map(|v| v as i32),
        year_max: number("year_max", 1900.0, 2100.0, &mut errors).map(|v| v as i32),
        price_min: number("price_min", 0.0, 1e9, &mut errors),
        price_max: number("price_max", 0.0, 1e9, &mut errors),
        mileage_max: number("mileage_max", 0.0, 2e9, &mut errors).map(|v| v as i32),
        body_style: text("body_style", 40, &mut errors),
        fuel_type: text("fuel_type", 40, &mut errors),
        drivetrain: text("drivetrain", 40, &mut errors),
        condition: one_of("condition", &["new", "used", "certified"], &mut errors),
        status: one_of("status", &["available", "pending", "sold", "in_transit"], &mut errors),
        include_inactive: one_of("include_inactive", &["true", "false"], &mut errors).as_deref() == Some("true"),
    };
    for (low, high, field) in [
        (query.year_min.map(f64::from), query.year_max.map(f64::from), "year_min"),
        (query.price_min, query.price_max, "price_min"),
    ] {
        if let (Some(low), Some(high)) = (low, high)
            && low > high
        {
            errors.push(FieldError {
                field: field.to_owned(),
                message: "must not be above the upper bound".to_owned(),
                code: "INVALID_RANGE",
            });
        }
    }
    if errors.is_empty() { Ok(query) } else { Err(errors) }
}
