//! Shared by the API tests: a state over a fresh database, fixtures, and a way to call a
//! route in-process with a real API Gateway v2 event.

#![allow(dead_code)]

use std::future::Future;

use lambda_http::{Body, Request, Response};
use rylie_app::{
    Config, State,
    auth::passwords,
    config::LOCAL_DEVELOPMENT_KEYS,
    http::{self, Access, ApiError, Ctx},
};
use rylie_domain::{ApiKey, DealershipId, Role};
use rylie_store::{Client, Type};
use rylie_testkit::TestDb;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct World {
    pub db: TestDb,
    pub state: State,
    pub dealer_a: i64,
    pub dealer_b: i64,
    pub super_admin: i64,
    pub admin_a: i64,
    pub manager_a: i64,
    pub user_a: i64,
    pub admin_b: i64,
    pub persona_a: i64,
    pub persona_b: i64,
}

/// The owner, in the platform scope: test set-up only.
pub async fn owner(db: &TestDb) -> Client {
    db.platform_owner().await
}

async fn id(client: &Client, sql: &str, params: &[(&(dyn rylie_store::ToSql + Sync), Type)]) -> i64 {
    client.query_typed(sql, params).await.unwrap()[0].get(0)
}

impl World {
    pub async fn new() -> Self {
        let db = TestDb::migrated().await;
        let url = db.app_url();
        let data_dir = std::env::temp_dir().join(rylie_testkit::unique_name("rylie-test-data"));
        let config = Config::from_lookup("api-test", |name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "JWT_KEYS" => Some(LOCAL_DEVELOPMENT_KEYS.to_owned()),
            "LOCAL_DATA_DIR" => Some(data_dir.display().to_string()),
            _ => None,
        })
        .unwrap();
        let state = State::new(config, db.app_db()).unwrap();
        let owner = owner(&db).await;
        let hash = passwords::hash(PASSWORD);
        let dealership_sql = "INSERT INTO dealerships (name, subdomain, allowed_origins) VALUES ($1, $1, '{https://www.example.com}') RETURNING id";
        let dealer_a = id(&owner, dealership_sql, &[(&"alpha", Type::TEXT)]).await;
        let dealer_b = id(&owner, dealership_sql, &[(&"bravo", Type::TEXT)]).await;
        let user_sql =
            "INSERT INTO users (email, role, dealership_id, password_hash) VALUES ($1, $2, $3, $4) RETURNING id";
        let mut users = Vec::new();
        for (email, role, dealership) in [
            ("root@rylie.test", "super_admin", None),
            ("admin@alpha.test", "dealership_admin", Some(dealer_a)),
            ("manager@alpha.test", "manager", Some(dealer_a)),
            ("user@alpha.test", "user", Some(dealer_a)),
            ("admin@bravo.test", "dealership_admin", Some(dealer_b)),
        ] {
            let params: [(&(dyn rylie_store::ToSql + Sync), Type); 4] = [
                (&email, Type::TEXT),
                (&role, Type::TEXT),
                (&dealership, Type::INT8),
                (&hash, Type::TEXT),
            ];
            users.push(id(&owner, user_sql, &params).await);
        }
        let persona_sql = "INSERT INTO personas (dealership_id, name, prompt_template, is_default) VALUES ($1, $2, 'Hello', true) RETURNING id";
        let persona_a = id(
            &owner,
            persona_sql,
            &[(&dealer_a, Type::INT8), (&"Alpha Riley", Type::TEXT)],
        )
        .await;
        let persona_b = id(
            &owner,
            persona_sql,
            &[(&dealer_b, Type::INT8), (&"Bravo Riley", Type::TEXT)],
        )
        .await;
        Self {
            db,
            state,
            dealer_a,
            dealer_b,
            super_admin: users[0],
            admin_a: users[1],
            manager_a: users[2],
            user_a: users[3],
            admin_b: users[4],
            persona_a,
            persona_b,
        }
    }

    /// An access token for one of the fixture users, as login would issue it.
    pub fn token(&self, user_id: i64) -> String {
        let (role, dealership) = match user_id {
            id if id == self.super_admin => (Role::SuperAdmin, None),
            id if id == self.admin_a => (Role::DealershipAdmin, Some(self.dealer_a)),
            id if id == self.manager_a => (Role::Manager, Some(self.dealer_a)),
            id if id == self.user_a => (Role::User, Some(self.dealer_a)),
            id if id == self.admin_b => (Role::DealershipAdmin, Some(self.dealer_b)),
            _ => panic!("unknown user {user_id}"),
        };
        let keys = self.state.tokens.as_ref().unwrap();
        keys.issue(
            user_id,
            role,
            dealership.map(DealershipId),
            chrono::Utc::now().timestamp(),
        )
    }

    /// Creates an API key for a dealership with scopes; returns its id and the key to present.
    pub async fn api_key(&self, dealership: i64, scopes: &[&str]) -> (i64, String) {
        let key = ApiKey::generate(&rylie_app::auth::random_bytes::<44>());
        let owner = owner(&self.db).await;
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let (prefix, hash) = (key.prefix().to_owned(), key.hash());
        let key_id = id(
            &owner,
            "INSERT INTO api_keys (dealership_id, name, key_prefix, key_hash, scopes) VALUES ($1, 'test', $2, $3, $4) RETURNING id",
            &[(&dealership, Type::INT8), (&prefix, Type::TEXT), (&hash, Type::TEXT), (&scopes, Type::TEXT_ARRAY)],
        )
        .await;
        (key_id, key.reveal().to_owned())
    }

    /// Runs SQL as the owner in the platform scope (test set-up only).
    pub async fn owner_sql(&self, sql: &str) {
        owner(&self.db).await.batch_execute(sql).await.unwrap();
    }
}

/// A request as API Gateway would deliver it.
pub fn request(
    method: &str,
    path: &str,
    params: &[(&str, String)],
    auth: Option<(&str, String)>,
    body: Option<Value>,
) -> Request {
    let mut event: Value = serde_json::from_str(include_str!("../../../../events/api-health-health.json")).unwrap();
    event["routeKey"] = format!("{method} {path}").into();
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    if !params.is_empty() {
        let map: serde_json::Map<String, Value> = params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        event["pathParameters"] = map.into();
    }
    if let Some((header, value)) = auth {
        event["headers"][header] = value.into();
    }
    if let Some(body) = body {
        event["body"] = body.to_string().into();
        event["headers"]["content-type"] = "application/json".into();
    }
    http::request_from_event(&event.to_string()).unwrap()
}

pub fn bearer(token: String) -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {token}")))
}

/// Calls a route through the whole pipeline; returns status, headers and the JSON body.
pub async fn call<'a, F, Fut>(state: &'a State, access: Access, handler: F, request: Request) -> Answer
where
    F: Fn(Ctx<'a>, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + 'a,
{
    let response = http::handle(state, access, &handler, request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        Body::Empty => Value::Null,
        other => panic!("unexpected body {other:?}"),
    };
    Answer { status, headers, body }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The `.eml` files in the outbox, oldest first.
pub fn outbox(world: &World) -> Vec<String> {
    let dir = world
        .state
        .mailer()
        .outbox_dir()
        .expect("the world mails to the outbox");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect()
}
