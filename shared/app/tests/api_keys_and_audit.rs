//! API key management and the audit trail through the pipeline.

mod support;

use rylie_app::{http::Access, routes};
use rylie_domain::Action;
use serde_json::json;
use support::{World, bearer, call, request};

const ADMIN_KEYS: Access = Access::Caller {
    resource: "api-keys",
    action: Action::Admin,
};
const ADMIN_AUDIT: Access = Access::Caller {
    resource: "audit-logs",
    action: Action::Admin,
};
const READ_PERSONAS: Access = Access::Caller {
    resource: "personas",
    action: Action::Read,
};

async fn create_key(world: &World, user: i64, dealership: i64, body: serde_json::Value) -> support::Answer {
    let path = format!("/v1/dealerships/{dealership}/api-keys");
    let params = [("dealership_id", dealership.to_string())];
    call(
        &world.state,
        ADMIN_KEYS,
        routes::api_keys::create,
        request("POST", &path, &params, bearer(world.token(user)), Some(body)),
    )
    .await
}

async fn list_personas_with_key(world: &World, key: &str) -> u16 {
    let path = format!("/v1/dealerships/{}/personas", world.dealer_a);
    let params = [("dealership_id", world.dealer_a.to_string())];
    let auth = Some(("x-api-key", key.to_owned()));
    call(
        &world.state,
        READ_PERSONAS,
        routes::personas::list,
        request("GET", &path, &params, auth, None),
    )
    .await
    .status
}

#[tokio::test]
async fn a_key_is_shown_once_works_within_its_scope_and_dies_when_revoked() {
    let world = World::new().await;
    let created = create_key(
        &world,
        world.admin_a,
        world.dealer_a,
        json!({"name": "Website widget", "scopes": ["personas:read"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.body["data"]["key"].as_str().unwrap().to_owned();
    let id = created.body["data"]["api_key"]["id"].as_i64().unwrap();
    assert!(key.starts_with("rylie_"));
    assert_eq!(list_personas_with_key(&world, &key).await, 200);
    assert_eq!(list_personas_with_key(&world, &key).await, 200);
    // The first use is written at once, later ones batched per minute: no write per request.
    let owner = support::owner(&world.db).await;
    let usage = owner
        .query_typed(
            "SELECT usage_count, last_used_at IS NOT NULL FROM api_keys WHERE id = $1",
            &[(&id, rylie_store::Type::INT8)],
        )
        .await
        .unwrap();
    assert_eq!((usage[0].get::<_, i64>(0), usage[0].get::<_, bool>(1)), (1, true));

    let path = format!("/v1/dealerships/{}/api-keys", world.dealer_a);
    let params = [("dealership_id", world.dealer_a.to_string())];
    let listed = call(
        &world.state,
        ADMIN_KEYS,
        routes::api_keys::list,
        request("GET", &path, &params, bearer(world.token(world.admin_a)), None),
    )
    .await;
    assert_eq!(listed.status, 200);
    let text = listed.body.to_string();
    assert!(
        !text.contains(&key[19..]) && !text.contains("key_hash"),
        "neither the key nor its hash is listed"
    );

    // Bravo's admin cannot revoke Alpha's key, even through Bravo's own path.
    let revoke = |user: i64, dealership: i64| {
        let path = format!("/v1/dealerships/{dealership}/api-keys/{id}/revoke");
        let params = [("dealership_id", dealership.to_string()), ("key_id", id.to_string())];
        request("POST", &path, &params, bearer(world.token(user)), None)
    };
    let foreign = call(
        &world.state,
        ADMIN_KEYS,
        routes::api_keys::revoke,
        revoke(world.admin_b, world.dealer_b),
    )
    .await;
    assert_eq!(foreign.status, 404);
    let foreign = call(
        &world.state,
        ADMIN_KEYS,
        routes::api_keys::revoke,
        revoke(world.admin_b, world.dealer_a),
    )
    .await;
    assert_eq!(foreign.status, 404);
    assert_eq!(list_personas_with_key(&world, &key).await, 200, "still alive");

    let revoked = call(
        &world.state,
        ADMIN_KEYS,
        routes::api_keys::revoke,
        revoke(world.admin_a, world.dealer_a),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(list_personas_with_key(&world, &key).await, 401);
}

#[tokio::test]
async fn only_admins_manage_keys_and_bad_fields_are_named() {
    let world = World::new().await;
    for user in [world.manager_a, world.user_a] {
        let answer = create_key(&world, user, world.dealer_a, json!({"name": "x"})).await;
        assert_eq!(answer.status, 403, "user {user}");
    }
    let answer = create_key(
        &world,
        world.admin_a,
        world.dealer_a,
        json!({"name": "", "scopes": ["everything"], "rate_limit_tier": "gold", "kind": "robot"}),
    )
    .await;
    assert_eq!(answer.status, 400);
    let mut fields: Vec<String> = answer.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, ["kind", "name", "rate_limit_tier", "scopes"]);
}

#[tokio::test]
async fn the_audit_trail_is_filtered_and_tenant_scoped() {
    let world = World::new().await;
    create_key(&world, world.admin_a, world.dealer_a, json!({"name": "one"})).await;
    create_key(&world, world.admin_a, world.dealer_a, json!({"name": "two"})).await;
    create_key(&world, world.admin_b, world.dealer_b, json!({"name": "bravo's"})).await;

    let audit = |user: i64, dealership: i64, query: &[(&str, &str)]| {
        let path = format!("/v1/dealerships/{dealership}/audit-logs");
        let params = [("dealership_id", dealership.to_string())];
        let mut request = request("GET", &path, &params, bearer(world.token(user)), None);
        let map: std::collections::HashMap<String, String> =
            query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        request = lambda_http::RequestExt::with_query_string_parameters(request, map);
        call(&world.state, ADMIN_AUDIT, routes::audit_logs::list, request)
    };
    let all = audit(world.admin_a, world.dealer_a, &[]).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        all.body["meta"]["pagination"]["total"], 2,
        "Alpha sees its own two rows only"
    );
    let filtered = audit(
        world.admin_a,
        world.dealer_a,
        &[("action", "api_key.create"), ("actor", &world.admin_a.to_string())],
    )
    .await;
    assert_eq!(filtered.body["meta"]["pagination"]["total"], 2);
    assert_eq!(filtered.body["data"][0]["new_values"]["name"], "two", "newest first");
    let none = audit(world.admin_a, world.dealer_a, &[("action", "persona.delete")]).await;
    assert_eq!(none.body["meta"]["pagination"]["total"], 0);
    let bad = audit(world.admin_a, world.dealer_a, &[("from", "yesterday")]).await;
    assert_eq!(
        (bad.status, bad.body["error"]["details"][0]["field"].as_str()),
        (400, Some("from"))
    );
    assert_eq!(audit(world.manager_a, world.dealer_a, &[]).await.status, 403);
    assert_eq!(audit(world.admin_b, world.dealer_a, &[]).await.status, 404);
}
