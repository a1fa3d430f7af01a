//! A new lead's first contact (`lead.first_contact`): an e-mail to the customer who sent the
//! lead, in the dealership's name, about the vehicle they asked for as it stands in inventory
//! now.
//!
//! It is an automated message, not a reply the customer is waiting on in a chat, so it obeys
//! the rules of automated outbound mail:
//!
//! * **Quiet hours** in the customer's local time (their zone, else the dealership's), 08–21
//!   by default, the dealership's `ai_config.quiet_hours` when set (stricter per state). Outside
//!   them the job answers [`Outcome::Deferred`] with the opening time, and the worker keeps the
//!   message hidden in its queue until then (one receive, however long the night).
//! * **Opt-out**: a customer who opted out of e-mail gets nothing; the delivery is recorded as
//!   suppressed.
//! * **CAN-SPAM**: a `List-Unsubscribe` header and a plain way to stop (reply or write to the
//!   dealership), and the dealership's postal address in the footer.
//! * **No promises**: the price and availability come from the vehicle row as it is when the
//!   mail is written, never from the lead; a vehicle sold since is said to be sold.
//!
//! The delivery is keyed by the job's idempotency key (one per lead) through
//! [`super::job::send_once`], so a redelivered message sends nothing twice.

use chrono::{DateTime, FixedOffset, Utc};
use rylie_cloud::{JobMessage, OutgoingEmail};
use rylie_domain::{
    DealershipId,
    assistant::{QuietHours, may_send_automated},
    prompt,
};
use rylie_store::{
    email_deliveries::NewDelivery,
    leads::{FirstContactTarget, LeadVehicle},
    scope::{self, Scope},
};
use serde::Deserialize;

use super::{
    EmailError, Outcome,
    job::send_once,
    templates::{Rendered, escape_html},
};
use crate::State;

/// The job type, as `mail::leads` queues it.
pub const JOB: &str = "lead.first_contact";
pub const VERSION: u32 = 1;

/// The payload of `lead.first_contact` version 1.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Payload {
    pub lead_id: i64,
    /// `assistant` or `template`: both send this message for now (the assistant's own
    /// follow-up happens in the conversation when the customer answers).
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub conversation_id: Option<i64>,
}

/// Sends the first contact of `payload.lead_id`, or defers it to the end of quiet hours.
pub async fn send(
    state: &State,
    message: &JobMessage,
    dealership: DealershipId,
    payload: &Payload,
    now: DateTime<Utc>,
) -> Result<Outcome, EmailError> {
    let from = super::job::sender(state)?;
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let target = rylie_store::leads::first_contact_target(&tx, dealership, payload.lead_id).await?;
    tx.commit()
        .await
        .map_err(rylie_store::StoreError::query("reading a lead's first-contact target"))?;
    let Some(target) = target else {
        return Ok(Outcome::Suppressed {
            reason: format!("lead {} no longer exists", payload.lead_id),
        });
    };
    let Some(to) = target.customer_email.clone() else {
        return Ok(Outcome::Suppressed {
            reason: "the lead has no e-mail address".to_owned(),
        });
    };
    if !target.email_opted_out
        && let Err(next) = quiet_hours_allow(&target, now)
    {
        return Ok(match next {
            Some(until) => Outcome::Deferred { until },
            None => Outcome::Suppressed {
                reason: "the quiet-hours setting allows no sending day".to_owned(),
            },
        });
    }
    let (rendered, fallback) = render(&target);
    if let Some(problem) = &fallback {
        tracing::warn!(lead = payload.lead_id, %problem, "first contact sent with the built-in template");
    }
    let delivery = NewDelivery {
        dealership_id: Some(dealership.0),
        idempotency_key: &message.idempotency_key,
        email_type: "lead_first_contact",
        to_address: &to,
        subject: &rendered.subject,
    };
    let sender = format!(
        "{} <{}>",
        target.dealership_name.replace(['<', '>', '"', '\r', '\n'], ""),
        address_of(from)
    );
    let email = OutgoingEmail {
        headers: list_unsubscribe(&target).into_iter().collect(),
        ..rendered.to_email(sender, &to)
    };
    let unwanted = target
        .email_opted_out
        .then_some("not sent: the customer opted out of e-mail");
    send_once(
        state,
        &mut client,
        Scope::Tenant(dealership),
        &delivery,
        email,
        unwanted,
    )
    .await
}

/// Ok when the customer's local time is within the dealership's sending hours; else the next
/// opening (None: the setting allows no day at all). A broken setting falls back to the
/// default hours, loudly.
fn quiet_hours_allow(target: &FirstContactTarget, now: DateTime<Utc>) -> Result<(), Option<DateTime<Utc>>> {
    let rules = match &target.quiet_hours {
        None => QuietHours::default(),
        Some(setting) => QuietHours::from_setting(setting).unwrap_or_else(|error| {
            tracing::warn!(%error, "the dealership's quiet hours are unusable; the default hours apply");
            QuietHours::default()
        }),
    };
    let offset =
        FixedOffset::east_opt(target.utc_offset_seconds).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    may_send_automated(now, offset, &rules, target.customer_state.as_deref()).map_err(|next| next.0)
}

/// `Mail <addr>` → `addr`; the sender shows the dealership's name with Rylie's address.
fn address_of(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => &mailbox[start + 1..end],
        _ => mailbox.trim(),
    }
}

/// `List-Unsubscribe: <mailto:…?subject=unsubscribe>` to the dealership's contact address (the
/// staff there honour it); none when the dealership has no address, and the footer still says
/// how to stop.
fn list_unsubscribe(target: &FirstContactTarget) -> Option<(String, String)> {
    let address = target.dealership_email.as_deref()?.trim();
    (!address.is_empty() && !address.contains(['<', '>', '\r', '\n', ' '])).then(|| {
        (
            "List-Unsubscribe".to_owned(),
            format!("<mailto:{address}?subject=unsubscribe>"),
        )
    })
}

/// "2022 Toyota Tacoma TRD (stock T123)".
fn describe(vehicle: &LeadVehicle) -> Option<String> {
    let words: Vec<String> = [
        vehicle.year.map(|year| year.to_string()),
        vehicle.make.clone(),
        vehicle.model.clone(),
        vehicle.trim.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if words.is_empty() {
        return None;
    }
    let stock = vehicle
        .stock_number
        .as_deref()
        .map(|stock| format!(" (stock {stock})"))
        .unwrap_or_default();
    Some(format!("{}{stock}", words.join(" ")))
}

fn dollars(price: f64) -> String {
    let whole = price.round() as i64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}")
}

/// The message: the dealership's own template when it has one that renders, else the
/// built-in one; the second value says why a custom template was not used. Either way the
/// CAN-SPAM footer (how to stop, the postal address) closes the message: no template can drop it.
pub fn render(target: &FirstContactTarget) -> (Rendered, Option<String>) {
    let (body, fallback) = match &target.custom_template {
        None => (builtin(target), None),
        Some(template) => match custom(target, template) {
            Ok(body) => (body, None),
            Err(problem) => (builtin(target), Some(format!("the dealership's template {problem}"))),
        },
    };
    (with_footer(target, body), fallback)
}

/// What a template may say, by variable (`prompt::EMAIL_VARIABLES`).
fn variable(target: &FirstContactTarget, name: &str) -> String {
    let vehicle = target.vehicle.as_ref().filter(|vehicle| vehicle.is_active);
    match name {
        "dealership_name" => target.dealership_name.clone(),
        "dealership_phone" => target.dealership_phone.clone().unwrap_or_default(),
        "dealership_website" => target.dealership_website.clone().unwrap_or_default(),
        "customer_name" => target.customer_name.clone().unwrap_or_default(),
        "customer_first_name" => first_name(target).unwrap_or_default().to_owned(),
        "persona_name" => target.persona_name.clone().unwrap_or_default(),
        // A vehicle sold since the lead came in is not offered: its facts read empty.
        "vehicle" => vehicle.and_then(describe).unwrap_or_default(),
        "vehicle_price" => vehicle.and_then(|v| v.price).map(dollars).unwrap_or_default(),
        "vehicle_link" => vehicle.and_then(|v| v.vdp_url.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn first_name(target: &FirstContactTarget) -> Option<&str> {
    target
        .customer_name
        .as_deref()
        .and_then(|name| name.split_whitespace().next())
}

/// `ai_config.email_templates.lead_first_contact`: `{"subject": "…", "text": "…"}` with
/// `{{variables}}`; the HTML is the text, escaped, a paragraph per blank line.
fn custom(target: &FirstContactTarget, template: &serde_json::Value) -> Result<Rendered, String> {
    let field = |key: &str| {
        template
            .get(key)
            .and_then(serde_json::Value::as_str)
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| format!("has no {key}"))
    };
    let fill = |text: &str| {
        prompt::render_of(text, prompt::EMAIL_VARIABLES, |name| variable(target, name)).map_err(|e| e.to_string())
    };
    let subject = fill(field("subject")?)?.replace(['\r', '\n'], " ");
    let text = fill(field("text")?)?;
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n",
        escape_html(&subject)
    );
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str(&format!(
            "<p>{}</p>\n",
            escape_html(paragraph.trim()).replace('\n', "<br>")
        ));
    }
    html.push_str("</body></html>\n");
    Ok(Rendered {
        subject,
        text: format!("{}\n", text.trim_end()),
        html,
    })
}

/// The built-in message, plain text and HTML with the same content, without the footer.
fn builtin(target: &FirstContactTarget) -> Rendered {
    let dealer = &target.dealership_name;
    let greeting = match first_name(target) {
        Some(first) => format!("Hi {first},"),
        None => "Hello,".to_owned(),
    };
    let vehicle = target
        .vehicle
        .as_ref()
        .and_then(|vehicle| describe(vehicle).map(|text| (vehicle, text)));
    let (subject, about) = match &vehicle {
        Some((vehicle, text)) if vehicle.is_active => (
            format!("Your inquiry about the {text} at {dealer}"),
            format!(
                "Thank you for your interest in the {text}. It is available{}.",
                vehicle
                    .price
                    .map(|price| format!(" and listed at {}", dollars(price)))
                    .unwrap_or_default()
            ),
        ),
        Some((_, text)) => (
            format!("Your inquiry at {dealer}"),
            format!(
                "Thank you for your interest in the {text}. That vehicle has just been sold; \
                 we would be glad to show you similar ones."
            ),
        ),
        None => (
            format!("Your inquiry at {dealer}"),
            "Thank you for your inquiry. We would be glad to help you find the right vehicle.".to_owned(),
        ),
    };
    let link = vehicle
        .as_ref()
        .filter(|(vehicle, _)| vehicle.is_active)
        .and_then(|(vehicle, _)| vehicle.vdp_url.clone());
    let contact = [target.dealership_phone.as_deref(), target.dealership_website.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let signature = match &target.persona_name {
        Some(persona) => format!("{persona}, the automated assistant of {dealer}"),
        None => format!("The automated assistant of {dealer}"),
    };

    let mut text = format!("{greeting}\n\n{about}\n");
    if let Some(link) = &link {
        text.push_str(&format!("\nDetails and photos: {link}\n"));
    }
    text.push_str(
        "\nWhen would suit you for a visit or a test drive? Reply to this e-mail and a member of our \
         team will confirm.\n",
    );
    text.push_str(&format!("\n{signature}\n"));
    if !contact.is_empty() {
        text.push_str(&format!("{contact}\n"));
    }

    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n<p>{}</p>\n<p>{}</p>\n",
        escape_html(&subject),
        escape_html(&greeting),
        escape_html(&about)
    );
    if let Some(link) = &link {
        html.push_str(&format!(
            "<p><a href=\"{0}\">Details and photos</a></p>\n",
            escape_html(link)
        ));
    }
    html.push_str(
        "<p>When would suit you for a visit or a test drive? Reply to this e-mail and a member of \
         our team will confirm.</p>\n",
    );
    html.push_str(&format!("<p>{}", escape_html(&signature)));
    if !contact.is_empty() {
        html.push_str(&format!("<br>{}", escape_html(&contact)));
    }
    html.push_str("</p>\n</body></html>\n");
    Rendered { subject, text, html }
}

/// Appends how to stop and the postal address (CAN-SPAM) to a message's text and HTML.
fn with_footer(target: &FirstContactTarget, mut body: Rendered) -> Rendered {
    let dealer = &target.dealership_name;
    let stop = match &target.dealership_email {
        Some(address) => format!("To stop these e-mails, reply with \"unsubscribe\" or write to {address}."),
        None => "To stop these e-mails, reply with \"unsubscribe\".".to_owned(),
    };
    let postal = target.postal_address.clone().unwrap_or_else(|| dealer.clone());
    body.text.push_str(&format!("\n-- \n{stop}\n{dealer}, {postal}\n"));
    let footer = format!(
        "<p style=\"font-size: small; color: #555\">{}<br>{}, {}</p>\n</body></html>\n",
        escape_html(&stop),
        escape_html(dealer),
        escape_html(&postal)
    );
    body.html = match body.html.rfind("</body></html>") {
        Some(end) => format!("{}{footer}", &body.html[..end]),
        None => format!("{}{footer}", body.html),
    };
    body
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn target() -> FirstContactTarget {
        FirstContactTarget {
            customer_name: Some("Dana Diaz".into()),
            customer_email: Some("dana@example.com".into()),
            email_opted_out: false,
            utc_offset_seconds: -5 * 3600,
            customer_state: None,
            dealership_name: "Alpha Motors".into(),
            dealership_phone: Some("+1 555 0100".into()),
            dealership_email: Some("sales@alpha.test".into()),
            dealership_website: Some("https://alpha.test".into()),
            postal_address: Some("1 Main St, Springfield IL 62701".into()),
            quiet_hours: None,
            persona_name: Some("Riley".into()),
            custom_template: None,
            vehicle: Some(LeadVehicle {
                year: Some(2022),
                make: Some("Toyota".into()),
                model: Some("Tacoma".into()),
                trim: Some("TRD <Off-Road>".into()),
                stock_number: Some("T123".into()),
                price: Some(34995.0),
                vdp_url: Some("https://alpha.test/v/T123".into()),
                is_active: true,
            }),
        }
    }

    #[test]
    fn the_first_contact_quotes_inventory_and_carries_the_can_spam_footer() {
        let (rendered, fallback) = render(&target());
        assert_eq!(fallback, None);
        assert_eq!(
            rendered.subject,
            "Your inquiry about the 2022 Toyota Tacoma TRD <Off-Road> (stock T123) at Alpha Motors"
        );
        assert!(rendered.text.starts_with("Hi Dana,"), "{}", rendered.text);
        assert!(
            rendered.text.contains("It is available and listed at $34,995."),
            "{}",
            rendered.text
        );
        assert!(rendered.text.contains("https://alpha.test/v/T123"));
        assert!(rendered.text.contains("write to sales@alpha.test"));
        assert!(rendered.text.contains("Alpha Motors, 1 Main St, Springfield IL 62701"));
        assert!(rendered.text.contains("automated assistant"));
        assert!(
            rendered.html.contains("TRD &lt;Off-Road&gt;"),
            "escaped: {}",
            rendered.html
        );
        assert_eq!(
            list_unsubscribe(&target()),
            Some((
                "List-Unsubscribe".to_owned(),
                "<mailto:sales@alpha.test?subject=unsubscribe>".to_owned()
            ))
        );
    }

    #[test]
    fn a_sold_vehicle_is_said_to_be_sold_and_its_price_is_not_quoted() {
        let mut sold = target();
        sold.vehicle.as_mut().unwrap().is_active = false;
        let (rendered, _) = render(&sold);
        assert!(rendered.text.contains("has just been sold"), "{}", rendered.text);
        assert!(!rendered.text.contains("34,995"));
        assert!(!rendered.text.contains("alpha.test/v/T123"));
        assert_eq!(rendered.subject, "Your inquiry at Alpha Motors");
    }

    #[test]
    fn a_dealerships_template_is_used_when_it_renders_and_the_footer_stays() {
        let mut custom = target();
        custom.custom_template = Some(serde_json::json!({
            "subject": "{{customer_first_name}}, your {{vehicle}}",
            "text": "Hello {{customer_first_name}}!\n\nThe {{vehicle}} is {{vehicle_price}}: {{vehicle_link}}\n\n{{persona_name}}",
        }));
        let (rendered, fallback) = render(&custom);
        assert_eq!(fallback, None);
        assert_eq!(
            rendered.subject,
            "Dana, your 2022 Toyota Tacoma TRD <Off-Road> (stock T123)"
        );
        assert!(
            rendered.text.starts_with("Hello Dana!\n\nThe 2022 Toyota Tacoma"),
            "{}",
            rendered.text
        );
        assert!(rendered.text.contains("$34,995: https://alpha.test/v/T123"));
        assert!(
            rendered.text.contains("write to sales@alpha.test"),
            "the footer stays: {}",
            rendered.text
        );
        assert!(rendered.html.contains("<p>Hello Dana!</p>"), "{}", rendered.html);
        assert!(
            rendered.html.contains("1 Main St, Springfield IL 62701</p>"),
            "{}",
            rendered.html
        );

        for (broken, says) in [
            (
                serde_json::json!({ "subject": "Hi {{customer_nmae}}", "text": "x" }),
                "unknown variable",
            ),
            (
                serde_json::json!({ "subject": "Hi {{customer_name", "text": "x" }),
                "without a matching",
            ),
            (serde_json::json!({ "text": "no subject" }), "has no subject"),
        ] {
            custom.custom_template = Some(broken);
            let (rendered, fallback) = render(&custom);
            assert!(fallback.as_deref().unwrap_or_default().contains(says), "{fallback:?}");
            assert!(
                rendered
                    .subject
                    .starts_with("Your inquiry about the 2022 Toyota Tacoma"),
                "the built-in one"
            );
        }
    }

    #[test]
    fn quiet_hours_are_the_customers_local_time() {
        let target = target(); // UTC-5
        let at = |hour| Utc.with_ymd_and_hms(2026, 11, 26, hour, 0, 0).unwrap();
        // 02:00 UTC is 21:00 the evening before there: deferred to 08:00 local = 13:00 UTC.
        assert_eq!(quiet_hours_allow(&target, at(2)), Err(Some(at(13))));
        assert_eq!(quiet_hours_allow(&target, at(15)), Ok(()));
        let mut strict = target.clone();
        strict.quiet_hours = Some(serde_json::json!({ "start": 10 }));
        assert_eq!(quiet_hours_allow(&strict, at(14)), Err(Some(at(15))));
        strict.quiet_hours = Some(serde_json::json!({ "start": "nonsense" }));
        assert_eq!(
            quiet_hours_allow(&strict, at(14)),
            Ok(()),
            "a broken setting falls back to 08-21"
        );
    }

    #[test]
    fn prices_are_grouped_in_thousands() {
        assert_eq!(dollars(34995.0), "$34,995");
        assert_eq!(dollars(999.4), "$999");
        assert_eq!(dollars(1_234_567.0), "$1,234,567");
    }
}
