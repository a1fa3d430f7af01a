//! The state a container builds once at cold start and every invocation shares.
//!
//! Why the clients are built on first use: a function carries only the code it can reach (fat
//! LTO drops the rest), and a client built at cold start is reachable from every function. Built
//! in `init`, the S3, DynamoDB, SQS and SES clients and the chat model's HTTPS client were in all
//! of them, and four functions had grown past the 8 MB a function may weigh. Building a client
//! is cheap and does no I/O; loading the AWS configuration is not, so `init` still does that,
//! once, when any AWS service is configured.

use std::sync::OnceLock;
use std::time::Duration;

use rylie_cloud::{BlobStore, Mailer, RateLimiter, SdkConfig, Sqs};
use rylie_store::{ConnectSettings, Db, SslMode, migrate::MigrationSet};

use crate::{
    auth::tokens::{TokenError, TokenKeys},
    config::{Config, DatabaseSource, KeysSource},
};

/// How long init waits for the database before leaving the connection to the first request.
const INIT_CONNECT_BUDGET: Duration = Duration::from_secs(2);

/// Shared per-container state.
///
/// The client fields are read through the methods of the same name, which build the client
/// from the configuration the first time. A test or a bench that wants another client sets the
/// field (`state.sqs = Some(Sqs::new(&aws)).into()`) before the first read.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub db: Db,
    /// The migrations this binary was built with (`/healthz` compares them with the database).
    pub migrations: MigrationSet,
    /// Access-token keys; None in functions that authenticate nobody.
    pub tokens: Option<TokenKeys>,
    /// The AWS configuration, loaded in `init` when any AWS service is configured.
    aws: Option<SdkConfig>,
    /// Requests per subject and hour: DynamoDB, or in memory.
    pub limiter: OnceLock<RateLimiter>,
    /// API key uses not yet written to the database.
    pub key_usage: crate::auth::key_usage::KeyUsage,
    /// Uploaded and received files: S3, or a local folder.
    pub files: OnceLock<BlobStore>,
    /// SQS, when any job queue is configured; None: no queue (see `jobs::submit`).
    pub sqs: OnceLock<Option<Sqs>>,
    /// Outgoing mail: SES, or `.eml` files in `<LOCAL_DATA_DIR>/outbox` on one machine.
    pub mailer: OnceLock<Mailer>,
    /// The assistant's chat model, or the offline responder.
    pub responder: OnceLock<crate::assistant::Responder>,
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
        if settings.ssl() != SslMode::Disable {
            // Loading the root store is the costly part of TLS; do it during init.
            rylie_store::connect::tls_config();
        }
        let state = Self {
            tokens,
            aws,
            ..Self::new(config, Db::new(settings))?
        };
        state.db.warm_up(INIT_CONNECT_BUDGET).await;
        Ok(state)
    }

    /// State around an existing database handle (tests, the operator CLI): token keys from
    /// the configuration's inline JSON, and no AWS configuration, so every client is its
    /// embedded stand-in unless a field is set.
    pub fn new(config: Config, db: Db) -> Result<Self, InitError> {
        let tokens = match &config.token_keys {
            Some(KeysSource::Inline(json)) => Some(TokenKeys::from_json(json)?),
            _ => None,
        };
        Ok(Self {
            db,
            migrations: MigrationSet::embedded()?,
            tokens,
            aws: None,
            limiter: OnceLock::new(),
            key_usage: Default::default(),
            files: OnceLock::new(),
            sqs: OnceLock::new(),
            mailer: OnceLock::new(),
            responder: OnceLock::new(),
            webhooks: crate::webhooks::Sender::from_settings(&config.webhooks),
            config,
        })
    }

    /// The rate limiter: DynamoDB when a table is configured, else in memory.
    pub fn limiter(&self) -> &RateLimiter {
        self.limiter
            .get_or_init(|| RateLimiter::from_config(self.aws.as_ref(), self.config.rate_limit_table.clone()))
    }

    /// Uploaded and received files: S3 when a bucket is configured, else `<LOCAL_DATA_DIR>/files`.
    pub fn files(&self) -> &BlobStore {
        self.files.get_or_init(|| {
            BlobStore::from_config(
                self.aws.as_ref(),
                self.config.files_bucket.clone(),
                self.config.local_data_dir.join("files"),
            )
        })
    }

    /// SQS when any job queue is configured. `None`: a submitted job runs in-process where
    /// the build has `in-process-jobs`, and is refused where it has not (`jobs::submit`).
    pub fn sqs(&self) -> Option<&Sqs> {
        self.sqs
            .get_or_init(|| match &self.aws {
                Some(aws) if self.config.has_queue() => Some(Sqs::new(aws)),
                _ => None,
            })
            .as_ref()
    }

    /// Outgoing mail: SES when configured, else `.eml` files in `<LOCAL_DATA_DIR>/outbox`.
    pub fn mailer(&self) -> &Mailer {
        self.mailer.get_or_init(|| match &self.aws {
            Some(aws) if self.config.mail_via_ses => Mailer::ses(aws),
            _ => Mailer::outbox(self.config.local_data_dir.join("outbox")),
        })
    }

    /// The assistant's chat model when one is configured, else the offline responder.
    pub fn responder(&self) -> &crate::assistant::Responder {
        self.responder
            .get_or_init(|| crate::assistant::Responder::from_settings(&self.config.model))
    }
}
