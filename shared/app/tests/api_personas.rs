//! The persona routes through the whole pipeline: CRUD, validation, the permission matrix,
//! tenant isolation (404 for another dealership's ids), API keys, audit, headers.

mod support;

use rylie_app::{
    http::{Access, ApiError, Ctx},
    routes::personas,
};
use rylie_domain::Action;
use serde_json::{Value, json};
use support::{Answer, World, bearer, call, request};

const READ: Access = Access::Caller {
    resource: "personas",
    action: Action::Read,
};
const WRITE: Access = Access::Caller {
    resource: "personas",
    action: Action::Write,
};
const DELETE: Access = Access::Caller {
    resource: "personas",
    action: Action::Delete,
};

type Handler = for<'a> fn(
    Ctx<'a>,
    lambda_http::Request,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<lambda_http::Response<lambda_http::Body>, ApiError>> + Send + 'a>,
>;

/// A route under test: (name, method, access, handler, needs a persona id, body).
type RouteCase = (&'static str, &'static str, Access, Handler, bool, Option<Value>);

/// Every persona route.
fn routes() -> Vec<RouteCase> {
    vec![
        (
            "create",
            "POST",
            WRITE,
            |c, r| Box::pin(personas::create(c, r)),
            false,
            Some(json!({"name": "New", "prompt_template": "Hi"})),
        ),
        ("list", "GET", READ, |c, r| Box::pin(personas::list(c, r)), false, None),
        ("get", "GET", READ, |c, r| Box::pin(personas::get(c, r)), true, None),
        (
            "update",
            "PATCH",
            WRITE,
            |c, r| Box::pin(personas::update(c, r)),
            true,
            Some(json!({"description": "x"})),
        ),
        (
            "delete",
            "DELETE",
            DELETE,
            |c, r| Box::pin(personas::delete(c, r)),
            true,
            None,
        ),
        (
            "set_default",
            "POST",
            WRITE,
            |c, r| Box::pin(personas::set_default(c, r)),
            true,
            None,
        ),
    ]
}

async fn send(
    world: &World,
    (access, handler): (Access, Handler),
    method: &str,
    dealership: i64,
    persona: Option<i64>,
    auth: Option<(&str, String)>,
    body: Option<Value>,
) -> Answer {
    let mut path = format!("/v1/dealerships/{dealership}/personas");
    let mut params = vec![("dealership_id", dealership.to_string())];
    if let Some(persona) = persona {
        path.push_str(&format!("/{persona}"));
        params.push(("persona_id", persona.to_string()));
    }
    call(
        &world.state,
        access,
        handler,
        request(method, &path, &params, auth, body),
    )
    .await
}

#[tokio::test]
async fn create_list_get_update_default_delete() {
    let world = World::new().await;
    let admin = || bearer(world.token(world.admin_a));
    let body = json!({"name": "Morgan", "description": "Direct", "prompt_template": "You are {{persona_name}} at {{dealership_name}}.",
        "temperature": 0.4, "max_tokens": 300, "handover_keywords": ["lawyer", "manager"]});
    let created = send(
        &world,
        (WRITE, |c, r| Box::pin(personas::create(c, r))),
        "POST",
        world.dealer_a,
        None,
        admin(),
        Some(body),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["id"].as_i64().unwrap();
    assert_eq!(
        created.body["data"]["is_default"], false,
        "the dealership already has a default"
    );
    assert_eq!(created.body["data"]["temperature"], 0.4);

    let list = send(
        &world,
        (READ, |c, r| Box::pin(personas::list(c, r))),
        "GET",
        world.dealer_a,
        None,
        admin(),
        None,
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        list.body["meta"]["pagination"],
        json!({"page": 1, "limit": 20, "total": 2, "has_more": false})
    );

    let update = send(
        &world,
        (WRITE, |c, r| Box::pin(personas::update(c, r))),
        "PATCH",
        world.dealer_a,
        Some(id),
        admin(),
        Some(json!({"description": "Direct and brief"})),
    )
    .await;
    assert_eq!(update.status, 200, "{}", update.body);
    assert_eq!(update.body["data"]["description"], "Direct and brief");
    assert_eq!(
        update.body["data"]["name"], "Morgan",
        "a partial update keeps the other fields"
    );

    let default = send(
        &world,
        (WRITE, |c, r| Box::pin(personas::set_default(c, r))),
        "POST",
        world.dealer_a,
        Some(id),
        admin(),
        None,
    )
    .await;
    assert_eq!(default.body["data"]["is_default"], true);
    let old = send(
        &world,
        (READ, |c, r| Box::pin(personas::get(c, r))),
        "GET",
        world.dealer_a,
        Some(world.persona_a),
        admin(),
        None,
    )
    .await;
    assert_eq!(old.body["data"]["is_default"], false, "one default per dealership");

    let deleted = send(
        &world,
        (DELETE, |c, r| Box::pin(personas::delete(c, r))),
        "DELETE",
        world.dealer_a,
        Some(id),
        admin(),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200);
    let gone = send(
        &world,
        (READ, |c, r| Box::pin(personas::get(c, r))),
        "GET",
        world.dealer_a,
        Some(id),
        admin(),
        None,
    )
    .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once() {
    let world = World::new().await;
    let body = json!({"name": "x".repeat(101), "prompt_template": "Hello {{customer_nmae}}", "temperature": 3,
        "max_tokens": "many", "colour": "blue"});
    let answer = send(
        &world,
        (WRITE, |c, r| Box::pin(personas::create(c, r))),
        "POST",
        world.dealer_a,
        None,
        bearer(world.token(world.admin_a)),
        Some(body),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "VALIDATION_ERROR"),
        "{}",
        answer.body
    );
    let mut fields: Vec<(String, String)> = answer.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap().to_owned(),
                d["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("colour", "UNKNOWN_FIELD"),
            ("max_tokens", "INVALID_TYPE"),
            ("name", "INVALID_LENGTH"),
            ("prompt_template", "UNKNOWN_VARIABLE"),
            ("temperature", "OUT_OF_RANGE")
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );
    let template_message = answer.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "prompt_template")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(template_message.contains("customer_nmae"), "{template_message}");
}

#[tokio::test]
async fn another_dealerships_ids_answer_404_on_every_route() {
    let world = World::new().await;
    for (name, method, access, handler, with_id, body) in routes() {
        // Bravo's admin asks for Alpha's dealership.
        let foreign_path = send(
            &world,
            (access, handler),
            method,
            world.dealer_a,
            with_id.then_some(world.persona_a),
            bearer(world.token(world.admin_b)),
            body.clone(),
        )
        .await;
        assert_eq!(
            foreign_path.status, 404,
            "{name} via the other dealership's path: {}",
            foreign_path.body
        );
        if with_id {
            // Bravo's admin, Bravo's path, Alpha's persona id.
            let foreign_object = send(
                &world,
                (access, handler),
                method,
                world.dealer_b,
                Some(world.persona_a),
                bearer(world.token(world.admin_b)),
                body.clone(),
            )
            .await;
            assert_eq!(
                foreign_object.status, 404,
                "{name} with the other dealership's object id: {}",
                foreign_object.body
            );
        }
    }
    // Nothing of Alpha's changed.
    let check = send(
        &world,
        (READ, |c, r| Box::pin(personas::get(c, r))),
        "GET",
        world.dealer_a,
        Some(world.persona_a),
        bearer(world.token(world.admin_a)),
        None,
    )
    .await;
    assert_eq!(check.body["data"]["is_default"], true);
    assert!(check.body["data"]["description"] == "");
}

#[tokio::test]
async fn the_permission_matrix_on_personas() {
    let world = World::new().await;
    // (user, create, delete): manager writes but does not delete; user only reads.
    for (user, can_write, can_delete) in [
        (world.admin_a, true, true),
        (world.manager_a, true, false),
        (world.user_a, false, false),
        (world.super_admin, true, true),
    ] {
        let read = send(
            &world,
            (READ, |c, r| Box::pin(personas::list(c, r))),
            "GET",
            world.dealer_a,
            None,
            bearer(world.token(user)),
            None,
        )
        .await;
        assert_eq!(read.status, 200, "user {user} reads");
        let create = send(
            &world,
            (WRITE, |c, r| Box::pin(personas::create(c, r))),
            "POST",
            world.dealer_a,
            None,
            bearer(world.token(user)),
            Some(json!({"name": format!("P{user}"), "prompt_template": "Hi"})),
        )
        .await;
        assert_eq!(
            create.status,
            if can_write { 201 } else { 403 },
            "user {user} creates: {}",
            create.body
        );
        if let Some(id) = create.body["data"]["id"].as_i64() {
            let delete = send(
                &world,
                (DELETE, |c, r| Box::pin(personas::delete(c, r))),
                "DELETE",
                world.dealer_a,
                Some(id),
                bearer(world.token(user)),
                None,
            )
            .await;
            assert_eq!(
                delete.status,
                if can_delete { 200 } else { 403 },
                "user {user} deletes: {}",
                delete.body
            );
        }
    }
}

#[tokio::test]
async fn api_keys_act_within_their_scopes_and_dealership() {
    let world = World::new().await;
    let (_, reader) = world.api_key(world.dealer_a, &["personas:read"]).await;
    let key = |k: &str| Some(("x-api-key", k.to_owned()));
    let list = send(
        &world,
        (READ, |c, r| Box::pin(personas::list(c, r))),
        "GET",
        world.dealer_a,
        None,
        key(&reader),
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let create = send(
        &world,
        (WRITE, |c, r| Box::pin(personas::create(c, r))),
        "POST",
        world.dealer_a,
        None,
        key(&reader),
        Some(json!({"name": "K", "prompt_template": "Hi"})),
    )
    .await;
    assert_eq!(create.status, 403);
    let elsewhere = send(
        &world,
        (READ, |c, r| Box::pin(personas::list(c, r))),
        "GET",
        world.dealer_b,
        None,
        key(&reader),
        None,
    )
    .await;
    assert_eq!(elsewhere.status, 404);

    world.owner_sql("UPDATE api_keys SET revoked_at = now()").await;
    let revoked = send(
        &world,
        (READ, |c, r| Box::pin(personas::list(c, r))),
        "GET",
        world.dealer_a,
        None,
        key(&reader),
        None,
    )
    .await;
    assert_eq!(revoked.status, 401);
    let mangled = format!("{}x", &reader[..reader.len() - 1]);
    let wrong = send(
        &world,
        (READ, |c, r| Box::pin(personas::list(c, r))),
        "GET",
        world.dealer_a,
        None,
        key(&mangled),
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn changes_are_audited_with_actor_values_and_origin() {
    let world = World::new().await;
    let created = send(
        &world,
        (WRITE, |c, r| Box::pin(personas::create(c, r))),
        "POST",
        world.dealer_a,
        None,
        bearer(world.token(world.manager_a)),
        Some(json!({"name": "Audited", "prompt_template": "Hi"})),
    )
    .await;
    let id = created.body["data"]["id"].as_i64().unwrap();
    let owner = support::owner(&world.db).await;
    let row = owner
        .query_typed(
            "SELECT user_id, action, resource_id, new_values->>'name', host(ip_address), user_agent, dealership_id
             FROM audit_logs WHERE resource_type = 'persona'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].get::<_, Option<i64>>(0), Some(world.manager_a));
    assert_eq!(row[0].get::<_, String>(1), "persona.create");
    assert_eq!(row[0].get::<_, Option<String>>(2), Some(id.to_string()));
    assert_eq!(row[0].get::<_, Option<String>>(3).as_deref(), Some("Audited"));
    assert_eq!(row[0].get::<_, Option<String>>(4).as_deref(), Some("203.0.113.24"));
    assert_eq!(row[0].get::<_, Option<String>>(5).as_deref(), Some("curl/8.5.0"));
    assert_eq!(row[0].get::<_, Option<i64>>(6), Some(world.dealer_a));
}

#[tokio::test]
async fn responses_carry_security_rate_limit_and_cors_headers() {
    let world = World::new().await;
    let mut request = request(
        "GET",
        &format!("/v1/dealerships/{}/personas", world.dealer_a),
        &[("dealership_id", world.dealer_a.to_string())],
        bearer(world.token(world.admin_a)),
        None,
    );
    request
        .headers_mut()
        .insert("origin", "https://www.example.com".parse().unwrap());
    let answer = call(&world.state, READ, personas::list, request).await;
    let header = |name: &str| answer.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header("strict-transport-security").is_some());
    assert!(
        header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(header("x-ratelimit-limit").as_deref(), Some("1000"));
    assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("999"));
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some("https://www.example.com")
    );

    let mut other = support::request(
        "GET",
        &format!("/v1/dealerships/{}/personas", world.dealer_a),
        &[("dealership_id", world.dealer_a.to_string())],
        bearer(world.token(world.admin_a)),
        None,
    );
    other
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let answer = call(&world.state, READ, personas::list, other).await;
    assert!(answer.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_public_limit_answers_429_with_retry_after_and_probes_are_not_limited() {
    let world = World::new().await;
    let mut last = None;
    for _ in 0..101 {
        let request = support::request("GET", "/v1/openapi.json", &[], None, None);
        last = Some(call(&world.state, Access::Public, rylie_app::routes::openapi::get, request).await);
    }
    let last = last.unwrap();
    assert_eq!((last.status, last.code()), (429, "RATE_LIMITED"), "{}", last.body);
    assert_eq!(last.headers.get("x-ratelimit-remaining").unwrap(), "0");
    assert!(last.headers.get("retry-after").is_some());
    for _ in 0..150 {
        let request = support::request("GET", "/health", &[], None, None);
        let probe = call(&world.state, Access::Probe, rylie_app::http::health::handle, request).await;
        assert_eq!(probe.status, 200);
    }
}
