//! `GET /v1/openapi.json`: this API as an OpenAPI 3.1 document, built from the route table,
//! with the envelope and error shapes every route shares.

use lambda_http::{Body, Request, Response, http::StatusCode};
use serde_json::{Map, Value, json};

use super::registry::routes;
use crate::http::{Access, ApiError, Ctx};

/// The document. Path parameters come from the `{name}` segments of each path.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in routes() {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| match name.strip_suffix('+') {
                // A greedy segment: the rest of the path.
                Some(rest) => json!({ "name": rest, "in": "path", "required": true, "schema": { "type": "string" } }),
                None => json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } }),
            })
            .collect();
        let mut responses = json!({
            "200": { "description": "Success", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Success" } } } },
            "400": { "$ref": "#/components/responses/Error" },
            "429": { "$ref": "#/components/responses/Error" },
            "503": { "$ref": "#/components/responses/Error" }
        });
        let mut operation = json!({
            "operationId": route.function,
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
        if matches!(route.method, "POST" | "PATCH" | "PUT") {
            operation["requestBody"] = json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        operation["responses"] = responses;
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = operation;
    }
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
            "schemas": {
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
            },
            "responses": {
                "Error": { "description": "Error envelope",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        }
    })
}

pub async fn get(_ctx: Ctx<'_>, _request: Request) -> Result<Response<Body>, ApiError> {
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::Text(document().to_string()))
        .expect("static headers are valid"))
}
