//! `rylie-ops seed-demo`: a demo dealership to click through locally. Invented data only.
//! Running it again refreshes the same rows rather than adding more.

use rylie_domain::vin::check_digit;
use rylie_store::{Client, Type};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub dealership_id: i64,
    pub subdomain: &'static str,
    pub persona_id: i64,
    pub vehicles: i64,
    /// The demo admin's login and a password made for this run (the seed resets it).
    pub admin_login: &'static str,
    pub admin_password: String,
}

const DEMO_ADMIN: &str = "admin@demo.rylie.test";

/// (VIN without check digit, stock, condition, year, make, model, trim, body, colour, miles, price, msrp, features)
type DemoVehicle = (
    &'static str,
    &'static str,
    &'static str,
    i32,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i32,
    f64,
    f64,
    &'static [&'static str],
);

const VEHICLES: &[DemoVehicle] = &[
    (
        "1HGCV1F3_RA000101",
        "D1001",
        "new",
        2024,
        "Honda",
        "Accord",
        "EX",
        "Sedan",
        "Platinum White",
        12,
        31_295.0,
        31_895.0,
        &["Apple CarPlay", "Adaptive cruise control", "Heated seats"],
    ),
    (
        "2HGFE2F5_RH000102",
        "D1002",
        "new",
        2024,
        "Honda",
        "Civic",
        "Sport",
        "Sedan",
        "Rallye Red",
        8,
        26_450.0,
        26_950.0,
        &["Sunroof", "Apple CarPlay", "Lane keeping assist"],
    ),
    (
        "5J6RS4H4_RL000103",
        "D1003",
        "new",
        2024,
        "Honda",
        "CR-V",
        "EX-L",
        "SUV",
        "Canyon River Blue",
        15,
        36_800.0,
        37_450.0,
        &["AWD", "Leather seats", "Power liftgate"],
    ),
    (
        "1FTFW1E5_NF000104",
        "U2001",
        "used",
        2022,
        "Ford",
        "F-150",
        "XLT",
        "Pickup",
        "Agate Black",
        28_412,
        38_995.0,
        0.0,
        &["4x4", "Tow package", "Backup camera"],
    ),
    (
        "JTMRWRFV_MD000105",
        "U2002",
        "certified",
        2021,
        "Toyota",
        "RAV4",
        "XLE",
        "SUV",
        "Magnetic Gray",
        31_870,
        27_495.0,
        0.0,
        &["AWD", "Blind spot monitor", "Apple CarPlay"],
    ),
    (
        "1G1ZD5ST_LF000106",
        "U2003",
        "used",
        2020,
        "Chevrolet",
        "Malibu",
        "LT",
        "Sedan",
        "Summit White",
        44_210,
        17_990.0,
        0.0,
        &["Bluetooth", "Remote start"],
    ),
    (
        "5YJ3E1EA_NF000107",
        "U2004",
        "used",
        2022,
        "Tesla",
        "Model 3",
        "Long Range",
        "Sedan",
        "Deep Blue Metallic",
        22_105,
        33_750.0,
        0.0,
        &["Autopilot", "Glass roof", "Premium audio"],
    ),
    (
        "1C4RJFBG_MC000108",
        "U2005",
        "used",
        2021,
        "Jeep",
        "Grand Cherokee",
        "Limited",
        "SUV",
        "Diamond Black",
        36_540,
        32_900.0,
        0.0,
        &["4x4", "Leather seats", "Navigation"],
    ),
    (
        "3VW5T7BU_NM000109",
        "U2006",
        "used",
        2022,
        "Volkswagen",
        "Jetta",
        "SE",
        "Sedan",
        "Pure Gray",
        19_880,
        21_450.0,
        0.0,
        &["Sunroof", "Heated seats"],
    ),
    (
        "KM8J3CAL_NU000110",
        "U2007",
        "certified",
        2022,
        "Hyundai",
        "Tucson",
        "SEL",
        "SUV",
        "Amazon Gray",
        24_660,
        25_300.0,
        0.0,
        &["AWD", "Wireless charging", "Apple CarPlay"],
    ),
];

/// A VIN with its check digit filled in at position 9.
fn demo_vin(template: &str) -> String {
    let digit = check_digit(template).expect("demo VIN templates use the VIN alphabet");
    format!("{}{digit}{}", &template[..8], &template[9..])
}

pub async fn demo(client: &Client) -> Result<DemoSummary, rylie_app::BoxError> {
    // Seeding spans tenants: the platform scope of row-level security, for this session only.
    client
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    let dealership_id: i64 = client
        .query_typed(
            "INSERT INTO dealerships (name, subdomain, contact_email, contact_phone, handover_email,
                 inbound_email_alias, timezone, business_hours, website, street, city, region, postal_code,
                 allowed_origins)
             VALUES ('Sunrise Motors (demo)', 'demo', 'sales@demo.rylie.test', '+15555550100',
                 'handover@demo.rylie.test', 'demo', 'America/Chicago', $1, 'https://demo.rylie.test',
                 '100 Example Avenue', 'Springfield', 'IL', '62701', '{http://localhost:3000}')
             ON CONFLICT (subdomain) DO UPDATE SET name = EXCLUDED.name, active = true
             RETURNING id",
            &[(
                &json!({
                    "mon": ["09:00", "19:00"], "tue": ["09:00", "19:00"], "wed": ["09:00", "19:00"],
                    "thu": ["09:00", "19:00"], "fri": ["09:00", "19:00"], "sat": ["09:00", "17:00"], "sun": null
                }),
                Type::JSONB,
            )],
        )
        .await?[0]
        .get(0);

    let persona_id: i64 = client
        .query_typed(
            "INSERT INTO personas (dealership_id, name, description, is_default, prompt_template, temperature, max_tokens)
             VALUES ($1, 'Riley', 'Friendly, concise, never pushy', true,
                 'You are Riley, the online sales assistant of {{dealership_name}}. Answer {{customer_name}} from the \
                  dealership''s live inventory only, quote listed prices only, and offer a person when asked.',
                 0.6, 400)
             ON CONFLICT (dealership_id, name) DO UPDATE SET description = EXCLUDED.description
             RETURNING id",
            &[(&dealership_id, Type::INT8)],
        )
        .await?[0]
        .get(0);

    let vehicles: Vec<serde_json::Value> = VEHICLES
        .iter()
        .map(
            |(vin, stock, condition, year, make, model, trim, body, color, miles, price, msrp, features)| {
                json!({
                    "vin": demo_vin(vin), "stock_number": stock, "condition": condition, "year": year,
                    "make": make, "model": model, "trim": trim, "body_style": body, "exterior_color": color,
                    "mileage": miles, "price": price, "msrp": if *msrp > 0.0 { Some(msrp) } else { None },
                    "features": features,
                    "description": format!("{year} {make} {model} {trim} in {color}."),
                })
            },
        )
        .collect();
    let count = client
        .query_typed(
            "INSERT INTO vehicles (dealership_id, vin, stock_number, condition, certified, year, make, model, \"trim\",
                 body_style, exterior_color, mileage, price, msrp, features, description)
             SELECT $1, v.vin, v.stock_number, v.condition, v.condition = 'certified', v.year, v.make, v.model,
                 v.trim, v.body_style, v.exterior_color, v.mileage, v.price, v.msrp, v.features, v.description
             FROM jsonb_to_recordset($2) AS v(vin text, stock_number text, condition text, year int, make text,
                 model text, trim text, body_style text, exterior_color text, mileage int, price numeric,
                 msrp numeric, features jsonb, description text)
             ON CONFLICT (dealership_id, vin) DO UPDATE SET price = EXCLUDED.price, mileage = EXCLUDED.mileage,
                 is_active = true, status = 'available', last_seen = now()
             RETURNING id",
            &[
                (&dealership_id, Type::INT8),
                (&serde_json::Value::from(vehicles), Type::JSONB),
            ],
        )
        .await?
        .len() as i64;

    // A fresh random password on every seed: nothing to leak from the repository.
    let password: String = rylie_app::auth::random_bytes::<18>()
        .iter()
        .map(|b| b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"[(*b as usize) % 56] as char)
        .collect();
    let hash = rylie_app::auth::passwords::hash(&password);
    client
        .query_typed(
            "INSERT INTO users (email, name, role, dealership_id, password_hash, is_verified)
             VALUES ($1, 'Demo Admin', 'dealership_admin', $2, $3, true)
             ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, is_active = true,
                 failed_login_count = 0, locked_until = NULL",
            &[
                (&DEMO_ADMIN, Type::TEXT),
                (&dealership_id, Type::INT8),
                (&hash, Type::TEXT),
            ],
        )
        .await?;

    Ok(DemoSummary {
        dealership_id,
        subdomain: "demo",
        persona_id,
        vehicles: count,
        admin_login: DEMO_ADMIN,
        admin_password: password,
    })
}

#[cfg(test)]
mod tests {
    use rylie_domain::Vin;

    use super::*;

    #[test]
    fn demo_vins_are_valid() {
        for vehicle in VEHICLES {
            let vin = Vin::parse(&demo_vin(vehicle.0)).unwrap();
            assert!(vin.check_digit_ok(), "{vin}");
        }
    }
}
