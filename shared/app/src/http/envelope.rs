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
        let gateway_id = request.request_context_ref().and_then(|context| match context {
            lambda_http::request::RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
            #[allow(unreachable_patterns)]
            _ => None,
        });
        let request_id = gateway_id
            .or_else(|| request.lambda_context_ref().map(|context| context.request_id.clone()))
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
    respond(status, &json!({ "success": true, "data": data, "meta": meta.json() }))
}

/// A page of a list, with `meta.pagination`.
pub fn ok_page<T: Serialize>(
    meta: &RequestMeta,
    data: &[T],
    page: &rylie_store::page::Page,
    total: i64,
) -> Response<Body> {
    let mut meta_json = meta.json();
    meta_json["pagination"] = json!({
        "page": page.page,
        "limit": page.limit,
        "total": total,
        "has_more": page.offset() + (data.len() as i64) < total,
    });
    respond(
        StatusCode::OK,
        &json!({ "success": true, "data": data, "meta": meta_json }),
    )
}

/// Headers on every response. Nothing is cached anywhere: authenticated answers carry tenant
/// data, and the public login and refresh answers carry tokens.
pub fn security_headers(headers: &mut lambda_http::http::HeaderMap) {
    use lambda_http::http::HeaderValue;
    headers.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=63072000; includeSubDomains"),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
}

/// What every delete route answers: the id that is gone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Deleted {
    pub deleted: bool,
    pub id: i64,
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

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 400 with every field's problem in `details`.
    pub fn validation(details: Vec<FieldError>) -> Self {
        Self {
            details,
            ..Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Request validation failed")
        }
    }

    /// 401, the same for every authentication failure.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "missing or invalid credentials",
        )
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", reason)
    }

    pub fn dealership_inactive(id: rylie_domain::DealershipId) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "DEALERSHIP_INACTIVE",
            format!("dealership {id} is deactivated; a super admin can activate it again"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many requests; try again in {retry_after_seconds} s"),
        )
    }

    /// 500. The message is logged; the caller gets a generic one and the request id.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
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
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", reason)
    }

    pub fn into_response(self, meta: &RequestMeta) -> Response<Body> {
        let message = if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            format!("internal error; quote request id {} to support", meta.request_id)
        } else {
            self.message
        };
        let mut error = json!({ "code": self.code, "message": message });
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

impl From<rylie_store::StoreError> for ApiError {
    fn from(error: rylie_store::StoreError) -> Self {
        if error.is_unavailable() {
            return ApiError::unavailable(format!("the database is unavailable: {error}"));
        }
        if let rylie_store::StoreError::Conflict(message) = &error {
            return ApiError::conflict(message.clone());
        }
        match error.constraint_violation() {
            Some(("23505", constraint)) => ApiError::conflict(format!(
                "that conflicts with an existing record ({})",
                constraint.unwrap_or("unique")
            )),
            Some(("23503", constraint)) => ApiError::conflict(format!(
                "that record is still referenced or refers to a missing one ({})",
                constraint.unwrap_or("foreign key")
            )),
            _ => ApiError::internal(error.to_string()),
        }
    }
}
