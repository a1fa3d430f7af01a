//! `api-health` in-process, with the sample events from events/ and a real PostgreSQL.

use lambda_http::{Body, Response};
use rylie_app::{Config, State, http};
use rylie_store::{ConnectSettings, Db, Type};
use rylie_testkit::TestDb;
use serde_json::Value;

const HEALTH: &str = include_str!("../../../events/api-health-health.json");
const HEALTHZ: &str = include_str!("../../../events/api-health-healthz.json");

fn state(db: Db) -> State {
    let config = Config::from_lookup("api-health", |name| {
        (name == "DATABASE_URL").then(|| "postgres://unused@127.0.0.1/unused".to_owned())
    })
    .unwrap();
    State::new(config, db).unwrap()
}

/// A database handle to a port where nothing listens.
fn unreachable_db() -> Db {
    Db::new(ConnectSettings::from_url("postgres://rylie@127.0.0.1:9/rylie?sslmode=disable").unwrap())
}

async fn call(state: &State, event: &str) -> (u16, Value) {
    let request = http::request_from_event(event).unwrap();
    let response: Response<Body> = http::handle(state, http::Access::Probe, &http::health::handle, request).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

fn with_path(event: &str, method: &str, path: &str) -> String {
    let mut value: Value = serde_json::from_str(event).unwrap();
    value["rawPath"] = path.into();
    value["routeKey"] = format!("{method} {path}").into();
    value["requestContext"]["http"]["path"] = path.into();
    value["requestContext"]["http"]["method"] = method.into();
    value.to_string()
}

#[tokio::test]
async fn health_answers_without_the_database_in_the_envelope() {
    let state = state(unreachable_db());
    let (status, body) = call(&state, HEALTH).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["status"], "ok");
    assert_eq!(body["data"]["function"], "api-health");
    assert_eq!(
        body["meta"]["request_id"], "T3xqKgWuIAMEVdQ=",
        "API Gateway's request id is quoted back"
    );
    assert!(body["meta"]["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn healthz_is_ready_on_a_migrated_database() {
    let test_db = TestDb::migrated().await;
    let state = state(test_db.app_db());
    let (status, body) = call(&state, HEALTHZ).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "ready");
    assert_eq!(
        body["data"]["schema_version"],
        state.migrations.latest_version().unwrap()
    );
}

#[tokio::test]
async fn healthz_answers_503_with_the_reason_when_the_database_is_down() {
    let state = state(unreachable_db());
    let (status, body) = call(&state, HEALTHZ).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("database unreachable"), "{message}");
}

#[tokio::test]
async fn healthz_answers_503_naming_a_pending_migration() {
    let test_db = TestDb::migrated().await;
    let state = state(test_db.app_db());
    let latest = state.migrations.iter().last().unwrap().clone();
    let owner = test_db.owner_settings().connect().await.unwrap();
    owner
        .query_typed(
            "DELETE FROM schema_migrations WHERE version = $1",
            &[(&latest.version, Type::INT8)],
        )
        .await
        .unwrap();

    let (status, body) = call(&state, HEALTHZ).await;
    assert_eq!(status, 503, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 migration(s) pending") && message.contains(&latest.file_name),
        "{message}"
    );
}

#[tokio::test]
async fn healthz_answers_503_when_an_applied_migration_changed() {
    let test_db = TestDb::migrated().await;
    let state = state(test_db.app_db());
    let owner = test_db.owner_settings().connect().await.unwrap();
    owner
        .batch_execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .await
        .unwrap();

    let (status, body) = call(&state, HEALTHZ).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was changed after it was applied"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_get_the_error_envelope() {
    let state = state(unreachable_db());
    let (status, body) = call(&state, &with_path(HEALTH, "GET", "/nope")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, body) = call(&state, &with_path(HEALTH, "POST", "/health")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
}
