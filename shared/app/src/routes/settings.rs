//! `GET|PATCH /v1/dealerships/{dealership_id}/settings`: what the assistant, the handover and
//! the reports read from the dealership, set through the API instead of by hand in SQL:
//!
//! * `business_hours`: when a person follows up (the assistant says so honestly);
//! * `assignment` and `fixed_user_id`: who gets an escalated conversation (round-robin among
//!   users available for handover, or one fixed user);
//! * `quiet_hours`: when automated mail may go out, in the customer's local time, stricter per
//!   state (see `rylie_domain::assistant::quiet_hours`);
//! * `disclose_at_start`: the assistant says it is automated in its first reply;
//! * `report_settings`: the daily and weekly reports and their recipients;
//! * `email_templates`: the dealership's own wording of customer mail (today the lead's
//!   first contact: `{"lead_first_contact": {"subject": …, "text": …}}` with `{{variables}}`
//!   of `prompt::EMAIL_VARIABLES`); `null` goes back to the built-in one. The CAN-SPAM footer is
//!   added to every one.
//!
//! Each part is checked by the code that reads it (`Hours::parse_strict`,
//! `QuietHours::from_setting`, `ReportSettings::parse`), so what is accepted here is what works
//! there; each problem is reported under its field. Keys of `ai_config` and `agent_config` this
//! route does not manage are kept.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_domain::{assistant::QuietHours, prompt, report::ReportSettings};
use rylie_store::{
    StoreError, audit,
    dealerships::{self, Settings, SettingsChange},
    users,
};
use serde_json::{Value, json};

use crate::{
    assistant::hours::Hours,
    http::{
        ApiError, Ctx, envelope,
        envelope::FieldError,
        input::{self, Fields},
    },
};

const ASSIGNMENTS: &[&str] = &["round_robin", "fixed"];

/// The settings as the API shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct DealershipSettings {
    /// `{"mon": "09:00-19:00", …, "sun": "closed"}`; empty: unknown.
    pub business_hours: Value,
    /// `round_robin` or `fixed`.
    pub assignment: String,
    /// The user who gets every escalation when `assignment` is `fixed`.
    pub fixed_user_id: Option<i64>,
    /// `{"start": 8, "end": 21, "states": {"FL": {"end": 20, "sunday": false}}}`; empty: 08–21.
    pub quiet_hours: Value,
    pub disclose_at_start: bool,
    /// `{"daily": true, "weekly": true, "weekly_day": "mon", "send_hour": 7, "recipients": […]}`.
    pub report_settings: Value,
    /// `{"lead_first_contact": {"subject": "…", "text": "…"}}`; empty: the built-in wording.
    pub email_templates: Value,
}

fn view(settings: &Settings) -> DealershipSettings {
    DealershipSettings {
        business_hours: settings.business_hours.clone(),
        assignment: match settings.agent_config.get("assignment").and_then(Value::as_str) {
            Some("fixed") => "fixed".to_owned(),
            _ => "round_robin".to_owned(),
        },
        fixed_user_id: settings.agent_config.get("fixed_user_id").and_then(Value::as_i64),
        quiet_hours: settings
            .ai_config
            .get("quiet_hours")
            .cloned()
            .unwrap_or_else(|| json!({})),
        disclose_at_start: settings.ai_config.get("disclose_at_start").and_then(Value::as_bool) != Some(false),
        report_settings: settings.report_settings.clone(),
        email_templates: settings
            .ai_config
            .get("email_templates")
            .cloned()
            .unwrap_or_else(|| json!({})),
    }
}

/// The e-mail types a dealership may word itself.
const TEMPLATED_EMAILS: &[&str] = &["lead_first_contact"];

/// The first problem of a set of e-mail templates, with the field it is in.
fn email_template_problem(templates: &Value) -> Option<(String, String)> {
    let Value::Object(map) = templates else {
        return Some(("email_templates".into(), "must be an object".into()));
    };
    for (kind, template) in map {
        let field = format!("email_templates.{kind}");
        if !TEMPLATED_EMAILS.contains(&kind.as_str()) {
            return Some((
                field,
                format!(
                    "is not an e-mail type of its own wording ({})",
                    TEMPLATED_EMAILS.join(", ")
                ),
            ));
        }
        if template.is_null() {
            continue;
        }
        for part in ["subject", "text"] {
            let problem = match template.get(part).and_then(Value::as_str) {
                None => Some("is required, a string".to_owned()),
                Some(text) if text.trim().is_empty() || text.len() > 20_000 => {
                    Some("must have 1 to 20000 characters".to_owned())
                }
                Some(text) => prompt::variables_of(text, prompt::EMAIL_VARIABLES)
                    .err()
                    .map(|e| e.to_string()),
            };
            if let Some(problem) = problem {
                return Some((format!("{field}.{part}"), problem));
            }
        }
    }
    None
}

/// A change as sent; every part optional.
#[derive(Debug, Default)]
pub struct SettingsInput {
    business_hours: Option<Value>,
    assignment: Option<String>,
    fixed_user_id: Option<i64>,
    quiet_hours: Option<Value>,
    disclose_at_start: Option<bool>,
    report_settings: Option<Value>,
    email_templates: Option<Value>,
}

pub fn read_settings(fields: &mut Fields) -> SettingsInput {
    let input = SettingsInput {
        business_hours: fields.object("business_hours"),
        assignment: fields.one_of("assignment", ASSIGNMENTS),
        fixed_user_id: fields.integer("fixed_user_id", 1, i64::MAX),
        quiet_hours: fields.object("quiet_hours"),
        disclose_at_start: fields.boolean("disclose_at_start"),
        report_settings: fields.object("report_settings"),
        email_templates: fields.object("email_templates"),
    };
    if let Some((field, problem)) = input.email_templates.as_ref().and_then(email_template_problem) {
        fields.error(&field, "INVALID_VALUE", problem);
    }
    if let Some(Err(problem)) = input.business_hours.as_ref().map(Hours::parse_strict) {
        fields.error("business_hours", "INVALID_VALUE", problem);
    }
    if let Some(Err(problem)) = input.quiet_hours.as_ref().map(QuietHours::from_setting) {
        fields.error("quiet_hours", "INVALID_VALUE", problem.to_string());
    }
    if let Some(Err(problem)) = input.report_settings.as_ref().map(ReportSettings::parse) {
        let field = if problem.field.is_empty() {
            "report_settings".to_owned()
        } else {
            format!("report_settings.{}", problem.field)
        };
        fields.error(&field, "INVALID_VALUE", problem.problem);
    }
    if input.assignment.as_deref() == Some("fixed") && input.fixed_user_id.is_none() {
        fields.error("fixed_user_id", "REQUIRED", "is required when assignment is fixed");
    }
    input
}

fn not_found(ctx: &Ctx<'_>) -> ApiError {
    ApiError::not_found(format!(
        "no dealership {}",
        ctx.dealership().map(|d| d.0).unwrap_or_default()
    ))
}

pub async fn get(ctx: Ctx<'_>, _request: Request) -> Result<Response<Body>, ApiError> {
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let settings = dealerships::settings(&tx, dealership, None)
        .await?
        .ok_or_else(|| not_found(&ctx))?;
    tx.commit().await.map_err(StoreError::query("reading settings"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &view(&settings)))
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let input = input::body(&request, read_settings)?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    if let Some(user) = input.fixed_user_id
        && !users::get(&tx, dealership, user)
            .await?
            .is_some_and(|staff| staff.is_active)
    {
        return Err(ApiError::validation(vec![FieldError {
            field: "fixed_user_id".to_owned(),
            message: format!("user {user} is not an active user of this dealership"),
            code: "INVALID_VALUE",
        }]));
    }
    let old = dealerships::settings(&tx, dealership, None)
        .await?
        .ok_or_else(|| not_found(&ctx))?;
    let mut ai_config = serde_json::Map::new();
    if let Some(quiet_hours) = input.quiet_hours {
        ai_config.insert("quiet_hours".to_owned(), quiet_hours);
    }
    if let Some(disclose) = input.disclose_at_start {
        ai_config.insert("disclose_at_start".to_owned(), disclose.into());
    }
    if let Some(Value::Object(templates)) = input.email_templates {
        // Merged by type over the stored ones; a null drops that type's own wording.
        let mut merged = old
            .ai_config
            .get("email_templates")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (kind, template) in templates {
            if template.is_null() {
                merged.remove(&kind);
            } else {
                merged.insert(kind, template);
            }
        }
        ai_config.insert("email_templates".to_owned(), Value::Object(merged));
    }
    let mut agent_config = serde_json::Map::new();
    if let Some(assignment) = input.assignment {
        agent_config.insert("assignment".to_owned(), assignment.into());
    }
    if let Some(user) = input.fixed_user_id {
        agent_config.insert("fixed_user_id".to_owned(), user.into());
    }
    let change = SettingsChange {
        business_hours: input.business_hours,
        ai_config: (!ai_config.is_empty()).then_some(Value::Object(ai_config)),
        agent_config: (!agent_config.is_empty()).then_some(Value::Object(agent_config)),
        report_settings: input.report_settings,
    };
    let new = dealerships::settings(&tx, dealership, Some(&change))
        .await?
        .ok_or_else(|| not_found(&ctx))?;
    let (old, new) = (view(&old), view(&new));
    audit::record(
        &tx,
        &ctx.audit(
            "dealership.settings",
            "dealership",
            dealership.0,
            Some(&old),
            Some(&new),
        ),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("changing settings"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}
