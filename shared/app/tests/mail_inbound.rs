//! `mail-inbound` in-process, with the SES event of events/mail-inbound.json, the raw mail in
//! a moto S3 bucket, a moto SQS e-mail queue and a real PostgreSQL: a mail becomes a lead with
//! its customer, conversation, linked car, trade-in, webhook event and first contact; nothing
//! is created twice; what cannot be routed or parsed is kept with its reason and runs again
//! after a fix; an inventory file from the dealership's sender reaches the import job.

mod support;

use rylie_app::{
    http::Access,
    jobs,
    mail::{SesEvent, inbound},
    routes::inbound_emails,
};
use rylie_cloud::{BlobStore, Sqs};
use rylie_domain::Action;
use rylie_store::Type;
use rylie_testkit::{moto_config, unique_name};
use serde_json::Value;
use support::{World, bearer, call, request};

const VIN: &str = "4T1G11AK5NU123456";

/// A lead as AutoTrader-style providers send it: a car wanted (in stock), a trade-in, a
/// customer with comments.
fn adf(id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf>
 <prospect status="new">
  <id sequence="1" source="AutoTrader">{id}</id>
  <requestdate>2026-11-25T09:02:11-05:00</requestdate>
  <vehicle interest="buy" status="used">
   <year>2022</year><make>Toyota</make><model>Camry</model><trim>SE</trim>
   <vin>{VIN}</vin><stock>T4471</stock>
   <price type="asking" currency="USD">24995</price>
  </vehicle>
  <vehicle interest="trade-in" status="used">
   <year>2015</year><make>Honda</make><model>Civic</model>
   <odometer status="original" units="mi">98000</odometer>
  </vehicle>
  <customer>
   <contact primarycontact="1">
    <name part="first">Dana</name><name part="last">Whitfield</name>
    <email>Dana.Whitfield@Example.COM</email>
    <phone type="cellphone" time="evening">(312) 555-0142</phone>
   </contact>
   <comments>Is the Camry still available? I could come Saturday morning.</comments>
  </customer>
  <vendor><vendorname>Sunset Motors</vendorname></vendor>
  <provider><name part="full">AutoTrader</name><service>New car leads</service></provider>
 </prospect>
</adf>"#
    )
}

/// A plain-text mail carrying `body`, as SES stores it.
fn text_mail(from: &str, to: &str, body: &str) -> String {
    format!(
        "From: Lead Desk <{from}>\r\nTo: {to}\r\nSubject: New lead\r\nDate: Wed, 25 Nov 2026 14:02:09 +0000\r\n\
         Message-ID: <{}@provider.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        unique_name("m")
    )
}

/// A mail with a TSV attachment.
fn feed_mail(from: &str, to: &str, feed: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Daily inventory\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nToday's feed.\r\n\
         --b1\r\nContent-Type: text/tab-separated-values; name=\"inventory.tsv\"\r\n\
         Content-Disposition: attachment; filename=\"inventory.tsv\"\r\n\r\n{feed}\r\n--b1--\r\n"
    )
}

struct Mailroom {
    world: World,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    email_queue: String,
}

impl Mailroom {
    async fn new() -> Self {
        let aws = moto_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let bucket = unique_name("rylie-mail").to_lowercase();
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let email_queue = sqs
            .create_queue()
            .queue_name(unique_name("rylie-email"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let mut world = World::new().await;
        world.state.files = BlobStore::s3(&aws, bucket.clone()).into();
        world.state.sqs = Some(Sqs::new(&aws)).into();
        world.state.config.email_queue_url = Some(email_queue.clone());
        world.state.config.inbound_mail_domain = Some("in.rylie.test".into());
        Self {
            world,
            s3,
            sqs,
            bucket,
            email_queue,
        }
    }

    /// Stores `raw` as SES would and delivers the SES event for it; returns the message id.
    async fn deliver(&self, recipient: &str, raw: &str) -> String {
        let message_id = unique_name("ses").replace(['-', '_'], "");
        self.store(&message_id, raw).await;
        self.redeliver(&message_id, recipient).await;
        message_id
    }

    async fn store(&self, message_id: &str, raw: &str) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(format!("mail/inbound/{message_id}"))
            .body(raw.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }

    async fn redeliver(&self, message_id: &str, recipient: &str) {
        inbound::handle(&self.world.state, ses_event(message_id, recipient, "PASS"))
            .await
            .unwrap();
    }

    async fn mail(&self, message_id: &str) -> Value {
        let owner = support::owner(&self.world.db).await;
        let row = owner
            .query_typed(
                "SELECT to_jsonb(e) FROM inbound_emails e WHERE ses_message_id = $1",
                &[(&message_id, Type::TEXT)],
            )
            .await
            .unwrap();
        row[0].get(0)
    }

    async fn count(&self, sql: &str) -> i64 {
        let owner = support::owner(&self.world.db).await;
        owner.query_typed(sql, &[]).await.unwrap()[0].get(0)
    }

    async fn queued(&self) -> Vec<Value> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.email_queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received
            .messages
            .unwrap_or_default()
            .iter()
            .map(|m| serde_json::from_str(m.body.as_deref().unwrap()).unwrap())
            .collect()
    }
}

fn ses_event(message_id: &str, recipient: &str, virus: &str) -> SesEvent {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/mail-inbound.json")).unwrap();
    let ses = &mut event["Records"][0]["ses"];
    ses["mail"]["messageId"] = message_id.into();
    ses["mail"]["destination"] = serde_json::json!([recipient]);
    ses["receipt"]["recipients"] = serde_json::json!([recipient]);
    ses["receipt"]["virusVerdict"]["status"] = virus.into();
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn a_lead_mail_becomes_customer_lead_conversation_webhook_event_and_first_contact() {
    let room = Mailroom::new().await;
    let a = room.world.dealer_a;
    room.world
        .owner_sql(&format!(
            "INSERT INTO vehicles (dealership_id, vin, stock_number, make, model, year, price)
             VALUES ({a}, '{VIN}', 'T4471', 'Toyota', 'Camry', 2022, 24995);
             INSERT INTO webhooks (dealership_id, url, secret, events)
             VALUES ({a}, 'https://crm.example/hook', 's3cret', '{{lead.created}}')"
        ))
        .await;
    let id = room
        .deliver(
            "leads+alpha@in.rylie.test",
            &text_mail("leads@autotrader.example", "leads+alpha@in.rylie.test", &adf("AT-1001")),
        )
        .await;

    let mail = room.mail(&id).await;
    assert_eq!(mail["status"], "processed", "{mail}");
    assert_eq!(mail["dealership_id"], a);
    assert_eq!(mail["leads_created"], 1);
    let owner = support::owner(&room.world.db).await;
    let lead = &owner
        .query_typed(
            "SELECT to_jsonb(l), (SELECT to_jsonb(c) FROM customers c WHERE c.id = l.customer_id),
                    (SELECT channel FROM conversations v WHERE v.id = l.conversation_id),
                    (SELECT content || '|' || sender FROM messages m WHERE m.conversation_id = l.conversation_id),
                    (SELECT vin FROM vehicles v WHERE v.id = l.vehicle_id)
               FROM leads l WHERE l.dealership_id = $1",
            &[(&a, Type::INT8)],
        )
        .await
        .unwrap()[0];
    let (row, customer): (Value, Value) = (lead.get(0), lead.get(1));
    assert_eq!(row["source"], "email_adf");
    assert_eq!(row["provider"], "AutoTrader");
    assert_eq!(row["adf_id"], "AT-1001");
    assert_eq!(row["vehicle_of_interest"]["model"], "Camry", "{row}");
    assert_eq!(
        row["trade_in"][0]["model"], "Civic",
        "the trade-in is a trade-in: {row}"
    );
    assert!(row["first_contact_queued_at"].is_string(), "{row}");
    assert_eq!(customer["email"], "dana.whitfield@example.com");
    assert_eq!(customer["phone"], "+13125550142");
    assert_eq!(customer["full_name"], "Dana Whitfield");
    assert_eq!(lead.get::<_, String>(2), "email");
    assert_eq!(
        lead.get::<_, String>(3),
        "Is the Camry still available? I could come Saturday morning.|customer"
    );
    assert_eq!(lead.get::<_, String>(4), VIN, "the car in stock is linked");
    assert_eq!(
        room.count("SELECT count(*) FROM webhook_deliveries WHERE event_type = 'lead.created'")
            .await,
        1
    );
    let queued = room.queued().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["type"], "lead.first_contact");
    assert_eq!(queued[0]["payload"]["lead_id"], row["id"]);
    assert_eq!(queued[0]["payload"]["mode"], "assistant");
}

#[tokio::test]
async fn the_same_mail_twice_and_a_resent_lead_create_nothing_twice() {
    let room = Mailroom::new().await;
    let to = "leads+alpha@in.rylie.test";
    let raw = text_mail("leads@autotrader.example", to, &adf("AT-2002"));
    let id = room.deliver(to, &raw).await;
    room.redeliver(&id, to).await; // SES retried the same message
    inbound::process(&room.world.state, room.mail(&id).await["id"].as_i64().unwrap())
        .await
        .unwrap(); // an operator reprocessed it
    // The provider resends the lead in a new mail.
    let resend = adf("AT-2002").replace(r#"status="new""#, r#"status="resend""#);
    let second = room
        .deliver(to, &text_mail("leads@autotrader.example", to, &resend))
        .await;

    for table in ["leads", "customers", "conversations", "messages"] {
        assert_eq!(room.count(&format!("SELECT count(*) FROM {table}")).await, 1, "{table}");
    }
    assert_eq!(room.queued().await.len(), 1, "one first contact");
    let second = room.mail(&second).await;
    assert_eq!(second["status"], "processed");
    assert!(second["notes"].to_string().contains("recorded before"), "{second}");
}

#[tokio::test]
async fn unroutable_mail_is_kept_with_its_reason_and_processed_after_the_fix() {
    let room = Mailroom::new().await;
    let to = "leads+charlie@in.rylie.test";
    let id = room
        .deliver(to, &text_mail("leads@cars.example", to, &adf("C-1")))
        .await;
    let mail = room.mail(&id).await;
    assert_eq!(mail["status"], "unroutable");
    assert!(mail["dealership_id"].is_null());
    assert!(
        mail["error"].as_str().unwrap().contains("leads+charlie@in.rylie.test"),
        "{mail}"
    );
    assert_eq!(room.count("SELECT count(*) FROM leads").await, 0);

    // The fix: dealership B takes the alias. The mail is run again.
    room.world
        .owner_sql(&format!(
            "UPDATE dealerships SET inbound_email_alias = 'charlie' WHERE id = {}",
            room.world.dealer_b
        ))
        .await;
    let again = inbound::process(&room.world.state, mail["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(again.status, "processed");
    assert_eq!(again.dealership_id, Some(room.world.dealer_b));
    assert_eq!(again.attempts, 2);
    assert_eq!(
        room.count(&format!(
            "SELECT count(*) FROM leads WHERE dealership_id = {}",
            room.world.dealer_b
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_mail_without_a_usable_lead_is_kept_as_unparsable_with_the_reason() {
    let room = Mailroom::new().await;
    let to = "leads+alpha@in.rylie.test";
    let plain = room
        .deliver(to, &text_mail("someone@example.com", to, "Hello, do you buy cars?"))
        .await;
    let mail = room.mail(&plain).await;
    assert_eq!(mail["status"], "unparsable");
    assert!(mail["error"].as_str().unwrap().contains("no ADF lead"), "{mail}");

    let xxe = r#"<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<adf><prospect><customer><contact><name part="full">&xxe;</name></contact></customer></prospect></adf>"#;
    let hostile = room.deliver(to, &text_mail("x@example.com", to, xxe)).await;
    let mail = room.mail(&hostile).await;
    assert_eq!(mail["status"], "unparsable");
    assert!(mail["error"].as_str().unwrap().contains("entit"), "{mail}");
    assert_eq!(room.count("SELECT count(*) FROM leads").await, 0);
}

#[tokio::test]
async fn one_broken_document_does_not_lose_the_good_one() {
    let room = Mailroom::new().await;
    let to = "leads+alpha@in.rylie.test";
    let body = format!("{}\n\n{}", adf("P-1"), "<adf><prospect><customer>");
    let id = room.deliver(to, &text_mail("leads@cargurus.example", to, &body)).await;
    let mail = room.mail(&id).await;
    assert_eq!(mail["leads_created"], 1, "{mail}");
    assert_eq!(mail["status"], "partially_processed", "{mail}");
    assert!(mail["error"].as_str().unwrap().contains("ADF"), "{mail}");
}

#[tokio::test]
async fn an_inventory_file_from_the_dealers_sender_reaches_the_import_job_and_others_are_noted() {
    let mut room = Mailroom::new().await;
    let import_queue = room
        .sqs
        .create_queue()
        .queue_name(unique_name("rylie-inventory-import"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    room.world.state.config.inventory_import_queue_url = Some(import_queue.clone());
    let a = room.world.dealer_a;
    room.world
        .owner_sql(&format!(
            "UPDATE dealerships SET inventory_sender_emails = '{{feeds@dms.example}}' WHERE id = {a}"
        ))
        .await;
    let feed = "VIN\tStock\tMake\tModel\tYear\tPrice\n1HGCM82633A004352\tH1\tHonda\tAccord\t2021\t23995\n";
    let to = "leads+alpha@in.rylie.test";
    let id = room.deliver(to, &feed_mail("feeds@dms.example", to, feed)).await;
    let mail = room.mail(&id).await;
    assert_eq!(mail["status"], "processed", "{mail}");
    assert_eq!(mail["imports_created"], 1);
    room.redeliver(&id, to).await; // SES delivered it again: still one import

    // The import is queued; the worker takes the message as the event source hands it over.
    let received = room
        .sqs
        .receive_message()
        .queue_url(&import_queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1, "one import message");
    let mut event = jobs::SqsEvent::default();
    let mut record = aws_lambda_events::sqs::SqsMessage::default();
    record.message_id = received[0].message_id.clone();
    record.body = received[0].body.clone();
    event.records.push(record);
    let response = jobs::inventory_import(&room.world.state, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        room.count(&format!(
            "SELECT count(*) FROM vehicles WHERE dealership_id = {a} AND is_active"
        ))
        .await,
        1
    );
    assert_eq!(
        room.count("SELECT count(*) FROM inventory_imports WHERE source = 'email' AND status = 'completed' AND inbound_email_id IS NOT NULL")
            .await,
        1
    );

    let stranger = room
        .deliver(to, &feed_mail("someone@elsewhere.example", to, feed))
        .await;
    let mail = room.mail(&stranger).await;
    assert_eq!(mail["imports_created"], 0);
    assert_eq!(mail["status"], "unparsable");
    assert!(
        mail["notes"]
            .to_string()
            .contains("not one of the dealership's inventory senders"),
        "{mail}"
    );
}

#[tokio::test]
async fn a_missing_raw_message_an_infected_mail_and_an_inactive_dealer_are_recorded_not_crashed() {
    let room = Mailroom::new().await;
    let to = "leads+alpha@in.rylie.test";
    inbound::handle(&room.world.state, ses_event("nosuchobject", to, "PASS"))
        .await
        .unwrap();
    let missing = room.mail("nosuchobject").await;
    assert_eq!(missing["status"], "failed");
    assert!(missing["error"].as_str().unwrap().contains("NoSuchKey"), "{missing}");

    room.store("infected", &text_mail("x@example.com", to, &adf("V-1")))
        .await;
    inbound::handle(&room.world.state, ses_event("infected", to, "FAIL"))
        .await
        .unwrap();
    assert_eq!(room.mail("infected").await["status"], "ignored");

    room.world
        .owner_sql(&format!(
            "UPDATE dealerships SET active = false WHERE id = {}",
            room.world.dealer_a
        ))
        .await;
    let id = room.deliver(to, &text_mail("x@example.com", to, &adf("I-1"))).await;
    let mail = room.mail(&id).await;
    assert_eq!(mail["status"], "ignored");
    assert!(mail["error"].as_str().unwrap().contains("inactive"), "{mail}");
    assert_eq!(room.count("SELECT count(*) FROM leads").await, 0);
}

#[tokio::test]
async fn the_inbound_list_is_tenant_scoped_and_only_super_admin_sees_unroutable_mail() {
    let room = Mailroom::new().await;
    let w = &room.world;
    room.deliver(
        "leads+alpha@in.rylie.test",
        &text_mail("l@p.example", "leads+alpha@in.rylie.test", &adf("L-1")),
    )
    .await;
    room.deliver(
        "leads+nobody@in.rylie.test",
        &text_mail("l@p.example", "leads+nobody@in.rylie.test", &adf("L-2")),
    )
    .await;
    let access = Access::Caller {
        resource: "inbound-emails",
        action: Action::Read,
    };
    let list = async |dealer: i64, user: i64, query: &str| {
        let path = format!("/v1/dealerships/{dealer}/inbound-emails");
        let mut req = request(
            "GET",
            &path,
            &[("dealership_id", dealer.to_string())],
            bearer(w.token(user)),
            None,
        );
        if !query.is_empty() {
            let params: std::collections::HashMap<String, String> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            req = lambda_http::RequestExt::with_query_string_parameters(req, params);
        }
        call(&w.state, access, inbound_emails::list, req).await
    };
    let own = list(w.dealer_a, w.admin_a, "").await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(own.body["data"][0]["status"], "processed");
    let other = list(w.dealer_a, w.admin_b, "").await;
    assert_eq!(other.status, 404, "another dealership's mail is not found");
    let root = list(w.dealer_a, w.super_admin, "status=unroutable").await;
    assert_eq!(root.body["data"].as_array().unwrap().len(), 1, "{:?}", root.body);
    assert!(root.body["data"][0]["dealership_id"].is_null());
    let bad = list(w.dealer_a, w.admin_a, "status=lost").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["details"][0]["field"], "status");
}

#[tokio::test]
async fn a_mail_that_cannot_be_recorded_fails_the_invocation_so_lambda_retries_it() {
    let mut room = Mailroom::new().await;
    room.world.state.db = rylie_store::Db::new(
        rylie_store::ConnectSettings::from_url("postgres://rylie@127.0.0.1:1/rylie?sslmode=disable").unwrap(),
    );
    let event = ses_event("unrecordable", "leads+alpha@in.rylie.test", "PASS");
    let error = inbound::handle(&room.world.state, event).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn a_lead_without_comments_opens_its_conversation_with_a_summary_line() {
    let room = Mailroom::new().await;
    let to = "leads+alpha@in.rylie.test";
    let quiet = adf("Q-1").replace(
        "<comments>Is the Camry still available? I could come Saturday morning.</comments>",
        "",
    );
    room.deliver(to, &text_mail("leads@autotrader.example", to, &quiet))
        .await;
    let owner = support::owner(&room.world.db).await;
    let row = &owner
        .query_typed("SELECT content, sender, message_type FROM messages", &[])
        .await
        .unwrap()[0];
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        (
            format!("New lead from AutoTrader: 2022 Toyota Camry SE (VIN {VIN})"),
            "system".to_owned(),
            "system".to_owned()
        )
    );
}
