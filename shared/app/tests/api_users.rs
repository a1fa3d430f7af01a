//! Staff accounts: admins manage their dealership's users; roles stay below super_admin.

mod support;

use rylie_app::{http::Access, routes, routes::users};
use rylie_domain::Action;
use serde_json::{Value, json};
use support::{World, bearer, call, request};

const ADMIN: Access = Access::Caller {
    resource: "users",
    action: Action::Admin,
};
const READ: Access = Access::Caller {
    resource: "users",
    action: Action::Read,
};

fn to(
    world: &World,
    user: i64,
    method: &str,
    dealership: i64,
    target: Option<i64>,
    body: Option<Value>,
) -> lambda_http::Request {
    let mut path = format!("/v1/dealerships/{dealership}/users");
    let mut params = vec![("dealership_id", dealership.to_string())];
    if let Some(target) = target {
        path.push_str(&format!("/{target}"));
        params.push(("user_id", target.to_string()));
    }
    request(method, &path, &params, bearer(world.token(user)), body)
}

#[tokio::test]
async fn an_admin_creates_a_user_who_can_then_log_in() {
    let world = World::new().await;
    let body = json!({"email": "New.Hire@Alpha.test", "name": "New Hire", "role": "manager", "password": "a long enough password"});
    let created = call(
        &world.state,
        ADMIN,
        users::create,
        to(&world, world.admin_a, "POST", world.dealer_a, None, Some(body)),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["data"]["email"], "new.hire@alpha.test");
    assert!(created.body["data"].get("password_hash").is_none());

    let login = call(
        &world.state,
        Access::Public,
        routes::auth::login,
        request(
            "POST",
            "/v1/auth/login",
            &[],
            None,
            Some(json!({"login": "new.hire@alpha.test", "password": "a long enough password"})),
        ),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.body["data"]["user"]["role"], "manager");
}

#[tokio::test]
async fn roles_passwords_and_permissions_are_checked() {
    let world = World::new().await;
    let bad = json!({"email": "not-an-email", "role": "super_admin", "password": "short"});
    let answer = call(
        &world.state,
        ADMIN,
        users::create,
        to(&world, world.admin_a, "POST", world.dealer_a, None, Some(bad)),
    )
    .await;
    let mut fields: Vec<&str> = answer.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["email", "password", "role"]);

    let body = json!({"email": "x@alpha.test", "password": "a long enough password"});
    let manager = call(
        &world.state,
        ADMIN,
        users::create,
        to(
            &world,
            world.manager_a,
            "POST",
            world.dealer_a,
            None,
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(manager.status, 403);
    let foreign = call(
        &world.state,
        ADMIN,
        users::create,
        to(&world, world.admin_b, "POST", world.dealer_a, None, Some(body)),
    )
    .await;
    assert_eq!(foreign.status, 404);

    let listed = call(
        &world.state,
        READ,
        users::list,
        to(&world, world.user_a, "GET", world.dealer_a, None, None),
    )
    .await;
    assert_eq!(
        listed.body["meta"]["pagination"]["total"], 3,
        "alpha's admin, manager and user"
    );
    let other = call(
        &world.state,
        READ,
        users::get,
        to(&world, world.admin_b, "GET", world.dealer_b, Some(world.user_a), None),
    )
    .await;
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn deactivation_stops_login_and_nobody_demotes_themselves() {
    let world = World::new().await;
    let myself = call(
        &world.state,
        ADMIN,
        users::update,
        to(
            &world,
            world.admin_a,
            "PATCH",
            world.dealer_a,
            Some(world.admin_a),
            Some(json!({"role": "user"})),
        ),
    )
    .await;
    assert_eq!(myself.status, 403);
    let off = call(
        &world.state,
        ADMIN,
        users::update,
        to(
            &world,
            world.admin_a,
            "PATCH",
            world.dealer_a,
            Some(world.manager_a),
            Some(json!({"is_active": false})),
        ),
    )
    .await;
    assert_eq!(
        (off.status, off.body["data"]["is_active"].as_bool()),
        (200, Some(false)),
        "{}",
        off.body
    );
    let login = call(
        &world.state,
        Access::Public,
        routes::auth::login,
        request(
            "POST",
            "/v1/auth/login",
            &[],
            None,
            Some(json!({"login": "manager@alpha.test", "password": support::PASSWORD})),
        ),
    )
    .await;
    assert_eq!(login.status, 401);
}
