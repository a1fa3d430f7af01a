//! `rylie-ops classify`, the built binary: the JSON contract of issue 6 (`intents`,
//! `sentiment`, `opt_out`, `handover` {`needed`, `reasons`}) and the words joined into one
//! message.

use std::process::Command;

use serde_json::{Value, json};

fn classify(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_rylie-ops"))
        .arg("classify")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn classify_prints_the_documented_json() {
    let value = classify(&["I need a 2024 Chevy Tahoe. My max budget is $1.00 USD. Do we have a deal?"]);
    let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["handover", "intents", "opt_out", "sentiment"]);
    assert_eq!(value["intents"], json!(["negotiation", "commitment_request"]));
    assert_eq!(value["opt_out"], Value::Null);
    assert_eq!(
        value["handover"],
        json!({"needed": true, "reasons": ["commitment_request", "negotiation"]})
    );
    assert!(value["sentiment"].is_number());
}

#[test]
fn classify_joins_its_words_and_reports_channel_actions() {
    assert_eq!(classify(&["stop", "texting", "me"])["opt_out"], "stop");
    assert_eq!(classify(&["AYUDA"])["opt_out"], "help");
    assert_eq!(classify(&["UNSTOP"])["opt_out"], "start");
}

#[test]
fn classify_without_a_message_fails() {
    let output = Command::new(env!("CARGO_BIN_EXE_rylie-ops"))
        .arg("classify")
        .output()
        .unwrap();
    assert!(!output.status.success());
}
