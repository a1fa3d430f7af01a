//! Typed configuration, read once at cold start from the environment.
//!
//! Every problem names the variable: a function that cannot start says which setting to fix.

use std::fmt;

use rylie_store::SslMode;

/// Where the function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Staging,
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line: what CloudWatch Logs Insights queries.
    Json,
    /// Human-readable, for a terminal.
    #[default]
    Text,
}

/// How to reach PostgreSQL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseSource {
    /// `DATABASE_URL`: local runs and tests.
    Url(String),
    /// `DATABASE_SECRET_ARN`: an RDS-format secret; `DATABASE_HOST` (the RDS Proxy endpoint)
    /// replaces the secret's host.
    Secret {
        arn: String,
        host: Option<String>,
        ssl: SslMode,
    },
}

impl fmt::Debug for DatabaseSource {
    // A URL can carry a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseSource::Url(_) => f.write_str("Url(..)"),
            DatabaseSource::Secret { arn, host, ssl } => f
                .debug_struct("Secret")
                .field("arn", arn)
                .field("host", host)
                .field("ssl", ssl)
                .finish(),
        }
    }
}

/// Where the access-token signing keys come from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeysSource {
    /// `JWT_KEYS`: the key-set JSON itself (local runs, tests).
    Inline(String),
    /// `JWT_KEYS_SECRET_ARN`: a Secrets Manager secret holding the key-set JSON.
    Secret(String),
}

impl fmt::Debug for KeysSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeysSource::Inline(_) => f.write_str("Inline(..)"),
            KeysSource::Secret(arn) => f.debug_tuple("Secret").field(arn).finish(),
        }
    }
}

/// The key set `infra/local/run` and tests use when none is configured. Refused outside
/// RYLIE_ENV=local: it is public, so it protects nothing.
pub const LOCAL_DEVELOPMENT_KEYS: &str =
    r#"{"active":"local-1","local-1":"local development only - never used outside RYLIE_ENV=local"}"#;

/// The sender of Rylie's own mail when `EMAIL_FROM` is not set (local running only).
pub const LOCAL_EMAIL_FROM: &str = "Rylie <no-reply@rylie.local>";
/// The web app's address when `APP_BASE_URL` is not set (local running only).
pub const LOCAL_APP_BASE_URL: &str = "http://localhost:3000";
/// The functions that render and send mail: outside RYLIE_ENV=local they refuse to start
/// without `EMAIL_FROM` and `APP_BASE_URL` rather than send links to localhost.
const MAIL_SENDING_FUNCTIONS: &[&str] = &["job-email"];

/// The configuration of one function instance.
#[derive(Debug, Clone)]
pub struct Config {
    pub function: String,
    pub environment: Environment,
    pub log_format: LogFormat,
    pub database: DatabaseSource,
    /// None: this function authenticates nobody.
    pub token_keys: Option<KeysSource>,
    /// `RATE_LIMIT_TABLE`: the DynamoDB table of rate-limit counters; none: in memory.
    pub rate_limit_table: Option<String>,
    /// `FILES_BUCKET`: the S3 bucket of uploaded and received files (inventory feeds, raw
    /// mail); none: the folder `<LOCAL_DATA_DIR>/files`.
    pub files_bucket: Option<String>,
    /// `INVENTORY_IMPORT_QUEUE_URL`: the SQS queue of the job-inventory-import worker; none:
    /// imports run in-process, in the request that submitted them.
    pub inventory_import_queue_url: Option<String>,
    /// `EMAIL_QUEUE_URL`: the SQS queue of the job-email worker (first contact for new leads);
    /// none: the work is recorded as not queued and picked up when mail is reprocessed.
    pub email_queue_url: Option<String>,
    /// `ANALYSIS_QUEUE_URL`: the SQS queue of the job-conversation-analysis worker; none: a
    /// closed conversation is analysed in-process, in the request that closed it.
    pub analysis_queue_url: Option<String>,
    /// `REPORT_QUEUE_URL`: the SQS queue of the job-report worker; none: cron-reports runs
    /// each due report in-process.
    pub report_queue_url: Option<String>,
    /// `ANALYSIS_IDLE_MINUTES`: how long an open conversation stays silent before
    /// cron-idle-conversations has it analysed (default 60).
    pub analysis_idle_minutes: u32,
    /// `JOB_MAX_RECEIVE_COUNT`: the job queues' maxReceiveCount (template parameter
    /// JobMaxReceiveCount, default 5). A worker giving up on a message's last delivery records
    /// its error in `job_failures`, so what lands in a dead-letter queue says why.
    pub job_max_receive_count: u32,
    /// `WEBHOOK_QUEUE_URL`, `WEBHOOK_ALLOW_PRIVATE_TARGETS`, `WEBHOOK_EXTRA_ROOT_CA_FILE`: the
    /// job-webhook queue and, for local receivers only, the delivery relaxations.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// `EMAIL_FROM`: the sender of Rylie's own mail (`Name <address>`, an SES-verified
    /// identity when deployed); locally [`LOCAL_EMAIL_FROM`].
    pub email_from: Option<String>,
    /// `APP_BASE_URL`: the web app's address, for links in mail (`{APP_BASE_URL}/reset-password`),
    /// without a trailing `/`; locally [`LOCAL_APP_BASE_URL`].
    pub app_base_url: Option<String>,
    /// Mail goes through SES: deployed, or when an AWS endpoint is configured
    /// (`AWS_ENDPOINT_URL`, moto); otherwise it is written to `<LOCAL_DATA_DIR>/outbox`.
    pub mail_via_ses: bool,
    /// `INBOUND_MAIL_DOMAIN`: the domain of the `leads+<alias>@` addresses; none: the alias is
    /// read from a `leads+<alias>` recipient on any domain.
    pub inbound_mail_domain: Option<String>,
    /// `INBOUND_MAIL_PREFIX`: where the SES receipt rule stores raw mail in `FILES_BUCKET`
    /// (default `mail/inbound/`); the object key is the prefix and the SES message id.
    pub inbound_mail_prefix: String,
    /// `LOCAL_DATA_DIR`: where the embedded stand-ins keep files (default `.rylie`), and where
    /// workers put temporary downloads (`/tmp` in Lambda).
    pub local_data_dir: std::path::PathBuf,
    /// `LLM_BASE_URL`, `LLM_API_KEY`, `LLM_MODEL`, `LLM_TIMEOUT_MS`, `LLM_MAX_ATTEMPTS`: the
    /// assistant's chat model (OpenAI or any compatible server); neither key nor URL: the
    /// offline responder.
    pub model: crate::assistant::model::ModelSettings,
}

impl Config {
    /// `{APP_BASE_URL}/{path}`: a page of the web app, for links in mail; None without a base.
    pub fn app_link(&self, path: &str) -> Option<String> {
        self.app_base_url.as_deref().map(|base| format!("{base}/{path}"))
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    /// Some job queue is configured, so the SQS client is needed. Every `*_QUEUE_URL` belongs
    /// in this list.
    pub fn has_queue(&self) -> bool {
        [
            &self.inventory_import_queue_url,
            &self.email_queue_url,
            &self.analysis_queue_url,
            &self.report_queue_url,
            &self.webhooks.queue_url,
        ]
        .iter()
        .any(|url| url.is_some())
    }

    /// Reads the process environment.
    pub fn from_env(function: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(function, |name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(function: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let environment = match get("RYLIE_ENV").as_deref() {
            None | Some("local") => Environment::Local,
            Some("staging") => Environment::Staging,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    variable: "RYLIE_ENV",
                    problem: format!("is {other:?}; expected local, staging or production"),
                });
            }
        };
        // Lambda's advanced logging controls set AWS_LAMBDA_LOG_FORMAT; RYLIE_LOG_FORMAT wins.
        let log_format = match get("RYLIE_LOG_FORMAT").or_else(|| get("AWS_LAMBDA_LOG_FORMAT")) {
            None => LogFormat::Text,
            Some(value) if value.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(value) if value.eq_ignore_ascii_case("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError {
                    variable: "RYLIE_LOG_FORMAT",
                    problem: format!("is {other:?}; expected json or text"),
                });
            }
        };
        let database = match (get("DATABASE_URL"), get("DATABASE_SECRET_ARN")) {
            (Some(url), _) => DatabaseSource::Url(url),
            (None, Some(arn)) => {
                let ssl = match get("DATABASE_SSLMODE") {
                    None => SslMode::Require,
                    Some(mode) => mode.parse().map_err(|e: rylie_store::StoreError| ConfigError {
                        variable: "DATABASE_SSLMODE",
                        problem: e.to_string(),
                    })?,
                };
                DatabaseSource::Secret {
                    arn,
                    host: get("DATABASE_HOST"),
                    ssl,
                }
            }
            (None, None) => {
                return Err(ConfigError {
                    variable: "DATABASE_URL",
                    problem: "is not set (nor DATABASE_SECRET_ARN): set a postgres:// URL, or the ARN of an RDS-format secret"
                        .to_owned(),
                });
            }
        };
        let token_keys = match (get("JWT_KEYS"), get("JWT_KEYS_SECRET_ARN")) {
            (Some(json), _) => Some(KeysSource::Inline(json)),
            (None, Some(arn)) => Some(KeysSource::Secret(arn)),
            (None, None) if environment == Environment::Local => {
                Some(KeysSource::Inline(LOCAL_DEVELOPMENT_KEYS.to_owned()))
            }
            (None, None) => None,
        };
        if environment != Environment::Local
            && token_keys == Some(KeysSource::Inline(LOCAL_DEVELOPMENT_KEYS.to_owned()))
        {
            return Err(ConfigError {
                variable: "JWT_KEYS",
                problem: "holds the public local development keys; set JWT_KEYS_SECRET_ARN".to_owned(),
            });
        }
        let local = environment == Environment::Local;
        let sends_mail = MAIL_SENDING_FUNCTIONS.contains(&function);
        let email_from = match get("EMAIL_FROM") {
            Some(from) if !from.contains('@') => {
                return Err(ConfigError {
                    variable: "EMAIL_FROM",
                    problem: format!("is {from:?}; expected an address, `Name <address>` or `address`"),
                });
            }
            Some(from) => Some(from),
            None if local => Some(LOCAL_EMAIL_FROM.to_owned()),
            None if sends_mail => {
                return Err(ConfigError {
                    variable: "EMAIL_FROM",
                    problem: "is not set: this function sends mail; set the verified sender, `Name <address>`"
                        .to_owned(),
                });
            }
            None => None,
        };
        let app_base_url = match get("APP_BASE_URL") {
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                return Err(ConfigError {
                    variable: "APP_BASE_URL",
                    problem: format!("is {url:?}; expected an http:// or https:// URL"),
                });
            }
            Some(url) => Some(url.trim_end_matches('/').to_owned()),
            None if local => Some(LOCAL_APP_BASE_URL.to_owned()),
            None if sends_mail => {
                return Err(ConfigError {
                    variable: "APP_BASE_URL",
                    problem: "is not set: this function puts links to the web app in mail; set its https:// address"
                        .to_owned(),
                });
            }
            None => None,
        };
        let mail_via_ses = !local || get("AWS_ENDPOINT_URL").is_some() || get("AWS_ENDPOINT_URL_SES").is_some();
        let function = get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| function.to_owned());
        let rate_limit_table = get("RATE_LIMIT_TABLE");
        let in_lambda = get("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let local_data_dir = get("LOCAL_DATA_DIR")
            .unwrap_or_else(|| if in_lambda { "/tmp/rylie" } else { ".rylie" }.to_owned())
            .into();
        let webhooks = crate::webhooks::WebhookSettings::from_lookup(get, environment)?;
        let model = crate::assistant::model::ModelSettings::from_lookup(get).map_err(|problem| ConfigError {
            variable: "LLM_*",
            problem,
        })?;
        Ok(Self {
            model,
            files_bucket: get("FILES_BUCKET"),
            inventory_import_queue_url: get("INVENTORY_IMPORT_QUEUE_URL"),
            email_queue_url: get("EMAIL_QUEUE_URL"),
            analysis_queue_url: get("ANALYSIS_QUEUE_URL"),
            report_queue_url: get("REPORT_QUEUE_URL"),
            webhooks,
            job_max_receive_count: match get("JOB_MAX_RECEIVE_COUNT") {
                None => 5,
                Some(text) => text
                    .parse()
                    .ok()
                    .filter(|count| *count > 0)
                    .ok_or_else(|| ConfigError {
                        variable: "JOB_MAX_RECEIVE_COUNT",
                        problem: format!("{text:?} is not a whole number above 0"),
                    })?,
            },
            analysis_idle_minutes: match get("ANALYSIS_IDLE_MINUTES") {
                None => 60,
                Some(text) => text
                    .parse()
                    .ok()
                    .filter(|minutes| *minutes > 0)
                    .ok_or_else(|| ConfigError {
                        variable: "ANALYSIS_IDLE_MINUTES",
                        problem: format!("{text:?} is not a whole number of minutes above 0"),
                    })?,
            },
            email_from,
            app_base_url,
            mail_via_ses,
            inbound_mail_domain: get("INBOUND_MAIL_DOMAIN").map(|domain| domain.to_lowercase()),
            inbound_mail_prefix: get("INBOUND_MAIL_PREFIX").unwrap_or_else(|| "mail/inbound/".to_owned()),
            local_data_dir,
            function,
            environment,
            log_format,
            database,
            token_keys,
            rate_limit_table,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup("api-health", |name| map.get(name).cloned())
    }

    #[test]
    fn a_missing_database_setting_names_the_variable() {
        let error = config(&[]).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(
            error.to_string().starts_with("configuration: DATABASE_URL is not set"),
            "{error}"
        );
    }

    #[test]
    fn a_malformed_value_names_the_variable_and_the_value() {
        let error = config(&[("DATABASE_URL", "postgres://x"), ("RYLIE_ENV", "prod")]).unwrap_err();
        assert_eq!(error.variable, "RYLIE_ENV");
        assert!(error.problem.contains("\"prod\""));

        let error = config(&[("DATABASE_SECRET_ARN", "arn:x"), ("DATABASE_SSLMODE", "sometimes")]).unwrap_err();
        assert_eq!(error.variable, "DATABASE_SSLMODE");

        let error = config(&[("DATABASE_URL", "postgres://x"), ("AWS_LAMBDA_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(error.variable, "RYLIE_LOG_FORMAT");
    }

    #[test]
    fn lambda_settings_are_picked_up() {
        let config = config(&[
            (
                "DATABASE_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:db",
            ),
            ("DATABASE_HOST", "proxy.example"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_FUNCTION_NAME", "rylie-staging-ApiHealthFunction"),
            ("RYLIE_ENV", "staging"),
        ])
        .unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.environment, Environment::Staging);
        assert_eq!(config.function, "rylie-staging-ApiHealthFunction");
        assert_eq!(
            config.database,
            DatabaseSource::Secret {
                arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db".into(),
                host: Some("proxy.example".into()),
                ssl: SslMode::Require
            }
        );
    }

    #[test]
    fn mail_settings_default_locally_and_are_required_by_the_mailer_when_deployed() {
        let local = config(&[("DATABASE_URL", "postgres://x")]).unwrap();
        assert_eq!(local.email_from.as_deref(), Some(LOCAL_EMAIL_FROM));
        assert_eq!(local.app_base_url.as_deref(), Some(LOCAL_APP_BASE_URL));
        assert!(!local.mail_via_ses, "locally mail goes to the outbox");

        let deployed = |function: &str, vars: &[(&str, &str)]| {
            let mut all = vec![
                ("DATABASE_SECRET_ARN", "arn:x"),
                ("RYLIE_ENV", "production"),
                ("JWT_KEYS_SECRET_ARN", "arn:k"),
            ];
            all.extend_from_slice(vars);
            let map: HashMap<String, String> = all.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Config::from_lookup(function, |name| map.get(name).cloned())
        };
        let error = deployed("job-email", &[("EMAIL_FROM", "Rylie <no-reply@rylie.example>")]).unwrap_err();
        assert_eq!(error.variable, "APP_BASE_URL");
        let error = deployed("job-email", &[("APP_BASE_URL", "https://app.rylie.example")]).unwrap_err();
        assert_eq!(error.variable, "EMAIL_FROM");
        let mailer = deployed(
            "job-email",
            &[
                ("APP_BASE_URL", "https://app.rylie.example/"),
                ("EMAIL_FROM", "Rylie <no-reply@rylie.example>"),
            ],
        )
        .unwrap();
        assert_eq!(mailer.app_base_url.as_deref(), Some("https://app.rylie.example"));
        assert!(mailer.mail_via_ses);
        let other = deployed("api-health", &[]).unwrap();
        assert_eq!((other.email_from, other.app_base_url), (None, None));

        let error = config(&[("DATABASE_URL", "postgres://x"), ("APP_BASE_URL", "app.example")]).unwrap_err();
        assert_eq!(error.variable, "APP_BASE_URL");
    }

    #[test]
    fn the_url_is_never_printed() {
        let config = config(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
