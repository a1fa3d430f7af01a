//! Test support: real parts, never mocks.
//!
//! * [`TestDb`]: a fresh PostgreSQL database per test, copied from a template database that
//!   was migrated once (per set of migrations) — tests run in parallel and never see each
//!   other's rows. The server is the one `DATABASE_URL` names: a role that may create roles
//!   and databases. `infra/local/test` starts a private cluster and sets it.
//! * [`moto_config`]: AWS configuration pointing at the moto server the test command starts
//!   (`RYLIE_TEST_MOTO_URL`).

pub mod llm_stub;
pub mod sqs;

use std::sync::atomic::{AtomicU32, Ordering};

use rylie_store::{
    ConnectSettings, Db,
    migrate::{self, MigrationSet, Mode},
};
use sha2::{Digest, Sha256};

/// The role that owns the schema and runs migrations.
pub const OWNER_ROLE: &str = "rylie_owner";
/// The role the application connects as: owns nothing (see infra/migrations).
pub const APP_ROLE: &str = "rylie_app";
/// Password of both test roles on the private, loopback-only test cluster.
const TEST_PASSWORD: &str = "rylie-test";
/// Serialises template creation across test processes (nextest runs one process per test).
const TEMPLATE_LOCK: i64 = 0x0072_7465_7374_706c;

/// The admin connection settings, from `DATABASE_URL`.
pub fn admin_settings() -> ConnectSettings {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: run the tests with infra/local/test, which starts a private PostgreSQL, \
             or point DATABASE_URL at a server where this role may create roles and databases"
        )
    });
    ConnectSettings::from_url(&url).expect("DATABASE_URL parses")
}

/// A database of its own for one test; dropped when the value is.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    admin: ConnectSettings,
}

impl TestDb {
    /// A fresh database with every migration applied.
    pub async fn migrated() -> Self {
        let admin = admin_settings();
        let template = ensure_template(&admin).await;
        Self::create(admin, Some(&template)).await
    }

    /// A fresh, empty database owned by the owner role (migration tests).
    pub async fn empty() -> Self {
        let admin = admin_settings();
        let client = admin.connect().await.expect("connect as admin");
        ensure_roles(&client).await;
        Self::create(admin, None).await
    }

    async fn create(admin: ConnectSettings, template: Option<&str>) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rylie_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let client = admin.connect().await.expect("connect as admin");
        let template = template.map(|t| format!(" TEMPLATE {t}")).unwrap_or_default();
        client
            .batch_execute(&format!("CREATE DATABASE {name}{template} OWNER {OWNER_ROLE}"))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        Self { name, admin }
    }

    /// Settings for the application role (owns nothing) in this database.
    pub fn app_settings(&self) -> ConnectSettings {
        self.admin
            .with_dbname(&self.name)
            .with_user(APP_ROLE, Some(TEST_PASSWORD))
    }

    /// Settings for the owner role (runs migrations) in this database.
    pub fn owner_settings(&self) -> ConnectSettings {
        self.admin
            .with_dbname(&self.name)
            .with_user(OWNER_ROLE, Some(TEST_PASSWORD))
    }

    /// Settings for the admin (superuser) in this database: killing backends, inspecting.
    pub fn admin_settings(&self) -> ConnectSettings {
        self.admin.with_dbname(&self.name)
    }

    /// A `postgres://` URL for the application role, for code that takes configuration.
    pub fn app_url(&self) -> String {
        url_for(&self.app_settings(), APP_ROLE)
    }

    /// A `postgres://` URL for the owner role.
    pub fn owner_url(&self) -> String {
        url_for(&self.owner_settings(), OWNER_ROLE)
    }

    /// The application's database handle, as a function would build it.
    pub fn app_db(&self) -> Db {
        Db::new(self.app_settings())
    }

    pub fn owner_db(&self) -> Db {
        Db::new(self.owner_settings())
    }

    /// The owner, connected in the platform scope (every dealership's rows): test set-up only.
    pub async fn platform_owner(&self) -> tokio_postgres::Client {
        let owner = self.owner_settings().connect().await.expect("connecting as the owner");
        owner
            .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
            .await
            .expect("the platform scope");
        owner
    }
}

/// Adds a dealership named `subdomain` (its subdomain too) and returns its id. `owner` is in the
/// platform scope ([`TestDb::platform_owner`]).
pub async fn add_dealership(owner: &tokio_postgres::Client, subdomain: &str) -> i64 {
    owner
        .query_typed(
            "INSERT INTO dealerships (name, subdomain) VALUES ($1, $1) RETURNING id",
            &[(&subdomain, tokio_postgres::types::Type::TEXT)],
        )
        .await
        .unwrap_or_else(|e| panic!("adding dealership {subdomain}: {e}"))[0]
        .get(0)
}

impl Drop for TestDb {
    // Async work cannot run in Drop on the test's runtime (it may be shutting down): a thread
    // with its own small runtime drops the database, forcing out leftover connections.
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(client) = admin.connect().await {
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

fn url_for(settings: &ConnectSettings, role: &str) -> String {
    // target() is user@host:port/db; the test password is not secret.
    let target = settings.target();
    let (_, rest) = target.split_once('@').expect("target has a user");
    format!("postgres://{role}:{TEST_PASSWORD}@{rest}?sslmode=disable")
}

async fn ensure_roles(client: &tokio_postgres::Client) {
    // Roles are cluster-wide; concurrent test processes may race to create them.
    // One implicit transaction: the transaction-level lock is held until the role changes
    // are committed, so concurrent test processes never update the same role at once.
    let sql = format!(
        "SELECT pg_advisory_xact_lock({TEMPLATE_LOCK});
         DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
             CREATE ROLE {OWNER_ROLE} LOGIN PASSWORD '{TEST_PASSWORD}';
           END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
             CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{TEST_PASSWORD}';
           ELSIF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
             -- A migration run elsewhere on this server created the group role without
             -- LOGIN; the tests connect as it.
             ALTER ROLE {APP_ROLE} LOGIN PASSWORD '{TEST_PASSWORD}';
           END IF;
         END $$;"
    );
    client.batch_execute(&sql).await.expect("creating the test roles");
}

/// Creates (once per set of migrations, across processes) the migrated template database and
/// returns its name.
async fn ensure_template(admin: &ConnectSettings) -> String {
    let migrations = MigrationSet::embedded().expect("embedded migrations parse");
    let mut digest = Sha256::new();
    for migration in migrations.iter() {
        digest.update(migration.checksum.as_bytes());
    }
    let template = format!("rylie_template_{}", &hex::encode(digest.finalize())[..16]);

    let client = admin.connect().await.expect("connect as admin");
    ensure_roles(&client).await;
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await
        .expect("template lock");
    let exists = !client
        .query_typed(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[(&template, tokio_postgres::types::Type::TEXT)],
        )
        .await
        .expect("looking up the template")
        .is_empty();
    if !exists {
        let building = format!("{template}_building");
        for statement in [
            format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            format!("CREATE DATABASE {building} OWNER {OWNER_ROLE}"),
        ] {
            client
                .batch_execute(&statement)
                .await
                .expect("creating the template database");
        }
        {
            let owner = admin.with_dbname(&building).with_user(OWNER_ROLE, Some(TEST_PASSWORD));
            let mut owner_client = owner.connect().await.expect("connect to the template as owner");
            migrate::run(
                &mut owner_client,
                &migrations,
                Mode::Apply,
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap_or_else(|e| panic!("migrating the template database: {e}"));
        }
        // The owner connection's backend may linger a moment after the client is dropped.
        for statement in [
            format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"),
            format!("ALTER DATABASE {building} RENAME TO {template}"),
        ] {
            client
                .batch_execute(&statement)
                .await
                .expect("publishing the template database");
        }
    }
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await
        .expect("template unlock");
    template
}

/// AWS configuration for the moto server started by the test command.
pub async fn moto_config() -> aws_config::SdkConfig {
    let endpoint = std::env::var("RYLIE_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!("RYLIE_TEST_MOTO_URL is not set: run the tests with infra/local/test, which starts moto server")
    });
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::from_keys("testing", "testing", None))
        .load()
        .await
}

/// A name unique to this test process and call, for AWS resources in the shared moto server
/// and folders under the temporary directory. Process ids are recycled: the clock's
/// nanoseconds keep a name from meeting what an earlier run left under the same id.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// What moto server holds, as its `GET /moto-api/data.json` shows it: e.g. the mail moto's SES
/// accepted, under `["ses"]["Message"]` (SendEmail) and `["ses"]["RawMessage"]` (SendRawEmail).
pub fn moto_data() -> serde_json::Value {
    use std::io::{Read, Write};
    let url = std::env::var("RYLIE_TEST_MOTO_URL").expect("RYLIE_TEST_MOTO_URL names moto server");
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("moto server answers");
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is written");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("moto answers in full");
    let response = String::from_utf8(response).expect("moto answers in UTF-8");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("chunked"), "{head}");
    serde_json::from_str(body).expect("moto's data is JSON")
}
