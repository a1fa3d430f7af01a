//! The bundle's wiring: every function folder is deployed by template.yaml, built from its
//! own cargo-lambda output, and has a sample event.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

fn functions() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn every_function_is_in_the_template_with_its_build_output() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for name in functions() {
        let logical_id: String = name
            .split('-')
            .map(|part| part[..1].to_uppercase() + &part[1..])
            .collect::<String>()
            + "Function";
        assert!(
            template.contains(&format!("  {logical_id}:\n")),
            "template.yaml has no {logical_id} for functions/{name}"
        );
        assert!(
            template.contains(&format!("CodeUri: target/lambda/{name}/")),
            "template.yaml does not deploy target/lambda/{name}/"
        );
    }
}

#[test]
fn every_function_has_a_sample_event() {
    let events: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    for name in functions() {
        assert!(
            events
                .iter()
                .any(|event| event.starts_with(&name) && event.ends_with(".json")),
            "events/ has no sample for {name}"
        );
    }
}
