//! Reports end to end, on a seeded day with known answers: the route's figures, its tenant
//! isolation and its period in the dealership's time zone; the schedule's due-ness (daily,
//! weekly, time zones, never twice); the report job mailing once however often it runs, with
//! the CSV attached (outbox and moto SES), the same figures as the route, and formula cells
//! neutralised.

mod support;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, NaiveDate, Utc};
use rylie_app::{
    jobs,
    reports::{self, Report, cron, job},
    routes,
};
use rylie_cloud::{
    Mailer, Sqs,
    mail::{decode_base64, decode_quoted_printable},
};
use rylie_domain::{
    DealershipId,
    report::{PeriodKind, ReportPeriod},
};
use rylie_testkit::{moto_config, sqs::MotoQueue, unique_name};
use serde_json::{Value, json};
use support::{World, bearer, call, outbox, request};

fn at(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc)
}

fn date(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

async fn id(world: &World, sql: &str) -> i64 {
    let owner = support::owner(&world.db).await;
    owner.query_one(sql, &[]).await.unwrap().get(0)
}

struct Seeded {
    camry_vehicle: i64,
}

/// Dealership A in America/Chicago (UTC−6 in early March 2026), with a known day,
/// 2026-03-02 local = [2026-03-02T06:00Z, 2026-03-03T06:00Z):
///
/// * conversations started that day: c1 web (customer, assistant after 30 s with a search for
///   a Honda Civic showing the Camry, customer again; handed over 600 s after the start), c2
///   sms (staff reply after 120 s), c3 web (no reply), c5 sms at 23:59 local (assistant after
///   600 s, past midnight); c4 web at 23:30 local the day before (05:30Z on the 2nd) is not
///   in the day;
/// * leads: email_adf (Toyota Camry), web (toyota RAV4, naming the Camry vehicle), a
///   duplicate and one from the day before, none of which count twice;
/// * vehicles for sale: in stock since 2026-02-01 (30 days on the 3rd) and 2025-12-01 (92
///   days), one without a date; a sold and an inactive one;
/// * an experiment: c1 in the control, c2 in the challenger;
/// * dealership B has a conversation, a lead and a vehicle at the same times.
async fn seed(world: &World) -> Seeded {
    let (a, b) = (world.dealer_a, world.dealer_b);
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET timezone = 'America/Chicago', handover_email = 'handover@alpha.test' WHERE id = {a};"
        ))
        .await;
    let vehicle =
        |dealership: i64, stock: &str, make: &str, model: &str, in_stock: &str, status: &str, active: bool| {
            format!(
            "INSERT INTO vehicles (dealership_id, stock_number, make, model, year, in_stock_date, status, is_active)
             VALUES ({dealership}, '{stock}', '{make}', '{model}', 2024, {in_stock}, '{status}', {active}) RETURNING id"
        )
        };
    let camry = id(
        world,
        &vehicle(a, "A1", "Toyota", "Camry", "'2026-02-01'", "available", true),
    )
    .await;
    for sql in [
        vehicle(a, "A2", "Ford", "F-150", "'2025-12-01'", "pending", true),
        vehicle(a, "A3", "Honda", "Civic", "NULL", "available", true),
        vehicle(a, "A4", "Honda", "Accord", "'2025-01-01'", "sold", true),
        vehicle(a, "A5", "Kia", "Soul", "'2025-01-01'", "available", false),
        vehicle(b, "B1", "Toyota", "Camry", "'2025-01-01'", "available", true),
    ] {
        id(world, &sql).await;
    }
    let experiment = id(
        world,
        &format!(
            "INSERT INTO prompt_experiments (dealership_id, name, start_date, end_date, status, primary_metric)
             VALUES ({a}, 'Friendlier greeting', '2026-02-01Z', '2026-04-01Z', 'active', 'handover_rate') RETURNING id"
        ),
    )
    .await;
    let variant = |name: &str, control: bool| {
        format!(
            "INSERT INTO experiment_variants (dealership_id, experiment_id, persona_id, name, is_control)
             VALUES ({a}, {experiment}, {}, '{name}', {control}) RETURNING id",
            world.persona_a
        )
    };
    let control = id(world, &variant("Control", true)).await;
    let challenger = id(world, &variant("Warm", false)).await;

    let conversation = |dealership: i64, channel: &str, created: &str, escalated: &str, variant: Option<i64>| {
        let (experiment, variant) = match variant {
            Some(v) => (experiment.to_string(), v.to_string()),
            None => ("NULL".to_owned(), "NULL".to_owned()),
        };
        format!(
            "INSERT INTO conversations (dealership_id, channel, created_at, escalated_at, experiment_id, variant_id)
             VALUES ({dealership}, '{channel}', '{created}', {escalated}, {experiment}, {variant}) RETURNING id"
        )
    };
    let c1 = id(
        world,
        &conversation(
            a,
            "web",
            "2026-03-02T15:00:00Z",
            "'2026-03-02T15:10:00Z'",
            Some(control),
        ),
    )
    .await;
    let c2 = id(
        world,
        &conversation(a, "sms", "2026-03-02T16:00:00Z", "NULL", Some(challenger)),
    )
    .await;
    let c3 = id(world, &conversation(a, "web", "2026-03-02T17:00:00Z", "NULL", None)).await;
    let c4 = id(world, &conversation(a, "web", "2026-03-02T05:30:00Z", "NULL", None)).await;
    let c5 = id(world, &conversation(a, "sms", "2026-03-03T05:59:00Z", "NULL", None)).await;
    let other = id(
        world,
        &conversation(b, "web", "2026-03-02T15:00:00Z", "'2026-03-02T15:01:00Z'", None),
    )
    .await;

    let trace = json!({"tools": [{"tool": "search_inventory", "query": {"make": "Honda", "model": "Civic"},
                                   "result_ids": [camry]}]});
    let mut messages = String::new();
    for (dealership, conversation, sender, created, trace) in [
        (a, c1, "customer", "2026-03-02T15:00:00Z", Value::Null),
        (a, c1, "assistant", "2026-03-02T15:00:30Z", trace),
        (a, c1, "customer", "2026-03-02T15:05:00Z", Value::Null),
        (a, c2, "customer", "2026-03-02T16:00:00Z", Value::Null),
        (a, c2, "staff", "2026-03-02T16:02:00Z", Value::Null),
        (a, c3, "customer", "2026-03-02T17:00:00Z", Value::Null),
        (a, c4, "customer", "2026-03-02T05:30:00Z", Value::Null),
        (a, c4, "assistant", "2026-03-02T05:30:05Z", Value::Null),
        (a, c5, "customer", "2026-03-03T05:59:00Z", Value::Null),
        (a, c5, "assistant", "2026-03-03T06:09:00Z", Value::Null),
        (b, other, "customer", "2026-03-02T15:00:00Z", Value::Null),
        (b, other, "assistant", "2026-03-02T15:00:01Z", Value::Null),
    ] {
        let trace = if trace.is_null() {
            "NULL".to_owned()
        } else {
            format!("'{trace}'")
        };
        messages.push_str(&format!(
            "INSERT INTO messages (dealership_id, conversation_id, content, sender, created_at, decision_trace)
             VALUES ({dealership}, {conversation}, 'hi', '{sender}', '{created}', {trace});\n"
        ));
    }
    world.owner_sql(&messages).await;
    world
        .owner_sql(&format!(
            "INSERT INTO prompt_metrics (dealership_id, conversation_id, experiment_id, variant_id, metric_name, metric_value, created_at)
             VALUES ({a}, {c1}, {experiment}, {control}, 'response_time_ms', 800, '2026-03-02T15:00:30Z'),
                    ({a}, {c2}, {experiment}, {challenger}, 'response_time_ms', 1200, '2026-03-02T16:02:00Z');
             INSERT INTO leads (dealership_id, source, status, vehicle_id, vehicle_of_interest, created_at) VALUES
                ({a}, 'email_adf', 'new', NULL, '{{\"make\": \"Toyota\", \"model\": \"Camry\"}}', '2026-03-02T14:00:00Z'),
                ({a}, 'web', 'new', {camry}, '{{\"make\": \"toyota\", \"model\": \"RAV4\"}}', '2026-03-02T18:00:00Z'),
                ({a}, 'web', 'duplicate', NULL, '{{\"make\": \"Toyota\"}}', '2026-03-02T18:30:00Z'),
                ({a}, 'chat', 'new', NULL, '{{}}', '2026-03-01T12:00:00Z'),
                ({b}, 'phone', 'new', NULL, '{{\"make\": \"BMW\"}}', '2026-03-02T14:00:00Z');"
        ))
        .await;
    Seeded { camry_vehicle: camry }
}

async fn report_route(world: &World, dealership: i64, token: String, query: &str) -> support::Answer {
    let mut request = request(
        "GET",
        &format!("/v1/dealerships/{dealership}/reports"),
        &[("dealership_id", dealership.to_string())],
        bearer(token),
        None,
    );
    let pairs: std::collections::HashMap<String, Vec<String>> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), vec![v.to_owned()])
        })
        .collect();
    use lambda_http::RequestExt;
    request = request.with_query_string_parameters(pairs);
    let access = rylie_app::routes::registry::access_of("api-reports-get");
    call(&world.state, access, routes::reports::get, request).await
}

#[tokio::test]
async fn the_route_reports_the_seeded_day_in_the_dealerships_time_zone() {
    let world = World::new().await;
    let seeded = seed(&world).await;
    let answer = report_route(
        &world,
        world.dealer_a,
        world.token(world.admin_a),
        "from=2026-03-02&to=2026-03-02",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["from"], "2026-03-02T06:00:00Z", "local midnight in Chicago");
    assert_eq!(data["to"], "2026-03-03T06:00:00Z");
    assert_eq!(data["timezone"], "America/Chicago");
    assert_eq!(
        data["conversations"],
        json!({"started": 4, "by_channel": [{"key": "sms", "count": 2}, {"key": "web", "count": 2}]}),
        "c4 (23:30 the day before, local) is out, c5 (23:59 local) is in; B's is never counted"
    );
    assert_eq!(
        data["leads"],
        json!({"total": 2, "by_source": [{"key": "email_adf", "count": 1}, {"key": "web", "count": 1}]})
    );
    assert_eq!(
        data["handovers"],
        json!({"count": 1, "median_seconds_to_handover": 600.0})
    );
    assert_eq!(
        data["first_response"],
        json!({"measured": 3, "unanswered": 1, "p50_seconds": 120.0, "p90_seconds": 504.0}),
        "30 s, 120 s and 600 s; p90 interpolates"
    );
    assert_eq!(data["customer_replies"]["conversations_with_outbound"], 3);
    assert_eq!(data["customer_replies"]["customer_replied"], 1);
    let rate = data["customer_replies"]["rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    assert_eq!(
        data["demand"]["top_makes"],
        json!([{"key": "Toyota", "count": 2}, {"key": "Honda", "count": 1}]),
        "leads and the assistant's search, case folded; B's BMW is not counted"
    );
    assert_eq!(
        data["demand"]["top_models"],
        json!([{"key": "Honda Civic", "count": 1}, {"key": "Toyota Camry", "count": 1},
               {"key": "toyota RAV4", "count": 1}])
    );
    assert_eq!(
        data["demand"]["top_vehicles"],
        json!([{"vehicle_id": seeded.camry_vehicle, "description": "2024 Toyota Camry", "stock_number": "A1",
                "vin": null, "count": 2}]),
        "named by the web lead and shown in c1"
    );
    assert_eq!(
        data["inventory"],
        json!({"active_vehicles": 3, "with_in_stock_date": 2, "average_age_days": 61.0, "median_age_days": 61.0,
               "aged_0_30_days": 1, "aged_31_60_days": 0, "aged_61_90_days": 0, "aged_over_90_days": 1})
    );
    let experiments = data["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 1);
    let variants = experiments[0]["variants"].as_array().unwrap();
    assert_eq!(variants[0]["name"], "Control");
    assert_eq!(
        (
            &variants[0]["conversations"],
            &variants[0]["handover_rate"],
            &variants[0]["reply_rate"]
        ),
        (&json!(1), &json!(1.0), &json!(1.0))
    );
    assert_eq!(variants[0]["median_response_ms"], 800.0);
    assert_eq!(
        (
            &variants[1]["conversations"],
            &variants[1]["handover_rate"],
            &variants[1]["reply_rate"]
        ),
        (&json!(1), &json!(0.0), &json!(0.0))
    );

    // The same day as RFC 3339 instants gives the same report.
    let instants = report_route(
        &world,
        world.dealer_a,
        world.token(world.admin_a),
        "from=2026-03-02T06:00:00Z&to=2026-03-03T06:00:00Z",
    )
    .await;
    assert_eq!(instants.body["data"], *data);
}

#[tokio::test]
async fn another_dealerships_report_does_not_exist_for_the_caller_and_bad_periods_are_refused() {
    let world = World::new().await;
    seed(&world).await;
    let foreign = report_route(&world, world.dealer_a, world.token(world.admin_b), "").await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    let b = report_route(
        &world,
        world.dealer_b,
        world.token(world.admin_b),
        "from=2026-03-02&to=2026-03-02",
    )
    .await;
    assert_eq!(b.status, 200);
    assert_eq!(b.body["data"]["conversations"]["started"], 1);
    assert_eq!(
        b.body["data"]["leads"]["by_source"],
        json!([{"key": "phone", "count": 1}])
    );

    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-03-02&to=2026-13-01", "to"),
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("from=2025-01-01&to=2026-03-01", "to"),
    ] {
        let answer = report_route(&world, world.dealer_a, world.token(world.admin_a), query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(
            answer.body["error"]["details"][0]["field"], field,
            "{query}: {}",
            answer.body
        );
    }
    let default = report_route(&world, world.dealer_a, world.token(world.admin_a), "").await;
    assert_eq!(default.status, 200);
    let (from, to) = (
        at(default.body["data"]["from"].as_str().unwrap()),
        at(default.body["data"]["to"].as_str().unwrap()),
    );
    assert_eq!(to - from, chrono::TimeDelta::days(7), "the last 7 days by default");
}

async fn set_settings(world: &World, dealership: i64, timezone: &str, settings: Value) {
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET timezone = '{timezone}', report_settings = '{settings}' WHERE id = {dealership}"
        ))
        .await;
}

async fn runs(world: &World) -> Vec<(i64, String, NaiveDate, NaiveDate)> {
    let owner = support::owner(&world.db).await;
    owner
        .query(
            "SELECT dealership_id, period_kind, period_start, period_end FROM report_runs ORDER BY dealership_id, period_kind",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

#[tokio::test]
async fn the_schedule_queues_each_due_report_once_in_each_dealerships_time_zone() {
    let world = World::new().await;
    let (a, b) = (world.dealer_a, world.dealer_b);
    // A in Chicago: daily and weekly on Tuesdays at 07:00. B in Tokyo: daily at 07:00.
    set_settings(
        &world,
        a,
        "America/Chicago",
        json!({"daily": true, "weekly": true, "weekly_day": "tue", "send_hour": 7,
        "recipients": ["gm@alpha.test"]}),
    )
    .await;
    set_settings(&world, b, "Asia/Tokyo", json!({"daily": true, "send_hour": 7})).await;

    // 2026-03-03T12:30Z: 06:30 on Tuesday in Chicago (not yet), 21:30 in Tokyo (due).
    let first = cron::run(&world.state, at("2026-03-03T12:30:00Z")).await.unwrap();
    assert_eq!((first.due, first.queued), (1, 1), "{first:?}");
    assert_eq!(
        runs(&world).await,
        vec![(b, "daily".into(), date("2026-03-02"), date("2026-03-03"))]
    );

    // 13:05Z: 07:05 in Chicago: yesterday and the week before this Tuesday; Tokyo's is done.
    let second = cron::run(&world.state, at("2026-03-03T13:05:00Z")).await.unwrap();
    assert_eq!((second.due, second.queued), (3, 2), "{second:?}");
    assert_eq!(
        runs(&world).await,
        vec![
            (a, "daily".into(), date("2026-03-02"), date("2026-03-03")),
            (a, "weekly".into(), date("2026-02-24"), date("2026-03-03")),
            (b, "daily".into(), date("2026-03-02"), date("2026-03-03")),
        ]
    );
    // The same hour again, and later that day: nothing new.
    for now in ["2026-03-03T13:05:00Z", "2026-03-03T20:05:00Z"] {
        let again = cron::run(&world.state, at(now)).await.unwrap();
        assert_eq!(again.queued, 0, "{now}: {again:?}");
    }
    assert_eq!(runs(&world).await.len(), 3);

    // Each queued report ran in-process (no REPORT_QUEUE_URL) and mailed once: A's two to its
    // recipient, B's (no recipients, no handover address) to nobody.
    let mails = outbox(&world);
    assert_eq!(mails.len(), 2, "{}", mails.len());
    assert!(mails.iter().all(|mail| mail.contains("To: gm@alpha.test\r\n")));

    // Broken settings are reported, not fatal.
    set_settings(&world, b, "Asia/Tokyo", json!({"daily": "every day"})).await;
    let broken = cron::run(&world.state, at("2026-03-04T13:05:00Z")).await.unwrap();
    assert_eq!(broken.invalid_settings, 1, "{broken:?}");
    assert_eq!(broken.queued, 1, "A's next daily report still goes: {broken:?}");
}

/// The CSV attachment of an e-mail, decoded.
fn csv_attachment(eml: &str) -> String {
    let encoded = eml
        .split("Content-Transfer-Encoding: base64\r\n\r\n")
        .nth(1)
        .expect("an attachment")
        .split("\r\n--")
        .next()
        .unwrap();
    String::from_utf8(decode_base64(encoded).unwrap()).unwrap()
}

fn daily(day: &str) -> ReportPeriod {
    let start = date(day);
    ReportPeriod {
        kind: PeriodKind::Daily,
        start,
        end: start.succ_opt().unwrap(),
    }
}

#[tokio::test]
async fn a_report_job_mails_once_with_the_routes_figures_as_csv() {
    let world = World::new().await;
    seed(&world).await;
    let a = DealershipId(world.dealer_a);
    let message = job::message(a, &daily("2026-03-02"));
    assert_eq!(message.idempotency_key, format!("report:{a}:daily:2026-03-02"));
    for _ in 0..2 {
        let outcome = job::run(&world.state, &message, None).await.unwrap();
        assert_eq!(outcome, job::Outcome::Mailed { recipients: 1 });
    }
    let mails = outbox(&world);
    assert_eq!(mails.len(), 1, "the same job twice sends one e-mail");
    let eml = &mails[0];
    assert!(
        eml.contains("To: handover@alpha.test\r\n"),
        "no recipients: the handover address"
    );
    assert!(eml.contains("Subject: alpha: daily report for 2026-03-02\r\n"), "{eml}");
    assert!(eml.contains("Content-Type: multipart/mixed;"));
    assert!(eml.contains("Content-Disposition: attachment; filename=\"rylie-daily-report-2026-03-02.csv\""));
    let html = decode_quoted_printable(eml);
    assert!(
        html.contains("First response, median</td><td style=\"text-align: right\"><b>2 min 0 s</b>"),
        "{html}"
    );

    let csv = csv_attachment(eml);
    let route = report_route(
        &world,
        world.dealer_a,
        world.token(world.admin_a),
        "from=2026-03-02&to=2026-03-02",
    )
    .await;
    let from_route: Report = serde_json::from_value(route.body["data"].clone()).unwrap();
    assert_eq!(
        csv,
        reports::csv(&from_route),
        "the route and the e-mail carry the same figures"
    );
    assert!(
        csv.starts_with("section,metric,key,value\r\nperiod,from,,2026-03-02T06:00:00+00:00\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\r\nconversations,started,,4\r\n"));
    assert!(csv.contains("\r\nfirst_response,p90_seconds,,504\r\n"));
    assert!(csv.contains("\r\ninventory,aged_over_90_days,,1\r\n"));

    let owner = support::owner(&world.db).await;
    let deliveries = owner
        .query("SELECT email_type, status, idempotency_key FROM email_deliveries", &[])
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].get::<_, &str>(0), "scheduled_report");
    assert_eq!(deliveries[0].get::<_, &str>(1), "sent");
    assert_eq!(
        deliveries[0].get::<_, &str>(2),
        format!("email.report:{a}:daily:2026-03-02:handover@alpha.test")
    );
}

#[tokio::test]
async fn formula_cells_from_customers_are_neutralized_in_the_csv() {
    let world = World::new().await;
    let a = world.dealer_a;
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET handover_email = 'handover@alpha.test' WHERE id = {a};
             INSERT INTO leads (dealership_id, source, vehicle_of_interest, created_at) VALUES
                ({a}, 'web', '{{\"make\": \"=HYPERLINK(\\\"http://evil.example\\\")\", \"model\": \"@SUM(1)\"}}', '2026-03-02T18:00:00Z');"
        ))
        .await;
    job::run(&world.state, &job::message(DealershipId(a), &daily("2026-03-02")), None)
        .await
        .unwrap();
    let csv = csv_attachment(&outbox(&world)[0]);
    assert!(
        csv.contains("demand,top_make,\"'=HYPERLINK(\"\"http://evil.example\"\")\",1\r\n"),
        "{csv}"
    );
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
}

#[tokio::test]
async fn a_report_message_that_can_never_work_is_recorded_and_acknowledged() {
    let world = World::new().await;
    let mut event = SqsEvent::default();
    for (id, body) in [
        ("m1", "not json".to_owned()),
        (
            "m2",
            json!({"type": "report.scheduled", "version": 1, "dealership_id": world.dealer_a,
                   "idempotency_key": "report:x", "payload": {"kind": "hourly"}})
            .to_string(),
        ),
        (
            "m3",
            json!({"type": "report.scheduled", "version": 1, "dealership_id": 999_999,
                   "idempotency_key": "report:999999:daily:2026-03-02",
                   "payload": {"kind": "daily", "start": "2026-03-02", "end": "2026-03-03"}})
            .to_string(),
        ),
    ] {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        record.body = Some(body);
        event.records.push(record);
    }
    let response = job::worker(&world.state, event).await;
    assert!(response.batch_item_failures.is_empty(), "nothing to retry");
    let owner = support::owner(&world.db).await;
    let failures = owner
        .query("SELECT job_type, message_id FROM job_failures ORDER BY id", &[])
        .await
        .unwrap();
    let failures: Vec<(String, Option<String>)> = failures.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(
        failures,
        vec![
            ("report (unparsable)".to_owned(), Some("m1".to_owned())),
            ("report.scheduled".to_owned(), Some("m2".to_owned())),
            ("report.scheduled".to_owned(), Some("m3".to_owned())),
        ]
    );
    assert!(outbox(&world).is_empty());
}

// ------------------------------------------------------------------ through moto SQS and SES

/// What moto's SES accepted (`GET /moto-api/data.json`): raw messages under `RawMessage`.
fn moto_raw_messages() -> Vec<Value> {
    rylie_testkit::moto_data()["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn through_the_email_queue_a_redelivered_report_is_one_raw_email_with_its_csv() {
    let aws = moto_config().await;
    let queue = MotoQueue::create("rylie-email").await;
    let sender = format!("{}@rylie.test", unique_name("reports"));
    aws_sdk_ses::Client::new(&aws)
        .verify_email_identity()
        .email_address(&sender)
        .send()
        .await
        .unwrap();
    let mut world = World::new().await;
    seed(&world).await;
    world.state.sqs = Some(Sqs::new(&aws)).into();
    world.state.mailer = Mailer::ses(&aws).into();
    world.state.config.email_queue_url = Some(queue.url.clone());
    world.state.config.email_from = Some(format!("Rylie Reports <{sender}>"));
    let recipient = format!("{}@alpha.test", unique_name("gm"));
    set_settings(
        &world,
        world.dealer_a,
        "America/Chicago",
        json!({"daily": true, "recipients": [recipient]}),
    )
    .await;

    let message = job::message(DealershipId(world.dealer_a), &daily("2026-03-02"));
    job::run(&world.state, &message, None).await.unwrap();
    let event = queue.receive().await;
    assert_eq!(event.records.len(), 1, "one e-mail job queued");
    let body: Value = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["type"], "email.scheduled_report");
    assert_eq!(body["payload"]["report"]["conversations"]["started"], 4);

    for _ in 0..2 {
        let response = jobs::email(&world.state, event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let sent: Vec<Value> = moto_raw_messages()
        .into_iter()
        .filter(|message| message["raw_data"].as_str().is_some_and(|raw| raw.contains(&recipient)))
        .collect();
    assert_eq!(sent.len(), 1, "one raw e-mail for two deliveries of the message");
    let raw = sent[0]["raw_data"].as_str().unwrap();
    assert!(raw.contains("Content-Type: multipart/mixed;"));
    assert!(raw.contains("Content-Disposition: attachment; filename=\"rylie-daily-report-2026-03-02.csv\""));
    let from_payload: Report = serde_json::from_value(body["payload"]["report"].clone()).unwrap();
    assert_eq!(csv_attachment(raw), reports::csv(&from_payload));
}
