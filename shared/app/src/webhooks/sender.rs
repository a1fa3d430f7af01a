//! Posting one delivery: an HTTPS client that connects only where the address policy allows.
//!
//! The check happens in the client's DNS resolver ([`PolicyResolver`]): every name is resolved
//! by us, every address it resolves to must be allowed, and the connection is made to those
//! very addresses. A name that resolved to a public address when the endpoint was saved and
//! to a private one now (DNS rebinding) fails here, at the moment it matters. Address literals
//! never reach a resolver; [`WebhookUrl::parse`] checks them before each post. Redirects are
//! not followed, proxies are not used, and the answer is read up to a small limit.
//!
//! The client is built on first use, not at cold start (only job-webhook and the routes that
//! save an endpoint need it), and reused for the container's life.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::OnceLock,
    time::{Duration, Instant},
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rylie_domain::webhook::{self, AddressPolicy, WebhookUrl};

/// The receiver has this long to answer, all told...
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// ...and this long to accept the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How much of an answer is read (the log keeps 500 characters of it).
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Resolves names for the webhook client and refuses those with an address the policy does
/// not allow.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver {
    pub policy: AddressPolicy,
}

impl PolicyResolver {
    /// The addresses of `host`, when every one of them is allowed.
    pub async fn addresses(&self, host: &str) -> Result<Vec<SocketAddr>, String> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|error| format!("{host} does not resolve: {error}"))?
            .collect();
        if addresses.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        if let Some(refused) = addresses.iter().find(|a| !self.policy.permits(a.ip())) {
            return Err(format!(
                "{host} resolves to {}, which is not a public address",
                refused.ip()
            ));
        }
        Ok(addresses)
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = *self;
        Box::pin(async move {
            let addresses = resolver.addresses(name.as_str()).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// What one post came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    pub latency_ms: i32,
    /// The start of its answer, sanitised.
    pub excerpt: Option<String>,
    /// Why it failed, when it did (a non-2xx answer included).
    pub error: Option<String>,
}

impl Posted {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|status| (200..300).contains(&status))
    }
}

/// Sends deliveries; one per container.
#[derive(Debug)]
pub struct Sender {
    policy: AddressPolicy,
    extra_root_ca_file: Option<PathBuf>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Sender {
    pub fn new(policy: AddressPolicy, extra_root_ca_file: Option<PathBuf>) -> Self {
        Self {
            policy,
            extra_root_ca_file,
            client: OnceLock::new(),
        }
    }

    pub fn from_settings(settings: &super::WebhookSettings) -> Self {
        Self::new(settings.address_policy, settings.extra_root_ca_file.clone())
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Parses a URL under this sender's policy and, for a name, resolves it and checks every
    /// address: what saving an endpoint requires.
    pub async fn check(&self, raw: &str) -> Result<WebhookUrl, String> {
        let url = WebhookUrl::parse(raw, self.policy).map_err(|problem| problem.to_string())?;
        if let Some(host) = url.host_name() {
            PolicyResolver { policy: self.policy }.addresses(host).await?;
        }
        Ok(url)
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                let mut builder = reqwest::Client::builder()
                    .dns_resolver(PolicyResolver { policy: self.policy })
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .https_only(true)
                    .timeout(REQUEST_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .user_agent("Rylie-Webhooks/1");
                if let Some(file) = &self.extra_root_ca_file {
                    let pem = std::fs::read(file)
                        .map_err(|error| format!("WEBHOOK_EXTRA_ROOT_CA_FILE {}: {error}", file.display()))?;
                    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                        .map_err(|error| format!("WEBHOOK_EXTRA_ROOT_CA_FILE {}: {error}", file.display()))?;
                    builder = builder.tls_certs_merge(certificates);
                }
                builder
                    .build()
                    .map_err(|error| format!("building the webhook client: {}", with_sources(&error)))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Posts `body` (JSON) to `url` with the signature and event id headers. Only a client
    /// that cannot be built is an error; whatever the receiver does is a [`Posted`].
    pub async fn post(
        &self,
        url: &WebhookUrl,
        event_id: &str,
        body: Vec<u8>,
        signature: &str,
    ) -> Result<Posted, String> {
        let client = self.client()?;
        let started = Instant::now();
        let sent = client
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(webhook::SIGNATURE_HEADER, signature)
            .header(webhook::EVENT_ID_HEADER, event_id)
            .body(body)
            .send()
            .await;
        let elapsed = |started: Instant| i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                let reason = if error.is_timeout() {
                    format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
                } else {
                    format!("could not post: {}", with_sources(&error))
                };
                return Ok(Posted {
                    status: None,
                    latency_ms: elapsed(started),
                    excerpt: None,
                    error: Some(reason),
                });
            }
        };
        let status = response.status();
        let mut answer = Vec::new();
        // A body cut short (or too slow) still leaves the status, which is what counts.
        while answer.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                _ => break,
            }
        }
        answer.truncate(MAX_ANSWER_BYTES);
        let excerpt = webhook::response_excerpt(&answer);
        Ok(Posted {
            status: Some(status.as_u16()),
            latency_ms: elapsed(started),
            excerpt: (!excerpt.is_empty()).then_some(excerpt),
            error: (!status.is_success()).then(|| format!("the receiver answered {status}")),
        })
    }
}

/// An error with its causes: reqwest's own message alone ("error sending request") hides why.
fn with_sources(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback_in_production() {
        // localhost resolves through /etc/hosts, with no network: the stand-in for a public
        // name rebound to a private address.
        let public = PolicyResolver {
            policy: AddressPolicy::PublicOnly,
        };
        let error = public.addresses("localhost").await.unwrap_err();
        assert!(error.contains("not a public address"), "{error}");
        let local = PolicyResolver {
            policy: AddressPolicy::AllowPrivate,
        };
        assert!(
            local
                .addresses("localhost")
                .await
                .unwrap()
                .iter()
                .all(|a| a.ip().is_loopback())
        );
    }

    #[test]
    fn only_2xx_is_success() {
        let posted = |status| Posted {
            status,
            latency_ms: 1,
            excerpt: None,
            error: None,
        };
        assert!(posted(Some(200)).succeeded() && posted(Some(204)).succeeded());
        for status in [Some(301), Some(400), Some(410), Some(500), None] {
            assert!(!posted(status).succeeded(), "{status:?}");
        }
    }
}
