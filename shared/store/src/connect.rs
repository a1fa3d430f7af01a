//! Connection settings: from a `postgres://` URL or from a Secrets Manager secret in the RDS
//! format, and the TLS that goes with them.
//!
//! TLS is rustls with the Mozilla root store (webpki-roots). RDS Proxy presents certificates
//! issued by AWS Certificate Manager, which chain to Amazon's public roots, so no RDS CA
//! bundle has to be shipped. Unlike libpq, `sslmode=require` also verifies the certificate
//! and host name here: encryption to an unverified peer protects against nothing we worry
//! about, and there is no case in our deployment where verification cannot succeed.

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use serde::Deserialize;
use tokio_postgres::config::SslMode as PgSslMode;

use crate::StoreError;

/// Whether the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP or a Unix socket: local development and tests.
    Disable,
    /// TLS when the server offers it, plain otherwise.
    Prefer,
    /// TLS with a verified certificate, or no connection.
    Require,
}

impl FromStr for SslMode {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "disable" => Ok(SslMode::Disable),
            "allow" | "prefer" => Ok(SslMode::Prefer),
            "require" | "verify-ca" | "verify-full" => Ok(SslMode::Require),
            other => Err(StoreError::Settings(format!(
                "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))),
        }
    }
}

/// Everything needed to open a connection. Built once per container.
#[derive(Clone)]
pub struct ConnectSettings {
    config: tokio_postgres::Config,
    ssl: SslMode,
}

impl fmt::Debug for ConnectSettings {
    // The password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectSettings")
            .field("target", &self.target())
            .field("ssl", &self.ssl)
            .finish()
    }
}

/// A Secrets Manager secret as RDS and RDS Proxy write it.
#[derive(Deserialize)]
struct RdsSecret {
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    username: String,
    password: String,
    #[serde(default = "default_dbname")]
    dbname: String,
}

fn default_port() -> u16 {
    5432
}

fn default_dbname() -> String {
    "rylie".to_owned()
}

impl ConnectSettings {
    /// Parses a `postgres://` URL (or key=value string). libpq's `sslmode` values are all
    /// accepted; see the module docs for what `require` means here.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let (rest, ssl) = take_sslmode(url)?;
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| StoreError::Settings(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}")))?;
        let ssl = ssl.unwrap_or(SslMode::Prefer);
        config.ssl_mode(pg_ssl_mode(ssl));
        Ok(Self::finish(config, ssl))
    }

    /// Builds settings from an RDS-format secret (JSON with host, port, username, password,
    /// dbname). `host_override` replaces the secret's host: the RDS Proxy endpoint.
    pub fn from_rds_secret(secret_json: &str, host_override: Option<&str>, ssl: SslMode) -> Result<Self, StoreError> {
        let secret: RdsSecret = serde_json::from_str(secret_json).map_err(|e| {
            StoreError::Settings(format!(
                "the database secret is not in the RDS format (host, port, username, password, dbname): {e}"
            ))
        })?;
        let mut config = tokio_postgres::Config::new();
        config
            .host(host_override.unwrap_or(&secret.host))
            .port(secret.port)
            .user(&secret.username)
            .password(&secret.password)
            .dbname(&secret.dbname)
            .ssl_mode(pg_ssl_mode(ssl));
        Ok(Self::finish(config, ssl))
    }

    fn finish(mut config: tokio_postgres::Config, ssl: SslMode) -> Self {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("rylie");
        Self { config, ssl }
    }

    /// The same server and credentials, another database (tests, `seed-demo`).
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut copy = self.clone();
        copy.config.dbname(dbname);
        copy
    }

    /// The same server, another user and password.
    pub fn with_user(&self, user: &str, password: Option<&str>) -> Self {
        let mut copy = self.clone();
        copy.config.user(user);
        if let Some(password) = password {
            copy.config.password(password);
        }
        copy
    }

    pub fn ssl(&self) -> SslMode {
        self.ssl
    }

    /// `user@host:port/db`, for messages: never the password.
    pub fn target(&self) -> String {
        let host = self
            .config
            .get_hosts()
            .first()
            .map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{host}:{port}/{}",
            self.config.get_user().unwrap_or("?"),
            self.config.get_dbname().unwrap_or("?")
        )
    }

    /// Opens one connection and spawns its driver task on the current runtime.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, StoreError> {
        let wrap = |source| StoreError::Connect {
            target: self.target(),
            source,
        };
        if self.ssl == SslMode::Disable {
            let (client, connection) = self.config.connect(tokio_postgres::NoTls).await.map_err(wrap)?;
            tokio::spawn(drive(connection));
            Ok(client)
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new((*tls_config()).clone());
            let (client, connection) = self.config.connect(tls).await.map_err(wrap)?;
            tokio::spawn(drive(connection));
            Ok(client)
        }
    }
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(error) = connection.await {
        tracing::warn!(%error, "database connection closed");
    }
}

/// The rustls client configuration, built once: loading the root store is the costly part,
/// and it happens during init, not on a request.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("aws-lc-rs supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

fn pg_ssl_mode(ssl: SslMode) -> PgSslMode {
    match ssl {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
    }
}

/// Removes `sslmode` from a URL's query (tokio-postgres knows fewer values than libpq) and
/// returns it parsed.
fn take_sslmode(url: &str) -> Result<(String, Option<SslMode>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut ssl = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => ssl = Some(value.parse()?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, ssl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_sslmodes_are_accepted_and_mapped() {
        for (mode, expected) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-full", SslMode::Require),
            ("verify-ca", SslMode::Require),
        ] {
            let settings = ConnectSettings::from_url(&format!(
                "postgres://u:p@db.example:6432/rylie?sslmode={mode}&connect_timeout=3"
            ))
            .unwrap();
            assert_eq!(settings.ssl(), expected, "{mode}");
            assert_eq!(settings.target(), "u@db.example:6432/rylie");
        }
    }

    #[test]
    fn an_unknown_sslmode_is_named_in_the_error() {
        let error = ConnectSettings::from_url("postgres://u@h/db?sslmode=always").unwrap_err();
        assert!(error.to_string().contains("\"always\""), "{error}");
    }

    #[test]
    fn rds_secret_with_proxy_host_override() {
        let secret = r#"{"engine":"postgres","host":"db-instance.internal","port":5432,
            "username":"rylie_app_login","password":"s3cret","dbname":"rylie"}"#;
        let settings = ConnectSettings::from_rds_secret(secret, Some("proxy.example"), SslMode::Require).unwrap();
        assert_eq!(settings.target(), "rylie_app_login@proxy.example:5432/rylie");
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn a_secret_missing_its_password_says_what_format_is_expected() {
        let error = ConnectSettings::from_rds_secret(r#"{"host":"h","username":"u"}"#, None, SslMode::Require)
            .unwrap_err()
            .to_string();
        assert!(error.contains("RDS format") && error.contains("password"), "{error}");
    }
}
