//! Inventory through the API: uploading feeds, import status and statistics, the
//! mass-deactivation guard and its confirmation, vehicle search with every filter, and
//! tenant isolation (another dealership's imports and vehicles answer 404).

mod support;

use rylie_app::{
    http::{self, Access},
    routes::{inventory_imports, vehicles},
};
use rylie_domain::Action;
use serde_json::{Value, json};
use support::{Answer, World, bearer, call, request};

const INVENTORY_READ: Access = Access::Caller {
    resource: "inventory",
    action: Action::Read,
};
const INVENTORY_WRITE: Access = Access::Caller {
    resource: "inventory",
    action: Action::Write,
};
const VEHICLES_READ: Access = Access::Caller {
    resource: "vehicles",
    action: Action::Read,
};

/// A feed in a provider's spelling (vAuto-style headers, comma-separated, quoted).
const FEED: &str = "\
VIN,Stock #,Type,Year,Make,Model,Trim,Body Style,Ext Color,Odometer,Selling Price,Fuel Type,Drivetrain,Options,Description
1HGCM82633A004352,H100,Used,2021,Honda,Accord,EX-L,Sedan,Black,\"32,100\",\"$23,995.00\",Gasoline,FWD,Leather Seats|Sunroof,\"One owner, leather, sunroof\"
2T1BURHE0JC014704,T200,Used,2018,Toyota,Corolla,LE,Sedan,White,\"61,000\",\"$15,500\",Gasoline,FWD,Backup Camera,Great commuter
4T1B11HK5KU208912,T201,New,2025,Toyota,Camry,XSE,Sedan,Red,12,\"$33,400\",Hybrid,FWD,Navigation|Heated Seats,Sporty hybrid with navigation
5YJ3E1EA7KF317000,E300,Used,2019,Tesla,Model 3,Long Range,Sedan,Blue,\"40,500\",\"$27,900\",Electric,AWD,Autopilot,Electric with autopilot
1FTFW1E50MFA00001,F400,Certified,2021,Ford,F-150,XLT,Truck,Gray,\"28,000\",\"$38,750\",Gasoline,4WD,Tow Package,Certified truck with tow package
";

/// A request with a raw body (a file upload) and a query string.
fn upload_request(
    path: &str,
    dealership: i64,
    auth: Option<(&str, String)>,
    query: &[(&str, &str)],
    body: &str,
) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/api-health-health.json")).unwrap();
    event["routeKey"] = format!("POST {path}").into();
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = "POST".into();
    event["requestContext"]["http"]["path"] = path.into();
    event["pathParameters"] = json!({ "dealership_id": dealership.to_string() });
    if let Some((header, value)) = auth {
        event["headers"][header] = value.into();
    }
    event["headers"]["content-type"] = "text/csv".into();
    let pairs: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    event["rawQueryString"] = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
        .into();
    event["queryStringParameters"] = pairs.into();
    event["body"] = body.into();
    http::request_from_event(&event.to_string()).unwrap()
}

async fn upload(world: &World, dealership: i64, user: i64, body: &str) -> Answer {
    let path = format!("/v1/dealerships/{dealership}/inventory/imports");
    let req = upload_request(
        &path,
        dealership,
        bearer(world.token(user)),
        &[("file_name", "lot.csv")],
        body,
    );
    call(&world.state, INVENTORY_WRITE, inventory_imports::create, req).await
}

async fn search(world: &World, user: i64, query: &[(&str, &str)]) -> Answer {
    let path = format!("/v1/dealerships/{}/vehicles", world.dealer_a);
    let mut req = request(
        "GET",
        &path,
        &[("dealership_id", world.dealer_a.to_string())],
        bearer(world.token(user)),
        None,
    );
    let params: std::collections::HashMap<String, String> =
        query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    req = lambda_http::RequestExt::with_query_string_parameters(req, params);
    call(&world.state, VEHICLES_READ, vehicles::list, req).await
}

fn stocks(answer: &Answer) -> Vec<String> {
    let mut found: Vec<String> = answer.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.body))
        .iter()
        .map(|v| v["stock_number"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn an_uploaded_feed_is_imported_with_statistics_and_the_same_file_again_is_skipped() {
    let world = World::new().await;
    let answer = upload(&world, world.dealer_a, world.manager_a, FEED).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let import = &answer.body["data"];
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(import["source"], "upload");
    assert_eq!(import["stats"]["added"], 5);
    assert_eq!(
        import["stats"]["mapping"]["fields"]["stock_number"],
        json!(["Stock #"]),
        "{}",
        import["stats"]["mapping"]
    );
    assert!(import["content_hash"].as_str().is_some_and(|h| h.len() == 64));

    let again = upload(&world, world.dealer_a, world.manager_a, FEED).await;
    assert_eq!(again.body["data"]["status"], "skipped");

    let id = import["id"].as_i64().unwrap();
    let path = format!("/v1/dealerships/{}/inventory/imports/{id}", world.dealer_a);
    let params = [
        ("dealership_id", world.dealer_a.to_string()),
        ("import_id", id.to_string()),
    ];
    let got = call(
        &world.state,
        INVENTORY_READ,
        inventory_imports::get,
        request("GET", &path, &params, bearer(world.token(world.user_a)), None),
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["data"]["stats"]["added"], 5);

    let list_path = format!("/v1/dealerships/{}/inventory/imports", world.dealer_a);
    let listed = call(
        &world.state,
        INVENTORY_READ,
        inventory_imports::list,
        request("GET", &list_path, &params[..1], bearer(world.token(world.user_a)), None),
    )
    .await;
    assert_eq!(listed.body["meta"]["pagination"]["total"], 2);
}

#[tokio::test]
async fn a_truncated_feed_waits_for_confirmation_and_confirming_applies_it() {
    let mut world = World::new().await;
    world.state.config.email_from = Some("Rylie <noreply@rylie.test>".to_owned());
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET contact_email = 'gm@alpha.test' WHERE id = {}",
            world.dealer_a
        ))
        .await;
    upload(&world, world.dealer_a, world.admin_a, FEED).await;
    let truncated: String = FEED.lines().take(2).map(|l| format!("{l}\n")).collect();
    let held = upload(&world, world.dealer_a, world.admin_a, &truncated).await;
    let import = &held.body["data"];
    assert_eq!(import["status"], "needs_confirmation", "{import}");
    assert!(import["error"].as_str().unwrap().contains("would deactivate 4 of 5"));
    assert_eq!(
        stocks(&search(&world, world.admin_a, &[]).await).len(),
        5,
        "nothing applied yet"
    );
    // The dealership's contact hears of it, once.
    let mails = support::outbox(&world);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: gm@alpha.test"), "{}", mails[0]);
    let text = rylie_cloud::mail::decode_quoted_printable(&mails[0]);
    assert!(text.contains("would deactivate 4 of 5"), "{text}");
    assert!(text.contains("needs your confirmation"), "{text}");

    let id = import["id"].as_i64().unwrap();
    let path = format!("/v1/dealerships/{}/inventory/imports/{id}/confirm", world.dealer_a);
    let params = [
        ("dealership_id", world.dealer_a.to_string()),
        ("import_id", id.to_string()),
    ];
    let confirm = |user| {
        call(
            &world.state,
            INVENTORY_WRITE,
            inventory_imports::confirm,
            request("POST", &path, &params, bearer(world.token(user)), None),
        )
    };
    let confirmed = confirm(world.admin_a).await;
    assert_eq!(confirmed.status, 202, "{}", confirmed.body);
    assert_eq!(confirmed.body["data"]["status"], "completed");
    assert_eq!(confirmed.body["data"]["stats"]["deactivated"], 4);
    assert_eq!(stocks(&search(&world, world.admin_a, &[]).await), vec!["H100"]);
    assert_eq!(
        stocks(&search(&world, world.admin_a, &[("include_inactive", "true")]).await).len(),
        5
    );

    let twice = confirm(world.admin_a).await;
    assert_eq!((twice.status, twice.code()), (409, "CONFLICT"));
}

#[tokio::test]
async fn every_search_filter_narrows_the_result() {
    let world = World::new().await;
    upload(&world, world.dealer_a, world.admin_a, FEED).await;
    let user = world.user_a;
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (&[], &["E300", "F400", "H100", "T200", "T201"]),
        (&[("make", "toyota")], &["T200", "T201"]),
        (&[("make", "Toyta")], &["T200", "T201"]),
        (&[("model", "Camri")], &["T201"]),
        (&[("year_min", "2020"), ("year_max", "2021")], &["F400", "H100"]),
        (&[("price_min", "25000"), ("price_max", "35000")], &["E300", "T201"]),
        (&[("mileage_max", "35000")], &["F400", "H100", "T201"]),
        (&[("body_style", "truck")], &["F400"]),
        (&[("fuel_type", "Electric")], &["E300"]),
        (&[("drivetrain", "4wd")], &["F400"]),
        (&[("condition", "new")], &["T201"]),
        (&[("condition", "certified")], &["F400"]),
        (&[("status", "available")], &["E300", "F400", "H100", "T200", "T201"]),
        (&[("q", "sunroof")], &["H100"]),
        (&[("q", "navigation hybrid")], &["T201"]),
        (&[("q", "tow"), ("make", "Ford")], &["F400"]),
    ];
    for (query, expected) in cases {
        let answer = search(&world, user, query).await;
        assert_eq!(answer.status, 200, "{query:?}: {}", answer.body);
        assert_eq!(stocks(&answer), *expected, "{query:?}");
    }

    let bad = search(
        &world,
        user,
        &[
            ("year_min", "soon"),
            ("condition", "mint"),
            ("price_min", "9"),
            ("price_max", "1"),
        ],
    )
    .await;
    assert_eq!(bad.status, 400);
    let fields: Vec<&str> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["year_min", "condition", "price_min"]);

    let sorted = search(&world, user, &[("sort", "price"), ("order", "asc"), ("limit", "2")]).await;
    let first: Vec<&str> = sorted.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stock_number"].as_str().unwrap())
        .collect();
    assert_eq!(first, vec!["T200", "H100"]);
    assert_eq!(sorted.body["meta"]["pagination"]["has_more"], true);
}

/// Free text is matched in two steps (a lexeme signature from the index, then the exact match
/// on the rows it lets through); OR, NOT, phrases, stop words, inactive vehicles and typos take
/// the paths around the signature and must find exactly what a plain match finds.
#[tokio::test]
async fn free_text_finds_the_same_vehicles_whatever_the_query_shape() {
    let world = World::new().await;
    upload(&world, world.dealer_a, world.admin_a, FEED).await;
    let user = world.user_a;
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], i64);
    let cases: &[Case] = &[
        (&[("q", "leather sunroof")], &["H100"], 1),
        (&[("q", "sunroof or tow")], &["F400", "H100"], 2),
        (&[("q", "seats -navigation")], &["H100"], 1),
        (&[("q", "\"heated seats\"")], &["T201"], 1),
        (&[("q", "\"seats heated\"")], &[], 0),
        (&[("q", "the")], &[], 0),
        (&[("q", "sedan"), ("make", "TOYOTA")], &["T200", "T201"], 2),
        (&[("q", "hybrid"), ("model", "Camri")], &["T201"], 1),
        (&[("q", "sunroof"), ("include_inactive", "true")], &["H100"], 1),
        (&[("make", "Toyta"), ("include_inactive", "true")], &["T200", "T201"], 2),
        (
            &[("q", "sedan"), ("limit", "1"), ("sort", "price"), ("order", "asc")],
            &["T200"],
            4,
        ),
    ];
    for (query, expected, total) in cases {
        let answer = search(&world, user, query).await;
        assert_eq!(answer.status, 200, "{query:?}: {}", answer.body);
        assert_eq!(stocks(&answer), *expected, "{query:?}");
        assert_eq!(answer.body["meta"]["pagination"]["total"], *total, "{query:?}");
    }
}

#[tokio::test]
async fn a_vehicle_is_read_by_vin_and_never_shows_the_invoice_price() {
    let world = World::new().await;
    upload(&world, world.dealer_a, world.admin_a, FEED).await;
    let path = format!("/v1/dealerships/{}/vehicles/1HGCM82633A004352", world.dealer_a);
    let params = [
        ("dealership_id", world.dealer_a.to_string()),
        ("vin", "1hgcm82633a004352".to_owned()),
    ];
    let answer = call(
        &world.state,
        VEHICLES_READ,
        vehicles::get,
        request("GET", &path, &params, bearer(world.token(world.user_a)), None),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let vehicle = &answer.body["data"];
    assert_eq!(
        (vehicle["make"].as_str(), vehicle["price"].as_f64()),
        (Some("Honda"), Some(23995.0))
    );
    assert_eq!(vehicle["features"], json!(["Leather Seats", "Sunroof"]));
    assert!(vehicle.get("invoice_price").is_none());
}

#[tokio::test]
async fn another_dealerships_imports_and_vehicles_answer_404() {
    let world = World::new().await;
    let mine = upload(&world, world.dealer_a, world.admin_a, FEED).await;
    let import_a = mine.body["data"]["id"].as_i64().unwrap();
    upload(&world, world.dealer_b, world.admin_b, FEED).await;

    // Bravo's admin on Alpha's paths.
    let list_path = format!("/v1/dealerships/{}/inventory/imports", world.dealer_a);
    let a = [("dealership_id", world.dealer_a.to_string())];
    let bravo = || bearer(world.token(world.admin_b));
    let answers = [
        call(
            &world.state,
            INVENTORY_READ,
            inventory_imports::list,
            request("GET", &list_path, &a, bravo(), None),
        )
        .await,
        upload(&world, world.dealer_a, world.admin_b, FEED).await,
        search(&world, world.admin_b, &[]).await,
    ];
    for answer in answers {
        assert_eq!(answer.status, 404, "{}", answer.body);
    }

    // Alpha's import id on Bravo's path, by Bravo's admin: no such import there.
    let path = format!("/v1/dealerships/{}/inventory/imports/{import_a}", world.dealer_b);
    let params = [
        ("dealership_id", world.dealer_b.to_string()),
        ("import_id", import_a.to_string()),
    ];
    let answer = call(
        &world.state,
        INVENTORY_READ,
        inventory_imports::get,
        request("GET", &path, &params, bravo(), None),
    )
    .await;
    assert_eq!(answer.status, 404);
    let confirm_path = format!("{path}/confirm");
    let answer = call(
        &world.state,
        INVENTORY_WRITE,
        inventory_imports::confirm,
        request("POST", &confirm_path, &params, bravo(), None),
    )
    .await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn bad_uploads_get_precise_errors() {
    let world = World::new().await;
    let empty = upload(&world, world.dealer_a, world.admin_a, "").await;
    assert_eq!((empty.status, empty.code()), (400, "BAD_REQUEST"), "{}", empty.body);

    let huge = "x".repeat(inventory_imports::MAX_UPLOAD_BYTES + 1);
    let too_large = upload(&world, world.dealer_a, world.admin_a, &huge).await;
    assert_eq!(too_large.status, 413);
    assert!(
        too_large.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pre-signed upload")
    );

    // Not a feed at all: recorded, and failed with the reason.
    let garbage = upload(&world, world.dealer_a, world.admin_a, "hello\nworld\n").await;
    assert_eq!(garbage.body["data"]["status"], "failed", "{}", garbage.body);
    assert!(!garbage.body["data"]["error"].as_str().unwrap().is_empty());

    // The user role reads inventory but does not import it.
    let forbidden = upload(&world, world.dealer_a, world.user_a, FEED).await;
    assert_eq!(forbidden.status, 403);

    // Pre-signed uploads need S3; locally the answer says what to do instead.
    let path = format!("/v1/dealerships/{}/inventory/imports", world.dealer_a);
    let presign = call(
        &world.state,
        INVENTORY_WRITE,
        inventory_imports::create,
        request(
            "POST",
            &path,
            &[("dealership_id", world.dealer_a.to_string())],
            bearer(world.token(world.admin_a)),
            Some(json!({ "file_name": "big.tsv" })),
        ),
    )
    .await;
    assert_eq!(presign.status, 400);
    assert!(
        presign.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("send the file as the body")
    );
}
