//! Outbound webhooks end to end, against a real https receiver on 127.0.0.1 (a test CA's
//! certificate, trusted only through the local-only settings), real PostgreSQL and moto SQS:
//! the CRUD routes and their checks (validation, tenant isolation, the secret shown once, the
//! SSRF refusals of the production policy), signed delivery (checked with an HMAC computed
//! independently here), the retry schedule, abandonment after 24 hours, disabling after a day
//! of failures and re-enabling, and the queue path: dispatcher → SQS → worker, where a
//! redelivered message posts nothing twice and an unusable one is recorded.

mod support;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use rylie_app::{
    routes::{registry::access_of, webhooks as routes},
    webhooks::{Sender, dispatch, job},
};
use rylie_domain::{DealershipId, webhook::AddressPolicy};
use rylie_store::{Scope, Type, scope};
use rylie_testkit::{moto_config, sqs::MotoQueue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{Answer, World, bearer, call, request};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

// ------------------------------------------------------------------ the receiver

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhook-tls")
        .join(name)
}

#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// An https server on 127.0.0.1 answering each request with the next scripted (status, body),
/// then with `fallback`; it keeps what it received.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    replies: Arc<Mutex<VecDeque<(u16, String)>>>,
    fallback: Arc<Mutex<(u16, String)>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    async fn start() -> Self {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("receiver.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(fixture("receiver.key")).unwrap();
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certificates, key)
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::new()));
        let fallback = Arc::new(Mutex::new((200, "ok".to_owned())));
        let (r, q, f) = (received.clone(), replies.clone(), fallback.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, r, q, f) = (acceptor.clone(), r.clone(), q.clone(), f.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Some(request) = read_request(&mut tls).await else {
                        return;
                    };
                    r.lock().unwrap().push(request);
                    let (status, body) = q
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or_else(|| f.lock().unwrap().clone());
                    let answer = format!(
                        "HTTP/1.1 {status} Scripted\r\nContent-Type: text/plain\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            address,
            received,
            replies,
            fallback,
            server,
        }
    }

    fn url(&self) -> String {
        format!("https://{}/hooks/rylie", self.address)
    }

    fn answer_next(&self, status: u16, body: &str) {
        self.replies.lock().unwrap().push_back((status, body.to_owned()));
    }

    fn answer_always(&self, status: u16, body: &str) {
        *self.fallback.lock().unwrap() = (status, body.to_owned());
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: buffer[head_end..].to_vec(),
    })
}

// ------------------------------------------------------------------ helpers

/// A world whose deliveries may go to the loopback receiver (the local-only settings).
async fn local_world() -> World {
    let mut world = World::new().await;
    world.state.config.webhooks.address_policy = AddressPolicy::AllowPrivate;
    world.state.config.webhooks.extra_root_ca_file = Some(fixture("ca.pem"));
    world.state.webhooks = Sender::from_settings(&world.state.config.webhooks);
    world
}

fn webhooks_path(dealership: i64) -> String {
    format!("/v1/dealerships/{dealership}/webhooks")
}

async fn create(world: &World, user: i64, dealership: i64, body: Value) -> Answer {
    call(
        &world.state,
        access_of("api-webhooks-create"),
        routes::create,
        request(
            "POST",
            &webhooks_path(dealership),
            &[("dealership_id", dealership.to_string())],
            bearer(world.token(user)),
            Some(body),
        ),
    )
    .await
}

/// Creates an endpoint for dealer A subscribed to every event; returns (id, secret).
async fn subscribe(world: &World, url: &str) -> (i64, String) {
    let answer = create(
        world,
        world.admin_a,
        world.dealer_a,
        json!({ "url": url, "events": rylie_domain::webhook::EVENT_TYPES }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    (
        answer.body["data"]["id"].as_i64().unwrap(),
        answer.body["data"]["secret"].as_str().unwrap().to_owned(),
    )
}

/// Calls one of the routes on an endpoint, with the method and path of the route table.
async fn on_webhook(
    world: &World,
    function: &'static str,
    user: i64,
    dealership: i64,
    id: i64,
    body: Option<Value>,
) -> Answer {
    let route = rylie_app::routes::registry::routes()
        .iter()
        .find(|route| route.function == function)
        .unwrap();
    let path = route
        .path
        .replace("{dealership_id}", &dealership.to_string())
        .replace("{webhook_id}", &id.to_string());
    let params = [
        ("dealership_id", dealership.to_string()),
        ("webhook_id", id.to_string()),
    ];
    let request = request(route.method, &path, &params, bearer(world.token(user)), body);
    let access = access_of(function);
    match function {
        "api-webhooks-get" => call(&world.state, access, routes::get, request).await,
        "api-webhooks-update" => call(&world.state, access, routes::update, request).await,
        "api-webhooks-delete" => call(&world.state, access, routes::delete, request).await,
        "api-webhooks-deliveries" => call(&world.state, access, routes::deliveries, request).await,
        "api-webhooks-rotate-secret" => call(&world.state, access, routes::rotate_secret, request).await,
        other => panic!("no route {other}"),
    }
}

/// Emits an event the way a change does: in a tenant transaction, through the outbox.
async fn emit(world: &World, dealership: i64, event_type: &'static str, data: Value) -> u64 {
    let mut client = world.state.db.client().await.unwrap();
    let tx = scope::begin(&mut client, Scope::Tenant(DealershipId(dealership)))
        .await
        .unwrap();
    let queued = rylie_store::events::emit(&tx, DealershipId(dealership), event_type, &data)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    queued
}

/// The delivery log of an endpoint, oldest first: (attempt, status, response_status, error).
async fn attempts(world: &World, webhook: i64) -> Vec<(i32, String, Option<i32>, Option<String>)> {
    support::owner(&world.db)
        .await
        .query_typed(
            "SELECT attempt, status, response_status, error FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id",
            &[(&webhook, Type::INT8)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// HMAC-SHA256 written out from RFC 2104 over sha2, independent of the hmac crate the code
/// signs with.
fn independent_hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::digest([pad(0x36), message.to_vec()].concat());
    hex::encode(Sha256::digest([pad(0x5c), inner.to_vec()].concat()))
}

/// Checks a received delivery the way a receiver would; returns the parsed body.
fn verify_as_a_receiver(received: &Received, secret: &str) -> Value {
    let header = &received.headers["rylie-signature"];
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {header:?}"));
    let timestamp: i64 = t.parse().unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - timestamp).abs() < 300,
        "within the replay window"
    );
    let signed = [t.as_bytes(), b".", &received.body].concat();
    assert_eq!(v1, independent_hmac_sha256(secret.as_bytes(), &signed), "signature");
    serde_json::from_slice(&received.body).unwrap()
}

// ------------------------------------------------------------------ CRUD and checks

#[tokio::test]
async fn endpoints_are_created_read_changed_and_deleted_within_their_dealership_only() {
    let world = local_world().await;
    let answer = create(
        &world,
        world.admin_a,
        world.dealer_a,
        // An address literal: nothing to resolve on a machine without DNS.
        json!({ "url": "https://127.0.0.1:9/rylie", "events": ["lead.created", "inventory.updated", "lead.created"],
                "description": "CRM" }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let data = &answer.body["data"];
    let id = data["id"].as_i64().unwrap();
    assert_eq!(data["events"], json!(["inventory.updated", "lead.created"]));
    assert_eq!(data["is_active"], true);
    let secret = data["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");

    let read = on_webhook(&world, "api-webhooks-get", world.manager_a, world.dealer_a, id, None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["data"]["url"], "https://127.0.0.1:9/rylie");
    assert!(read.body["data"].get("secret").is_none(), "the secret is shown once");
    let list = call(
        &world.state,
        access_of("api-webhooks-list"),
        routes::list,
        request(
            "GET",
            &webhooks_path(world.dealer_a),
            &[("dealership_id", world.dealer_a.to_string())],
            bearer(world.token(world.admin_a)),
            None,
        ),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert!(!list.body.to_string().contains(secret), "no secret in the list");
    let audit = support::owner(&world.db)
        .await
        .query_typed(
            "SELECT new_values::text FROM audit_logs WHERE action = 'webhook.create'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        !audit[0].get::<_, String>(0).contains("whsec_"),
        "no secret in the audit log"
    );

    let changed = on_webhook(
        &world,
        "api-webhooks-update",
        world.admin_a,
        world.dealer_a,
        id,
        Some(json!({ "description": "CRM (prod)", "events": ["conversation.escalated"] })),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["data"]["description"], "CRM (prod)");
    assert_eq!(changed.body["data"]["url"], "https://127.0.0.1:9/rylie");

    let rotated = on_webhook(
        &world,
        "api-webhooks-rotate-secret",
        world.admin_a,
        world.dealer_a,
        id,
        None,
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.body["data"]["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    // Another dealership's id does not exist for its admin, whatever the route.
    for (function, body) in [
        ("api-webhooks-get", None),
        ("api-webhooks-update", Some(json!({ "is_active": false }))),
        ("api-webhooks-delete", None),
        ("api-webhooks-deliveries", None),
        ("api-webhooks-rotate-secret", None),
    ] {
        let own_path = on_webhook(&world, function, world.admin_b, world.dealer_b, id, body.clone()).await;
        assert_eq!(own_path.status, 404, "{function} in B's path: {}", own_path.body);
        let their_path = on_webhook(&world, function, world.admin_b, world.dealer_a, id, body).await;
        assert_eq!(their_path.status, 404, "{function} in A's path: {}", their_path.body);
    }
    // A manager reads but does not configure where the dealership's data goes.
    let refused = create(
        &world,
        world.manager_a,
        world.dealer_a,
        json!({ "url": "https://hooks.example.com/x", "events": ["lead.created"] }),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let deleted = on_webhook(&world, "api-webhooks-delete", world.admin_a, world.dealer_a, id, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let gone = on_webhook(&world, "api-webhooks-get", world.admin_a, world.dealer_a, id, None).await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn a_bad_body_is_refused_field_by_field() {
    let world = local_world().await;
    let answer = create(
        &world,
        world.admin_a,
        world.dealer_a,
        json!({ "events": ["lead.created", "user.activity"], "colour": "red" }),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let details = answer.body["error"]["details"].to_string();
    for expected in ["\"url\"", "REQUIRED", "user.activity", "colour", "UNKNOWN_FIELD"] {
        assert!(details.contains(expected), "{expected} in {details}");
    }
    let no_events = create(
        &world,
        world.admin_a,
        world.dealer_a,
        json!({ "url": "https://hooks.example.com/x" }),
    )
    .await;
    assert_eq!(no_events.status, 400);
    assert!(no_events.body["error"]["details"].to_string().contains("events"));
    let empty = create(
        &world,
        world.admin_a,
        world.dealer_a,
        json!({ "url": "https://hooks.example.com/x", "events": [] }),
    )
    .await;
    assert_eq!(empty.status, 400, "{}", empty.body);
}

#[tokio::test]
async fn the_production_policy_refuses_every_private_or_local_target() {
    let world = World::new().await; // the default: public addresses only
    assert_eq!(world.state.webhooks.policy(), AddressPolicy::PublicOnly);
    let refused = [
        "https://127.0.0.1/hook",
        "https://127.1.2.3:8443/hook",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://10.0.0.8/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://0x7f.1/hook",
        "https://2130706433/hook",
        "https://intranet/hook",
        "http://hooks.example.com/hook",
        "https://user:secret@hooks.example.com/hook",
    ];
    for url in refused {
        let answer = create(
            &world,
            world.admin_a,
            world.dealer_a,
            json!({ "url": url, "events": ["lead.created"] }),
        )
        .await;
        assert_eq!(answer.status, 400, "{url}: {}", answer.body);
        assert_eq!(
            answer.body["error"]["details"][0]["field"], "url",
            "{url}: {}",
            answer.body
        );
    }
    let rows = support::owner(&world.db)
        .await
        .query_typed("SELECT count(*) FROM webhooks", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 0);
}

#[tokio::test]
async fn a_stored_loopback_url_is_refused_again_at_delivery_under_the_production_policy() {
    let receiver = Receiver::start().await;
    let world = World::new().await; // public addresses only
    // As if saved under another policy, or rebound since: the row itself says loopback.
    world
        .owner_sql(&format!(
            "INSERT INTO webhooks (dealership_id, url, secret, events)
             VALUES ({}, '{}', 'whsec_x', '{{lead.created}}')",
            world.dealer_a,
            receiver.url()
        ))
        .await;
    assert_eq!(
        emit(&world, world.dealer_a, "lead.created", json!({ "lead_id": 1 })).await,
        1
    );
    dispatch::run(&world.state).await.unwrap();
    assert!(receiver.received().is_empty(), "nothing was posted");
    let rows = support::owner(&world.db)
        .await
        .query_typed("SELECT status, error FROM webhook_deliveries ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "failed");
    let error: String = rows[0].get(1);
    assert!(error.contains("not a public address"), "{error}");
}

// ------------------------------------------------------------------ delivery

#[tokio::test]
async fn an_event_is_posted_signed_and_logged() {
    let receiver = Receiver::start().await;
    receiver.answer_next(200, "thanks\r\n\x1b[0m");
    let world = local_world().await;
    let (webhook, secret) = subscribe(&world, &receiver.url()).await;
    let data = json!({ "conversation_id": 42, "reason": "asked for a person" });
    assert_eq!(
        emit(&world, world.dealer_a, "conversation.escalated", data.clone()).await,
        1
    );
    // Another dealership's event never reaches this endpoint.
    assert_eq!(
        emit(&world, world.dealer_b, "conversation.escalated", json!({})).await,
        0
    );

    let dispatched = dispatch::run(&world.state).await.unwrap();
    assert_eq!(dispatched.queued, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let body = verify_as_a_receiver(&received[0], &secret);
    assert_eq!(body["type"], "conversation.escalated");
    assert_eq!(body["dealership_id"], world.dealer_a);
    assert_eq!(body["data"], data);
    assert!(body["created_at"].is_string());
    assert_eq!(received[0].headers["rylie-event-id"], body["id"].as_str().unwrap());
    assert_eq!(received[0].headers["content-type"], "application/json");

    let log = on_webhook(
        &world,
        "api-webhooks-deliveries",
        world.admin_a,
        world.dealer_a,
        webhook,
        None,
    )
    .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entry = &log.body["data"][0];
    assert_eq!(entry["status"], "succeeded");
    assert_eq!(entry["response_status"], 200);
    assert_eq!(
        entry["response_excerpt"], "thanks   [0m",
        "control characters are blanked"
    );
    assert!(entry["latency_ms"].as_i64().unwrap() >= 0);
    assert_eq!(entry["event_id"], body["id"]);

    // Nothing is due any more.
    assert_eq!(dispatch::run(&world.state).await.unwrap().queued, 0);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_failed_attempt_is_retried_with_backoff_and_a_success_clears_the_failures() {
    let receiver = Receiver::start().await;
    receiver.answer_next(500, "database on fire");
    let world = local_world().await;
    let (webhook, secret) = subscribe(&world, &receiver.url()).await;
    emit(&world, world.dealer_a, "lead.created", json!({ "lead_id": 7 })).await;
    dispatch::run(&world.state).await.unwrap();

    let log = attempts(&world, webhook).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].0, log[0].1.as_str(), log[0].2), (1, "failed", Some(500)));
    assert!(log[0].3.as_deref().unwrap().contains("500"), "{log:?}");
    assert_eq!((log[1].0, log[1].1.as_str()), (2, "pending"));
    let owner = support::owner(&world.db).await;
    let row = &owner
        .query_typed(
            "SELECT extract(epoch FROM d.next_attempt_at - now())::float8, w.consecutive_failures,
                    w.failing_since IS NOT NULL,
                    (SELECT response_excerpt FROM webhook_deliveries WHERE attempt = 1 AND webhook_id = $1)
               FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
              WHERE d.webhook_id = $1 AND d.attempt = 2",
            &[(&webhook, Type::INT8)],
        )
        .await
        .unwrap()[0];
    let wait: f64 = row.get(0);
    assert!(
        (40.0..=75.0).contains(&wait),
        "the first retry waits about a minute: {wait}"
    );
    assert_eq!(row.get::<_, i32>(1), 1);
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, String>(3), "database on fire");

    // Not due yet: nothing is posted.
    dispatch::run(&world.state).await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    // Due: the retry carries the same event, and succeeds.
    owner
        .batch_execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'")
        .await
        .unwrap();
    dispatch::run(&world.state).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    let (first, second) = (
        verify_as_a_receiver(&received[0], &secret),
        verify_as_a_receiver(&received[1], &secret),
    );
    assert_eq!(first["id"], second["id"], "one event, two attempts");
    let log = attempts(&world, webhook).await;
    assert_eq!(log[1].1, "succeeded");
    let row = &owner
        .query_typed(
            "SELECT consecutive_failures, failing_since IS NULL FROM webhooks WHERE id = $1",
            &[(&webhook, Type::INT8)],
        )
        .await
        .unwrap()[0];
    assert_eq!((row.get::<_, i32>(0), row.get::<_, bool>(1)), (0, true));
}

#[tokio::test]
async fn an_event_is_abandoned_when_its_day_of_retries_is_over() {
    let receiver = Receiver::start().await;
    receiver.answer_always(503, "maintenance");
    let world = local_world().await;
    let (webhook, _) = subscribe(&world, &receiver.url()).await;
    emit(&world, world.dealer_a, "inventory.updated", json!({ "import_id": 3 })).await;
    world
        .owner_sql("UPDATE webhook_deliveries SET event_created_at = now() - interval '25 hours'")
        .await;
    dispatch::run(&world.state).await.unwrap();
    let log = attempts(&world, webhook).await;
    assert_eq!(log.len(), 1, "no further attempt: {log:?}");
    assert_eq!(log[0].1, "abandoned");
    assert!(log[0].3.as_deref().unwrap().contains("24 hours"), "{log:?}");
}

#[tokio::test]
async fn an_endpoint_failing_for_a_day_is_disabled_and_re_enabled_by_a_call() {
    let receiver = Receiver::start().await;
    receiver.answer_always(500, "still broken");
    let mut world = local_world().await;
    world.state.config.email_from = Some("Rylie <noreply@rylie.test>".to_owned());
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET contact_email = 'it@alpha.test' WHERE id = {}",
            world.dealer_a
        ))
        .await;
    let (webhook, secret) = subscribe(&world, &receiver.url()).await;
    world
        .owner_sql(&format!(
            "UPDATE webhooks SET consecutive_failures = 30, failing_since = now() - interval '25 hours'
              WHERE id = {webhook}"
        ))
        .await;
    emit(&world, world.dealer_a, "message.received", json!({ "message_id": 1 })).await;
    emit(&world, world.dealer_a, "message.sent", json!({ "message_id": 2 })).await;
    dispatch::run(&world.state).await.unwrap();
    assert_eq!(
        receiver.received().len(),
        1,
        "the second event is not posted once the endpoint is disabled"
    );
    let log = attempts(&world, webhook).await;
    assert!(log.iter().all(|(_, status, ..)| status == "abandoned"), "{log:?}");
    // The dealership's contact is told, once.
    let mails = support::outbox(&world);
    assert_eq!(mails.len(), 1, "one alert");
    assert!(mails[0].contains("To: it@alpha.test"), "{}", mails[0]);
    let text = rylie_cloud::mail::decode_quoted_printable(&mails[0]);
    assert!(text.contains(&format!("Webhook endpoint {webhook} disabled")), "{text}");
    assert!(text.contains("still broken") || text.contains("500"), "{text}");

    let read = on_webhook(&world, "api-webhooks-get", world.admin_a, world.dealer_a, webhook, None).await;
    let data = &read.body["data"];
    assert_eq!(data["is_active"], false);
    assert!(
        data["disabled_reason"].as_str().unwrap().contains("31 failed attempts"),
        "{data}"
    );
    assert_eq!(
        emit(&world, world.dealer_a, "lead.updated", json!({})).await,
        0,
        "a disabled endpoint gets nothing"
    );

    let enabled = on_webhook(
        &world,
        "api-webhooks-update",
        world.admin_a,
        world.dealer_a,
        webhook,
        Some(json!({ "is_active": true })),
    )
    .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let data = &enabled.body["data"];
    assert_eq!(data["is_active"], true);
    assert_eq!(data["consecutive_failures"], 0);
    assert!(data["failing_since"].is_null() && data["disabled_at"].is_null() && data["disabled_reason"].is_null());

    receiver.answer_always(200, "back");
    assert_eq!(
        emit(&world, world.dealer_a, "lead.updated", json!({ "lead_id": 5 })).await,
        1
    );
    dispatch::run(&world.state).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(verify_as_a_receiver(&received[1], &secret)["type"], "lead.updated");
}

// ------------------------------------------------------------------ the queue

async fn queued_world() -> (World, MotoQueue) {
    let queue = MotoQueue::create("rylie-webhook").await;
    let mut world = local_world().await;
    world.state.sqs = Some(rylie_cloud::Sqs::new(&moto_config().await)).into();
    world.state.config.webhooks.queue_url = Some(queue.url.clone());
    (world, queue)
}

#[tokio::test]
async fn an_inventory_update_travels_dispatcher_queue_worker_and_a_redelivery_posts_nothing_twice() {
    let receiver = Receiver::start().await;
    let (world, queue) = queued_world().await;
    let (webhook, secret) = subscribe(&world, &receiver.url()).await;
    emit(
        &world,
        world.dealer_a,
        "inventory.updated",
        json!({ "import_id": 9, "added": 2 }),
    )
    .await;

    let dispatched = dispatch::run(&world.state).await.unwrap();
    assert_eq!(dispatched.queued, 1);
    assert!(receiver.received().is_empty(), "the dispatcher only queues");
    // Queued once: the next run does not queue it again while it waits.
    assert_eq!(dispatch::run(&world.state).await.unwrap().queued, 0);

    let event = queue.receive().await;
    assert_eq!(event.records.len(), 1);
    let message: Value = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(message["type"], "webhook.delivery");
    assert_eq!(message["dealership_id"], world.dealer_a);
    let response = job::handle(&world.state, event.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let body = verify_as_a_receiver(&received[0], &secret);
    assert_eq!(
        (body["type"].as_str(), &body["data"]["added"]),
        (Some("inventory.updated"), &json!(2))
    );

    // SQS hands the same message over again: acknowledged, nothing posted.
    let response = job::handle(&world.state, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(attempts(&world, webhook).await.len(), 1);
}

#[tokio::test]
async fn an_unusable_message_is_recorded_and_acknowledged() {
    let world = local_world().await;
    let mut event = SqsEvent::default();
    for (id, body) in [
        ("m-1", "not json at all".to_owned()),
        (
            "m-2",
            json!({ "type": "webhook.delivery", "version": 9, "dealership_id": world.dealer_a,
                    "idempotency_key": "webhook.delivery:1", "payload": { "delivery_id": 1 } })
            .to_string(),
        ),
        (
            "m-3",
            json!({ "type": "webhook.delivery", "version": 1, "dealership_id": world.dealer_a,
                    "idempotency_key": "webhook.delivery:x", "payload": { "delivery": "x" } })
            .to_string(),
        ),
    ] {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        record.body = Some(body);
        event.records.push(record);
    }
    let response = job::handle(&world.state, event).await;
    assert!(response.batch_item_failures.is_empty(), "none of them can ever succeed");
    let rows = support::owner(&world.db)
        .await
        .query_typed("SELECT job_type, error FROM job_failures ORDER BY id", &[])
        .await
        .unwrap();
    let failures: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert_eq!(failures[0].0, "webhook (unparsable)");
    assert!(failures[1].1.contains("version 9"), "{failures:?}");
    assert!(failures[2].1.contains("payload"), "{failures:?}");

    // A message for an attempt that does not exist (its endpoint was deleted) is done with.
    let message = job::message(DealershipId(world.dealer_a), 999_999);
    let outcome = job::run(&world.state, &message, None).await.unwrap();
    assert_eq!(outcome, job::Outcome::Gone);
}
