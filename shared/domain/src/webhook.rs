//! Outbound webhooks: the events a dealership may subscribe to, the URLs we agree to send them
//! to, how a delivery is signed, and when a failed delivery is retried, given up, or its
//! endpoint disabled. Plain rules over plain values; the app resolves names, posts and stores.
//!
//! # Where we send (SSRF)
//!
//! A webhook URL is typed by a customer and fetched by our servers from inside our network, so
//! it must never reach what only our network can reach: the cloud metadata service
//! (169.254.169.254), the database, loopback, private ranges. [`WebhookUrl::parse`] accepts
//! https only, without credentials, and refuses local names and non-public address literals;
//! the app refuses names that resolve to a non-public address ([`AddressPolicy::permits`]), and
//! does so again at every delivery, on the address it then connects to, so a name that
//! resolved to a public address at creation and to 10.0.0.5 later (DNS rebinding) is refused.
//!
//! # Signature
//!
//! `Rylie-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the shape
//! Stripe uses, so receivers can reuse what they know. Signing the timestamp with the body
//! lets a receiver refuse a replayed delivery older than [`REPLAY_TOLERANCE_SECONDS`]. The key
//! is the whole secret string as shown at creation (`whsec_…`), as UTF-8 bytes.
//!
//! # Retries and disabling
//!
//! Any answer but a 2xx is a failure (redirects are not followed: a redirect could point
//! anywhere, and a 4xx is often a receiver's misconfiguration that gets fixed), and so is a
//! timeout or a refused connection. A failed attempt is retried with exponential backoff and
//! jitter ([`retry_delay`]) until [`RETRY_WINDOW`] after the event, with one last attempt at
//! the end of the window; then the event is abandoned. An endpoint that has accepted nothing
//! for [`DISABLE_AFTER`] (and failed at least [`DISABLE_MIN_FAILURES`] attempts in a row) is
//! disabled; a caller re-enables it.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::{Host, Url};

/// The events of seed 001 a webhook may subscribe to (the database's check lists the same).
pub const EVENT_TYPES: [&str; 8] = [
    "conversation.created",
    "conversation.escalated",
    "conversation.closed",
    "message.received",
    "message.sent",
    "lead.created",
    "lead.updated",
    "inventory.updated",
];

/// The header with the signature, `t=<unix seconds>,v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "Rylie-Signature";
/// The header with the event's id: the same on every attempt, so receivers can deduplicate.
pub const EVENT_ID_HEADER: &str = "Rylie-Event-Id";
/// How old a signed timestamp a receiver should accept (and how far in the future).
pub const REPLAY_TOLERANCE_SECONDS: i64 = 5 * 60;
/// The longest URL we store.
pub const MAX_URL_LENGTH: usize = 2048;
/// How much of a receiver's answer the delivery log keeps.
pub const RESPONSE_EXCERPT_CHARS: usize = 500;

/// How long after an event we keep trying to deliver it.
pub const RETRY_WINDOW: Duration = Duration::hours(24);
/// The first retry waits about this long; each further one twice as long as the one before.
pub const FIRST_RETRY_DELAY: Duration = Duration::minutes(1);
/// No retry waits longer than this.
pub const MAX_RETRY_DELAY: Duration = Duration::hours(6);
/// An endpoint failing every attempt for this long is disabled...
pub const DISABLE_AFTER: Duration = Duration::hours(24);
/// ...provided that many attempts in a row failed (one lone retry a day later is not
/// "sustained").
pub const DISABLE_MIN_FAILURES: i32 = 10;

/// Which addresses a webhook may be delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Public unicast addresses only: every deployed environment.
    PublicOnly,
    /// Anything, loopback included: tests and local running only (the configuration refuses
    /// it elsewhere).
    AllowPrivate,
}

impl AddressPolicy {
    pub fn permits(self, address: IpAddr) -> bool {
        match self {
            AddressPolicy::PublicOnly => is_public(address),
            AddressPolicy::AllowPrivate => true,
        }
    }
}

/// True for a globally routable unicast address; false for loopback, private (RFC 1918),
/// carrier-grade NAT (100.64/10), link-local (169.254/16, the metadata service among them),
/// unique-local (fc00::/7), documentation, benchmarking, multicast, reserved and unspecified
/// ranges, and for IPv6 addresses that embed such an IPv4 address (mapped, NAT64, 6to4).
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    let refused = a == 0                                  // "this network"
        || a == 10                                        // private
        || (a == 100 && (64..128).contains(&b))           // carrier-grade NAT
        || a == 127                                       // loopback
        || (a == 169 && b == 254)                         // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))            // private
        || (a == 192 && b == 0 && c == 0)                 // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                 // documentation
        || (a == 192 && b == 88 && c == 99)               // 6to4 relay anycast
        || (a == 192 && b == 168)                         // private
        || (a == 198 && (b == 18 || b == 19))             // benchmarking
        || (a == 198 && b == 51 && c == 100)              // documentation
        || (a == 203 && b == 0 && c == 113)               // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let segments = address.segments();
    let embedded_v4 = |high: usize| {
        let [a, b] = segments[high].to_be_bytes();
        let [c, d] = segments[high + 1].to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4); // ::ffff:a.b.c.d
    }
    match segments {
        // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => is_public_v4(embedded_v4(6)),
        // 6to4 (2002::/16) embeds the IPv4 address of its relay.
        [0x2002, _, _, _, _, _, _, _] => is_public_v4(embedded_v4(1)),
        // Teredo (2001::/32) and documentation (2001:db8::/32).
        [0x2001, 0, _, _, _, _, _, _] | [0x2001, 0xdb8, _, _, _, _, _, _] => false,
        // Global unicast is 2000::/3; everything else (::, ::1, IPv4-compatible ::a.b.c.d,
        // fc00::/7, fe80::/10, ff00::/8, 100::/64, ...) is not public.
        [first, ..] => (first & 0xe000) == 0x2000,
    }
}

/// Why a URL is refused; the message is shown to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("is not a URL: {0}")]
    NotAUrl(String),
    #[error("must be at most {MAX_URL_LENGTH} characters")]
    TooLong,
    #[error("must be an https:// URL")]
    NotHttps,
    #[error("must not carry a user name or password")]
    HasCredentials,
    #[error("names no host")]
    NoHost,
    #[error("names {0:?}, a local or internal host name; use a public one")]
    LocalName(String),
    #[error("points at {0}, which is not a public address")]
    PrivateAddress(IpAddr),
}

/// A URL we agree to deliver to: https, no credentials, not a local name, and, when it is an
/// address literal, an address the policy permits. Names are resolved and checked by the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    pub fn parse(raw: &str, policy: AddressPolicy) -> Result<Self, UrlProblem> {
        let raw = raw.trim();
        if raw.len() > MAX_URL_LENGTH {
            return Err(UrlProblem::TooLong);
        }
        let url = Url::parse(raw).map_err(|error| UrlProblem::NotAUrl(error.to_string()))?;
        if url.scheme() != "https" {
            return Err(UrlProblem::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlProblem::HasCredentials);
        }
        // The url crate has already turned every spelling of an address (0x7f.1, 2130706433,
        // [::ffff:127.0.0.1]) into the address itself, and names into lower-case IDNA.
        match url.host() {
            None => return Err(UrlProblem::NoHost),
            Some(Host::Ipv4(v4)) if !policy.permits(v4.into()) => {
                return Err(UrlProblem::PrivateAddress(v4.into()));
            }
            Some(Host::Ipv6(v6)) if !policy.permits(v6.into()) => {
                return Err(UrlProblem::PrivateAddress(v6.into()));
            }
            Some(Host::Domain(name)) if policy == AddressPolicy::PublicOnly && is_local_name(name) => {
                return Err(UrlProblem::LocalName(name.to_owned()));
            }
            Some(_) => {}
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name to resolve, or None when the URL names an address.
    pub fn host_name(&self) -> Option<&str> {
        match self.0.host() {
            Some(Host::Domain(name)) => Some(name),
            _ => None,
        }
    }

    /// The port to connect to (443 unless the URL says otherwise).
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names that only mean something inside a network: `localhost`, single labels (resolved
/// through search domains), and the suffixes reserved or used for internal names.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    const INTERNAL_SUFFIXES: [&str; 6] = [
        ".localhost",
        ".local",
        ".internal",
        ".localdomain",
        ".home.arpa",
        ".lan",
    ];
    name == "localhost" || !name.contains('.') || INTERNAL_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// A webhook's signing secret, `whsec_` and 64 hex characters (32 random bytes). Shown to the
/// caller once, when made; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Makes a secret from 32 random bytes (the caller's CSPRNG).
    pub fn generate(random: &[u8; 32]) -> Self {
        Self(format!("whsec_{}", hex::encode(random)))
    }

    /// A stored secret.
    pub fn from_stored(secret: String) -> Self {
        Self(secret)
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

fn mac(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Rylie-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("the signature header is not t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("the timestamp is {0} s away from now, more than the tolerance")]
    OutsideTolerance(i64),
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// What a receiver does: checks `header` against `body` with `secret`, and that the signed
/// timestamp is within `tolerance_seconds` of `now` (unix seconds). The comparison is constant
/// time. Any `v1` entry may match (a receiver may be sent several during a secret rotation).
pub fn verify(
    secret: &WebhookSecret,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureProblem> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| SignatureProblem::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureProblem::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureProblem::Malformed);
    }
    let skew = (now - timestamp).abs();
    if skew > tolerance_seconds {
        return Err(SignatureProblem::OutsideTolerance(skew));
    }
    let expected = mac(secret, timestamp, body);
    if signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureProblem::Mismatch)
    }
}

/// How long to wait after failed attempt number `attempt` (1 for the first): one minute,
/// doubling, at most [`MAX_RETRY_DELAY`], then scaled by `jitter` (0.0..1.0 maps to 0.8..1.2)
/// so that the retries of many deliveries to one recovering endpoint do not arrive together.
pub fn retry_delay(attempt: i32, jitter: f64) -> Duration {
    let doublings = attempt.clamp(1, 20) - 1;
    let base = FIRST_RETRY_DELAY.num_seconds().saturating_mul(1_i64 << doublings);
    let base = base.min(MAX_RETRY_DELAY.num_seconds()) as f64;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Duration::milliseconds((base * factor * 1000.0) as i64)
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    At(DateTime<Utc>),
    /// The retry window is over: the event is abandoned.
    GiveUp,
}

/// After failed attempt `attempt` of an event made at `event_created_at`: the next attempt,
/// never later than the end of the retry window (so the last one is made at its end), or
/// [`NextAttempt::GiveUp`] once the window is over.
pub fn next_attempt(attempt: i32, event_created_at: DateTime<Utc>, now: DateTime<Utc>, jitter: f64) -> NextAttempt {
    let deadline = event_created_at + RETRY_WINDOW;
    if now >= deadline {
        return NextAttempt::GiveUp;
    }
    NextAttempt::At((now + retry_delay(attempt, jitter)).min(deadline))
}

/// Whether an endpoint that has failed `consecutive_failures` attempts in a row, the first of
/// them at `failing_since`, is to be disabled.
pub fn should_disable(consecutive_failures: i32, failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    consecutive_failures >= DISABLE_MIN_FAILURES && now - failing_since >= DISABLE_AFTER
}

/// What the delivery log keeps of an answer's body: its first [`RESPONSE_EXCERPT_CHARS`]
/// characters, invalid UTF-8 replaced, control characters (a receiver's terminal escapes,
/// NULs PostgreSQL refuses) turned into spaces.
pub fn response_excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(RESPONSE_EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_only_public_unicast_is_accepted() {
        let refused = [
            "0.0.0.0",
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.2.10",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
            "fd00:ec2::254",
        ];
        for address in refused {
            assert!(!is_public(address.parse().unwrap()), "{address} must be refused");
        }
        let accepted = [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.1.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
        ];
        for address in accepted {
            assert!(is_public(address.parse().unwrap()), "{address} must be accepted");
        }
    }

    #[test]
    fn urls_are_https_without_credentials_or_local_hosts() {
        let public = AddressPolicy::PublicOnly;
        let ok = WebhookUrl::parse(" https://hooks.example.com/rylie?x=1 ", public).unwrap();
        assert_eq!(ok.as_str(), "https://hooks.example.com/rylie?x=1");
        assert_eq!(ok.host_name(), Some("hooks.example.com"));
        assert_eq!(ok.port(), 443);
        assert_eq!(
            WebhookUrl::parse("https://hooks.example.com:8443/", public)
                .unwrap()
                .port(),
            8443
        );
        type Expected = fn(&UrlProblem) -> bool;
        let cases: [(&str, Expected); 14] = [
            ("http://hooks.example.com/", |p| *p == UrlProblem::NotHttps),
            ("ftp://hooks.example.com/", |p| *p == UrlProblem::NotHttps),
            ("hooks.example.com", |p| matches!(p, UrlProblem::NotAUrl(_))),
            ("https://user:pw@hooks.example.com/", |p| {
                *p == UrlProblem::HasCredentials
            }),
            ("https://localhost/", |p| matches!(p, UrlProblem::LocalName(_))),
            ("https://api.localhost/", |p| matches!(p, UrlProblem::LocalName(_))),
            ("https://metadata.google.internal/", |p| {
                matches!(p, UrlProblem::LocalName(_))
            }),
            ("https://intranet/", |p| matches!(p, UrlProblem::LocalName(_))),
            ("https://127.0.0.1/", |p| matches!(p, UrlProblem::PrivateAddress(_))),
            ("https://169.254.169.254/latest/meta-data/", |p| {
                matches!(p, UrlProblem::PrivateAddress(_))
            }),
            // Other spellings of loopback, normalised by the URL parser.
            ("https://2130706433/", |p| matches!(p, UrlProblem::PrivateAddress(_))),
            ("https://0x7f.1/", |p| matches!(p, UrlProblem::PrivateAddress(_))),
            ("https://[::ffff:127.0.0.1]/", |p| {
                matches!(p, UrlProblem::PrivateAddress(_))
            }),
            ("https://[::1]:8443/", |p| matches!(p, UrlProblem::PrivateAddress(_))),
        ];
        for (raw, expected) in cases {
            let problem = WebhookUrl::parse(raw, public).unwrap_err();
            assert!(expected(&problem), "{raw}: {problem:?}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LENGTH));
        assert_eq!(WebhookUrl::parse(&long, public), Err(UrlProblem::TooLong));
        // Tests and local running may aim at loopback, but never over plain http.
        assert!(WebhookUrl::parse("https://127.0.0.1:9999/hook", AddressPolicy::AllowPrivate).is_ok());
        assert_eq!(
            WebhookUrl::parse("http://127.0.0.1:9999/hook", AddressPolicy::AllowPrivate),
            Err(UrlProblem::NotHttps)
        );
    }

    #[test]
    fn the_signature_matches_an_independently_computed_vector() {
        // printf '1700000000.{"id":"evt"}' | openssl dgst -sha256 -hmac 'whsec_test'
        let secret = WebhookSecret::from_stored("whsec_test".into());
        let header = sign(&secret, 1_700_000_000, br#"{"id":"evt"}"#);
        assert_eq!(
            header,
            "t=1700000000,v1=a94cea056df1fbb92eadafcf2c5cd541dbe0c6ef736e4748202dd53f86694a3e"
        );
        assert!(
            verify(
                &secret,
                &header,
                br#"{"id":"evt"}"#,
                1_700_000_100,
                REPLAY_TOLERANCE_SECONDS
            )
            .is_ok()
        );
    }

    #[test]
    fn a_receiver_refuses_a_changed_body_an_old_timestamp_or_a_wrong_secret() {
        let secret = WebhookSecret::generate(&[7; 32]);
        assert!(secret.reveal().starts_with("whsec_") && secret.reveal().len() == 6 + 64);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(…)");
        let header = sign(&secret, 1_000, b"{}");
        assert_eq!(verify(&secret, &header, b"{}", 1_000, 300), Ok(()));
        assert_eq!(
            verify(&secret, &header, b"{ }", 1_000, 300),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            verify(&secret, &header, b"{}", 1_301, 300),
            Err(SignatureProblem::OutsideTolerance(301))
        );
        let other = WebhookSecret::generate(&[8; 32]);
        assert_eq!(
            verify(&other, &header, b"{}", 1_000, 300),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            verify(&secret, "v1=00", b"{}", 1_000, 300),
            Err(SignatureProblem::Malformed)
        );
        assert_eq!(
            verify(&secret, "t=1000", b"{}", 1_000, 300),
            Err(SignatureProblem::Malformed)
        );
        let rotated = format!("{header},v1={}", "00".repeat(32));
        assert_eq!(verify(&secret, &rotated, b"{}", 1_000, 300), Ok(()));
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_and_stop_after_a_day() {
        assert_eq!(retry_delay(1, 0.5), Duration::minutes(1));
        assert_eq!(retry_delay(2, 0.5), Duration::minutes(2));
        assert_eq!(retry_delay(5, 0.5), Duration::minutes(16));
        assert_eq!(retry_delay(30, 0.5), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(1, 0.0), Duration::seconds(48));
        assert_eq!(retry_delay(1, 1.0), Duration::seconds(72));

        let created = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let mut now = created;
        let mut attempts = 1;
        while let NextAttempt::At(at) = next_attempt(attempts, created, now, 0.5) {
            assert!(at > now && at <= created + RETRY_WINDOW);
            now = at;
            attempts += 1;
        }
        assert_eq!(
            now,
            created + RETRY_WINDOW,
            "the last attempt is made at the end of the window"
        );
        assert!((10..=16).contains(&attempts), "{attempts} attempts in a day");
    }

    #[test]
    fn an_endpoint_is_disabled_after_a_day_of_failures_only() {
        let since = Utc::now() - Duration::hours(25);
        assert!(should_disable(DISABLE_MIN_FAILURES, since, Utc::now()));
        assert!(!should_disable(DISABLE_MIN_FAILURES - 1, since, Utc::now()));
        assert!(!should_disable(500, Utc::now() - Duration::hours(2), Utc::now()));
    }

    #[test]
    fn a_response_excerpt_is_short_and_printable() {
        assert_eq!(response_excerpt(b"ok\r\n\x1b[31mred\x00"), "ok   [31mred");
        assert_eq!(response_excerpt(&[b'a'; 2000]).len(), RESPONSE_EXCERPT_CHARS);
        assert_eq!(response_excerpt(&[0xff, b'x']), "\u{fffd}x");
    }
}
