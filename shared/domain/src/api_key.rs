//! API keys for integrations and the chat widget: `rylie_<prefix>_<secret>`.
//!
//! The prefix (12 characters) is stored as is and finds the key's row; the whole key is
//! stored only as its SHA-256. A key has 192 bits of randomness in its secret part, so a fast
//! hash is enough: nothing can be guessed, and verification stays in microseconds (argon2 is
//! for low-entropy passwords). The key itself is shown once, at creation.

use std::fmt;

use sha2::{Digest, Sha256};

const PREFIX_LEN: usize = 12;
const SECRET_LEN: usize = 32;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A presented or newly made API key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    prefix: String,
    full: String,
}

impl fmt::Debug for ApiKey {
    // Never the secret part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(rylie_{}_…)", self.prefix)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an API key looks like rylie_<12 characters>_<32 characters>")]
pub struct ApiKeyFormatError;

impl ApiKey {
    /// Makes a key from 44 random bytes (the caller's CSPRNG).
    pub fn generate(random: &[u8; PREFIX_LEN + SECRET_LEN]) -> Self {
        let pick = |byte: &u8| ALPHABET[(*byte as usize) % ALPHABET.len()] as char;
        let prefix: String = random[..PREFIX_LEN].iter().map(pick).collect();
        let secret: String = random[PREFIX_LEN..].iter().map(pick).collect();
        Self {
            full: format!("rylie_{prefix}_{secret}"),
            prefix,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ApiKeyFormatError> {
        let raw = raw.trim();
        let rest = raw.strip_prefix("rylie_").ok_or(ApiKeyFormatError)?;
        let (prefix, secret) = rest.split_once('_').ok_or(ApiKeyFormatError)?;
        let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
        if prefix.len() != PREFIX_LEN || secret.len() != SECRET_LEN || !alnum(prefix) || !alnum(secret) {
            return Err(ApiKeyFormatError);
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            full: raw.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The whole key, to show once.
    pub fn reveal(&self) -> &str {
        &self.full
    }

    /// What the database stores: SHA-256 of the whole key, hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.full.as_bytes()))
    }

    /// Constant-time comparison with a stored hash.
    pub fn matches(&self, stored_hash: &str) -> bool {
        let computed = self.hash();
        computed.len() == stored_hash.len()
            && computed
                .bytes()
                .zip(stored_hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_back_and_matches_its_hash() {
        let key = ApiKey::generate(&[7u8; 44]);
        let parsed = ApiKey::parse(key.reveal()).unwrap();
        assert_eq!(parsed.prefix(), key.prefix());
        assert!(parsed.matches(&key.hash()));
        assert!(!parsed.matches(&ApiKey::generate(&[8u8; 44]).hash()));
        assert!(!format!("{key:?}").contains(&key.reveal()[19..]));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "rylie_",
            "rylie_abc_def",
            "sk_live_0123456789ab_0123456789abcdef0123456789abcdef",
            "rylie_0123456789ab_0123456789abcdef0123456789abcde!",
        ] {
            assert_eq!(ApiKey::parse(bad), Err(ApiKeyFormatError), "{bad}");
        }
    }
}
