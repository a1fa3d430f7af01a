//! Dealership routes: platform work for super_admin, the dealership's own view for its staff.

mod support;

use rylie_app::{http::Access, routes, routes::dealerships};
use rylie_domain::Action;
use serde_json::{Value, json};
use support::{World, bearer, call, request};

const PLATFORM_ADMIN: Access = Access::Caller {
    resource: "dealerships",
    action: Action::Admin,
};
const READ: Access = Access::Caller {
    resource: "dealerships",
    action: Action::Read,
};

fn on(
    world: &World,
    user: i64,
    method: &str,
    path: &str,
    dealership: Option<i64>,
    body: Option<Value>,
) -> lambda_http::Request {
    let params: Vec<(&str, String)> = dealership
        .map(|d| ("dealership_id", d.to_string()))
        .into_iter()
        .collect();
    request(method, path, &params, bearer(world.token(user)), body)
}

#[tokio::test]
async fn only_super_admin_creates_and_lists_dealerships() {
    let world = World::new().await;
    let body = json!({"name": "Charlie Cars", "subdomain": "Charlie", "timezone": "America/Denver",
        "contact_email": "Sales@Charlie.test", "allowed_origins": ["https://charlie.test"]});
    let created = call(
        &world.state,
        PLATFORM_ADMIN,
        dealerships::create,
        on(
            &world,
            world.super_admin,
            "POST",
            "/v1/dealerships",
            None,
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["data"]["subdomain"], "charlie");
    assert_eq!(created.body["data"]["contact_email"], "sales@charlie.test");

    let duplicate = call(
        &world.state,
        PLATFORM_ADMIN,
        dealerships::create,
        on(
            &world,
            world.super_admin,
            "POST",
            "/v1/dealerships",
            None,
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);

    let refused = call(
        &world.state,
        PLATFORM_ADMIN,
        dealerships::create,
        on(&world, world.admin_a, "POST", "/v1/dealerships", None, Some(body)),
    )
    .await;
    assert_eq!(refused.status, 403);

    let list = call(
        &world.state,
        PLATFORM_ADMIN,
        dealerships::list,
        on(&world, world.super_admin, "GET", "/v1/dealerships", None, None),
    )
    .await;
    assert_eq!(list.body["meta"]["pagination"]["total"], 3);
    let refused = call(
        &world.state,
        PLATFORM_ADMIN,
        dealerships::list,
        on(&world, world.admin_a, "GET", "/v1/dealerships", None, None),
    )
    .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn staff_read_their_own_dealership_only_and_admins_update_it() {
    let world = World::new().await;
    let path_a = format!("/v1/dealerships/{}", world.dealer_a);
    let own = call(
        &world.state,
        READ,
        dealerships::get,
        on(&world, world.user_a, "GET", &path_a, Some(world.dealer_a), None),
    )
    .await;
    assert_eq!(
        (own.status, own.body["data"]["subdomain"].as_str()),
        (200, Some("alpha"))
    );
    let path_b = format!("/v1/dealerships/{}", world.dealer_b);
    let other = call(
        &world.state,
        READ,
        dealerships::get,
        on(&world, world.admin_a, "GET", &path_b, Some(world.dealer_b), None),
    )
    .await;
    assert_eq!(other.status, 404);

    let update = |user, body| {
        call(
            &world.state,
            PLATFORM_ADMIN,
            dealerships::update,
            on(&world, user, "PATCH", &path_a, Some(world.dealer_a), Some(body)),
        )
    };
    let updated = update(
        world.admin_a,
        json!({"city": "Springfield", "timezone": "America/Chicago"}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["data"]["city"], "Springfield");
    assert_eq!(updated.body["data"]["name"], "alpha", "other fields kept");
    let bad = update(world.admin_a, json!({"timezone": "Mars/Olympus"})).await;
    assert_eq!(
        (bad.status, bad.body["error"]["details"][0]["field"].as_str()),
        (400, Some("timezone"))
    );
    let mail = update(
        world.admin_a,
        json!({"inventory_sender_emails": ["Feeds@DMS.example"], "inbound_email_addresses": ["leads@alpha-motors.example"],
               "first_contact": "template"}),
    )
    .await;
    assert_eq!(mail.status, 200, "{}", mail.body);
    assert_eq!(
        mail.body["data"]["inventory_sender_emails"],
        json!(["feeds@dms.example"])
    );
    assert_eq!(
        mail.body["data"]["inbound_email_addresses"],
        json!(["leads@alpha-motors.example"])
    );
    assert_eq!(mail.body["data"]["first_contact"], "template");
    let bad = update(
        world.admin_a,
        json!({"inventory_sender_emails": ["not an address"], "first_contact": "pigeon"}),
    )
    .await;
    let fields: Vec<&str> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        (bad.status, fields),
        (400, vec!["inventory_sender_emails", "first_contact"])
    );
    assert_eq!(update(world.admin_a, json!({"subdomain": "renamed"})).await.status, 403);
    assert_eq!(
        update(world.manager_a, json!({"city": "Shelbyville"})).await.status,
        403
    );
    assert_eq!(update(world.admin_b, json!({"city": "Shelbyville"})).await.status, 404);
}

#[tokio::test]
async fn deactivation_closes_every_route_of_the_dealership_until_reactivated() {
    let world = World::new().await;
    let activation = |user, verb: &str| {
        let path = format!("/v1/dealerships/{}/{verb}", world.dealer_a);
        call(
            &world.state,
            PLATFORM_ADMIN,
            dealerships::set_active,
            on(&world, user, "POST", &path, Some(world.dealer_a), None),
        )
    };
    let personas = || {
        let path = format!("/v1/dealerships/{}/personas", world.dealer_a);
        call(
            &world.state,
            Access::Caller {
                resource: "personas",
                action: Action::Read,
            },
            routes::personas::list,
            on(&world, world.admin_a, "GET", &path, Some(world.dealer_a), None),
        )
    };
    assert_eq!(
        activation(world.admin_a, "deactivate").await.status,
        403,
        "a dealership admin cannot"
    );
    let off = activation(world.super_admin, "deactivate").await;
    assert_eq!(
        (off.status, off.body["data"]["active"].as_bool()),
        (200, Some(false)),
        "{}",
        off.body
    );
    let refused = personas().await;
    assert_eq!((refused.status, refused.code()), (403, "DEALERSHIP_INACTIVE"));
    let on_again = activation(world.super_admin, "activate").await;
    assert_eq!(on_again.body["data"]["active"], true);
    assert_eq!(personas().await.status, 200);
}

#[tokio::test]
async fn a_preflight_answers_allowed_origins_only() {
    let world = World::new().await;
    let preflight = |origin: &str, dealership: i64| {
        let path = format!("/v1/dealerships/{dealership}/personas");
        let params = [
            ("dealership_id", dealership.to_string()),
            ("proxy", "personas".to_owned()),
        ];
        let mut request = request("OPTIONS", &path, &params, None, None);
        request.headers_mut().insert("origin", origin.parse().unwrap());
        call(&world.state, Access::Public, routes::cors::preflight, request)
    };
    let allowed = preflight("https://www.example.com", world.dealer_a).await;
    assert_eq!(allowed.status, 204);
    assert_eq!(
        allowed.headers.get("access-control-allow-origin").unwrap(),
        "https://www.example.com"
    );
    assert!(
        allowed
            .headers
            .get("access-control-allow-headers")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("x-api-key")
    );
    let refused = preflight("https://evil.example", world.dealer_a).await;
    assert_eq!(refused.status, 403);
    assert!(refused.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn settings_are_checked_by_the_code_that_reads_them_and_kept_per_dealership() {
    let world = World::new().await;
    let a = world.dealer_a;
    let path = format!("/v1/dealerships/{a}/settings");
    let patch = |user: i64, body: Value| on(&world, user, "PATCH", &path, Some(a), Some(body));
    let defaults = call(
        &world.state,
        READ,
        routes::settings::get,
        on(&world, world.user_a, "GET", &path, Some(a), None),
    )
    .await;
    assert_eq!(defaults.status, 200, "{}", defaults.body);
    assert_eq!(defaults.body["data"]["assignment"], "round_robin");
    assert_eq!(defaults.body["data"]["disclose_at_start"], true);

    let change = json!({
        "business_hours": { "mon": "09:00-19:00", "sun": "closed" },
        "assignment": "fixed", "fixed_user_id": world.manager_a,
        "quiet_hours": { "start": 9, "end": 20, "states": { "FL": { "sunday": false } } },
        "disclose_at_start": false,
        "report_settings": { "daily": true, "send_hour": 7, "recipients": ["gm@alpha.test"] },
    });
    let changed = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(world.admin_a, change),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let data = &changed.body["data"];
    assert_eq!(data["fixed_user_id"], world.manager_a);
    assert_eq!(data["quiet_hours"]["states"]["FL"]["sunday"], false);
    assert_eq!(data["disclose_at_start"], false);
    assert_eq!(data["report_settings"]["recipients"], json!(["gm@alpha.test"]));
    // Keys the route does not manage survive.
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET ai_config = ai_config || '{{\"tone\": \"warm\"}}' WHERE id = {a}"
        ))
        .await;
    call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(world.admin_a, json!({ "disclose_at_start": true })),
    )
    .await;
    let owner = support::owner(&world.db).await;
    let ai_config: Value = owner
        .query_one(&format!("SELECT ai_config FROM dealerships WHERE id = {a}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ai_config["tone"], "warm");
    assert_eq!(ai_config["quiet_hours"]["start"], 9);

    let refused = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(
            world.admin_a,
            json!({
                "business_hours": { "mon": "19:00-09:00" },
                "quiet_hours": { "start": 25 },
                "report_settings": { "weekly_day": "someday" },
                "assignment": "fixed",
            }),
        ),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let fields: Vec<&str> = refused.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "business_hours",
            "quiet_hours",
            "report_settings.weekly_day",
            "fixed_user_id"
        ],
        "{}",
        refused.body
    );
    let foreign_user = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(
            world.admin_a,
            json!({ "assignment": "fixed", "fixed_user_id": world.admin_b }),
        ),
    )
    .await;
    assert_eq!(foreign_user.status, 400, "{}", foreign_user.body);

    // The dealership's own first-contact wording: checked, stored, dropped with null.
    let templated = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(
            world.admin_a,
            json!({ "email_templates": { "lead_first_contact": {
                "subject": "{{customer_first_name}}, about the {{vehicle}}",
                "text": "Hi {{customer_first_name}}, it is {{vehicle_price}}." } } }),
        ),
    )
    .await;
    assert_eq!(templated.status, 200, "{}", templated.body);
    assert_eq!(
        templated.body["data"]["email_templates"]["lead_first_contact"]["text"],
        "Hi {{customer_first_name}}, it is {{vehicle_price}}."
    );
    let misspelt = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(
            world.admin_a,
            json!({ "email_templates": { "lead_first_contact": { "subject": "Hi {{custmer_name}}", "text": "x" },
                                         "newsletter": { "subject": "x", "text": "y" } } }),
        ),
    )
    .await;
    assert_eq!(misspelt.status, 400, "{}", misspelt.body);
    let detail = &misspelt.body["error"]["details"][0];
    assert!(
        detail["field"].as_str().unwrap().starts_with("email_templates."),
        "{detail}"
    );
    let dropped = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(
            world.admin_a,
            json!({ "email_templates": { "lead_first_contact": null } }),
        ),
    )
    .await;
    assert_eq!(dropped.body["data"]["email_templates"], json!({}), "{}", dropped.body);

    // Dealer B's admin neither reads nor changes A's settings.
    let b_read = call(
        &world.state,
        READ,
        routes::settings::get,
        on(&world, world.admin_b, "GET", &path, Some(a), None),
    )
    .await;
    assert_eq!(b_read.status, 404);
    let b_write = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(world.admin_b, json!({ "disclose_at_start": false })),
    )
    .await;
    assert_eq!(b_write.status, 404);
    // A salesperson of A may read but not change them.
    let user_write = call(
        &world.state,
        PLATFORM_ADMIN,
        routes::settings::update,
        patch(world.user_a, json!({ "disclose_at_start": false })),
    )
    .await;
    assert_eq!(user_write.status, 403, "{}", user_write.body);
}
