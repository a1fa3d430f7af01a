//! `rylie-ops chat --dealership ID`: a conversation with a dealership's assistant in the
//! terminal, through the same turn as the API (`assistant::turn`), with the environment's
//! configuration (DATABASE_URL, and LLM_* for a model; none: the offline responder). Each
//! reply is followed by its decision trace, so an operator sees why the assistant answered.

use std::io::{BufRead, Write};

use rylie_app::{
    BoxError, Config, State,
    assistant::turn::{self, TurnInput},
};
use rylie_domain::DealershipId;
use rylie_store::{Scope, StoreError, conversations};
use serde_json::Value;

pub async fn run(dealership: i64, conversation: Option<i64>, channel: &str) -> Result<(), BoxError> {
    let config = Config::from_env("rylie-ops")?;
    let state = State::init(config).await?;
    let dealership = DealershipId(dealership);
    let conversation = match conversation {
        Some(id) => id,
        None => {
            let mut client = state.db.client().await?;
            let tx = rylie_store::scope::begin(&mut client, Scope::Tenant(dealership)).await?;
            let id = conversations::open(
                &tx,
                dealership,
                &conversations::NewConversation {
                    customer_id: None,
                    customer_name: None,
                    customer_phone: None,
                    customer_email: None,
                    channel,
                    lead_id: None,
                    customer_context: serde_json::json!({}),
                    inventory_context: serde_json::json!({}),
                },
            )
            .await?;
            tx.commit()
                .await
                .map_err(StoreError::query("starting a conversation"))?;
            id
        }
    };
    println!("conversation {conversation} with dealership {dealership}; an empty line ends it");
    let stdin = std::io::stdin();
    loop {
        print!("customer> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(());
        }
        let input = TurnInput {
            dealership,
            conversation_id: conversation,
            text: line.trim(),
            idempotency_key: None,
            ask_assistant: false,
            deadline: turn::deadline_within(std::time::Duration::from_secs(30)),
        };
        let outcome = turn::take_turn(&state, &input).await?;
        match &outcome.reply {
            Some(reply) => println!("assistant> {reply}"),
            None => println!(
                "assistant> (silent: {})",
                outcome.trace["silent"].as_str().unwrap_or("no reply")
            ),
        }
        println!("{}", trace_line(&outcome.trace, &outcome.status));
    }
}

/// The trace in one line: intents, sentiment, tools, guardrail action, handover, model, time.
fn trace_line(trace: &Value, status: &str) -> String {
    let tools: Vec<String> = trace["tools"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|call| format!("{}→{}", call["tool"].as_str().unwrap_or("?"), call["result_ids"]))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "    [intents {} | sentiment {} | tools {} | guardrails {} | handover {} | status {status} | {} | {} ms]",
        trace["intents"],
        trace["sentiment"],
        if tools.is_empty() {
            "none".to_owned()
        } else {
            tools.join(", ")
        },
        trace["guardrails"]["action"].as_str().unwrap_or("-"),
        trace["handover"]["reasons"],
        trace["model"].as_str().unwrap_or("-"),
        trace["latency_ms"],
    )
}
