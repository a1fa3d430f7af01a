//! A lead's effects, one transaction per lead: the customer found (by e-mail, then phone) or
//! created, the lead recorded once, a conversation opened on the e-mail channel with the
//! customer's comments as its first message, the car of interest linked when it is in stock,
//! a trade-in kept as a trade-in, and `lead.created` written for the dealership's webhooks.
//! After the commit the first contact goes on the e-mail queue, once per lead.

use chrono::Utc;
use rylie_cloud::JobMessage;
use rylie_domain::{DealershipId, adf::Lead};
use rylie_store::{
    Scope, StoreError,
    conversations::{self, NewConversation, NewMessage},
    customers::{self, CustomerDetails},
    events,
    inbound_emails::Recipient,
    leads::{self, NewLead, Recorded},
    scope, vehicles,
};
use serde_json::{Value, json};

use super::MailError;
use crate::State;

/// Where a lead came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub inbound_email_id: i64,
    pub raw_s3_key: Option<&'a str>,
}

/// What became of one lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadOutcome {
    Created(i64),
    AlreadyThere(i64),
}

/// Records the lead and its effects in `recipient`'s dealership, then queues its first
/// contact (also for a lead recorded before whose first contact never reached the queue).
pub async fn record(
    state: &State,
    recipient: &Recipient,
    lead: &Lead,
    origin: Origin<'_>,
) -> Result<LeadOutcome, MailError> {
    // The write's connection is released before the queueing takes its own.
    let (outcome, queued) = write(state, recipient.dealership, lead, origin).await?;
    if !queued {
        let (LeadOutcome::Created(id) | LeadOutcome::AlreadyThere(id)) = outcome;
        queue_first_contact(state, recipient, id).await?;
    }
    Ok(outcome)
}

/// The lead's transaction; returns what it did and whether the first contact is queued.
async fn write(
    state: &State,
    dealership: DealershipId,
    lead: &Lead,
    origin: Origin<'_>,
) -> Result<(LeadOutcome, bool), MailError> {
    let report = lead.report();
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let adf_id = lead.adf_id();
    let interest = lead.vehicle_of_interest();
    let trade_ins: Vec<Value> = lead.trade_ins().map(to_json).collect();
    let customer = &report["customer"];
    let comments = text(&customer["comments"]);
    let new = NewLead {
        source: "email_adf",
        provider: lead.provider_key(),
        adf_id: adf_id.map(|id| id.value.as_str()),
        adf_id_source: adf_id.and_then(|id| id.source.as_deref()),
        request_date: lead.request_date.map(|date| date.with_timezone(&Utc)),
        vehicle_of_interest: interest.map_or_else(|| json!({}), to_json),
        trade_in: (!trade_ins.is_empty()).then_some(Value::Array(trade_ins)),
        timeframe: Some(customer["timeframe"].clone()).filter(|t| !t.is_null()),
        customer_comments: comments,
        content_hash: &lead.content_hash(),
        inbound_email_id: Some(origin.inbound_email_id),
        raw_s3_key: origin.raw_s3_key,
        details: to_json(lead),
    };
    let id = match leads::record(&tx, dealership, &new).await? {
        Recorded::AlreadyThere {
            id,
            first_contact_queued,
        } => {
            tx.commit().await.map_err(StoreError::query("reading a lead"))?;
            return Ok((LeadOutcome::AlreadyThere(id), first_contact_queued));
        }
        Recorded::New(id) => id,
    };
    let details = customer_details(customer);
    let customer_id = if details.email.is_some() || details.phone.is_some() || details.full_name.is_some() {
        Some(customers::find_or_create(&tx, dealership, &details).await?.0)
    } else {
        None
    };
    let vehicle_id = match interest {
        Some(wanted) => {
            vehicles::find_in_stock(&tx, dealership, wanted.vin.as_deref(), wanted.stock.as_deref()).await?
        }
        None => None,
    };
    let conversation_id = conversations::open(
        &tx,
        dealership,
        &NewConversation {
            customer_id,
            customer_name: details.full_name.as_deref(),
            customer_phone: details.phone.as_deref(),
            customer_email: details.email.as_deref(),
            channel: "email",
            lead_id: Some(id),
            customer_context: json!({
                "lead_id": id,
                "provider": lead.provider_key(),
                "timeframe": customer["timeframe"],
                "trade_in": new.trade_in,
            }),
            inventory_context: json!({
                "vehicle_id": vehicle_id,
                "vehicle_of_interest": new.vehicle_of_interest,
            }),
        },
    )
    .await?;
    let summary = summary_line(lead);
    let first_message = match comments {
        Some(comments) => NewMessage {
            content: comments,
            sender: "customer",
            channel: "email",
            message_type: "text",
            external_id: None,
            metadata: json!({ "lead_id": id, "summary": summary }),
        },
        None => NewMessage {
            content: &summary,
            sender: "system",
            channel: "email",
            message_type: "system",
            external_id: None,
            metadata: json!({ "lead_id": id }),
        },
    };
    conversations::add_message(&tx, dealership, conversation_id, &first_message).await?;
    leads::link(&tx, dealership, id, customer_id, Some(conversation_id), vehicle_id).await?;
    events::emit(
        &tx,
        dealership,
        "lead.created",
        &json!({
            "lead_id": id,
            "source": "email_adf",
            "provider": lead.provider_key(),
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "vehicle_id": vehicle_id,
            "inbound_email_id": origin.inbound_email_id,
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::query("recording a lead"))?;
    Ok((LeadOutcome::Created(id), false))
}

/// Puts the lead's first contact on the e-mail queue (unless the dealership wants none) and
/// records that it did. The job's idempotency key is the lead's, so a second send (a crash
/// between sending and recording) is recognised by the worker.
async fn queue_first_contact(state: &State, recipient: &Recipient, lead: i64) -> Result<(), MailError> {
    if recipient.first_contact == "none" {
        return Ok(());
    }
    let (Some(sqs), Some(queue_url)) = (state.sqs(), &state.config.email_queue_url) else {
        tracing::warn!(lead, "first contact not queued: no EMAIL_QUEUE_URL");
        return Ok(());
    };
    let dealership = recipient.dealership;
    let mut client = state.db.client().await?;
    let tx = scope::begin(&mut client, Scope::Tenant(dealership)).await?;
    let links = leads::links(&tx, dealership, lead).await?;
    let message = JobMessage {
        r#type: crate::email::first_contact::JOB.to_owned(),
        version: crate::email::first_contact::VERSION,
        dealership_id: Some(dealership.0),
        idempotency_key: format!("{}:{lead}", crate::email::first_contact::JOB),
        payload: json!({
            "lead_id": lead,
            "mode": recipient.first_contact,
            "customer_id": links.as_ref().and_then(|l| l.customer_id),
            "conversation_id": links.as_ref().and_then(|l| l.conversation_id),
        }),
    };
    sqs.send(queue_url, &message).await?;
    leads::first_contact_queued(&tx, dealership, lead).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("recording a lead's first contact as queued"))?;
    Ok(())
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|error| json!({ "unserializable": error.to_string() }))
}

fn text(value: &Value) -> Option<&str> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn customer_details(customer: &Value) -> CustomerDetails {
    let owned = |value: &Value| text(value).map(str::to_owned);
    let email = customer["emails"]
        .as_array()
        .and_then(|emails| emails.iter().find_map(owned));
    // Only an E.164 number fits the column; a number we could not normalise stays in the lead.
    let phone = customer["phones"].as_array().and_then(|phones| {
        phones
            .iter()
            .filter_map(|p| text(&p["number"]))
            .find(|n| is_e164(n))
            .map(str::to_owned)
    });
    let full_name = owned(&customer["full_name"]).or_else(|| {
        let parts: Vec<&str> = ["first_name", "last_name"]
            .iter()
            .filter_map(|k| text(&customer[*k]))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    CustomerDetails {
        first_name: owned(&customer["first_name"]),
        last_name: owned(&customer["last_name"]),
        full_name,
        preferred_channel: email.as_ref().map(|_| "email"),
        email,
        phone,
        address: customer["address"].clone(),
    }
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
    })
}

/// "New lead from AutoTrader: 2021 Toyota Camry (VIN ...)", the conversation's first line
/// when the customer wrote nothing.
fn summary_line(lead: &Lead) -> String {
    let provider = lead.provider_key().unwrap_or("a lead provider");
    let vehicle = lead.vehicle_of_interest().map(|v| {
        let mut words: Vec<String> = v.year.map(|year| year.to_string()).into_iter().collect();
        words.extend(
            [&v.make, &v.model, &v.trim]
                .into_iter()
                .filter_map(|word| word.as_deref().map(str::trim).filter(|w| !w.is_empty()))
                .map(str::to_owned),
        );
        if let Some(vin) = v.vin.as_deref() {
            words.push(format!("(VIN {vin})"));
        } else if let Some(stock) = v.stock.as_deref() {
            words.push(format!("(stock {stock})"));
        }
        words.join(" ")
    });
    match vehicle.filter(|v| !v.is_empty()) {
        Some(vehicle) => format!("New lead from {provider}: {vehicle}"),
        None => format!("New lead from {provider}"),
    }
}
