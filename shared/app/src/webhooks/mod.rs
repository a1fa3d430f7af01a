//! Outbound webhooks: a dealership's endpoints receive its events (seed 001's list), signed,
//! retried for a day, logged attempt by attempt.
//!
//! # The path of an event
//!
//! 1. The change and its event commit together: `events::emit` writes one pending
//!    `webhook_deliveries` row per subscribed, active endpoint in the change's own
//!    transaction (an outbox), so an event exists exactly when its change does.
//! 2. `cron-webhook-dispatch` ([`dispatch`]), every minute, claims due pending rows
//!    (`FOR UPDATE SKIP LOCKED`, bounded) and puts one `job-webhook` message per row on the
//!    queue (idempotency key: the row). Producers may also enqueue a row themselves
//!    ([`job::message`]).
//! 3. `job-webhook` ([`job`]) claims the row, posts the event, records the attempt and, on
//!    failure, schedules the next attempt as a new row. A redelivered message finds its row
//!    finished and posts nothing; two workers with the same message post once (the claim).
//!
//! # Trust
//!
//! Only https, only public addresses ([`rylie_domain::webhook`] has the rules): checked when
//! an endpoint is saved, and again at every delivery by the resolver the HTTP client connects
//! through ([`sender`]), so the address checked is the address connected to. Redirects are not
//! followed. `WEBHOOK_ALLOW_PRIVATE_TARGETS` and `WEBHOOK_EXTRA_ROOT_CA_FILE` relax this for
//! tests and local receivers, and only there: the configuration refuses them outside
//! `RYLIE_ENV=local`.
//!
//! # On one machine
//!
//! Without `WEBHOOK_QUEUE_URL` the dispatcher delivers the due rows itself, in-process.

pub mod dispatch;
pub mod job;
pub mod sender;

use std::path::PathBuf;

use rylie_domain::webhook::AddressPolicy;

pub use sender::Sender;

use crate::config::{ConfigError, Environment};

/// The webhook settings of a function's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_QUEUE_URL`: the job-webhook queue; none: the dispatcher delivers in-process.
    pub queue_url: Option<String>,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS=1` (local only): deliver to any address, loopback
    /// included, for a receiver on this machine. Https is required all the same.
    pub address_policy: AddressPolicy,
    /// `WEBHOOK_EXTRA_ROOT_CA_FILE` (local only): a PEM certificate authority trusted besides
    /// the platform's, for a local receiver's certificate.
    pub extra_root_ca_file: Option<PathBuf>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            queue_url: None,
            address_policy: AddressPolicy::PublicOnly,
            extra_root_ca_file: None,
        }
    }
}

impl WebhookSettings {
    /// Reads the settings through `get`; the relaxations are refused outside local running.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>, environment: Environment) -> Result<Self, ConfigError> {
        let local_only = |variable: &'static str| ConfigError {
            variable,
            problem: "is set, but it is accepted only with RYLIE_ENV=local \
                      (deployed webhooks reach public https addresses only)"
                .to_owned(),
        };
        let address_policy = match get("WEBHOOK_ALLOW_PRIVATE_TARGETS").as_deref() {
            None | Some("0") | Some("false") => AddressPolicy::PublicOnly,
            Some("1") | Some("true") if environment == Environment::Local => AddressPolicy::AllowPrivate,
            Some("1") | Some("true") => return Err(local_only("WEBHOOK_ALLOW_PRIVATE_TARGETS")),
            Some(other) => {
                return Err(ConfigError {
                    variable: "WEBHOOK_ALLOW_PRIVATE_TARGETS",
                    problem: format!("is {other:?}; expected 1 or 0"),
                });
            }
        };
        let extra_root_ca_file = match get("WEBHOOK_EXTRA_ROOT_CA_FILE") {
            Some(_) if environment != Environment::Local => return Err(local_only("WEBHOOK_EXTRA_ROOT_CA_FILE")),
            file => file.map(PathBuf::from),
        };
        Ok(Self {
            queue_url: get("WEBHOOK_QUEUE_URL"),
            address_policy,
            extra_root_ca_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(environment: Environment, vars: &[(&str, &str)]) -> Result<WebhookSettings, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        WebhookSettings::from_lookup(|name| map.get(name).map(|v| v.to_string()), environment)
    }

    #[test]
    fn deployed_functions_deliver_to_public_addresses_only() {
        assert_eq!(
            settings(Environment::Production, &[]).unwrap().address_policy,
            AddressPolicy::PublicOnly
        );
        for variable in ["WEBHOOK_ALLOW_PRIVATE_TARGETS", "WEBHOOK_EXTRA_ROOT_CA_FILE"] {
            for environment in [Environment::Staging, Environment::Production] {
                let error = settings(environment, &[(variable, "1")]).unwrap_err();
                assert_eq!(error.variable, variable);
                assert!(error.problem.contains("RYLIE_ENV=local"), "{error}");
            }
        }
        let local = settings(
            Environment::Local,
            &[
                ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1"),
                ("WEBHOOK_EXTRA_ROOT_CA_FILE", "/tmp/ca.pem"),
            ],
        )
        .unwrap();
        assert_eq!(local.address_policy, AddressPolicy::AllowPrivate);
        assert_eq!(local.extra_root_ca_file, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(
            settings(Environment::Local, &[("WEBHOOK_ALLOW_PRIVATE_TARGETS", "yes")])
                .unwrap_err()
                .variable,
            "WEBHOOK_ALLOW_PRIVATE_TARGETS"
        );
    }
}
