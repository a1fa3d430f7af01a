//! `GET /v1/dealerships/{dealership_id}/experiments/{experiment_id}/results`: each variant of
//! a prompt experiment against its control, on the handover rate (lower is better) and the
//! customer reply rate (higher is better), by a two-proportion z-test at the experiment's
//! confidence level, with the confidence interval of the difference and whether the minimum
//! sample size is reached. Conversations are assigned at their start (see
//! [`super::conversations::create`]).

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::assistant::two_proportion_z_test;
use rylie_store::{
    StoreError,
    experiments::{self, VariantCounts},
};

use crate::http::{ApiError, Ctx, envelope, input};

/// One variant's counts and rates.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct VariantResult {
    pub id: i64,
    pub name: String,
    pub is_control: bool,
    pub conversations: i64,
    pub handed_over: i64,
    pub customer_replied: i64,
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
