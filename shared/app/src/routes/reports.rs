//! `GET /v1/dealerships/{dealership_id}/reports?from=&to=`: the dealership's report for a
//! period, the same figures the scheduled e-mail and its CSV carry (one computation,
//! [`rylie_store::reports::compute`]).
//!
//! `from` and `to` are each a date (`2026-03-01`, local midnight in the dealership's time
//! zone; `to` as a date includes that whole day) or an RFC 3339 time. Without them the report
//! covers the last 7 days up to now; with only `from`, up to now; with only `to`, the 7 days
//! before it.
//! A period runs at most [`MAX_DAYS`] days.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use rylie_store::{
    StoreError,
    reports::{self, Bound},
};

use crate::http::{ApiError, Ctx, envelope, envelope::FieldError};

/// The longest period one request may ask for.
pub const MAX_DAYS: i64 = 366;
/// The period when none is given.
const DEFAULT_DAYS: u64 = 7;

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let (from, to) = read_period(&request, Utc::now())?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let report = reports::compute(&tx, dealership, from, to)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no dealership {dealership}")))?;
    tx.commit().await.map_err(StoreError::query("computing a report"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &report))
}

/// A date (`YYYY-MM-DD`) or an RFC 3339 time.
fn parse_bound(raw: &str) -> Option<Bound> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Some(Bound::LocalDate(date));
    }
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|at| Bound::Instant(at.with_timezone(&Utc)))
}

/// For ordering and length checks only: a local date read as UTC midnight (a day at most off,
/// which the checks tolerate).
fn approximate(bound: Bound) -> DateTime<Utc> {
    match bound {
        Bound::Instant(at) => at,
        Bound::LocalDate(date) => date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc(),
    }
}

/// `days` earlier.
fn days_before(bound: Bound, days: u64) -> Bound {
    match bound {
        Bound::Instant(at) => Bound::Instant(at - TimeDelta::days(days as i64)),
        Bound::LocalDate(date) => Bound::LocalDate(date.checked_sub_days(Days::new(days)).unwrap_or(date)),
    }
}

/// Reads `?from=&to=` into the period's bounds, reporting every bad field at once.
pub fn read_period(request: &Request, now: DateTime<Utc>) -> Result<(Bound, Bound), ApiError> {
    let query = request.query_string_parameters();
    let mut errors = Vec::new();
    let mut read = |name: &str| {
        let raw = query.first(name)?;
        let bound = parse_bound(raw.trim());
        if bound.is_none() {
            errors.push(FieldError {
                field: name.to_owned(),
                message: "must be a date (2026-03-01) or an RFC 3339 time (2026-03-01T00:00:00Z)".to_owned(),
                code: "INVALID_FORMAT",
            });
        }
        bound
    };
    // A `to` date names the last day of the period: the period ends at the next midnight.
    let from = read("from");
    let to = read("to").map(|to| match to {
        Bound::LocalDate(date) => Bound::LocalDate(date.checked_add_days(Days::new(1)).unwrap_or(date)),
        instant => instant,
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (from, to) = match (from, to) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, Bound::Instant(now)),
        (None, Some(to)) => (days_before(to, DEFAULT_DAYS), to),
        (None, None) => (days_before(Bound::Instant(now), DEFAULT_DAYS), Bound::Instant(now)),
    };
    let (start, end) = (approximate(from), approximate(to));
    let refuse = |message: String| {
        Err(ApiError::validation(vec![FieldError {
            field: "to".to_owned(),
            message,
            code: "INVALID_VALUE",
        }]))
    };
    if end <= start {
        return refuse("must be after `from`".to_owned());
    }
    if end - start > TimeDelta::days(MAX_DAYS) {
        return refuse(format!("the period may cover at most {MAX_DAYS} days"));
    }
    Ok((from, to))
}
