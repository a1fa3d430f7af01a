//! `rylie-ops parse-adf`, the built binary, on the mail and ADF fixtures of rylie-domain: the
//! JSON contract (one object per prospect, exactly the documented keys, nulls and empty lists
//! rather than empty strings), stdin, and a clear failure when there is no usable lead.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/domain/tests/fixtures");

fn parse_adf(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rylie-ops"))
        .arg("parse-adf")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// No value anywhere in the output is an empty string.
fn assert_no_empty_strings(value: &Value) {
    match value {
        Value::String(text) => assert!(!text.is_empty(), "an empty string in the output"),
        Value::Array(items) => items.iter().for_each(assert_no_empty_strings),
        Value::Object(map) => map.values().for_each(assert_no_empty_strings),
        _ => {}
    }
}

#[test]
fn a_raw_mail_prints_one_object_per_prospect_with_exactly_the_documented_keys() {
    let output = parse_adf(&[&format!("{FIXTURES}/mail/gmail_alternative.eml")], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let leads: Value = serde_json::from_slice(&output.stdout).unwrap();
    let lead = &leads.as_array().unwrap()[0];
    assert_eq!(
        keys(lead),
        [
            "customer",
            "ids",
            "provider",
            "request_date",
            "status",
            "vehicles",
            "vendor",
            "warnings"
        ]
    );
    assert_eq!(
        keys(&lead["customer"]),
        [
            "address",
            "comments",
            "emails",
            "first_name",
            "full_name",
            "last_name",
            "middle_name",
            "phones",
            "timeframe"
        ]
    );
    let vehicle = &lead["vehicles"][0];
    assert_eq!(
        keys(vehicle),
        [
            "comments", "interest", "make", "model", "odometer", "price", "status", "stock", "trim", "vin", "year"
        ]
    );
    assert_no_empty_strings(&leads);
}

#[test]
fn several_prospects_from_stdin_and_e164_phones() {
    let xml = std::fs::read(format!("{FIXTURES}/adf/multiple_prospects.xml")).unwrap();
    let output = parse_adf(&["-"], Some(&xml));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let leads: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(leads.as_array().unwrap().len() >= 2, "{leads}");
    for lead in leads.as_array().unwrap() {
        for phone in lead["customer"]["phones"].as_array().unwrap() {
            let number = phone["number"].as_str().unwrap();
            assert!(number.starts_with('+'), "{phone}");
        }
    }
}

#[test]
fn no_usable_lead_exits_non_zero_with_the_reason() {
    let output = parse_adf(&[&format!("{FIXTURES}/mail/no_adf.eml")], None);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no ADF document"), "{stderr}");

    let output = parse_adf(&[&format!("{FIXTURES}/adf/xxe.xml")], None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("entity"), "{stderr}");
}
