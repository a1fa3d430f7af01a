//! The prompt-experiment routes: create with variants and every validation, the status
//! machine, one active experiment at a time, a winner only at completion, delete rules, and
//! another dealership's ids answering 404.

mod support;

use rylie_app::{http::Access, routes::experiments};
use rylie_domain::Action;
use serde_json::{Value, json};
use support::{Answer, World, bearer, call, request};

const READ: Access = Access::Caller {
    resource: "experiments",
    action: Action::Read,
};
const WRITE: Access = Access::Caller {
    resource: "experiments",
    action: Action::Write,
};
const DELETE: Access = Access::Caller {
    resource: "experiments",
    action: Action::Delete,
};

fn body(world: &World) -> Value {
    json!({
        "name": "Warmer greeting",
        "hypothesis": "A warmer persona keeps more customers talking",
        "start_date": "2026-01-01T00:00:00Z",
        "end_date": "2099-01-01T00:00:00Z",
        "traffic_percentage": 40,
        "primary_metric": "reply_rate",
        "secondary_metrics": ["handover_rate"],
        "variants": [
            { "name": "control", "persona_id": world.persona_a, "is_control": true },
            { "name": "warm", "persona_id": world.persona_a },
        ],
    })
}

async fn create(world: &World, dealership: i64, body: Value) -> Answer {
    call(
        &world.state,
        WRITE,
        experiments::create,
        request(
            "POST",
            &format!("/v1/dealerships/{dealership}/experiments"),
            &[("dealership_id", dealership.to_string())],
            bearer(world.token(world.admin_a)),
            Some(body),
        ),
    )
    .await
}

async fn patch(world: &World, dealership: i64, id: i64, change: Value) -> Answer {
    call(
        &world.state,
        WRITE,
        experiments::update,
        request(
            "PATCH",
            &format!("/v1/dealerships/{dealership}/experiments/{id}"),
            &[
                ("dealership_id", dealership.to_string()),
                ("experiment_id", id.to_string()),
            ],
            bearer(world.token(world.admin_a)),
            Some(change),
        ),
    )
    .await
}

async fn by_id(world: &World, access: Access, handler: &str, dealership: i64, id: i64) -> Answer {
    let path = format!("/v1/dealerships/{dealership}/experiments/{id}");
    let params = [
        ("dealership_id", dealership.to_string()),
        ("experiment_id", id.to_string()),
    ];
    let auth = bearer(world.token(world.admin_a));
    match handler {
        "get" => {
            call(
                &world.state,
                access,
                experiments::get,
                request("GET", &path, &params, auth, None),
            )
            .await
        }
        "delete" => {
            call(
                &world.state,
                access,
                experiments::delete,
                request("DELETE", &path, &params, auth, None),
            )
            .await
        }
        _ => {
            call(
                &world.state,
                access,
                experiments::results,
                request("GET", &path, &params, auth, None),
            )
            .await
        }
    }
}

fn fields(answer: &Answer) -> Vec<String> {
    answer.body["error"]["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .map(|d| d["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_experiment_is_created_with_its_variants_splitting_the_traffic() {
    let world = World::new().await;
    let created = create(&world, world.dealer_a, body(&world)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let experiment = &created.body["data"];
    assert_eq!(experiment["status"], "draft");
    assert_eq!(experiment["traffic_percentage"], 40);
    assert_eq!(experiment["confidence_level"], 0.95);
    let variants = experiment["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["traffic_percentage"], 50);
    assert_eq!(variants[0]["is_control"], true);
    assert_eq!(experiment["created_by"], world.admin_a);

    let id = experiment["id"].as_i64().unwrap();
    let read = by_id(&world, READ, "get", world.dealer_a, id).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["data"], *experiment);
    let listed = call(
        &world.state,
        READ,
        experiments::list,
        request(
            "GET",
            &format!("/v1/dealerships/{}/experiments", world.dealer_a),
            &[("dealership_id", world.dealer_a.to_string())],
            bearer(world.token(world.admin_a)),
            None,
        ),
    )
    .await;
    assert_eq!(listed.body["meta"]["pagination"]["total"], 1, "{}", listed.body);
}

#[tokio::test]
async fn every_problem_of_a_new_experiment_is_reported_at_once() {
    let world = World::new().await;
    let mut bad = body(&world);
    bad["end_date"] = json!("2025-01-01T00:00:00Z");
    bad["start_date"] = json!("next tuesday");
    bad["primary_metric"] = json!("vibes");
    bad["secondary_metrics"] = json!(["reply_rate", "smiles"]);
    bad["variants"] = json!([
        { "name": "a", "persona_id": world.persona_a, "is_control": true, "traffic_percentage": 70 },
        { "name": "A", "persona_id": world.persona_a, "is_control": true, "traffic_percentage": 20 },
    ]);
    let refused = create(&world, world.dealer_a, bad).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let named = fields(&refused);
    for field in ["start_date", "primary_metric", "secondary_metrics", "variants"] {
        assert!(named.iter().any(|f| f == field), "{field} not in {named:?}");
    }
    let messages = refused.body["error"]["details"].to_string();
    assert!(messages.contains("exactly one control"), "{messages}");
    assert!(messages.contains("add up to 100, adds up to 90"), "{messages}");
    assert!(messages.contains("names must differ"), "{messages}");

    // A broken variant is named by its place in the list.
    let mut odd = body(&world);
    odd["variants"][1]["colour"] = json!("red");
    odd["variants"][0]["persona_id"] = json!("one");
    assert_eq!(
        fields(&create(&world, world.dealer_a, odd).await),
        ["variants[0].persona_id", "variants[1].colour"]
    );

    let mut too_few = body(&world);
    too_few["variants"] = json!([{ "name": "only", "persona_id": world.persona_a, "is_control": true }]);
    assert_eq!(fields(&create(&world, world.dealer_a, too_few).await), ["variants"]);

    // Another dealership's persona is not one of ours.
    let mut foreign = body(&world);
    foreign["variants"][1]["persona_id"] = json!(world.persona_b);
    let refused = create(&world, world.dealer_a, foreign).await;
    assert_eq!(fields(&refused), ["variants[1].persona_id"], "{}", refused.body);
}

#[tokio::test]
async fn the_status_moves_forward_only_and_one_experiment_runs_at_a_time() {
    let world = World::new().await;
    let first = create(&world, world.dealer_a, body(&world)).await.body["data"]["id"]
        .as_i64()
        .unwrap();
    let second = create(&world, world.dealer_a, body(&world)).await.body["data"]["id"]
        .as_i64()
        .unwrap();

    assert_eq!(
        patch(&world, world.dealer_a, first, json!({ "status": "active" }))
            .await
            .status,
        200
    );
    let clash = patch(&world, world.dealer_a, second, json!({ "status": "active" })).await;
    assert_eq!(clash.status, 409, "{}", clash.body);
    assert!(
        clash.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("experiment {first}"))
    );

    let back = patch(&world, world.dealer_a, first, json!({ "status": "draft" })).await;
    assert_eq!(back.status, 409, "{}", back.body);
    let early_winner = patch(&world, world.dealer_a, first, json!({ "winner_variant_id": 1 })).await;
    assert_eq!(early_winner.status, 400, "{}", early_winner.body);
    let before_start = patch(
        &world,
        world.dealer_a,
        first,
        json!({ "end_date": "2025-06-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(fields(&before_start), ["end_date"]);

    let running = by_id(&world, READ, "get", world.dealer_a, first).await.body["data"].clone();
    let winner = running["variants"][1]["id"].as_i64().unwrap();
    let done = patch(
        &world,
        world.dealer_a,
        first,
        json!({ "status": "completed", "winner_variant_id": winner }),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["data"]["winner_variant_id"], winner);
    assert_eq!(
        patch(&world, world.dealer_a, first, json!({ "status": "active" }))
            .await
            .status,
        409,
        "completed is final"
    );
    // The first is over: the second may run now.
    assert_eq!(
        patch(&world, world.dealer_a, second, json!({ "status": "active" }))
            .await
            .status,
        200
    );

    // A completed experiment keeps its results; a draft goes.
    assert_eq!(by_id(&world, DELETE, "delete", world.dealer_a, first).await.status, 409);
    let draft = create(&world, world.dealer_a, body(&world)).await.body["data"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(by_id(&world, DELETE, "delete", world.dealer_a, draft).await.status, 200);
    assert_eq!(by_id(&world, READ, "get", world.dealer_a, draft).await.status, 404);
}

#[tokio::test]
async fn another_dealerships_experiment_is_404_on_every_route() {
    let world = World::new().await;
    let theirs = create(&world, world.dealer_a, body(&world)).await.body["data"]["id"]
        .as_i64()
        .unwrap();
    // Dealer B's admin asks for dealer A's experiment under B's own path.
    let b_admin = bearer(world.token(world.admin_b));
    let path = format!("/v1/dealerships/{}/experiments/{theirs}", world.dealer_b);
    let params = [
        ("dealership_id", world.dealer_b.to_string()),
        ("experiment_id", theirs.to_string()),
    ];
    let get = call(
        &world.state,
        READ,
        experiments::get,
        request("GET", &path, &params, b_admin.clone(), None),
    )
    .await;
    let update = call(
        &world.state,
        WRITE,
        experiments::update,
        request(
            "PATCH",
            &path,
            &params,
            b_admin.clone(),
            Some(json!({ "status": "cancelled" })),
        ),
    )
    .await;
    let delete = call(
        &world.state,
        DELETE,
        experiments::delete,
        request("DELETE", &path, &params, b_admin.clone(), None),
    )
    .await;
    let results = call(
        &world.state,
        READ,
        experiments::results,
        request("GET", &path, &params, b_admin, None),
    )
    .await;
    for (name, answer) in [
        ("get", get),
        ("update", update),
        ("delete", delete),
        ("results", results),
    ] {
        assert_eq!(answer.status, 404, "{name}: {}", answer.body);
    }
    // And under A's path, B's admin is outside its tenant: 404 as well.
    let foreign = by_id(&world, READ, "get", world.dealer_b, theirs).await;
    assert_eq!(foreign.status, 404);
}
