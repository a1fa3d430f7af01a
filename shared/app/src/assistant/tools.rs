//! The inventory tools the model calls: `search_inventory` and `get_vehicle`, answered from
//! the dealership's live inventory (the inventory search of rylie-store).
//!
//! What the model sees of a vehicle is a customer-safe view: no `extra` columns (a feed may
//! carry dealer cost there), no invoice price. Every vehicle shown is remembered for the
//! reply's post-check: the reply may quote only those, and only while they are active.

use rylie_domain::{DealershipId, assistant::ShownVehicle, feed::Cents};
use rylie_store::Client;
use rylie_store::{
    Scope, StoreError, scope,
    vehicles::{self, Shortlist, ShortlistOrder, Vehicle, VehicleQuery},
};
use serde_json::{Value, json};

use super::model::{ToolRunner, ToolSpec};

/// The most vehicles one search hands the model.
pub const MAX_RESULTS: i64 = 5;

/// The tools on offer, with their arguments' JSON Schema.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "search_inventory",
            description: "Searches the dealership's vehicles for sale now, newest model year first (or lowest \
                          price first with sort \"price_low\"). Use it before naming any vehicle, price or \
                          availability.",
            parameters: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "text": { "type": "string", "description": "Free text: features, colours, trims (\"leather sunroof\")" },
                    "make": { "type": "string" },
                    "model": { "type": "string" },
                    "year_min": { "type": "integer" },
                    "year_max": { "type": "integer" },
                    "price_max": { "type": "number" },
                    "price_min": { "type": "number" },
                    "mileage_max": { "type": "integer" },
                    "body_style": { "type": "string" },
                    "fuel_type": { "type": "string" },
                    "condition": { "type": "string", "enum": ["new", "used", "certified"] },
                    "sort": { "type": "string", "enum": SORTS.map(|(name, _)| name) },
                    "limit": { "type": "integer", "minimum": 1, "maximum": MAX_RESULTS }
                }
            }),
        },
        ToolSpec {
            name: "get_vehicle",
            description: "Reads one vehicle by VIN, with its current price and availability.",
            parameters: json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["vin"],
                "properties": { "vin": { "type": "string", "minLength": 17, "maxLength": 17 } }
            }),
        },
    ]
}

/// The tool's `sort` values (the first is the default).
const SORTS: [(&str, ShortlistOrder); 2] = [
    ("newest", ShortlistOrder::Newest),
    ("price_low", ShortlistOrder::LowestPrice),
];

fn sort_name(order: ShortlistOrder) -> &'static str {
    SORTS
        .iter()
        .find(|(_, known)| *known == order)
        .expect("every order has a name")
        .0
}

/// Runs the tools for one turn against the dealership's inventory.
#[derive(Debug)]
pub struct InventoryTools<'c> {
    client: &'c Client,
    dealership: DealershipId,
    /// Every vehicle shown to the model this turn, in order, without repeats.
    pub shown: Vec<Vehicle>,
    /// Each call for the decision trace: tool, the query as run, result ids (or the error).
    pub calls: Vec<Value>,
    /// Searches that found nothing.
    pub empty_searches: u32,
    /// Database round trips the tools made.
    pub round_trips: u32,
}

impl<'c> InventoryTools<'c> {
    pub fn new(client: &'c Client, dealership: DealershipId) -> Self {
        Self {
            client,
            dealership,
            shown: Vec::new(),
            calls: Vec::new(),
            empty_searches: 0,
            round_trips: 0,
        }
    }

    /// The shown vehicles as the post-check needs them.
    pub fn shown_for_check(&self) -> Vec<ShownVehicle> {
        self.shown.iter().map(shown).collect()
    }

    /// Shortlists the vehicles matching `query` (one round trip unless a make or model has to
    /// be tried in close spellings), remembers what was shown and returns them.
    pub async fn search(
        &mut self,
        query: &VehicleQuery,
        order: ShortlistOrder,
        limit: i64,
    ) -> Result<Vec<Vehicle>, StoreError> {
        let Shortlist {
            vehicles: found,
            round_trips,
        } = vehicles::shortlist(self.client, self.dealership, query, order, limit.clamp(1, MAX_RESULTS)).await?;
        self.round_trips += round_trips;
        if found.is_empty() {
            self.empty_searches += 1;
        }
        self.remember(&found);
        self.calls.push(json!({
            "tool": "search_inventory",
            "query": {
                "text": query.text, "make": query.make, "model": query.model, "year_min": query.year_min,
                "year_max": query.year_max, "price_min": query.price_min, "price_max": query.price_max,
                "mileage_max": query.mileage_max, "body_style": query.body_style, "fuel_type": query.fuel_type,
                "condition": query.condition, "sort": sort_name(order),
            },
            "result_ids": found.iter().map(|vehicle| vehicle.id).collect::<Vec<_>>(),
        }));
        Ok(found)
    }

    async fn get(&mut self, vin: &str) -> Result<Option<Vehicle>, StoreError> {
        let scope = Scope::Tenant(self.dealership);
        let found = scope::pipelined(
            self.client,
            scope,
            vehicles::get_by_vin(self.client, self.dealership, vin),
        )
        .await
        .map_err(StoreError::query("reading a vehicle"))??;
        self.round_trips += 1;
        self.remember(found.as_slice());
        self.calls.push(json!({
            "tool": "get_vehicle",
            "query": { "vin": vin },
            "result_ids": found.iter().map(|vehicle| vehicle.id).collect::<Vec<_>>(),
        }));
        Ok(found)
    }

    fn remember(&mut self, vehicles: &[Vehicle]) {
        for vehicle in vehicles {
            if !self.shown.iter().any(|seen| seen.id == vehicle.id) {
                self.shown.push(vehicle.clone());
            }
        }
    }

    async fn run_tool(&mut self, name: &str, arguments: &str) -> Value {
        let parsed: Result<Value, _> = serde_json::from_str(arguments);
        let Ok(Value::Object(args)) = parsed else {
            return self.refuse(name, arguments, "the arguments must be a JSON object");
        };
        let text = |key: &str| {
            args.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let int = |key: &str| {
            args.get(key)
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok())
        };
        let number = |key: &str| args.get(key).and_then(Value::as_f64);
        let outcome = match name {
            "search_inventory" => {
                let query = VehicleQuery {
                    text: text("text"),
                    make: text("make"),
                    model: text("model"),
                    year_min: int("year_min"),
                    year_max: int("year_max"),
                    price_min: number("price_min"),
                    price_max: number("price_max"),
                    mileage_max: int("mileage_max"),
                    body_style: text("body_style"),
                    fuel_type: text("fuel_type"),
                    condition: text("condition"),
                    ..VehicleQuery::default()
                };
                let sort = text("sort");
                let order = SORTS
                    .iter()
                    .find(|(name, _)| sort.as_deref() == Some(*name))
                    .map_or(ShortlistOrder::default(), |(_, order)| *order);
                let limit = args.get("limit").and_then(Value::as_i64).unwrap_or(MAX_RESULTS);
                self.search(&query, order, limit).await.map(|found| {
                    json!({ "vehicles": found.iter().map(customer_view).collect::<Vec<_>>(), "count": found.len() })
                })
            }
            "get_vehicle" => match text("vin") {
                Some(vin) => self.get(&vin.to_uppercase()).await.map(|found| match found {
                    Some(vehicle) => json!({ "vehicle": customer_view(&vehicle) }),
                    None => {
                        json!({ "vehicle": null, "note": "no vehicle with this VIN is in this dealership's inventory" })
                    }
                }),
                None => return self.refuse(name, arguments, "vin is required"),
            },
            _ => return self.refuse(name, arguments, "no such tool; use search_inventory or get_vehicle"),
        };
        match outcome {
            // `search` and `get` wrote the call into the trace.
            Ok(result) => result,
            Err(error) => {
                tracing::error!(%error, tool = name, "an assistant tool failed");
                self.calls
                    .push(json!({ "tool": name, "arguments": Value::Object(args.clone()), "error": "database" }));
                json!({ "error": "the inventory could not be read just now" })
            }
        }
    }

    fn refuse(&mut self, name: &str, arguments: &str, reason: &str) -> Value {
        self.calls
            .push(json!({ "tool": name, "arguments": arguments, "error": reason }));
        json!({ "error": reason })
    }
}

impl ToolRunner for InventoryTools<'_> {
    fn run(&mut self, name: &str, arguments: &str) -> impl Future<Output = Value> + Send {
        let (name, arguments) = (name.to_owned(), arguments.to_owned());
        async move { self.run_tool(&name, &arguments).await }
    }
}

/// What the model and the customer may see of a vehicle.
pub fn customer_view(vehicle: &Vehicle) -> Value {
    let features: Vec<Value> = match &vehicle.features {
        Value::Array(items) => items.iter().take(10).cloned().collect(),
        _ => Vec::new(),
    };
    json!({
        "id": vehicle.id,
        "vin": vehicle.vin,
        "stock_number": vehicle.stock_number,
        "year": vehicle.year,
        "make": vehicle.make,
        "model": vehicle.model,
        "trim": vehicle.trim,
        "condition": vehicle.condition,
        "certified": vehicle.certified,
        "body_style": vehicle.body_style,
        "exterior_color": vehicle.exterior_color,
        "interior_color": vehicle.interior_color,
        "mileage": vehicle.mileage,
        "fuel_type": vehicle.fuel_type,
        "drivetrain": vehicle.drivetrain,
        "transmission": vehicle.transmission,
        "price": vehicle.price,
        "msrp": vehicle.msrp,
        "features": features,
        "status": vehicle.status,
        "available": vehicle.is_active && vehicle.status == "available",
        "link": vehicle.vdp_url,
    })
}

/// A vehicle as the reply's post-check needs it.
pub fn shown(vehicle: &Vehicle) -> ShownVehicle {
    let cents = |amount: Option<f64>| amount.map(|value| Cents::new((value * 100.0).round() as i64));
    ShownVehicle {
        id: vehicle.id,
        vin: vehicle.vin.clone(),
        stock_number: vehicle.stock_number.clone(),
        year: vehicle.year,
        make: vehicle.make.clone(),
        model: vehicle.model.clone(),
        trim: vehicle.trim.clone(),
        price: cents(vehicle.price),
        msrp: cents(vehicle.msrp),
        active: vehicle.is_active && vehicle.status == "available",
    }
}
