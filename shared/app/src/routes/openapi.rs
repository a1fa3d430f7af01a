//! `GET /v1/openapi.json`: this API as an OpenAPI 3.1 document, built from the route table,
//! with the envelope and error shapes every route shares.
//!
//! Bodies come from the code that handles them: a request body's schema is what the route's
//! own reader accepts (run on [`Fields::describe`]), an answer's is derived from the type the
//! handler serialises (`schemars`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is). The
//! table in [`operation_bodies`] only says which reader and which type belong to a function;
//! a test holds it to the route table, so a new route cannot go undocumented.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_store::page::Page;
use rylie_store::{
    audit::AuditRow,
    auth::ApiKeyView,
    conversations::{Conversation, Message},
    dealerships::Dealership,
    dealerships::DealershipFields,
    inbound_emails::InboundEmail,
    inventory_imports::Import,
    personas::Persona,
    users::User,
    vehicles::Vehicle,
    webhooks::{Delivery as WebhookDelivery, Webhook},
};
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use super::{
    api_keys, audit_logs, auth, conversations, dealerships, experiments, inventory_imports, password_reset, personas,
    registry::routes, users, webhooks,
};
use crate::http::{Access, ApiError, Ctx, envelope, health::Health, input};

/// What one function reads and answers.
#[derive(Debug)]
pub struct OperationBodies {
    /// The JSON body it reads (None: it reads none).
    pub request: Option<Value>,
    /// The status of its success answer.
    pub status: u16,
    /// The schema of `data` in that answer.
    pub data: Value,
    /// `data` is one page of a list, with `meta.pagination`; `?page=&limit=&sort=&order=`.
    pub sortable: Option<&'static [(&'static str, &'static str)]>,
}

impl OperationBodies {
    fn new(status: u16, data: Value) -> Self {
        Self {
            request: None,
            status,
            data,
            sortable: None,
        }
    }

    fn reads(mut self, request: Value) -> Self {
        self.request = Some(request);
        self
    }

    fn page(items: Value, sortable: &'static [(&'static str, &'static str)]) -> Self {
        Self {
            request: None,
            status: 200,
            data: json!({ "type": "array", "items": items }),
            sortable: Some(sortable),
        }
    }
}

/// The bodies of `function`'s routes; None for a function this table does not know.
pub fn operation_bodies(function: &str, schemas: &mut SchemaGenerator) -> Option<OperationBodies> {
    let mut of = |schema: fn(&mut SchemaGenerator) -> schemars::Schema| schema(schemas).to_value();
    fn t<T: JsonSchema>(generator: &mut SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
    let one = |status, data| OperationBodies::new(status, data);
    Some(match function {
        "api-health" => one(200, of(t::<Health>)),
        "api-openapi" => one(200, json!({ "type": "object", "description": "This document" })),
        "api-cors-preflight" => one(204, json!({ "description": "No content" })),
        "api-auth-login" => one(200, of(t::<auth::Tokens>)).reads(input::schema_of(auth::read_credentials)),
        "api-auth-refresh" => one(200, of(t::<auth::Tokens>)).reads(input::schema_of(auth::read_refresh_token)),
        "api-auth-logout" => one(200, of(t::<auth::LoggedOut>)).reads(input::schema_of(auth::read_refresh_token)),
        "api-auth-password-reset" => one(202, of(t::<password_reset::ResetRequested>))
            .reads(input::schema_of(password_reset::read_reset_request)),
        "api-auth-password-reset-confirm" => {
            one(200, of(t::<password_reset::PasswordReset>)).reads(input::schema_of(password_reset::read_new_password))
        }
        "api-personas-create" => {
            one(201, of(t::<Persona>)).reads(input::schema_of(|fields| personas::read_persona(fields, true)))
        }
        "api-personas-list" => OperationBodies::page(of(t::<Persona>), rylie_store::personas::SORTABLE),
        "api-personas-get" | "api-personas-set-default" => one(200, of(t::<Persona>)),
        "api-personas-update" => {
            one(200, of(t::<Persona>)).reads(input::schema_of(|fields| personas::read_persona(fields, false)))
        }
        "api-personas-delete" => one(200, of(t::<envelope::Deleted>)),
        "api-api-keys-create" => {
            one(201, of(t::<api_keys::CreatedKey>)).reads(input::schema_of(api_keys::read_new_key))
        }
        "api-api-keys-list" => OperationBodies::page(of(t::<ApiKeyView>), api_keys::SORTABLE),
        "api-api-keys-revoke" => one(200, of(t::<ApiKeyView>)),
        "api-audit-logs-list" => OperationBodies::page(of(t::<AuditRow>), audit_logs::SORTABLE),
        "api-dealerships-create" => {
            one(201, of(t::<Dealership>)).reads(input::schema_of(|fields| dealerships::read_dealership(fields, None)))
        }
        "api-dealerships-list" => OperationBodies::page(of(t::<Dealership>), dealerships::SORTABLE),
        "api-dealerships-get" | "api-dealerships-activation" => one(200, of(t::<Dealership>)),
        "api-dealerships-update" => one(200, of(t::<Dealership>)).reads(input::schema_of(|fields| {
            dealerships::read_dealership(fields, Some(&DealershipFields::default()))
        })),
        "api-users-create" => one(201, of(t::<User>)).reads(input::schema_of(users::read_new_user)),
        "api-users-list" => OperationBodies::page(of(t::<User>), rylie_store::users::SORTABLE),
        "api-users-get" => one(200, of(t::<User>)),
        "api-users-update" => one(200, of(t::<User>)).reads(input::schema_of(users::read_user_update)),
        "api-vehicles-list" => OperationBodies::page(of(t::<Vehicle>), rylie_store::vehicles::SORTABLE),
        "api-vehicles-get" => one(200, of(t::<Vehicle>)),
        // Two ways in: the file itself (202, an import) or JSON asking for an upload URL (201);
        // see the route's module.
        "api-inventory-imports-create" => one(202, of(t::<Import>)).reads(json!({
            "oneOf": [
                input::schema_of(inventory_imports::read_upload_request),
                { "type": "string", "description": "The feed itself (TSV/CSV), as any non-JSON content type; \
                   ?file_name= and ?full_feed= describe it. A JSON body instead answers 201 with \
                   an UploadUrl" }
            ]
        })),
        "api-inventory-imports-list" => {
            OperationBodies::page(of(t::<Import>), rylie_store::inventory_imports::SORTABLE)
        }
        "api-inventory-imports-get" => one(200, of(t::<Import>)),
        "api-inventory-imports-confirm" => one(202, of(t::<Import>)),
        "api-conversations-create" => {
            one(201, of(t::<Conversation>)).reads(input::schema_of(conversations::read_new_conversation))
        }
        "api-conversations-list" => OperationBodies::page(of(t::<Conversation>), rylie_store::conversations::SORTABLE),
        "api-conversations-get" => one(200, of(t::<conversations::ConversationDetail>)),
        "api-conversations-update" => {
            one(200, of(t::<Conversation>)).reads(input::schema_of(conversations::read_conversation_update))
        }
        "api-messages-create" => {
            one(200, of(t::<conversations::TurnAnswer>)).reads(input::schema_of(conversations::read_message))
        }
        "api-staff-replies-create" => one(201, of(t::<Message>)).reads(input::schema_of(conversations::read_message)),
        "api-experiments-results" => one(200, of(t::<experiments::ExperimentResults>)),
        "api-experiments-create" => one(201, of(t::<rylie_store::experiments::Experiment>))
            .reads(input::schema_of(experiments::read_new_experiment)),
        "api-experiments-list" => OperationBodies::page(
            of(t::<rylie_store::experiments::Experiment>),
            rylie_store::experiments::SORTABLE,
        ),
        "api-experiments-get" => one(200, of(t::<rylie_store::experiments::Experiment>)),
        "api-experiments-update" => one(200, of(t::<rylie_store::experiments::Experiment>))
            .reads(input::schema_of(experiments::read_experiment_update)),
        "api-experiments-delete" => one(200, of(t::<envelope::Deleted>)),
        "api-leads-list" => OperationBodies::page(of(t::<rylie_store::leads::Lead>), rylie_store::leads::SORTABLE),
        "api-leads-get" => one(200, of(t::<rylie_store::leads::Lead>)),
        "api-leads-update" => {
            one(200, of(t::<rylie_store::leads::Lead>)).reads(input::schema_of(super::leads::read_lead_update))
        }
        "api-dealerships-settings-get" => one(200, of(t::<super::settings::DealershipSettings>)),
        "api-dealerships-settings-update" => one(200, of(t::<super::settings::DealershipSettings>))
            .reads(input::schema_of(super::settings::read_settings)),
        "api-reports-get" => one(200, of(t::<rylie_store::reports::Report>)),
        "api-webhooks-create" => one(201, of(t::<webhooks::WebhookWithSecret>))
            .reads(input::schema_of(|fields| webhooks::read_webhook(fields, true))),
        "api-webhooks-list" => OperationBodies::page(of(t::<Webhook>), rylie_store::webhooks::SORTABLE),
        "api-webhooks-get" => one(200, of(t::<Webhook>)),
        "api-webhooks-update" => {
            one(200, of(t::<Webhook>)).reads(input::schema_of(|fields| webhooks::read_webhook(fields, false)))
        }
        "api-webhooks-delete" => one(200, of(t::<envelope::Deleted>)),
        "api-webhooks-rotate-secret" => one(200, of(t::<webhooks::WebhookWithSecret>)),
        "api-webhooks-deliveries" => {
            OperationBodies::page(of(t::<WebhookDelivery>), rylie_store::webhooks::DELIVERY_SORTABLE)
        }
        "api-inbound-emails-list" => {
            OperationBodies::page(of(t::<InboundEmail>), rylie_store::inbound_emails::SORTABLE)
        }
        _ => return None,
    })
}

/// The document. Path parameters come from the `{name}` segments of each path.
pub fn document() -> Value {
    let mut schemas = SchemaSettings::draft2020_12()
        .with(|settings| settings.definitions_path = "/components/schemas".into())
        .into_generator();
    let mut paths = Map::new();
    for route in routes() {
        let bodies = operation_bodies(route.function, &mut schemas)
            .unwrap_or_else(|| panic!("{} has no entry in operation_bodies", route.function));
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                // Ids are positive integers; the rest (a VIN, API Gateway's greedy `{proxy+}`)
                // are strings.
                let schema = match name.ends_with("_id") {
                    true => json!({ "type": "integer", "minimum": 1 }),
                    false => json!({ "type": "string" }),
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        if let Some(sortable) = bodies.sortable {
            let names: Vec<&str> = sortable.iter().map(|(name, _)| *name).collect();
            parameters.extend([
                json!({ "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1, "default": 1 } }),
                json!({ "name": "limit", "in": "query",
                        "schema": { "type": "integer", "minimum": 1, "maximum": Page::MAX_LIMIT, "default": Page::DEFAULT_LIMIT } }),
                json!({ "name": "sort", "in": "query", "schema": { "type": "string", "enum": names } }),
                json!({ "name": "order", "in": "query", "schema": { "type": "string", "enum": ["asc", "desc"] } }),
            ]);
        }
        let success = match (bodies.status, route.function) {
            (204, _) => json!({ "description": "No content" }),
            (_, "api-openapi") => json!({ "description": "The document",
                "content": { "application/json": { "schema": bodies.data } } }),
            _ => json!({ "description": "Success", "content": { "application/json": { "schema": { "allOf": [
                { "$ref": "#/components/schemas/Success" },
                { "type": "object", "properties": { "data": bodies.data } }
            ] } } } }),
        };
        let mut responses = json!({
            "400": { "$ref": "#/components/responses/Error" },
            "429": { "$ref": "#/components/responses/Error" },
            "503": { "$ref": "#/components/responses/Error" }
        });
        responses[bodies.status.to_string()] = success;
        // One function may serve several routes (`/health` and `/healthz`); operation ids
        // must be unique, so those take their last path segment too.
        let shared = routes().iter().filter(|other| other.function == route.function).count() > 1;
        let operation_id = match route.path.rsplit('/').next() {
            Some(last) if shared => format!("{}-{}", route.function, last.trim_matches(['{', '}', '+'])),
            _ => route.function.to_owned(),
        };
        let mut operation = json!({
            "operationId": operation_id,
            "x-rylie-function": route.function,
            "summary": route.summary,
            "parameters": parameters,
        });
        if let Access::Caller { resource, action } = route.access {
            operation["security"] = json!([{ "bearer": [] }, { "apiKey": [] }]);
            operation["x-rylie-permission"] = json!(format!("{resource}:{action:?}").to_lowercase());
            for status in ["401", "403", "404"] {
                responses[status] = json!({ "$ref": "#/components/responses/Error" });
            }
        } else {
            operation["security"] = json!([]);
        }
        if let Some(request) = bodies.request {
            operation["requestBody"] =
                json!({ "required": true, "content": { "application/json": { "schema": request } } });
        }
        operation["responses"] = responses;
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = operation;
    }
    let mut components = shared_schemas();
    components.extend(schemas.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Rylie API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "AI sales assistant platform for car dealerships. Every response uses the envelope \
                            {success, data | error, meta}; another dealership's ids answer 404."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" }
            },
            "schemas": components,
            "responses": {
                "Error": { "description": "Error envelope",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        }
    })
}

/// The envelope and error shapes every route shares.
fn shared_schemas() -> Map<String, Value> {
    let Value::Object(schemas) = json!({
        "Meta": { "type": "object", "required": ["timestamp", "request_id"], "properties": {
            "timestamp": { "type": "string", "format": "date-time" },
            "request_id": { "type": "string" },
            "pagination": { "type": "object", "properties": {
                "page": { "type": "integer" }, "limit": { "type": "integer" },
                "total": { "type": "integer" }, "has_more": { "type": "boolean" } } } } },
        "Success": { "type": "object", "required": ["success", "data", "meta"], "properties": {
            "success": { "const": true }, "data": {}, "meta": { "$ref": "#/components/schemas/Meta" } } },
        "Error": { "type": "object", "required": ["success", "error", "meta"], "properties": {
            "success": { "const": false },
            "error": { "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string" }, "message": { "type": "string" },
                "details": { "type": "array", "items": { "type": "object", "properties": {
                    "field": { "type": "string" }, "message": { "type": "string" }, "code": { "type": "string" } } } } } },
            "meta": { "$ref": "#/components/schemas/Meta" } } }
    }) else {
        unreachable!("an object literal")
    };
    schemas
}

pub async fn get(_ctx: Ctx<'_>, _request: Request) -> Result<Response<Body>, ApiError> {
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::Text(document().to_string()))
        .expect("static headers are valid"))
}
