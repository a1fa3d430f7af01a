//! HTTP: the conventions every route shares, applied by one pipeline ([`handle`]) so that no
//! handler repeats them: the response envelope and one error type, authentication, the
//! permission matrix and the tenant check, rate limits, security headers, CORS for the
//! dealership's origins, and one log line per request.

pub mod caller;
pub mod envelope;
pub mod health;
pub mod input;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use lambda_http::{Body, Request, RequestExt, Response, http::HeaderValue};
use rylie_domain::{
    Action, DealershipId, Principal,
    access::{Denial, Target, authorize},
};
use rylie_store::{Client, Scope, dealerships::Gate};
use tracing::Instrument;

pub use envelope::{ApiError, RequestMeta};

use crate::{BoxError, State, telemetry};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Health probes: no credentials and no rate limit (load balancers and monitors poll them
    /// from few addresses, often).
    Probe,
    /// Anyone (login, the API document); rate-limited per IP.
    Public,
    /// A staff member or an API key, checked against the permission matrix for `resource`
    /// and `action`. A route under `/v1/dealerships/{dealership_id}` is checked against that
    /// dealership; another dealership's id answers 404.
    Caller { resource: &'static str, action: Action },
}

/// What a handler gets besides the request.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub state: &'a State,
    pub meta: RequestMeta,
    pub principal: Option<Principal>,
    /// The dealership of the path, already authorized for this caller.
    pub dealership: Option<DealershipId>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Filled by [`Ctx::tenant`] with the dealership's allowed origins, for CORS.
    cors: Arc<Mutex<Option<Vec<String>>>>,
    /// The matrix allows this caller only its own objects (`OwnData`), and only the handler
    /// knows the owner: it must call [`Ctx::authorize_owner`].
    owner_pending: bool,
}

/// Resources whose objects have an owning user (a conversation's assignee), so the
/// matrix's `OwnData` cell is checked by their handlers with [`Ctx::authorize_owner`].
pub const OWNED_RESOURCES: &[&str] = &["conversations", "messages"];

impl<'a> Ctx<'a> {
    /// The owner check the pipeline left to the handler: a caller limited to its own objects
    /// (`user` writing) passes only for an object `owner` it owns. Every handler of an
    /// [`OWNED_RESOURCES`] resource calls this before changing anything (with None where the
    /// object has no owner, which refuses such callers).
    pub fn authorize_owner(&self, owner: Option<i64>) -> Result<(), ApiError> {
        if !self.owner_pending {
            return Ok(());
        }
        match (self.principal.as_ref().and_then(|p| p.user_id), owner) {
            (Some(me), Some(owner)) if me == owner => Ok(()),
            _ => Err(ApiError::forbidden(
                "a user changes only the conversations assigned to them",
            )),
        }
    }

    /// The caller; routes with [`Access::Caller`] always have one.
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(ApiError::unauthenticated)
    }

    pub fn dealership(&self) -> Result<DealershipId, ApiError> {
        self.dealership
            .ok_or_else(|| ApiError::not_found("no dealership in this path"))
    }

    /// An audit entry for a change made by this request.
    pub fn audit<T: serde::Serialize>(
        &self,
        action: &str,
        resource_type: &str,
        resource_id: impl ToString,
        old: Option<&T>,
        new: Option<&T>,
    ) -> rylie_store::audit::AuditEntry {
        let value = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok());
        rylie_store::audit::AuditEntry {
            dealership_id: self.dealership.map(|d| d.0),
            user_id: self.principal.as_ref().and_then(|p| p.user_id),
            api_key_id: self.principal.as_ref().and_then(|p| p.api_key_id),
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: Some(resource_id.to_string()),
            old_values: value(old),
            new_values: value(new),
            ip: self.client_ip.clone(),
            user_agent: self.user_agent.clone(),
            request_id: Some(self.meta.request_id.clone()),
        }
    }

    /// Opens a transaction in the path's dealership (row-level security scoped to it) and
    /// checks that the dealership exists and is active.
    pub async fn tenant<'c>(&self, client: &'c mut Client) -> Result<rylie_store::Transaction<'c>, ApiError> {
        let dealership = self.dealership()?;
        let tx = rylie_store::scope::begin(client, Scope::Tenant(dealership)).await?;
        match rylie_store::dealerships::gate(&tx, dealership).await? {
            Gate::Open { allowed_origins } => {
                *self.cors.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(allowed_origins);
                Ok(tx)
            }
            Gate::Inactive => Err(ApiError::dealership_inactive(dealership)),
            Gate::Missing => Err(ApiError::not_found(format!("no dealership {dealership}"))),
        }
    }
}

/// Serves API Gateway HTTP API events with `handler` until the runtime stops.
pub async fn serve<'a, F, Fut>(state: &'a State, access: Access, handler: F) -> Result<(), BoxError>
where
    F: Fn(Ctx<'a>, Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(state, access, handler, request).await)
    }))
    .await
}

/// One request through the pipeline.
pub async fn handle<'a, F, Fut>(state: &'a State, access: Access, handler: &F, request: Request) -> Response<Body>
where
    F: Fn(Ctx<'a>, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + 'a,
{
    let meta = RequestMeta::from_request(&request);
    let span = telemetry::invocation_span(&state.config.function, &meta.request_id);
    async {
        let started = Instant::now();
        let method = request.method().clone();
        let route = request.uri().path().to_owned();
        let origin = request
            .headers()
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cors = Arc::new(Mutex::new(None));
        let mut rate_headers = Vec::new();
        let mut caller = "anonymous".to_owned();
        let outcome = async {
            let ctx = prepare(state, access, &meta, &request, cors.clone(), &mut rate_headers).await?;
            if let Some(dealership) = ctx.dealership {
                tracing::Span::current().record("dealership_id", dealership.0);
            }
            caller = caller::label(ctx.principal.as_ref());
            handler(ctx, request).await
        }
        .await;
        let mut response = outcome.unwrap_or_else(|error| {
            if error.status.is_server_error() {
                tracing::error!(code = error.code, message = %error.message, "request failed");
            }
            error.into_response(&meta)
        });
        let headers = response.headers_mut();
        for (name, value) in rate_headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        envelope::security_headers(headers);
        let allowed = cors.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Some(origin), Some(allowed)) = (origin, allowed)
            && allowed.iter().any(|o| o == &origin)
            && let Ok(value) = HeaderValue::from_str(&origin)
        {
            headers.insert("access-control-allow-origin", value);
            headers.insert("vary", HeaderValue::from_static("origin"));
        }
        tracing::info!(
            %method,
            route,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            caller,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

/// Authentication, rate limit, matrix and tenant check: everything before the handler.
async fn prepare<'a>(
    state: &'a State,
    access: Access,
    meta: &RequestMeta,
    request: &Request,
    cors: Arc<Mutex<Option<Vec<String>>>>,
    rate_headers: &mut Vec<(&'static str, String)>,
) -> Result<Ctx<'a>, ApiError> {
    let client_ip = request
        .request_context_ref()
        .and_then(|context| match context {
            lambda_http::request::RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .filter(|ip| !ip.is_empty());
    let user_agent = request
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let principal = match access {
        Access::Probe | Access::Public => None,
        Access::Caller { .. } => Some(caller::authenticate(state, request).await?),
    };
    if access != Access::Probe {
        let (subject, tier) = caller::rate_subject(principal.as_ref(), client_ip.as_deref());
        let now = chrono::Utc::now().timestamp();
        let decision = state.limiter().check(&subject, tier, now).await;
        rate_headers.extend(decision.headers(now));
        if !decision.allowed {
            return Err(ApiError::rate_limited(decision.retry_after_seconds(now)));
        }
    }
    let dealership = match request.path_parameters().first("dealership_id") {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(DealershipId)
                .ok_or_else(|| ApiError::not_found(format!("no dealership {raw:?}")))?,
        ),
    };
    let mut owner_pending = false;
    if let (Access::Caller { resource, action }, Some(principal)) = (access, &principal) {
        // Coarse check: no owner is known here. For the resources whose objects have an
        // owner (OWNED_RESOURCES) an `OwnData` cell is left to the handler, which knows the
        // owner and must call `Ctx::authorize_owner`; elsewhere `user` passes only for reads.
        let target = Target {
            resource,
            action,
            dealership_id: dealership,
            owner_user_id: principal.user_id,
        };
        let deferred = OWNED_RESOURCES.contains(&resource)
            && rylie_domain::access::cell(principal.role, action) == rylie_domain::access::Cell::OwnData;
        if deferred {
            // The tenant part of the check still applies now: the caller's own id as owner
            // passes the owner test, so only the dealership can refuse.
            authorize(principal, &target).map_err(ApiError::from)?;
            owner_pending = true;
        } else {
            authorize(
                principal,
                &Target {
                    owner_user_id: None,
                    ..target
                },
            )
            .map_err(ApiError::from)?;
        }
    }
    Ok(Ctx {
        state,
        meta: meta.clone(),
        principal,
        dealership,
        client_ip,
        user_agent,
        cors,
        owner_pending,
    })
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> Self {
        match denial {
            // Another dealership's ids do not exist for this caller.
            Denial::OutsideTenant => ApiError::not_found("not found"),
            Denial::Forbidden(reason) => ApiError::forbidden(reason),
        }
    }
}

/// Test helper and local tooling: an API Gateway v2 event as `lambda_http` would receive it.
pub fn request_from_event(event_json: &str) -> Result<Request, BoxError> {
    let request = lambda_http::request::from_str(event_json)?;
    Ok(request)
}

/// The path API Gateway matched, without a stage prefix.
pub fn path(request: &Request) -> String {
    request.raw_http_path().to_owned()
}
