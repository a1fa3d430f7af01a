//! The lead routes: list with filters, read, move along the statuses with an audit row and a
//! `lead.updated` event only when the status changed; another dealership's lead is 404.

mod support;

use rylie_app::{http::Access, routes::leads};
use rylie_domain::Action;
use serde_json::{Value, json};
use support::{Answer, World, bearer, call, request};

const READ: Access = Access::Caller {
    resource: "leads",
    action: Action::Read,
};
const WRITE: Access = Access::Caller {
    resource: "leads",
    action: Action::Write,
};

async fn seeded() -> World {
    let world = World::new().await;
    world
        .owner_sql(&format!(
            "INSERT INTO leads (dealership_id, source, provider, adf_id, customer_comments)
             VALUES ({a}, 'email_adf', 'AutoTrader', 'AT-1', 'Is the Camry available?'),
                    ({a}, 'web', NULL, NULL, NULL),
                    ({b}, 'email_adf', 'Cars.com', 'CC-9', NULL);
             INSERT INTO webhooks (dealership_id, url, secret, events)
             VALUES ({a}, 'https://crm.example/hook', 's3cret', '{{lead.updated}}')",
            a = world.dealer_a,
            b = world.dealer_b
        ))
        .await;
    world
}

async fn lead_ids(world: &World, dealership: i64) -> Vec<i64> {
    let owner = support::owner(&world.db).await;
    owner
        .query(
            "SELECT id FROM leads WHERE dealership_id = $1 ORDER BY id",
            &[&dealership],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn patch(world: &World, user: i64, dealership: i64, id: i64, body: Value) -> Answer {
    call(
        &world.state,
        WRITE,
        leads::update,
        request(
            "PATCH",
            &format!("/v1/dealerships/{dealership}/leads/{id}"),
            &[("dealership_id", dealership.to_string()), ("lead_id", id.to_string())],
            bearer(world.token(user)),
            Some(body),
        ),
    )
    .await
}

#[tokio::test]
async fn staff_list_read_and_move_leads_and_webhooks_hear_of_each_change_once() {
    let world = seeded().await;
    let a = world.dealer_a;
    let listed = call(
        &world.state,
        READ,
        leads::list,
        request(
            "GET",
            &format!("/v1/dealerships/{a}/leads"),
            &[("dealership_id", a.to_string())],
            bearer(world.token(world.user_a)),
            None,
        ),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["meta"]["pagination"]["total"], 2, "only dealer A's");
    let ids = lead_ids(&world, a).await;
    let read = call(
        &world.state,
        READ,
        leads::get,
        request(
            "GET",
            &format!("/v1/dealerships/{a}/leads/{}", ids[0]),
            &[("dealership_id", a.to_string()), ("lead_id", ids[0].to_string())],
            bearer(world.token(world.user_a)),
            None,
        ),
    )
    .await;
    assert_eq!(read.body["data"]["provider"], "AutoTrader");
    assert_eq!(read.body["data"]["status"], "new");

    let sold = patch(&world, world.manager_a, a, ids[0], json!({ "status": "sold" })).await;
    assert_eq!(sold.status, 200, "{}", sold.body);
    assert_eq!(sold.body["data"]["status"], "sold");
    // The same status again: no change, no event.
    assert_eq!(
        patch(&world, world.manager_a, a, ids[0], json!({ "status": "sold" }))
            .await
            .status,
        200
    );
    let owner = support::owner(&world.db).await;
    let events: Vec<Value> = owner
        .query(
            "SELECT payload FROM webhook_deliveries WHERE event_type = 'lead.updated'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["previous_status"], "new");
    assert_eq!(events[0]["status"], "sold");
    let audited: i64 = owner
        .query_one("SELECT count(*) FROM audit_logs WHERE action = 'lead.update'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 2);

    let refused = patch(
        &world,
        world.manager_a,
        a,
        ids[0],
        json!({ "status": "won", "note": "x" }),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let empty = patch(&world, world.manager_a, a, ids[0], json!({})).await;
    assert_eq!(empty.body["error"]["details"][0]["field"], "status", "{}", empty.body);
}

#[tokio::test]
async fn another_dealerships_lead_is_404() {
    let world = seeded().await;
    let theirs = lead_ids(&world, world.dealer_b).await[0];
    let a = world.dealer_a;
    let read = call(
        &world.state,
        READ,
        leads::get,
        request(
            "GET",
            &format!("/v1/dealerships/{a}/leads/{theirs}"),
            &[("dealership_id", a.to_string()), ("lead_id", theirs.to_string())],
            bearer(world.token(world.admin_a)),
            None,
        ),
    )
    .await;
    assert_eq!(read.status, 404, "{}", read.body);
    let moved = patch(&world, world.admin_a, a, theirs, json!({ "status": "lost" })).await;
    assert_eq!(moved.status, 404, "{}", moved.body);
    // Under B's own path, A's admin is outside its tenant.
    let outside = patch(
        &world,
        world.admin_a,
        world.dealer_b,
        theirs,
        json!({ "status": "lost" }),
    )
    .await;
    assert_eq!(outside.status, 404, "{}", outside.body);
    let owner = support::owner(&world.db).await;
    let status: String = owner
        .query_one("SELECT status FROM leads WHERE id = $1", &[&theirs])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "new", "untouched");
}
