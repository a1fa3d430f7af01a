//! The tenant: a dealership, identified by a number and addressed by a subdomain.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A dealership's primary key. Every tenant query takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DealershipId(pub i64);

impl fmt::Display for DealershipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A dealership's subdomain: also the part after `leads+` in its inbound mail alias, so it
/// must be a valid DNS label and a valid mailbox tag at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Subdomain(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubdomainError {
    #[error("a subdomain has 1 to 63 characters")]
    Length,
    #[error("a subdomain has only lower-case letters, digits and inner hyphens")]
    Characters,
}

impl Subdomain {
    /// Lower-cases and checks a DNS label: `a-z`, `0-9`, `-` not at either end.
    pub fn parse(raw: &str) -> Result<Self, SubdomainError> {
        let value = raw.trim().to_ascii_lowercase();
        if value.is_empty() || value.len() > 63 {
            return Err(SubdomainError::Length);
        }
        let allowed = value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !allowed || value.starts_with('-') || value.ends_with('-') {
            return Err(SubdomainError::Characters);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Subdomain {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Subdomain::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_are_lower_cased_dns_labels() {
        assert_eq!(Subdomain::parse(" Sunrise-Motors ").unwrap().as_str(), "sunrise-motors");
        assert_eq!(Subdomain::parse("a1").unwrap().as_str(), "a1");
        assert_eq!(Subdomain::parse(""), Err(SubdomainError::Length));
        assert_eq!(Subdomain::parse(&"a".repeat(64)), Err(SubdomainError::Length));
        for bad in ["-lead", "trail-", "under_score", "dot.ted", "plus+tag", "ünï"] {
            assert_eq!(Subdomain::parse(bad), Err(SubdomainError::Characters), "{bad}");
        }
    }

    #[test]
    fn deserializing_parses() {
        let parsed: Subdomain = serde_json::from_str("\"Demo\"").unwrap();
        assert_eq!(parsed.as_str(), "demo");
        assert!(serde_json::from_str::<Subdomain>("\"no way\"").is_err());
    }
}
