//! Authentication: who is calling. Staff present a short-lived access token (JWT, see
//! [`tokens`]) obtained by logging in with a password ([`passwords`]); integrations and the
//! chat widget present an API key (`X-API-Key`, see `rylie_domain::ApiKey`).

pub mod key_usage;
pub mod passwords;
pub mod tokens;

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source is available");
    buf
}
