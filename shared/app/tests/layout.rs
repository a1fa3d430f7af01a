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

/// (function, METHOD, path) triples.
type Routes = std::collections::BTreeSet<(String, String, String)>;

fn table() -> Routes {
    rylie_app::routes::registry::routes()
        .iter()
        .map(|r| (r.function.to_owned(), r.method.to_owned(), r.path.to_owned()))
        .collect()
}

/// The HttpApi events of template.yaml, read line by line.
fn template_routes() -> Routes {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let mut routes = Routes::new();
    let mut function = None;
    let lines: Vec<&str> = template.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(logical) = line.strip_prefix("  ").and_then(|l| l.strip_suffix("Function:"))
            && !logical.starts_with(' ')
        {
            let mut name = String::new();
            for (j, c) in logical.chars().enumerate() {
                if c.is_uppercase() && j > 0 {
                    name.push('-');
                }
                name.push(c.to_ascii_lowercase());
            }
            function = Some(name);
        }
        if let (Some(method), Some(function)) = (line.trim().strip_prefix("Method: "), &function) {
            let path = lines[i + 1].trim().strip_prefix("Path: ").expect("Path follows Method");
            routes.insert((function.clone(), method.to_owned(), path.to_owned()));
        }
    }
    routes
}

/// The `cargo lambda watch` router of the workspace manifest.
fn local_router_routes() -> Routes {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .unwrap();
    let mut routes = Routes::new();
    for line in section.lines().take_while(|line| !line.starts_with('[')) {
        let Some((path, rest)) = line.split_once(" = ") else {
            continue;
        };
        for entry in rest.split("{ method = ").skip(1) {
            let method = entry.split('"').nth(1).unwrap();
            let function = entry.split("function = \"").nth(1).unwrap().split('"').next().unwrap();
            // matchit's catch-all {*name} is API Gateway's greedy {name+}.
            let path: Vec<String> = path
                .trim_matches('"')
                .split('/')
                .map(|segment| match segment.strip_prefix("{*") {
                    Some(name) => format!("{{{}+}}", name.trim_end_matches('}')),
                    None => segment.to_owned(),
                })
                .collect();
            routes.insert((function.to_owned(), method.to_owned(), path.join("/")));
        }
    }
    routes
}

#[test]
fn the_route_table_template_and_local_router_agree() {
    let table = table();
    assert!(!table.is_empty());
    let template = template_routes();
    assert_eq!(
        table.difference(&template).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "in infra/routes.tsv but not template.yaml"
    );
    assert_eq!(
        template.difference(&table).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "in template.yaml but not infra/routes.tsv"
    );
    assert_eq!(
        local_router_routes(),
        table,
        "Cargo.toml's watch router differs from infra/routes.tsv"
    );
    let http_functions: std::collections::BTreeSet<String> = functions()
        .into_iter()
        .filter(|name| name.starts_with("api-"))
        .collect();
    let routed: std::collections::BTreeSet<String> = table.iter().map(|(function, _, _)| function.clone()).collect();
    assert_eq!(http_functions, routed, "functions/api-* and the route table");
}

#[test]
fn the_openapi_document_has_every_route_and_nothing_else() {
    let document = rylie_app::routes::openapi::document();
    assert_eq!(document["openapi"], "3.1.0");
    let mut documented = Routes::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let function = operation["x-rylie-function"].as_str().unwrap().to_owned();
            documented.insert((function, method.to_uppercase(), path.clone()));
        }
    }
    assert_eq!(documented, template_routes(), "OpenAPI paths against template.yaml");
    let personas = &document["paths"]["/v1/dealerships/{dealership_id}/personas/{persona_id}"]["delete"];
    assert_eq!(personas["x-rylie-permission"], "personas:delete");
    assert_eq!(personas["parameters"].as_array().unwrap().len(), 2);
}

#[test]
fn every_route_documents_its_bodies_from_the_code_that_reads_them() {
    let document = rylie_app::routes::openapi::document();
    let operation = |path: &str, method: &str| document["paths"][path][method].clone();

    // A request schema is the route's reader, run on an empty object: every field, its limits,
    // what is required, nothing else accepted.
    let create = operation("/v1/dealerships/{dealership_id}/personas", "post");
    let body = &create["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["additionalProperties"], false);
    assert_eq!(body["required"], serde_json::json!(["name", "prompt_template"]));
    assert_eq!(body["properties"]["temperature"]["maximum"], 2.0);
    assert_eq!(body["properties"]["handover_keywords"]["maxItems"], 50);
    let update = operation("/v1/dealerships/{dealership_id}/personas/{persona_id}", "patch");
    assert_eq!(
        update["requestBody"]["content"]["application/json"]["schema"]["required"],
        serde_json::json!([]),
        "an update requires nothing"
    );
    let key = operation("/v1/dealerships/{dealership_id}/api-keys", "post");
    assert_eq!(
        key["requestBody"]["content"]["application/json"]["schema"]["properties"]["rate_limit_tier"]["enum"],
        serde_json::json!(["standard", "premium", "enterprise"])
    );

    // An answer's schema is the serialised type's, under the shared envelope.
    let created = &create["responses"]["201"]["content"]["application/json"]["schema"]["allOf"];
    assert_eq!(created[0]["$ref"], "#/components/schemas/Success");
    assert_eq!(created[1]["properties"]["data"]["$ref"], "#/components/schemas/Persona");
    let persona = &document["components"]["schemas"]["Persona"];
    for field in [
        "id",
        "dealership_id",
        "prompt_template",
        "handover_keywords",
        "created_at",
    ] {
        assert!(persona["properties"][field].is_object(), "Persona.{field}");
    }
    let list = operation("/v1/dealerships/{dealership_id}/vehicles", "get");
    let data = &list["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]["data"];
    assert_eq!(data["items"]["$ref"], "#/components/schemas/Vehicle");
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"limit") && names.contains(&"sort"), "{names:?}");

    // Every $ref resolves.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(document["components"]["schemas"][name].is_object(), "unresolved {name}");
    }

    // Every body-changing route reads a documented body, except those that take none.
    let bodiless: std::collections::BTreeSet<&str> = [
        "api-personas-set-default",
        "api-api-keys-revoke",
        "api-dealerships-activation",
        "api-inventory-imports-confirm",
        "api-webhooks-rotate-secret",
    ]
    .into();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in ["post", "patch", "put"] {
            if let Some(operation) = operations.get(method) {
                let function = operation["x-rylie-function"].as_str().unwrap();
                let documented = operation["requestBody"].is_object();
                if function == "api-cors-preflight" {
                    continue;
                }
                assert_eq!(
                    documented,
                    !bodiless.contains(function),
                    "{method} {path} ({function}): request body documented"
                );
            }
        }
    }
}
