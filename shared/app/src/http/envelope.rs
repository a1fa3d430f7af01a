//! The response envelope of the API (seed 001): `success`, then `data` or `error`, and `meta`
//! with the timestamp and the request id a caller quotes to support.

use chrono::{SecondsFormat, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::Serialize;
use serde_json::json;

/// What every response's `meta` carries.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
}

impl RequestMeta {
    /// API Gateway's request id (what the caller sees), else Lambda's.
    pub fn from_request(request: &Request) -> Self {
        let gateway_id = request
            .request_context_ref()
            .and_then(|context| match context {
                lambda_http::request::RequestContext::ApiGatewayV2(context) => {
                    context.request_id.clone()
                }
                #[allow(unreachable_patterns)]
                _ => None,
            });
        let request_id = gateway_id
            .or_else(|| {
                request
                    .lambda_context_ref()
                    .map(|context| context.request_id.clone())
            })
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| "local".to_owned());
        Self { request_id }
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "request_id": self.request_id,
        })
    }
}

/// A successful response: `{"success": true, "data": ..., "meta": ...}`.
pub fn ok<T: Serialize>(meta: &RequestMeta, status: StatusCode, data: &T) -> Response<Body> {
    respond(
        status,
        &json!({ "success": true, "data": data, "meta": meta.json() }),
    )
}

/// One field's problem, reported in `error.details`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub code: &'static str,
}

/// The one error type of the API: a status, a stable code, a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", what)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "this route does not accept that method",
        )
    }

    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            reason,
        )
    }

    pub fn into_response(self, meta: &RequestMeta) -> Response<Body> {
        let mut error = json!({ "code": self.code, "message": self.message });
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        respond(
            self.status,
            &json!({ "success": false, "error": error, "meta": meta.json() }),
        )
    }
}

fn respond(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(body.to_string()))
        .expect("static headers are valid")
}
