//! The state a container builds once at cold start and every invocation shares.

use std::time::Duration;

use rylie_cloud::{BlobStore, Mailer, RateLimiter, Sqs};
use rylie_store::{ConnectSettings, Db, SslMode, migrate::MigrationSet};

use crate::{
    auth::tokens::{TokenError, TokenKeys},
    config::{Config, DatabaseSource, KeysSource},
};

/// How long init waits for the database before leaving the connection to the first request.
const INIT_CONNECT_BUDGET: Duration = Duration::from_secs(2);

/// Shared per-container state.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub db: Db,
    /// The migrations this binary was built with (`/healthz` compares them with the database).
    pub migrations: MigrationSet,
    /// Access-token keys; None in functions that authenticate nobody.
    pub tokens: Option<TokenKeys>,
    pub limiter: RateLimiter,
    /// API key uses not yet written to the database.
    pub key_usage: crate::auth::key_usage::KeyUsage,
    /// Uploaded and received files: S3, or a local folder.
    pub files: BlobStore,
    /// SQS, when any job queue is configured; None: jobs run in-process.
    pub sqs: Option<Sqs>,
    /// Outgoing mail: SES, or `.eml` files in `<LOCAL_DATA_DIR>/outbox` on one machine.
    pub mailer: Mailer,
    /// The assistant's chat model, or the offline responder.
    pub responder: crate::assistant::Responder,
    /// Posts webhook deliveries (its HTTPS client is built on first use).
    pub webhooks: crate::webhooks::Sender,
}

/// Why a container could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("reading the database secret: {0}")]
    Secret(#[from] rylie_cloud::CloudError),
    #[error(transparent)]
    Store(#[from] rylie_store::StoreError),
    #[error("embedded migrations: {0}")]
    Migrations(#[from] rylie_store::migrate::MigrationError),
    #[error("access-token keys: {0}")]
    Tokens(#[from] TokenError),
}

impl State {
    /// Resolves the database settings (reading the secret when there is one), prepares TLS,
    /// and connects if the database answers quickly. Only a configuration that can never work
    /// fails here; an unreachable database does not.
    pub async fn init(config: Config) -> Result<Self, InitError> {
        let needs_aws = matches!(config.database, DatabaseSource::Secret { .. })
            || matches!(config.token_keys, Some(KeysSource::Secret(_)))
            || config.rate_limit_table.is_some()
            || config.files_bucket.is_some()
            || config.has_queue()
            || config.mail_via_ses;
        let aws = if needs_aws {
            Some(rylie_cloud::load_aws_config().await)
        } else {
            None
        };
        let secret = async |arn: &str| {
            rylie_cloud::Secrets::new(aws.as_ref().expect("loaded above"))
                .string(arn)
                .await
        };
        let settings = match &config.database {
            DatabaseSource::Url(url) => ConnectSettings::from_url(url)?,
            DatabaseSource::Secret { arn, host, ssl } => {
                ConnectSettings::from_rds_secret(&secret(arn).await?, host.as_deref(), *ssl)?
            }
        };
        let tokens = match &config.token_keys {
            None => None,
            Some(KeysSource::Inline(json)) => Some(TokenKeys::from_json(json)?),
            Some(KeysSource::Secret(arn)) => Some(TokenKeys::from_json(&secret(arn).await?)?),
        };
        let limiter = RateLimiter::from_config(aws.as_ref(), config.rate_limit_table.clone());
        if settings.ssl() != SslMode::Disable {
            // Loading the root store is the costly part of TLS; do it during init.
            rylie_store::connect::tls_config();
        }
        let files = BlobStore::from_config(
            aws.as_ref(),
            config.files_bucket.clone(),
            config.local_data_dir.join("files"),
        );
        let sqs = match &aws {
            Some(aws) if config.has_queue() => Some(Sqs::new(aws)),
            _ => None,
        };
        let mailer = match &aws {
            // Building the client does no I/O; only the job-email path ever sends with it.
            Some(aws) if config.mail_via_ses => Mailer::ses(aws),
            _ => Mailer::outbox(config.local_data_dir.join("outbox")),
        };
        let state = Self {
            tokens,
            limiter,
            files,
            sqs,
            mailer,
            ..Self::new(config, Db::new(settings))?
        };
        state.db.warm_up(INIT_CONNECT_BUDGET).await;
        Ok(state)
    }

    /// State around an existing database handle (tests, the operator CLI): token keys from
    /// the configuration's inline JSON, rate limits in memory.
    pub fn new(config: Config, db: Db) -> Result<Self, InitError> {
        let tokens = match &config.token_keys {
            Some(KeysSource::Inline(json)) => Some(TokenKeys::from_json(json)?),
            _ => None,
        };
        Ok(Self {
            db,
            migrations: MigrationSet::embedded()?,
            tokens,
            limiter: RateLimiter::from_config(None, None),
            key_usage: Default::default(),
            files: BlobStore::local(config.local_data_dir.join("files")),
            sqs: None,
            mailer: Mailer::outbox(config.local_data_dir.join("outbox")),
            responder: crate::assistant::Responder::from_settings(&config.model),
            webhooks: crate::webhooks::Sender::from_settings(&config.webhooks),
            config,
        })
    }
}
