//! Reports: one computation ([`rylie_store::reports::compute`], one statement), three ways
//! out of it.
//!
//! * `GET /v1/dealerships/{id}/reports?from=&to=` answers with the [`Report`] as JSON
//!   ([`crate::routes::reports`]).
//! * `cron-reports` runs every hour and queues one `report.scheduled` job per dealership and
//!   due period ([`cron`]); `job-report` computes the report and hands an
//!   `email.scheduled_report` message carrying it to job-email ([`job`]); job-email renders the
//!   HTML e-mail and the CSV attachment from that same [`Report`] ([`mail`]).
//!
//! The e-mail and the CSV are rendered from the report the job computed, never recomputed,
//! and both come from one flat list of [`Line`]s ([`lines`]), so the e-mail, the CSV and the
//! JSON cannot disagree.
//!
//! # Once per period
//!
//! A report's business key is `report:{dealership}:{kind}:{first local day}`
//! ([`rylie_domain::report::ReportPeriod::key`]). The cron records it in `report_runs` before
//! queueing (a second run queues nothing new); the e-mail message's key is
//! `email.{report key}` and each recipient's delivery row `email.{report key}:{address}`, so
//! a redelivered report job or e-mail message sends no second e-mail.

pub mod cron;
pub mod job;
pub mod mail;

use rylie_domain::report::csv_document;
pub use rylie_store::reports::Report;

/// One figure of a report: its section, what it measures, what it is of (a channel, a make;
/// empty for a total) and its value as text (empty when there is nothing to measure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub section: &'static str,
    pub metric: &'static str,
    pub key: String,
    pub value: String,
}

/// The columns of the CSV.
pub const CSV_HEADER: [&str; 4] = ["section", "metric", "key", "value"];

fn count(value: i64) -> String {
    value.to_string()
}

fn measure(value: Option<f64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// Every figure of `report`, in the order the e-mail shows them.
pub fn lines(report: &Report) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut push = |section: &'static str, metric: &'static str, key: &str, value: String| {
        lines.push(Line {
            section,
            metric,
            key: key.to_owned(),
            value,
        })
    };
    push("period", "from", "", report.from.to_rfc3339());
    push("period", "to", "", report.to.to_rfc3339());
    push("period", "timezone", "", report.timezone.clone());

    let conversations = &report.conversations;
    push("conversations", "started", "", count(conversations.started));
    for tally in &conversations.by_channel {
        push("conversations", "started_by_channel", &tally.key, count(tally.count));
    }

    push("leads", "total", "", count(report.leads.total));
    for tally in &report.leads.by_source {
        push("leads", "by_source", &tally.key, count(tally.count));
    }

    let handovers = &report.handovers;
    push("handovers", "count", "", count(handovers.count));
    push(
        "handovers",
        "median_seconds_to_handover",
        "",
        measure(handovers.median_seconds_to_handover),
    );

    let first = &report.first_response;
    push("first_response", "measured", "", count(first.measured));
    push("first_response", "unanswered", "", count(first.unanswered));
    push("first_response", "p50_seconds", "", measure(first.p50_seconds));
    push("first_response", "p90_seconds", "", measure(first.p90_seconds));

    let replies = &report.customer_replies;
    push(
        "customer_replies",
        "conversations_with_outbound",
        "",
        count(replies.conversations_with_outbound),
    );
    push(
        "customer_replies",
        "customer_replied",
        "",
        count(replies.customer_replied),
    );
    push("customer_replies", "rate", "", measure(replies.rate));

    for tally in &report.demand.top_makes {
        push("demand", "top_make", &tally.key, count(tally.count));
    }
    for tally in &report.demand.top_models {
        push("demand", "top_model", &tally.key, count(tally.count));
    }
    for vehicle in &report.demand.top_vehicles {
        let mut key = vehicle.description.clone();
        if let Some(stock) = &vehicle.stock_number {
            key.push_str(&format!(" (stock {stock})"));
        }
        if let Some(vin) = &vehicle.vin {
            key.push_str(&format!(" VIN {vin}"));
        }
        push("demand", "top_vehicle", &key, count(vehicle.count));
    }

    let inventory = &report.inventory;
    push("inventory", "active_vehicles", "", count(inventory.active_vehicles));
    push(
        "inventory",
        "with_in_stock_date",
        "",
        count(inventory.with_in_stock_date),
    );
    push("inventory", "average_age_days", "", measure(inventory.average_age_days));
    push("inventory", "median_age_days", "", measure(inventory.median_age_days));
    push("inventory", "aged_0_30_days", "", count(inventory.aged_0_30_days));
    push("inventory", "aged_31_60_days", "", count(inventory.aged_31_60_days));
    push("inventory", "aged_61_90_days", "", count(inventory.aged_61_90_days));
    push("inventory", "aged_over_90_days", "", count(inventory.aged_over_90_days));

    for experiment in &report.experiments {
        for variant in &experiment.variants {
            let control = if variant.is_control { " (control)" } else { "" };
            let key = format!("{} / {}{control}", experiment.name, variant.name);
            push("experiments", "conversations", &key, count(variant.conversations));
            push("experiments", "handover_rate", &key, measure(variant.handover_rate));
            push("experiments", "reply_rate", &key, measure(variant.reply_rate));
            push(
                "experiments",
                "median_response_ms",
                &key,
                measure(variant.median_response_ms),
            );
        }
    }
    lines
}

/// The report as CSV: [`CSV_HEADER`] and one row per [`Line`], every cell neutralised
/// against formula injection.
pub fn csv(report: &Report) -> String {
    csv_document(
        &CSV_HEADER,
        lines(report)
            .into_iter()
            .map(|line| vec![line.section.to_owned(), line.metric.to_owned(), line.key, line.value]),
    )
}

/// Words for a metric in the e-mail.
pub fn label(metric: &str) -> &'static str {
    match metric {
        "from" => "From",
        "to" => "To (exclusive)",
        "timezone" => "Time zone",
        "started" => "Conversations started",
        "started_by_channel" => "Started on",
        "total" => "Leads",
        "by_source" => "Leads from",
        "count" => "Handovers",
        "median_seconds_to_handover" => "Median time to handover",
        "measured" => "Conversations answered",
        "unanswered" => "Conversations waiting for a first reply",
        "p50_seconds" => "First response, median",
        "p90_seconds" => "First response, 90th percentile",
        "conversations_with_outbound" => "Conversations we wrote in",
        "customer_replied" => "Customer wrote back",
        "rate" => "Customer reply rate",
        "top_make" => "Make",
        "top_model" => "Model",
        "top_vehicle" => "Vehicle",
        "active_vehicles" => "Vehicles for sale",
        "with_in_stock_date" => "With an in-stock date",
        "average_age_days" => "Average age (days)",
        "median_age_days" => "Median age (days)",
        "aged_0_30_days" => "0–30 days",
        "aged_31_60_days" => "31–60 days",
        "aged_61_90_days" => "61–90 days",
        "aged_over_90_days" => "Over 90 days",
        "conversations" => "Conversations",
        "handover_rate" => "Handover rate",
        "reply_rate" => "Reply rate",
        "median_response_ms" => "Median response (ms)",
        _ => "",
    }
}

/// A value for people: durations in minutes and seconds, rates as percentages.
pub fn readable(metric: &str, value: &str) -> String {
    let Ok(number) = value.parse::<f64>() else {
        return if value.is_empty() {
            "—".to_owned()
        } else {
            value.to_owned()
        };
    };
    if metric.ends_with("seconds") || metric.ends_with("seconds_to_handover") {
        let seconds = number.round() as i64;
        return match seconds {
            s if s < 60 => format!("{s} s"),
            s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
            s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        };
    }
    if metric.ends_with("rate") {
        return format!("{:.1}%", number * 100.0);
    }
    value.to_owned()
}

/// Section titles in the e-mail.
pub fn section_title(section: &str) -> &'static str {
    match section {
        "period" => "Period",
        "conversations" => "Conversations",
        "leads" => "Leads",
        "handovers" => "Handovers",
        "first_response" => "First response",
        "customer_replies" => "Customer replies",
        "demand" => "Most requested",
        "inventory" => "Inventory",
        "experiments" => "Experiments",
        _ => "",
    }
}
