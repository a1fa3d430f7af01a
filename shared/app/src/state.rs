//! The state a container builds once at cold start and every invocation shares.

use std::time::Duration;

use rylie_store::{ConnectSettings, Db, SslMode, migrate::MigrationSet};

use crate::config::{Config, DatabaseSource};

/// How long init waits for the database before leaving the connection to the first request.
const INIT_CONNECT_BUDGET: Duration = Duration::from_secs(2);

/// Shared per-container state.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub db: Db,
    /// The migrations this binary was built with (`/healthz` compares them with the database).
    pub migrations: MigrationSet,
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
}

impl State {
    /// Resolves the database settings (reading the secret when there is one), prepares TLS,
    /// and connects if the database answers quickly. Only a configuration that can never work
    /// fails here; an unreachable database does not.
    pub async fn init(config: Config) -> Result<Self, InitError> {
        let settings = match &config.database {
            DatabaseSource::Url(url) => ConnectSettings::from_url(url)?,
            DatabaseSource::Secret { arn, host, ssl } => {
                let aws = rylie_cloud::load_aws_config().await;
                let secret = rylie_cloud::Secrets::new(&aws).string(arn).await?;
                ConnectSettings::from_rds_secret(&secret, host.as_deref(), *ssl)?
            }
        };
        if settings.ssl() != SslMode::Disable {
            // Loading the root store is the costly part of TLS; do it during init.
            rylie_store::connect::tls_config();
        }
        let state = Self::new(config, Db::new(settings))?;
        state.db.warm_up(INIT_CONNECT_BUDGET).await;
        Ok(state)
    }

    /// State around an existing database handle (tests, the operator CLI).
    pub fn new(config: Config, db: Db) -> Result<Self, InitError> {
        Ok(Self {
            config,
            db,
            migrations: MigrationSet::embedded()?,
        })
    }
}
