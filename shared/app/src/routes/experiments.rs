//! Prompt experiments: `/v1/dealerships/{dealership_id}/experiments[/{experiment_id}]` to
//! create, list, read, change and delete them, and `…/{experiment_id}/results`: each variant of
//! a prompt experiment against its control, on the handover rate (lower is better), the
//! customer reply rate, the lead rate and the conversion rate (higher is better; the last two
//! from the analysis job's outcome metrics), by a two-proportion z-test at the experiment's
//! confidence level, with the confidence interval of the difference and whether the minimum
//! sample size is reached. Conversations are assigned at their start (see
//! [`super::conversations::create`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::assistant::two_proportion_z_test;
use rylie_store::{
    StoreError, audit,
    experiments::{self, Experiment, ExperimentChanges, NewExperiment, NewVariant, VariantCounts},
    personas,
};

use crate::http::{
    ApiError, Ctx, envelope,
    envelope::FieldError,
    input::{self, Fields},
};

/// The metrics an experiment can be judged on (`prompt_metrics` and the results route).
pub const METRICS: &[&str] = &["handover_rate", "reply_rate", "response_time_ms"];
/// What an experiment's status may become, from each status.
const TRANSITIONS: &[(&str, &[&str])] = &[
    ("draft", &["active", "cancelled"]),
    ("active", &["paused", "completed", "cancelled"]),
    ("paused", &["active", "completed", "cancelled"]),
    ("completed", &[]),
    ("cancelled", &[]),
];
const STATUSES: &[&str] = &["draft", "active", "paused", "completed", "cancelled"];

/// One variant as sent.
#[derive(Debug)]
pub struct VariantInput {
    name: Option<String>,
    persona_id: Option<i64>,
    is_control: Option<bool>,
    traffic_percentage: Option<i64>,
}

pub fn read_variant(fields: &mut Fields) -> VariantInput {
    VariantInput {
        name: fields.string("name", true, 1, 100),
        persona_id: fields.integer("persona_id", 1, i64::MAX),
        is_control: fields.boolean("is_control"),
        traffic_percentage: fields.integer("traffic_percentage", 1, 100),
    }
}

/// A new experiment as sent.
#[derive(Debug)]
pub struct NewExperimentInput {
    name: Option<String>,
    description: Option<String>,
    hypothesis: Option<String>,
    start_date: Option<DateTime<Utc>>,
    end_date: Option<DateTime<Utc>>,
    traffic_percentage: Option<i64>,
    primary_metric: Option<String>,
    secondary_metrics: Option<Vec<String>>,
    confidence_level: Option<f64>,
    minimum_sample_size: Option<i64>,
    variants: Option<Vec<VariantInput>>,
}

pub fn read_new_experiment(fields: &mut Fields) -> NewExperimentInput {
    let input = NewExperimentInput {
        name: fields.string("name", true, 1, 200),
        description: fields.string("description", false, 0, 2000),
        hypothesis: fields.string("hypothesis", false, 0, 2000),
        start_date: fields.time("start_date", true),
        end_date: fields.time("end_date", true),
        traffic_percentage: fields.integer("traffic_percentage", 1, 100),
        primary_metric: fields.one_of("primary_metric", METRICS),
        secondary_metrics: fields.strings("secondary_metrics", METRICS.len(), 64),
        confidence_level: fields.number("confidence_level", 0.8, 0.99),
        minimum_sample_size: fields.integer("minimum_sample_size", 10, 1_000_000),
        variants: fields.objects("variants", true, (2, 5), read_variant),
    };
    if let Some(unknown) = input
        .secondary_metrics
        .iter()
        .flatten()
        .find(|metric| !METRICS.contains(&metric.as_str()))
    {
        fields.error(
            "secondary_metrics",
            "INVALID_VALUE",
            format!("{unknown:?} is not one of {}", METRICS.join(", ")),
        );
    }
    if let (Some(start), Some(end)) = (input.start_date, input.end_date)
        && end <= start
    {
        fields.error("end_date", "INVALID_VALUE", "must be after start_date");
    }
    if let Some(variants) = &input.variants {
        for problem in variant_problems(variants) {
            fields.error("variants", "INVALID_VALUE", problem);
        }
    }
    input
}

/// What is wrong with a set of variants as a whole: not exactly one control, a name used
/// twice, or shares that do not add up to 100.
fn variant_problems(variants: &[VariantInput]) -> Vec<String> {
    let mut problems = Vec::new();
    let controls = variants.iter().filter(|v| v.is_control == Some(true)).count();
    if controls != 1 {
        problems.push(format!(
            "must have exactly one control variant (is_control: true), has {controls}"
        ));
    }
    let names: BTreeSet<String> = variants
        .iter()
        .filter_map(|v| v.name.as_ref())
        .map(|n| n.to_lowercase())
        .collect();
    if names.len() != variants.len() {
        problems.push("variant names must differ".to_owned());
    }
    if variants.iter().any(|v| v.traffic_percentage.is_some()) {
        let total: i64 = variants.iter().map(|v| v.traffic_percentage.unwrap_or(0)).sum();
        if total != 100 {
            problems.push(format!(
                "traffic_percentage of the variants must add up to 100, adds up to {total}"
            ));
        }
    }
    if variants.iter().any(|v| v.persona_id.is_none()) {
        problems.push("every variant needs its persona_id".to_owned());
    }
    problems
}

/// A change as sent: dates may only be extended, variants are fixed once created.
#[derive(Debug)]
pub struct ExperimentUpdateInput {
    name: Option<String>,
    description: Option<String>,
    hypothesis: Option<String>,
    end_date: Option<DateTime<Utc>>,
    traffic_percentage: Option<i64>,
    status: Option<String>,
    winner_variant_id: Option<i64>,
}

pub fn read_experiment_update(fields: &mut Fields) -> ExperimentUpdateInput {
    ExperimentUpdateInput {
        name: fields.string("name", false, 1, 200),
        description: fields.string("description", false, 0, 2000),
        hypothesis: fields.string("hypothesis", false, 0, 2000),
        end_date: fields.time("end_date", false),
        traffic_percentage: fields.integer("traffic_percentage", 1, 100),
        status: fields.one_of("status", STATUSES),
        winner_variant_id: fields.integer("winner_variant_id", 1, i64::MAX),
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no experiment {id}"))
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.into(),
        code: "INVALID_VALUE",
    }])
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let input = input::body(&request, read_new_experiment)?;
    let dealership = ctx.dealership()?;
    let variants = input.variants.unwrap_or_default();
    let count = variants.len() as i32;
    let new = NewExperiment {
        name: input.name.unwrap_or_default(),
        description: input.description,
        hypothesis: input.hypothesis,
        start_date: input.start_date.unwrap_or_else(Utc::now),
        end_date: input.end_date.unwrap_or_else(Utc::now),
        traffic_percentage: input.traffic_percentage.unwrap_or(50) as i32,
        primary_metric: input.primary_metric.unwrap_or_else(|| "handover_rate".to_owned()),
        secondary_metrics: input.secondary_metrics.unwrap_or_default(),
        confidence_level: input.confidence_level.unwrap_or(0.95),
        minimum_sample_size: input.minimum_sample_size.unwrap_or(100) as i32,
        // Without shares, the variants split the traffic evenly (the first takes the rest).
        variants: variants
            .into_iter()
            .enumerate()
            .map(|(index, v)| NewVariant {
                name: v.name.unwrap_or_default(),
                persona_id: v.persona_id.unwrap_or_default(),
                is_control: v.is_control.unwrap_or(false),
                traffic_percentage: v.traffic_percentage.map_or_else(
                    || 100 / count + if index == 0 { 100 % count } else { 0 },
                    |share| share as i32,
                ),
            })
            .collect(),
    };
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    for (index, variant) in new.variants.iter().enumerate() {
        if !personas::get(&tx, dealership, variant.persona_id)
            .await?
            .is_some_and(|persona| persona.is_active)
        {
            return Err(invalid(
                &format!("variants[{index}].persona_id"),
                format!(
                    "persona {} is not an active persona of this dealership",
                    variant.persona_id
                ),
            ));
        }
    }
    let created_by = ctx.principal()?.user_id;
    let experiment = experiments::create(&tx, dealership, &new, created_by).await?;
    audit::record(
        &tx,
        &ctx.audit(
            "experiment.create",
            "experiment",
            experiment.id,
            None,
            Some(&experiment),
        ),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("creating an experiment"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &experiment))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, experiments::SORTABLE, "created_at")?;
    let mut query = input::Query::new(&request);
    let status = query.one_of("status", STATUSES);
    query.finish()?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = experiments::list(&tx, dealership, status.as_deref(), &page).await?;
    tx.commit().await.map_err(StoreError::query("listing experiments"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "experiment_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let experiment = experiments::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await.map_err(StoreError::query("reading an experiment"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &experiment))
}

/// Checks a change against the experiment as it is: the status may only move along
/// [`TRANSITIONS`], the end stays after the start, a winner is one of its variants and only
/// named when it completes, and two active experiments never overlap.
fn check_change(old: &Experiment, change: &ExperimentUpdateInput) -> Result<(), ApiError> {
    if let Some(status) = &change.status
        && status != &old.status
    {
        let allowed = TRANSITIONS
            .iter()
            .find(|(from, _)| *from == old.status)
            .map_or(&[][..], |(_, to)| *to);
        if !allowed.contains(&status.as_str()) {
            return Err(ApiError::conflict(format!(
                "a {} experiment cannot become {status} (it may become: {})",
                old.status,
                if allowed.is_empty() {
                    "nothing, it is over".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        }
    }
    if let Some(end) = change.end_date
        && end <= old.start_date
    {
        return Err(invalid("end_date", "must be after start_date"));
    }
    if let Some(winner) = change.winner_variant_id {
        if !old.variants.iter().any(|variant| variant.id == winner) {
            return Err(invalid(
                "winner_variant_id",
                format!("variant {winner} is not a variant of this experiment"),
            ));
        }
        if change.status.as_deref().unwrap_or(&old.status) != "completed" {
            return Err(invalid(
                "winner_variant_id",
                "a winner is named when the experiment is completed",
            ));
        }
    }
    Ok(())
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "experiment_id")?;
    let change = input::body(&request, read_experiment_update)?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = experiments::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    check_change(&old, &change)?;
    if change.status.as_deref() == Some("active")
        && let Some(other) = experiments::overlapping_active(
            &tx,
            dealership,
            id,
            old.start_date,
            change.end_date.unwrap_or(old.end_date),
        )
        .await?
    {
        return Err(ApiError::conflict(format!(
            "experiment {other} is active over the same dates; pause or complete it first"
        )));
    }
    let changes = ExperimentChanges {
        name: change.name,
        description: change.description,
        hypothesis: change.hypothesis,
        end_date: change.end_date,
        traffic_percentage: change.traffic_percentage.map(|share| share as i32),
        status: change.status,
        winner_variant_id: change.winner_variant_id,
    };
    let new = experiments::update(&tx, dealership, id, &changes)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(
        &tx,
        &ctx.audit("experiment.update", "experiment", id, Some(&old), Some(&new)),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("updating an experiment"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}

/// Deletes a draft or cancelled experiment; one that ran keeps its results (complete it).
pub async fn delete(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "experiment_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = experiments::get(&tx, dealership, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if !matches!(old.status.as_str(), "draft" | "cancelled") {
        return Err(ApiError::conflict(format!(
            "a {} experiment keeps its results; cancel it before deleting it",
            old.status
        )));
    }
    experiments::delete(&tx, dealership, id).await?;
    audit::record(&tx, &ctx.audit("experiment.delete", "experiment", id, Some(&old), None)).await?;
    tx.commit().await.map_err(StoreError::query("deleting an experiment"))?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &envelope::Deleted { deleted: true, id },
    ))
}

/// One variant's counts and rates.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct VariantResult {
    pub id: i64,
    pub name: String,
    pub is_control: bool,
    pub conversations: i64,
    pub handed_over: i64,
    pub customer_replied: i64,
    /// Conversations the analysis job has analysed (closed or idle), and of those, the ones
    /// that yielded a lead.
    pub analysed: i64,
    pub leads_captured: i64,
    /// Sold, of the leads whose outcome is known (sold or lost).
    pub converted: i64,
    pub conversion_known: i64,
    pub mean_turns_to_lead: Option<f64>,
    pub mean_lead_score: Option<f64>,
}

/// A variant against the control on one rate.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Comparison {
    pub control_rate: f64,
    pub variant_rate: f64,
    pub z: f64,
    pub p_value: f64,
    /// The confidence interval of variant rate − control rate.
    pub difference_ci_low: f64,
    pub difference_ci_high: f64,
    pub significant: bool,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct VariantComparison {
    pub variant: VariantResult,
    pub handover_rate: Option<Comparison>,
    pub reply_rate: Option<Comparison>,
    /// Leads captured per analysed conversation.
    pub lead_rate: Option<Comparison>,
    /// Sold per lead of known outcome.
    pub conversion_rate: Option<Comparison>,
}

/// The results of one experiment.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExperimentResults {
    pub experiment_id: i64,
    pub name: String,
    pub status: String,
    pub confidence_level: f64,
    pub minimum_sample_size: i32,
    /// Every variant, the control included, has at least `minimum_sample_size` conversations.
    pub minimum_sample_reached: bool,
    pub control: VariantResult,
    pub variants: Vec<VariantComparison>,
}

fn view(counts: &VariantCounts) -> VariantResult {
    VariantResult {
        id: counts.id,
        name: counts.name.clone(),
        is_control: counts.is_control,
        conversations: counts.conversations,
        handed_over: counts.handed_over,
        customer_replied: counts.customer_replied,
        analysed: counts.analysed,
        leads_captured: counts.leads_captured,
        converted: counts.converted,
        conversion_known: counts.conversion_known,
        mean_turns_to_lead: counts.mean_turns_to_lead,
        mean_lead_score: counts.mean_lead_score,
    }
}

/// The z-test of `successes` of `variant` against `control`; None without conversations.
fn compare(control: (i64, i64), variant: (i64, i64), confidence: f64) -> Option<Comparison> {
    let as_u64 = |(successes, trials): (i64, i64)| (successes.max(0) as u64, trials.max(0) as u64);
    let test = two_proportion_z_test(as_u64(control), as_u64(variant), confidence).ok()?;
    Some(Comparison {
        control_rate: test.control_rate,
        variant_rate: test.variant_rate,
        z: test.z,
        p_value: test.p_value,
        difference_ci_low: test.ci_low,
        difference_ci_high: test.ci_high,
        significant: test.significant,
    })
}

pub async fn results(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "experiment_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let counts = experiments::counts(&tx, dealership, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no experiment {id}")))?;
    tx.commit().await.map_err(StoreError::query("reading an experiment"))?;
    let control = counts
        .variants
        .iter()
        .find(|variant| variant.is_control)
        .ok_or_else(|| ApiError::conflict(format!("experiment {id} has no control variant to compare with")))?;
    let reached = counts
        .variants
        .iter()
        .all(|variant| variant.conversations >= i64::from(counts.minimum_sample_size));
    let variants = counts
        .variants
        .iter()
        .filter(|variant| !variant.is_control)
        .map(|variant| VariantComparison {
            variant: view(variant),
            handover_rate: compare(
                (control.handed_over, control.conversations),
                (variant.handed_over, variant.conversations),
                counts.confidence_level,
            ),
            reply_rate: compare(
                (control.customer_replied, control.conversations),
                (variant.customer_replied, variant.conversations),
                counts.confidence_level,
            ),
            lead_rate: compare(
                (control.leads_captured, control.analysed),
                (variant.leads_captured, variant.analysed),
                counts.confidence_level,
            ),
            conversion_rate: compare(
                (control.converted, control.conversion_known),
                (variant.converted, variant.conversion_known),
                counts.confidence_level,
            ),
        })
        .collect();
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::OK,
        &ExperimentResults {
            experiment_id: id,
            name: counts.name.clone(),
            status: counts.status.clone(),
            confidence_level: counts.confidence_level,
            minimum_sample_size: counts.minimum_sample_size,
            minimum_sample_reached: reached,
            control: view(control),
            variants,
        },
    ))
}
