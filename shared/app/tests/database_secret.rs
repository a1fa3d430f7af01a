//! Cold start with credentials from Secrets Manager (moto), the way functions start in AWS.

use rylie_app::{
    Config, State,
    config::{DatabaseSource, LogFormat},
};
use rylie_testkit::{TestDb, moto_config, unique_name};

#[tokio::test]
async fn init_reads_an_rds_format_secret_and_reaches_the_database_through_the_host_override() {
    let test_db = TestDb::migrated().await;
    let app = test_db.app_settings();
    // target() is user@host:port/db
    let target = app.target();
    let (user, rest) = target.split_once('@').unwrap();
    let (host_port, dbname) = rest.split_once('/').unwrap();
    let (_, port) = host_port.rsplit_once(':').unwrap();
    let secret = serde_json::json!({
        "engine": "postgres", "host": "db-instance.invalid", "port": port.parse::<u16>().unwrap(),
        "username": user, "password": "rylie-test", "dbname": dbname,
    });
    let secrets = aws_sdk_secretsmanager::Client::new(&moto_config().await);
    let created = secrets
        .create_secret()
        .name(unique_name("rylie/test/db-app"))
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();

    let config = Config {
        function: "api-health".into(),
        environment: rylie_app::config::Environment::Local,
        log_format: LogFormat::Text,
        database: DatabaseSource::Secret {
            arn: created.arn.unwrap(),
            // The proxy endpoint replaces the instance host named in the secret.
            host: Some("127.0.0.1".into()),
            ssl: rylie_store::SslMode::Disable,
        },
        token_keys: None,
        rate_limit_table: None,
        files_bucket: None,
        inventory_import_queue_url: None,
        email_queue_url: None,
        analysis_queue_url: None,
        report_queue_url: None,
        analysis_idle_minutes: 60,
        job_max_receive_count: 5,
        webhooks: Default::default(),
        email_from: None,
        app_base_url: None,
        mail_via_ses: false,
        inbound_mail_domain: None,
        inbound_mail_prefix: "mail/inbound/".into(),
        model: rylie_app::assistant::model::ModelSettings::from_lookup(|_| None).unwrap(),
        local_data_dir: std::env::temp_dir().join(unique_name("rylie-test-data")),
    };
    let state = State::init(config).await.unwrap();
    let health = rylie_store::health::check(&state.db, &state.migrations).await;
    assert!(
        matches!(health, rylie_store::health::DatabaseHealth::Ready { .. }),
        "{health:?}"
    );
}

#[tokio::test]
async fn a_missing_secret_fails_init_naming_the_secret() {
    let _moto = moto_config().await; // the test command points AWS_ENDPOINT_URL at moto
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rylie/nope-AbCdEf";
    let config = Config {
        function: "api-health".into(),
        environment: rylie_app::config::Environment::Local,
        log_format: LogFormat::Text,
        database: DatabaseSource::Secret {
            arn: arn.into(),
            host: None,
            ssl: rylie_store::SslMode::Require,
        },
        token_keys: None,
        rate_limit_table: None,
        files_bucket: None,
        inventory_import_queue_url: None,
        email_queue_url: None,
        analysis_queue_url: None,
        report_queue_url: None,
        analysis_idle_minutes: 60,
        job_max_receive_count: 5,
        webhooks: Default::default(),
        email_from: None,
        app_base_url: None,
        mail_via_ses: false,
        inbound_mail_domain: None,
        inbound_mail_prefix: "mail/inbound/".into(),
        model: rylie_app::assistant::model::ModelSettings::from_lookup(|_| None).unwrap(),
        local_data_dir: std::env::temp_dir().join(unique_name("rylie-test-data")),
    };
    let error = State::init(config).await.unwrap_err().to_string();
    assert!(error.contains(arn), "{error}");
}
